"""Degradations: slowdowns of nodes, racks and pods, and the shared store's bandwidth windows.

:class:`Degradations` owns every active speed factor (stragglers, degraded links, throttled
racks) and the bandwidth factor of the shared checkpoint store. It computes each job's speed
(the slowest of its nodes, racks and, for a multi-pod job, pods) and tells a running job's
process when its speed changed; the job re-plans its closed-form progress. With a network
model on, a job's speed is its slowdown factor times its network factor (``network_factor``,
served by :class:`~clustersim.engine.network.Network`, which calls :meth:`respeed_job` when a
job's share changes): the two are independent effects, compute and communication. With a
facility power cap that throttles GPUs, it is also times the throttle's factor
(``power_factor``, served by :class:`~clustersim.engine.facility.Facility`). In a fleet of
mixed generations (``fleet.cohorts[].speed``, docs/fleet.md) a job also runs at the speed of
the slowest generation among its nodes (``node_speed``), fixed for an epoch since its nodes
change only between epochs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
import simpy

from clustersim.cluster import Cluster
from clustersim.events import SlowdownBegan, SlowdownEnded, StorageChanged
from clustersim.job import Job, JobPhase, SpeedChange
from clustersim.storage import SharedStore
from clustersim.topology import Topology

from .recorder import Recorder

__all__ = ["Degradations"]


class Degradations:
    """Active slowdowns (token -> scope, ids, factor) and storage bandwidth windows."""

    def __init__(
        self,
        env: simpy.Environment,
        cluster: Cluster,
        topology: Topology,
        recorder: Recorder,
        jobs: list[Job],
        store: SharedStore | None,
    ) -> None:
        self.env = env
        self.cluster = cluster
        self.topology = topology
        self.recorder = recorder
        self.jobs = jobs
        self.store = store
        self.closing = False
        self._token = 0
        self.slowdowns: dict[int, tuple[str, tuple[int, ...], float]] = {}
        self.slow_index: dict[str, dict[int, dict[int, float]]] = {
            "node": {},
            "rack": {},
            "pod": {},
        }
        self._storage_windows: dict[int, float] = {}
        self.network_factor: Callable[[Job], float] | None = None
        """A job's network speed factor (None: no network model, factor 1)."""
        self.power_factor: Callable[[Job], float] | None = None
        """A job's power-cap throttle factor (None: no throttle, factor 1)."""
        self.node_speed: npt.NDArray[np.float64] | None = None
        """Each node's generation speed (None: one generation, factor 1)."""

    # ----------------------------------------------------------------- slowdowns
    def slow(
        self,
        scope: Literal["node", "rack", "pod"],
        ids: Sequence[int],
        factor: float,
        cause: str,
        duration_s: float,
    ) -> int:
        """Run ``scope`` ``ids`` at ``factor`` of full speed for ``duration_s``; returns a token."""
        self._token += 1
        token = self._token
        ids = tuple(int(i) for i in ids)
        self.slowdowns[token] = (scope, ids, factor)
        index = self.slow_index[scope]
        for i in ids:
            index.setdefault(i, {})[token] = factor
        self.recorder.record(SlowdownBegan(self.env.now, token, scope, ids, factor, cause))
        self._respeed(scope, ids)
        end = self.env.timeout(duration_s)
        end.callbacks.append(lambda _: self.unslow(token))
        return token

    def unslow(self, token: int) -> None:
        """End slowdown ``token`` (no-op if it already ended)."""
        entry = self.slowdowns.pop(token, None)
        if entry is None or self.closing:
            return
        scope, ids, _ = entry
        index = self.slow_index[scope]
        for i in ids:
            factors = index[i]
            del factors[token]
            if not factors:
                del index[i]
        self.recorder.record(SlowdownEnded(self.env.now, token))
        self._respeed(scope, ids)

    def is_slowed(self, token: int) -> bool:
        """Whether slowdown ``token`` is still in effect."""
        return token in self.slowdowns

    def _nodes_in(self, scope: str, ids: Sequence[int]) -> list[int]:
        topo = self.topology
        if scope == "node":
            return list(ids)
        if scope == "rack":
            return [n for r in ids for n in topo.nodes_of_rack(r)]
        return [n for p in ids for n in topo.nodes_of_pod(p)]

    def _respeed(self, scope: str, ids: Sequence[int]) -> None:
        """Recompute the speed of every job with a node in ``scope`` ``ids``."""
        jobs_on = self.cluster.jobs_on
        jobs = {job_id for n in self._nodes_in(scope, ids) for job_id in jobs_on(n)}
        for job_id in sorted(jobs):
            self.respeed_job(self.jobs[job_id])

    def respeed_job(self, job: Job) -> None:
        """Recompute ``job``'s speed; a running job whose speed changed re-plans its progress."""
        speed = self.job_speed(job)
        if speed != job.speed:
            job.speed = speed
            if (
                job.phase is JobPhase.RUNNING
                and job.proc is not None
                and not job.pending_interrupt
                and not job.pending_speed
            ):
                job.pending_speed = True
                job.proc.interrupt(SpeedChange())

    def job_speed(self, job: Job) -> float:
        """The job's speed: slowdown x network (if modelled) x throttle (if capped) x generation.

        The generation factor is the speed of the slowest generation among the job's nodes.
        """
        speed = self.slow_factor(job)
        if self.network_factor is not None:
            speed *= self.network_factor(job)
        if self.power_factor is not None:
            speed *= self.power_factor(job)
        if self.node_speed is not None:
            speed *= self.generation_factor(job)
        return speed

    def generation_factor(self, job: Job) -> float:
        """The speed of the slowest generation among the job's nodes (1 with none held)."""
        assert self.node_speed is not None
        if job.slot_gpus:
            return float(self.node_speed[job.slot_node]) if job.slot_node >= 0 else 1.0
        if not self.cluster.has_job(job.id):
            return 1.0
        nodes = self.cluster.nodes_of(job.id)
        return float(self.node_speed[list(nodes)].min()) if nodes else 1.0

    def slow_factor(self, job: Job) -> float:
        """The job's slowdown factor: the slowest of its nodes, racks and (multi-pod) pods."""
        if not self.slowdowns:
            return 1.0
        topo = self.topology
        speed = 1.0
        if job.slot_gpus:  # a sub-node job: its one shared node and that node's rack
            node = job.slot_node
            if node < 0:
                return speed
            for factors in (
                self.slow_index["node"].get(node),
                self.slow_index["rack"].get(topo.rack_of(node)),
            ):
                if factors:
                    speed = min(speed, *factors.values())
            return speed
        owner = self.cluster.owner
        for node, factors in self.slow_index["node"].items():
            if owner[node] == job.id:
                speed = min(speed, *factors.values())
        for rack, factors in self.slow_index["rack"].items():
            r = topo.nodes_of_rack(rack)
            if (owner[r.start : r.stop] == job.id).any():
                speed = min(speed, *factors.values())
        if job.pods > 1:
            for pod, factors in self.slow_index["pod"].items():
                r = topo.nodes_of_pod(pod)
                if (owner[r.start : r.stop] == job.id).any():
                    speed = min(speed, *factors.values())
        return speed

    # ----------------------------------------------------------------- shared storage
    def storage_window(self, factor: float, cause: str, duration_s: float) -> None:
        """Scale the shared store's bandwidth to ``factor`` for ``duration_s`` (outage: 0)."""
        if self.store is None:
            return
        # Windows and slowdowns draw their tokens from one counter (the log's token ids).
        self._token += 1
        token = self._token
        self._storage_windows[token] = factor
        self._apply_storage(cause)

        def end(_: simpy.Event) -> None:
            del self._storage_windows[token]
            if not self.closing:
                self._apply_storage(cause)

        timer = self.env.timeout(duration_s)
        timer.callbacks.append(end)

    def _apply_storage(self, cause: str) -> None:
        assert self.store is not None
        factor = min(self._storage_windows.values(), default=1.0)
        if factor != self.store.factor:
            self.store.set_factor(factor)
            self.recorder.record(StorageChanged(self.env.now, factor, cause))

"""The fleet: node failures, repairs, the repair shop, quarantine, maintenance and SDC.

:class:`Fleet` is the only writer of node *health*: it takes nodes down (failures, planned
maintenance), repairs them (with or without a limited number of crews and a burn-in test),
quarantines nodes that fail too often, and handles silent data corruption found late. It
tells the dispatcher which jobs lost nodes and interrupts those jobs; it never places jobs.
It also owns the lemon nodes and how a failure picks the node it lands on.

Fault sources reach it through the :class:`~clustersim.faults.base.World` interface that
:class:`~clustersim.engine.simulation.Simulation` exposes.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import numpy.typing as npt
import simpy

from clustersim.cluster import SHARED, Cluster, NodeState
from clustersim.config import Scenario
from clustersim.events import (
    NodeFailed,
    NodeQuarantined,
    NodeRepaired,
    NodesMaintained,
    NodesReturned,
    SlotsLost,
)
from clustersim.faults.base import NodePicker
from clustersim.job import Drain, Failure, Job, JobPhase
from clustersim.rng import BlockSampler, Streams

from .dispatcher import Dispatcher
from .recorder import Recorder

__all__ = ["FEW_NODES", "Fleet"]

_OUT = int(NodeState.OUT)
FEW_NODES = 24
"""Planned take-downs of at most this many nodes take the scalar path (same results)."""


class Fleet:
    """Node health: failures, repairs, crews, quarantine, maintenance drains, SDC."""

    def __init__(
        self,
        env: simpy.Environment,
        cluster: Cluster,
        recorder: Recorder,
        dispatcher: Dispatcher,
        jobs: list[Job],
        scenario: Scenario,
        streams: Streams,
        *,
        planned_causes: set[str],
        down_planned: set[int],
        quarantined: set[int],
    ) -> None:
        self.env = env
        self.cluster = cluster
        self.topology = cluster.topology
        self.recorder = recorder
        self.dispatcher = dispatcher
        self.jobs = jobs
        self.scenario = scenario
        self.planned_causes = planned_causes
        self.down_planned = down_planned
        """Nodes down for planned work (read by the recorder's time series)."""
        self.quarantined = quarantined
        """Nodes retired for failing too often; they never come back."""
        self.closing = False
        n_nodes = self.topology.n_nodes
        lemons = scenario.lemons
        if lemons is not None and lemons.fraction > 0:
            rng = streams.get("lemons")
            k = round(lemons.fraction * n_nodes)
            self.lemon_nodes = np.sort(rng.choice(n_nodes, size=k, replace=False))
        else:
            self.lemon_nodes = np.empty(0, dtype=np.int64)
        self._pickers: dict[bool, NodePicker] = {}
        shop = scenario.repairs
        self.repair_crews = shop.crews
        self.repair_busy = 0
        self.repair_queue: deque[tuple[int, float]] = deque()
        self._repair_sampler = BlockSampler(streams.get("repairs"))
        # Which GPU of a shared node a job-scope fault or corruption lands on (drawn only then).
        self._gpu_sampler = BlockSampler(streams.get("shared-gpus"))
        self.quarantine = lemons.quarantine if lemons is not None else None
        self.failure_times: dict[int, deque[float]] = {}
        # Maintenance: job id -> nodes it must hand over after its drain, with the window.
        self.maintenance_due: dict[int, list[tuple[list[int], str, float]]] = {}
        # Fleet changes (engine/changes.py, only with expansions, retirements or refresh).
        self.retiring: set[int] = set()
        """Nodes of retired cohorts that leave service when they next come out of repair."""
        self.quarantined_out: set[int] = set()
        """Quarantined nodes whose cohort retired (they left :attr:`quarantined` then)."""
        self.on_unplanned: Callable[[int], None] | None = None
        """Called with a node after each of its unplanned failures (refresh bookkeeping)."""
        self.on_retired: Callable[[list[int]], None] | None = None
        """Called with retiring nodes as they come out of repair (they go out of service)."""

    # ----------------------------------------------------------------- queries
    def is_up(self, node: int) -> bool:
        """Whether ``node`` is in service."""
        return self.cluster.is_up(node)

    def owner_of(self, node: int) -> int:
        """The id of the job holding ``node``, ``SHARED`` (-2) for a shared node, or -1."""
        return self.cluster.owner_of(node)

    def job_on_gpu(self, node: int) -> int:
        """The job a fault on one GPU of ``node`` hits, or -1.

        The owner of a whole node; on a shared node, the tenant holding a GPU drawn uniformly
        (tenants hold consecutive GPUs in id order), or -1 when the GPU drawn is free.
        """
        owner = self.cluster.owner_of(node)
        if owner != SHARED:
            return owner
        gpu = self._gpu_sampler.uniform() * self.topology.gpus_per_node
        for tenant in self.cluster.jobs_on(node):
            gpu -= self.jobs[tenant].slot_gpus
            if gpu < 0:
                return tenant
        return -1

    def node_picker(self, lemon_prone: bool) -> NodePicker:
        """How a source draws the node a failure lands on (lemon-weighted if configured)."""
        key = lemon_prone and self.lemon_nodes.size > 0
        if key not in self._pickers:
            mult = self.scenario.lemons.multiplier if key and self.scenario.lemons else 1.0
            lemons = self.lemon_nodes if key else np.empty(0, dtype=np.int64)
            self._pickers[key] = NodePicker(self.topology.n_nodes, lemons, mult)
        return self._pickers[key]

    # ----------------------------------------------------------------- failures
    def fail_nodes(
        self,
        nodes: Sequence[int],
        cause: str,
        repair_s: float,
        *,
        corrupt_since: float = math.nan,
    ) -> None:
        """Take the up nodes among ``nodes`` down; interrupt each affected job once."""
        hit = self._take_down(nodes, cause, repair_s)
        for job_id in sorted(hit):
            job, node = hit[job_id]
            job.interrupt(Failure(cause, node, corrupt_since))

    def fail_job_on(self, node: int, cause: str) -> None:
        """Kill the job on ``node`` (software/job-scope fault); no hardware goes down."""
        owner = self.job_on_gpu(node)
        if owner >= 0:
            self.jobs[owner].interrupt(Failure(cause, -1))

    def _take_down(
        self, nodes: Sequence[int], cause: str, repair_s: float
    ) -> dict[int, tuple[Job, int]]:
        """Move up nodes to repair; returns the jobs that lost nodes (not yet interrupted).

        Planned work goes through :meth:`_take_down_planned`; a fault, node by node.
        """
        if cause in self.planned_causes:
            return self._take_down_planned(nodes, cause, repair_s)
        env = self.env
        cluster, jobs, lose_node = self.cluster, self.jobs, self.dispatcher.lose_node
        record, tick = self.recorder.record, self.recorder.tick
        hit: dict[int, tuple[Job, int]] = {}
        lost_nodes: dict[int, int] = {}
        for node in nodes:
            if not cluster.is_up(node):
                continue
            tick()
            owner = cluster.owner_of(node)
            tenants = cluster.jobs_on(node)
            for job_id in tenants:  # its owner, or a shared node's tenants
                job = jobs[job_id]
                lose_node(job)
                hit.setdefault(job_id, (job, node))
                lost = lost_nodes[job_id] = lost_nodes.get(job_id, 0) + 1
                if lost >= 2:
                    job.peer_copy_ok = False  # the in-memory copy's peer may be gone too
            cluster.fail(node)
            record(NodeFailed(env.now, node, cause, owner, repair_s))
            if owner == SHARED:
                record(SlotsLost(env.now, node, tenants))
            self._count_failure(node)
            if self.on_unplanned is not None:
                self.on_unplanned(node)
            self._send_to_repair(node, repair_s)
        return hit

    def _take_down_planned(
        self, nodes: Iterable[int], cause: str, repair_s: float
    ) -> dict[int, tuple[Job, int]]:
        """Planned maintenance of ``nodes``: one record per holder, one timer per return.

        One :class:`NodesMaintained` per job that held some of them (and one for the idle
        ones) instead of a ``NodeFailed`` per node; one :class:`NodesReturned` per instant
        at which some of them come back (with burn-in tests, nodes differ). Up to
        :data:`FEW_NODES` nodes (most hand-overs) by scalar steps, more by array operations:
        the same records, calls and cluster state (tests/unit/test_maintenance_records.py).
        """
        cluster = self.cluster
        listed = nodes.tolist() if isinstance(nodes, np.ndarray) else list(nodes)
        groups: dict[int, list[int]] = {}  # owner -> its nodes, in the order given
        if len(listed) <= FEW_NODES:
            up = [node for node in listed if cluster.is_up(node)]
            for node, owner in zip(up, cluster.owner[up].tolist(), strict=True):
                groups.setdefault(owner, []).append(node)
            arr = None
        else:
            arr = np.array(listed, dtype=np.int64)
            arr = arr[cluster.state[arr] < int(NodeState.DOWN)]
            owners = cluster.owner[arr]
            order = owners.argsort(kind="stable")
            ranked = owners[order]
            # Where the owner changes in owner order: each group's first position.
            starts = [0, *((ranked[1:] != ranked[:-1]).nonzero()[0] + 1).tolist()]
            bounds = [*starts, arr.size]
            for k, owner in enumerate(ranked[starts].tolist() if arr.size else []):
                groups[owner] = arr[order[bounds[k] : bounds[k + 1]]].tolist()
            up = arr.tolist()
        hit: dict[int, tuple[Job, int]] = {}
        if not up:
            return hit
        self.recorder.tick()
        now = self.env.now
        jobs, lose_nodes = self.jobs, self.dispatcher.lose_nodes
        for job_id in sorted(owner for owner in groups if owner >= 0):
            job = jobs[job_id]
            lose_nodes(job, len(groups[job_id]))
            hit[job_id] = (job, groups[job_id][0])
        slots_lost: list[SlotsLost] = []
        for node in groups.get(SHARED, ()):
            tenants = cluster.jobs_on(node)
            slots_lost.append(SlotsLost(now, node, tenants))
            for job_id in tenants:
                job = jobs[job_id]
                lose_nodes(job, 1)
                hit.setdefault(job_id, (job, node))
        if arr is None:
            for node in up:
                cluster.fail(node)
            arr = np.array(up, dtype=np.int64)
        else:
            cluster.fail_many(arr)
        for owner in sorted(groups):
            self.recorder.record(
                NodesMaintained(now, cluster.node_tuple(groups[owner]), cause, owner, repair_s)
            )
            if owner == SHARED:
                for lost in slots_lost:
                    self.recorder.record(lost)
        self.down_planned.update(up)
        self._schedule_returns(arr, repair_s)
        return hit

    def _schedule_returns(self, nodes: npt.NDArray[np.int64], repair_s: float) -> None:
        """Bring ``nodes`` back from planned maintenance after ``repair_s`` (and any tests)."""
        shop = self.scenario.repairs
        if shop.test > 0 or shop.test_failure > 0:
            # Each node's repair plus its burn-in test(s), drawn in node order as a fault's
            # repair does; nodes back at the same instant return together.
            totals = np.array([self._repair_total(repair_s) for _ in range(nodes.size)])
            for total in dict.fromkeys(totals.tolist()):
                self._return_after(nodes[totals == total], total)
        else:
            self._return_after(nodes, repair_s)

    def _return_after(self, nodes: npt.NDArray[np.int64], total: float) -> None:
        """Bring ``nodes`` back from planned maintenance ``total`` seconds from now."""
        timer = self.env.timeout(total)
        timer.callbacks.append(lambda _: self._repair_many(nodes))

    def _count_failure(self, node: int) -> None:
        """Quarantine bookkeeping: k unplanned failures within the window retire a node."""
        q = self.quarantine
        if q is None or node in self.quarantined:
            return
        now = self.env.now
        times = self.failure_times.setdefault(node, deque())
        times.append(now)
        while times and times[0] < now - q.window:
            times.popleft()
        if len(times) >= q.failures:
            self.quarantined.add(node)
            self.recorder.record(NodeQuarantined(now, node, len(times)))

    # ----------------------------------------------------------------- repairs
    def _send_to_repair(self, node: int, repair_s: float) -> None:
        """Repair ``node``: at once with unlimited crews, else when a crew is free."""
        if self.repair_crews is None:
            self._start_repair(node, repair_s, crew=False)
        elif self.repair_busy < self.repair_crews:
            self.repair_busy += 1
            self._start_repair(node, repair_s, crew=True)
        else:
            self.repair_queue.append((node, repair_s))

    def _start_repair(self, node: int, repair_s: float, *, crew: bool) -> None:
        done = self.env.timeout(self._repair_total(repair_s))
        done.callbacks.append(self._repair_callback(node, crew))

    def _repair_total(self, repair_s: float) -> float:
        """How long a repair of ``repair_s`` keeps its node down, burn-in tests included."""
        shop = self.scenario.repairs
        total = repair_s
        if shop.test > 0 or shop.test_failure > 0:
            # Burn-in test; a node that fails it is repaired (same time) and tested again.
            total += shop.test
            while self._repair_sampler.uniform() < shop.test_failure:
                total += repair_s + shop.test
        return total

    def _repair_callback(self, node: int, crew: bool) -> Callable[[simpy.Event], None]:
        def repaired(_: simpy.Event) -> None:
            if crew:
                self.repair_busy -= 1
                if self.repair_queue:
                    self.repair_busy += 1
                    self._start_repair(*self.repair_queue.popleft(), crew=True)
            self._repair(node)

        return repaired

    def _repair(self, node: int) -> None:
        """The end of a fault's repair (planned maintenance returns by :meth:`_repair_many`)."""
        if self.closing or node in self.quarantined:
            return  # a quarantined node stays out of service
        if self.cluster.state[node] == _OUT:
            return  # retired during its repair (engine/changes.py)
        self.recorder.tick()
        if node in self.retiring:
            self.retiring.discard(node)
            assert self.on_retired is not None
            self.on_retired([node])
            return
        state = self.cluster.repair(node)
        self.recorder.record(NodeRepaired(self.env.now, node, state == 1))
        self.dispatcher.wake()

    def _repair_many(self, nodes: npt.NDArray[np.int64]) -> None:
        """The end of a planned batch: every node back in service at once."""
        if self.closing:
            return
        self.recorder.tick()
        if self.retiring or self.on_retired is not None:
            nodes = nodes[self.cluster.state[nodes] != _OUT]  # retired during maintenance
            leaving = np.fromiter((n in self.retiring for n in nodes.tolist()), dtype=bool)
            if leaving.any():
                gone = nodes[leaving].tolist()
                self.retiring.difference_update(gone)
                self.down_planned.difference_update(gone)
                assert self.on_retired is not None
                self.on_retired(gone)
                nodes = nodes[~leaving]
        spare = self.cluster.repair_many(nodes)
        listed = nodes.tolist()
        self.recorder.record(
            NodesReturned(self.env.now, self.cluster.node_tuple(listed), int(spare.sum()))
        )
        self.down_planned.difference_update(listed)
        self.dispatcher.wake()

    # ----------------------------------------------------------------- planned maintenance
    def maintain(self, nodes: Sequence[int], cause: str, duration_s: float) -> None:
        """Planned maintenance of ``nodes`` for ``duration_s``.

        Idle and spare nodes go at once. A running job first writes a checkpoint (drains),
        then hands its nodes over; a job that is starting or recovering loses them at once.
        A shared node goes when the last of its running tenants has drained (its other
        tenants lose their slots then).
        """
        cluster = self.cluster
        arr = np.fromiter(nodes, dtype=np.int64)
        arr = arr[cluster.state[arr] < int(NodeState.DOWN)]
        owners = cluster.owner[arr]
        self._take_down(arr[owners == -1].tolist(), cause, duration_s)
        by_job: dict[int, list[int]] = {}
        held = owners >= 0
        if held.any():
            held_nodes, held_owners = arr[held], owners[held]
            for job_id in sorted(set(held_owners.tolist())):  # np.unique imports numpy.ma
                by_job[job_id] = held_nodes[held_owners == job_id].tolist()
        for node in arr[owners == SHARED].tolist():
            for job_id in cluster.jobs_on(node):
                by_job.setdefault(job_id, []).append(node)
        due = self.maintenance_due
        newly = {
            job_id
            for job_id in by_job
            if self.jobs[job_id].phase is JobPhase.RUNNING
            and not self.jobs[job_id].pending_interrupt
        }
        # A job already draining for earlier maintenance hands these nodes over with the
        # others when it has drained (taking them now would leave its epoch counting GPUs it
        # no longer holds).
        draining = newly | (due.keys() & by_job.keys())
        for job_id in sorted(by_job):
            job = self.jobs[job_id]
            entry = (by_job[job_id], cause, self.env.now + duration_s)
            if job_id in newly:
                due[job_id] = [entry]
                job.pending_interrupt = True
                assert job.proc is not None
                job.proc.interrupt(Drain(cause))
            elif job_id in due:
                due[job_id].append(entry)
            else:  # shared nodes with a draining tenant wait for it
                now = [n for n in by_job[job_id] if draining.isdisjoint(cluster.jobs_on(n))]
                self.fail_nodes(now, cause, duration_s)
        for node in arr[owners == SHARED].tolist():
            if not draining.isdisjoint(cluster.jobs_on(node)):
                cluster.close_shared(node)  # no new tenant until it goes

    def hand_over_for_maintenance(self, job: Job) -> None:
        """A drained job gives up the nodes due for maintenance (it then recovers)."""
        for nodes, cause, until in self.maintenance_due.pop(job.id, ()):
            self._hand_over(job, nodes, cause, until)

    def _hand_over(self, job: Job, nodes: list[int], cause: str, until: float) -> None:
        """Give up ``nodes`` (one maintenance's share of the drained ``job``'s nodes)."""
        jobs_on, due_for = self.cluster.jobs_on, self.maintenance_due

        def last_to_drain(node: int) -> bool:
            """Whether no other tenant of ``node`` is still due to drain for it."""
            others = [t for t in jobs_on(node) if t != job.id and t in due_for]
            return all(node not in entry[0] for t in others for entry in due_for[t])

        # A shared node goes with the last of its tenants still due to drain for it; the
        # others leave their slot on it (and recover elsewhere) when they have drained.
        mine: list[int] = []
        if not job.slot_gpus:  # whole nodes: the nodes it still owns, in one array pass
            arr = np.asarray(nodes, dtype=np.int64)
            mine = arr[self.cluster.owner[arr] == job.id].tolist()
        for n in nodes if job.slot_gpus else ():
            if job.id not in jobs_on(n):
                continue
            if not last_to_drain(n):
                self.recorder.tick()
                self.dispatcher.lose_node(job)
                self.cluster.vacate_slot(job.id)
                self.recorder.record(SlotsLost(self.env.now, n, (job.id,)))
            else:
                mine.append(n)
        hit = self._take_down(mine, cause, max(0.0, until - self.env.now))
        for job_id in sorted(hit):
            if job_id != job.id:  # a starting or recovering tenant of a shared node
                other, node = hit[job_id]
                other.interrupt(Failure(cause, node))

    # ----------------------------------------------------------------- silent data corruption
    def corrupt(self, node: int, cause: str, delay_s: float, repair_s: float) -> None:
        """Silent data corruption on ``node`` now, found ``delay_s`` later.

        If a job holds the node, its state is corrupt from now on: at detection it rolls back
        to its last checkpoint completed before now, and the node goes to repair.
        """
        now = self.env.now
        owner = self.job_on_gpu(node)
        job = (
            self.jobs[owner] if owner >= 0 and self.jobs[owner].phase is JobPhase.RUNNING else None
        )

        def detect(_: simpy.Event) -> None:
            if self.closing:
                return
            if job is not None and job.phase is not JobPhase.FINISHED and job.proc is not None:
                if job.id in self.cluster.jobs_on(node):
                    self.fail_nodes((node,), cause, repair_s, corrupt_since=now)
                else:
                    # The job moved on but carries the corrupt state; the faulty node (now
                    # idle or someone else's) goes to repair and fails whoever holds it.
                    job.interrupt(Failure(cause, -1, now))
                    self.fail_nodes((node,), cause, repair_s)
            else:
                self.fail_nodes((node,), cause, repair_s)

        timer = self.env.timeout(delay_s)
        timer.callbacks.append(detect)

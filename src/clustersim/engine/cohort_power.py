"""Per-cohort power: node-state counts by cohort and a power meter with a profile per cohort.

Only with ``fleet.cohorts[].power`` (docs/fleet.md#power-per-generation); every other
scenario uses the plain :class:`~clustersim.cluster.Cluster` and
:class:`~clustersim.engine.power.PowerMeter`, unchanged. Three pieces, each owning one thing:

* :class:`CohortCluster`, the allocator plus its node-state counts per cohort
  (:attr:`CohortCluster.by_cohort`). Cohorts are contiguous node-id ranges; the counts are
  kept incrementally at every state change (around the allocator's own ``_set_state``
  methods, which every state change goes through), never by scanning the nodes.
* :class:`CohortSet`, the fleet's set of planned-down (or quarantined) nodes plus its size per
  cohort, kept at every ``add``/``discard``.
* :class:`CohortPowerMeter`, the power meter whose node levels and epochs draw each node's own
  cohort's watts: a node's level from its cohort's counts, an epoch's running, stall and drain
  watts from its GPUs per cohort (counted once when the epoch starts: a job's nodes change only
  between epochs). It also integrates the GPU-seconds of each cohort in each power state, from
  which the energy by state is priced (:mod:`clustersim.power.cohorts`); their sum over the
  cohorts must equal the GPU-seconds ledger's terms (checked there).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np
import simpy
from numpy.typing import NDArray

from clustersim.cluster import Cluster, NodeState
from clustersim.cohorts import Cohorts
from clustersim.config import PowerConfig, Scenario
from clustersim.config.power import GPU_STATES, cohort_power
from clustersim.events import RunEnded, RunStarted
from clustersim.job import Job
from clustersim.topology import Topology

from .power import PowerMeter

__all__ = [
    "CohortCluster",
    "CohortPowerMeter",
    "CohortSet",
    "allocator",
    "node_cohorts",
    "node_sets",
    "power_meter",
]

_FREE, _SPARE, _ALLOCATED, _DOWN = (
    int(NodeState.FREE),
    int(NodeState.SPARE),
    int(NodeState.ALLOCATED),
    int(NodeState.DOWN),
)
_LEVELS = ("up", "maintenance", "down", "quarantined", "held")
"""The columns of a meter's count matrix: nodes up, planned down, in repair, quarantined
(each a node count) and GPUs held by jobs."""


def node_cohorts(cohorts: Cohorts) -> NDArray[np.int64]:
    """The cohort index of every node id (cohorts are consecutive id ranges)."""
    return np.repeat(np.arange(len(cohorts.counts), dtype=np.int64), cohorts.counts)


class CohortCluster(Cluster):
    """The allocator, plus how many nodes of each cohort are in each state.

    :attr:`by_cohort` ``[c, s]`` counts the nodes of cohort ``c`` in :class:`NodeState` ``s``.
    Every state change goes through ``_set_state`` (bulk) or ``_set_state_few`` (scalar), so
    wrapping the outermost of the two keeps the counts exact (the allocator's ``check`` does
    not know them; :meth:`check_cohorts` recounts them for tests).
    """

    def __init__(self, topology: Topology, *, cohorts: Cohorts, **kwargs: Any) -> None:
        super().__init__(topology, **kwargs)
        self.cohort_of = node_cohorts(cohorts)
        self.firsts = cohorts.first
        """The first node id of each cohort."""
        self._cohort_list: list[int] = self.cohort_of.tolist()
        self.by_cohort: NDArray[np.int64] = np.zeros(
            (len(cohorts.counts), len(NodeState)), dtype=np.int64
        )
        np.add.at(self.by_cohort, (self.cohort_of, self.state.astype(np.int64)), 1)
        self._inner = False
        self.version = 0
        """Bumped at every state change (the meter re-reads the counts only after one)."""

    def _set_state(self, nodes: NDArray[np.int64], new: int) -> None:
        if self._inner or nodes.size == 0:
            super()._set_state(nodes, new)
            return
        old = self.state[nodes].astype(np.int64)  # a copy: fancy indexing
        self._inner = True
        try:
            super()._set_state(nodes, new)
        finally:
            self._inner = False
        self.version += 1
        cohort = self.cohort_of[nodes]
        np.subtract.at(self.by_cohort, (cohort, old), 1)
        np.add.at(self.by_cohort[:, new], cohort, 1)

    def _set_state_few(self, nodes: Iterable[int], new: int) -> None:
        if self._inner:
            super()._set_state_few(nodes, new)
            return
        listed = list(nodes)
        state = self.state
        old = [int(state[node]) for node in listed]
        self._inner = True
        try:
            super()._set_state_few(listed, new)
        finally:
            self._inner = False
        self.version += 1
        by, cohort_of = self.by_cohort, self._cohort_list
        for node, was in zip(listed, old, strict=True):
            if was != new:
                c = cohort_of[node]
                by[c, was] -= 1
                by[c, new] += 1

    def nodes_by_cohort(self, job_id: int) -> NDArray[np.float64]:
        """How many of ``job_id``'s nodes lie in each cohort (no sort of its node set)."""
        nodes = self._jobs[job_id]
        k = len(self.firsts)
        if len(nodes) <= 16:
            out = np.zeros(k, dtype=np.float64)
            for node in nodes:
                out[bisect_right(self.firsts, node) - 1] += 1.0
            return out
        ids = np.fromiter(nodes, dtype=np.int64, count=len(nodes))
        return np.bincount(self.cohort_of[ids], minlength=k).astype(np.float64)

    def check_cohorts(self) -> None:
        """Recount the per-cohort state counts from the node states (tests; O(nodes))."""
        fresh = np.zeros_like(self.by_cohort)
        np.add.at(fresh, (self.cohort_of, self.state.astype(np.int64)), 1)
        if not np.array_equal(fresh, self.by_cohort):
            raise AssertionError(f"per-cohort counts {self.by_cohort} != recount {fresh}")


class CohortSet(set[int]):
    """A set of node ids that also counts its members per cohort (:attr:`counts`).

    Only ``add``, ``discard``, ``remove``, ``update``, ``difference_update``, ``pop`` and
    ``clear`` may change it (the fleet's planned-down and quarantined sets use no other).
    """

    def __init__(self, cohort_of: list[int], n_cohorts: int) -> None:
        super().__init__()
        self._cohort_of = cohort_of
        self.counts: list[int] = [0] * n_cohorts
        self.version = 0
        """Bumped at every change of the members."""

    def add(self, node: int) -> None:
        """Add ``node`` (counted in its cohort)."""
        if node not in self:
            super().add(node)
            self.counts[self._cohort_of[node]] += 1
            self.version += 1

    def discard(self, node: object) -> None:
        """Remove ``node`` if present (uncounted from its cohort)."""
        if node in self:
            super().discard(node)
            self.counts[self._cohort_of[node]] -= 1  # type: ignore[call-overload]
            self.version += 1

    def remove(self, node: object) -> None:
        """Remove ``node``; KeyError if absent."""
        if node not in self:
            raise KeyError(node)
        self.discard(node)

    def update(self, *others: Iterable[int]) -> None:
        """Add every node of ``others``."""
        for other in others:
            for node in other:
                self.add(node)

    def difference_update(self, *others: Iterable[Any]) -> None:
        """Remove every node of ``others``."""
        for other in others:
            for node in list(other):
                self.discard(node)

    def pop(self) -> int:
        """Remove and return a node."""
        node = super().pop()
        self.counts[self._cohort_of[node]] -= 1
        self.version += 1
        return node

    def clear(self) -> None:
        """Remove every node."""
        super().clear()
        self.counts = [0] * len(self.counts)
        self.version += 1

    def __ior__(self, other: Any) -> CohortSet:  # type: ignore[override,misc]
        self.update(other)
        return self

    def __isub__(self, other: Any) -> CohortSet:  # type: ignore[misc]
        self.difference_update(other)
        return self


class CohortPowerMeter(PowerMeter):
    """The power meter of a fleet whose cohorts have their own power profiles.

    ``cfg`` is the scenario's ``power`` section (PUE, swings); ``profiles[c]`` is cohort
    ``c``'s resolved profile. Besides the series it integrates, per cohort, the GPU-seconds
    of the node levels (:data:`_LEVELS`) and of the epochs (running, stalls, drains, lost
    work and slowdown, lost work by cause), for :mod:`clustersim.power.cohorts`.
    """

    def __init__(
        self,
        env: simpy.Environment,
        cluster: CohortCluster,
        cfg: PowerConfig,
        profiles: list[PowerConfig],
        *,
        gpus_per_node: int,
        down_planned: CohortSet,
        quarantined: CohortSet,
        jobs: list[Job],
    ) -> None:
        super().__init__(
            env,
            cluster,
            cfg,
            gpus_per_node=gpus_per_node,
            down_planned=down_planned,
            quarantined=quarantined,
            jobs=jobs,
        )
        self.cohort_cluster = cluster
        self.profiles = profiles
        self._planned_set = down_planned
        self._quarantined_set = quarantined
        gpn = gpus_per_node
        w = [p.gpu.watts() for p in profiles]
        # IT watts of one unit of each level (columns of _LEVELS), per cohort.
        self._level_w = np.array(
            [
                [
                    gpn * c["idle"] + p.node_w,
                    gpn * c["maintenance"] + p.node_w,
                    gpn * c["down"],
                    gpn * c["quarantined"],
                    c["recovery"] - c["idle"],
                ]
                for c, p in zip(w, profiles, strict=True)
            ],
            dtype=np.float64,
        )
        self._run_w = np.array([c["computing"] - c["recovery"] for c in w], dtype=np.float64)
        self._dip_w = np.array([c["checkpoint"] - c["computing"] for c in w], dtype=np.float64)
        self._drained_w = np.array([c["checkpoint"] - c["recovery"] for c in w])
        k = len(profiles)
        n_states = len(NodeState)
        # The raw counts: nodes of each cohort in each allocator state, then each cohort's
        # planned-down and quarantined nodes; their IT watts (a linear map).
        by_w = np.zeros((k, n_states), dtype=np.float64)
        lw = self._level_w
        by_w[:, _FREE] = by_w[:, _SPARE] = lw[:, 0]
        by_w[:, _ALLOCATED] = lw[:, 0] + gpn * lw[:, 4]
        by_w[:, _DOWN] = lw[:, 2]
        self._raw_w = np.concatenate((by_w.ravel(), lw[:, 1] - lw[:, 2], lw[:, 3] - lw[:, 2]))
        self._raw_s = np.zeros(k * n_states + 2 * k, dtype=np.float64)
        """∫ raw counts dt up to :attr:`_since`; the counts since then are :attr:`_held`."""
        self._held = self._raw()
        self._since = 0.0
        self._seen = (-1, -1, -1)  # the first tick reads the levels
        self._epoch_s = {
            key: np.zeros(k, dtype=np.float64)
            for key in ("running", "stall", "drain", "lost", "slowdown")
        }
        self.lost_by_cause: dict[str, NDArray[np.float64]] = defaultdict(lambda: np.zeros(k))
        """Lost GPU-seconds of each cause, per cohort."""
        self._epoch_gpus: dict[int, NDArray[np.float64]] = {}
        self._running_it_w = 0.0

    # ----------------------------------------------------------------- node levels
    def _levels(self) -> NDArray[np.float64]:
        """Per cohort: nodes up, planned down, in repair, quarantined; GPUs held."""
        by = self.cohort_cluster.by_cohort
        planned = np.asarray(self._planned_set.counts, dtype=np.float64)
        quarantined = np.asarray(self._quarantined_set.counts, dtype=np.float64)
        return np.column_stack(
            (
                by[:, _FREE] + by[:, _SPARE] + by[:, _ALLOCATED],
                planned,
                by[:, _DOWN] - planned - quarantined,
                quarantined,
                by[:, _ALLOCATED] * self.gpus_per_node,
            )
        ).astype(np.float64)

    def _raw(self) -> NDArray[np.float64]:
        """The raw counts (see ``_raw_w``), as floats."""
        return np.concatenate(
            (
                self.cohort_cluster.by_cohort.ravel(),
                self._planned_set.counts,
                self._quarantined_set.counts,
            )
        ).astype(np.float64)

    def node_level_w(self) -> float:
        """IT watts of node states now, each node at its own cohort's watts."""
        return float(np.sum(self._levels() * self._level_w))

    def repaired_node_w(self) -> float:
        """IT watts the nodes in repair would add, back up and idle."""
        levels = self._levels()
        return float(levels[:, 2] @ (self._level_w[:, 0] - self._level_w[:, 2]))

    def _versions(self) -> tuple[int, int, int]:
        return (
            self.cohort_cluster.version,
            self._planned_set.version,
            self._quarantined_set.version,
        )

    def tick(self) -> None:
        """After the recorder's tick: the levels read now began at the previous tick.

        The counts are re-read only if a node changed state since the last tick (most ticks
        follow a job's phase change, not a node's).
        """
        now = self.env.now
        versions = self._versions()
        if versions != self._seen:
            self._seen = versions
            raw = self._raw()
            self._raw_s += self._held * (self._last_tick - self._since)
            self._held, self._since = raw, self._last_tick
            level = float(raw @ self._raw_w)
            if level != self._level:
                self._times.append(self._last_tick)
                self._deltas.append(level - self._level)
                self._level = level
        self._last_tick = now

    def present_w(self) -> float:
        """IT watts now, with every running epoch computing."""
        return self.node_level_w() + self._running_it_w

    # ----------------------------------------------------------------- epochs
    def run_record(self, ev: RunStarted | RunEnded) -> None:
        """An epoch started (count its GPUs per cohort) or ended (tally it, then emit it)."""
        if isinstance(ev, RunStarted):
            job = self._job(ev.job)
            per = self.cohort_cluster.nodes_by_cohort(job.id) * float(self.gpus_per_node)
            self._epoch_gpus[job.id] = per
            self._running_it_w += float(per @ self._run_w)
        else:
            per = self._epoch_gpus[ev.job]
            if ev.lost_s > 0:
                self._epoch_s["lost"] += per * ev.lost_s
                self.lost_by_cause[ev.cause] += per * ev.lost_s
            if ev.slow_s > 0:
                self._epoch_s["slowdown"] += per * ev.slow_s
        super().run_record(ev)
        if isinstance(ev, RunEnded):
            del self._epoch_gpus[ev.job]

    def _epoch_w(
        self, ev: RunEnded, running_s: float, stall_s: float, drain_s: float
    ) -> tuple[float, float, float]:
        per = self._epoch_gpus[ev.job]
        if round(float(per.sum())) != ev.gpus:
            raise AssertionError(f"job {ev.job}: epoch GPUs {per.sum()} by cohort != {ev.gpus}")
        run_w = float(per @ self._run_w)
        self._running_it_w -= run_w
        tally = self._epoch_s
        if drain_s > 0:
            tally["drain"] += per * drain_s
        if running_s > 0:
            tally["running"] += per * running_s
            if stall_s > 0:
                tally["stall"] += per * min(stall_s, running_s)
        return run_w, float(per @ self._dip_w), float(per @ self._drained_w)

    # ----------------------------------------------------------------- GPU-seconds
    def gpu_seconds(self, end_s: float) -> list[dict[str, float]]:
        """Per cohort, GPU-seconds in each power state over ``[0, end_s]``.

        Every state of :data:`GPU_STATES`, plus the ``lost`` and ``slowdown`` parts of
        ``computing``.
        """
        raw = self._raw_s + self._held * max(0.0, end_s - self._since)
        k, n_states = self.cohort_cluster.by_cohort.shape
        by = raw[: k * n_states].reshape(k, n_states)
        planned_s, quarantined_s = raw[k * n_states : -k], raw[-k:]
        gpn = self.gpus_per_node
        e = self._epoch_s
        out = []
        for c in range(k):
            up = float(by[c, _FREE] + by[c, _SPARE] + by[c, _ALLOCATED])
            planned, quarantined = float(planned_s[c]), float(quarantined_s[c])
            repair = float(by[c, _DOWN]) - planned - quarantined
            held = float(by[c, _ALLOCATED]) * gpn
            running, stall, drain = e["running"][c], e["stall"][c], e["drain"][c]
            row = {
                "computing": running - stall,
                "checkpoint": stall + drain,
                "recovery": held - running - drain,
                "idle": up * gpn - held,
                "maintenance": planned * gpn,
                "down": repair * gpn,
                "quarantined": quarantined * gpn,
                "lost": float(e["lost"][c]),
                "slowdown": float(e["slowdown"][c]),
            }
            assert set(GPU_STATES) <= set(row)
            out.append({k: float(v) for k, v in row.items()})
        return out


# --------------------------------------------------------------------- the simulation's wiring
def _per_cohort(scenario: Scenario) -> bool:
    return scenario.fleet is not None and scenario.fleet.per_cohort_power


def allocator(scenario: Scenario, cohorts: Cohorts, topology: Topology, **kwargs: Any) -> Cluster:
    """The allocator: a :class:`CohortCluster` with per-cohort power, else a plain one."""
    if _per_cohort(scenario):
        return CohortCluster(topology, cohorts=cohorts, **kwargs)
    return Cluster(topology, **kwargs)


def node_sets(scenario: Scenario, cohorts: Cohorts) -> tuple[set[int], set[int]]:
    """The fleet's planned-down and quarantined sets (counted per cohort if need be)."""
    if not _per_cohort(scenario):
        return set(), set()
    cohort_list = node_cohorts(cohorts).tolist()
    k = len(cohorts.counts)
    return CohortSet(cohort_list, k), CohortSet(cohort_list, k)


def power_meter(
    env: simpy.Environment,
    cluster: Cluster,
    power: PowerConfig,
    scenario: Scenario,
    *,
    gpus_per_node: int,
    down_planned: set[int],
    quarantined: set[int],
    jobs: list[Job],
) -> PowerMeter:
    """The power meter: per cohort with ``fleet.cohorts[].power``, else the plain one."""
    if not _per_cohort(scenario):
        return PowerMeter(
            env,
            cluster,
            power,
            gpus_per_node=gpus_per_node,
            down_planned=down_planned,
            quarantined=quarantined,
            jobs=jobs,
        )
    assert scenario.fleet is not None
    assert isinstance(cluster, CohortCluster)
    assert isinstance(down_planned, CohortSet) and isinstance(quarantined, CohortSet)
    return CohortPowerMeter(
        env,
        cluster,
        power,
        [cohort_power(power, c.power) for c in scenario.fleet.cohorts],
        gpus_per_node=gpus_per_node,
        down_planned=down_planned,
        quarantined=quarantined,
        jobs=jobs,
    )

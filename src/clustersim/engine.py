"""The simulation: builds the world from a scenario and runs it on SimPy.

:class:`Simulation` owns the SimPy environment, the cluster (node states), the jobs, the queue,
the event log and the time-weighted node-state integrals. It implements the
:class:`~clustersim.faults.base.World` interface for fault sources and the callbacks that job
processes use (``finish``, ``requeue``, ``request_replacements``). The dispatcher runs only on
state changes, coalesced per instant: it first gives replacement nodes to recovering jobs,
then asks the scheduling policy what to start or preempt.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import simpy

from clustersim.analysis import analytic
from clustersim.checkpoint import interval_for
from clustersim.cluster import Cluster, NodeState
from clustersim.config import RestartConfig, Scenario
from clustersim.events import (
    Event,
    JobFinished,
    JobPreempted,
    JobStarted,
    JobSubmitted,
    NodeFailed,
    NodeQuarantined,
    NodeRepaired,
    NodesMaintained,
    NodesReturned,
    ReplacementTaken,
    SlowdownBegan,
    SlowdownEnded,
    StorageChanged,
)
from clustersim.faults import REGISTRY as FAULT_REGISTRY
from clustersim.faults.base import FaultSource, NodePicker
from clustersim.job import (
    NO_EPOCHS,
    Drain,
    Failure,
    Horizon,
    Job,
    JobPhase,
    Preemption,
    SpeedChange,
    run_job,
)
from clustersim.metrics import LogTally
from clustersim.rng import BlockSampler, Streams
from clustersim.scheduler import PREEMPTIVE, get_policy
from clustersim.storage import SharedStore
from clustersim.topology import Topology
from clustersim.views import ClusterView, JobView, Preempt, RunningView, Start
from clustersim.workload import JobRecord, build_workload

__all__ = ["SERIES_KEYS", "SERIES_POINTS", "Simulation"]

_BY_END = attrgetter("est_end_s", "id")  # the order of Simulation.running_by_end

BULK_NODES = 32
"""Planned maintenance of more nodes than this at once takes the vectorised path."""

SERIES_POINTS = 500
"""Bins of the node-level time series over the horizon (each value is a time average)."""
SERIES_KEYS = (
    "t_s",
    "gpus_allocated",
    "gpus_free",
    "gpus_spare",
    "gpus_in_repair",
    "gpus_maintenance",
    "gpus_quarantined",
)
"""The time series' columns: bin start time and the mean GPUs in each state over the bin."""

ProgressCallback = Callable[[float, float], None]


class Simulation:
    """One replication of a scenario: the world, its processes, and its event log."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        replication: int = 0,
        seed: int | None = None,
        keep_log: bool = True,
    ):
        self.scenario = scenario
        self.seed = scenario.run.seed if seed is None else seed
        self.replication = replication
        self.streams = Streams(self.seed, replication)
        self.env = simpy.Environment(initial_time=0.0)
        cfg = scenario.cluster
        self.topology = Topology(
            cfg.gpus_per_node,
            cfg.nodes_per_rack,
            cfg.racks_per_pod,
            cfg.pods,
            cfg.oversubscription,
        )
        self.gpus_per_node = cfg.gpus_per_node
        self.cluster = Cluster(self.topology, spare_nodes=cfg.spare_nodes)
        self.restart: RestartConfig = scenario.restart
        self.policy = get_policy(scenario.scheduler.policy)
        self.preemptive = scenario.scheduler.policy in PREEMPTIVE
        self.log: list[Event] = []
        self.keep_log = keep_log
        """Keep every record in :attr:`log` (else only :attr:`tally` sees them)."""
        self.tally = LogTally()
        self.closing = False
        self.horizon_s = scenario.run.horizon
        self._setup_faults(scenario)
        self.fault_sources: list[FaultSource] = [
            FAULT_REGISTRY[f.kind](name, f, self.streams, self.topology)
            for name, f in scenario.faults.items()
        ]
        self._job_shapes: dict[
            tuple[int, float], tuple[float, float, float, float, float, float, float | None]
        ] = {}
        self.jobs: list[Job] = [self._make_job(r) for r in build_workload(scenario, self.streams)]
        self.queue: dict[int, Job] = {}
        self.queue_sizes: dict[int, int] = {}  # nodes -> queued jobs of that size
        # nodes -> queued jobs of that size as sorted (submit_s, id): policy order per size
        self.queue_by_size: dict[int, list[tuple[float, int]]] = {}
        self.active: dict[int, Job] = {}
        self.running_views: dict[int, RunningView] = {}
        # The same views ordered by (est_end_s, id), kept on every change, so that EASY's
        # shadow time is a walk from the front instead of a sort per dispatch.
        self.running_by_end: list[RunningView] = []
        self.draining: dict[int, Job] = {}
        for job in self.jobs:
            job.on_phase = self._on_phase
        self.awaiting: dict[int, Job] = {}
        self.finished = 0
        self.unrunnable = sum(1 for j in self.jobs if j.nodes > self.schedulable_nodes)
        self.end_event = self.env.event()
        self._dispatch_pending = False
        self._last_tick = 0.0
        self.node_s = {"idle": 0.0, "down": 0.0, "allocated": 0.0}
        # Node levels sampled on a fixed grid (the time series of docs/results.md).
        self.series_step_s = self.horizon_s / SERIES_POINTS
        self._series_next = 0.0
        self._state_s = [0.0] * (len(SERIES_KEYS) - 1)  # node-s per state (slot 0 unused)
        self._bin_mark = [0.0] * (len(SERIES_KEYS) - 1)
        self.series: dict[str, list[float]] = {k: [] for k in SERIES_KEYS}
        self.down_planned: set[int] = set()
        self.end_s = 0.0

    # ----------------------------------------------------------------- building
    def _setup_faults(self, scenario: Scenario) -> None:
        """Per-cause facts, lemon nodes, the repair shop, slowdowns and the shared store."""
        gpn = scenario.cluster.gpus_per_node
        nodes_per_rack = scenario.cluster.nodes_per_rack
        faults = scenario.faults
        # Per-node rate of the faults that kill jobs (the interval policies' job-MTBF model).
        self.job_rate_per_node = sum(f.node_rate(gpn) for f in faults.values() if f.kills_jobs)
        self.job_rate_per_node += sum(
            (f.rate or 0.0) / nodes_per_rack
            for f in faults.values()
            if f.kind == "switch" and f.level == "rack" and f.homing == "single"
        )
        self.planned_causes = {name for name, f in faults.items() if f.is_planned}
        default_detection = scenario.restart.detection
        self.detection: dict[str, float] = {}
        for name, f in faults.items():
            if f.detection is not None:
                self.detection[name] = f.detection
            elif f.is_planned:
                self.detection[name] = 0.0
            elif f.kind == "flap":
                self.detection[name] = f.timeout  # the collective times out first
            else:
                self.detection[name] = default_detection
        self.categories = {name: f.category for name, f in faults.items()}
        n_nodes = self.topology.n_nodes
        lemons = scenario.lemons
        if lemons is not None and lemons.fraction > 0:
            rng = self.streams.get("lemons")
            k = round(lemons.fraction * n_nodes)
            self.lemon_nodes = np.sort(rng.choice(n_nodes, size=k, replace=False))
        else:
            self.lemon_nodes = np.empty(0, dtype=np.int64)
        self._pickers: dict[bool, NodePicker] = {}
        shop = scenario.repairs
        self.repair_crews = shop.crews
        self.repair_busy = 0
        self.repair_queue: deque[tuple[int, float]] = deque()
        self._repair_sampler = BlockSampler(self.streams.get("repairs"))
        quarantine = lemons.quarantine if lemons is not None else None
        self.quarantine = quarantine
        self.failure_times: dict[int, deque[float]] = {}
        self.quarantined: set[int] = set()
        # Slowdowns: token -> (scope, ids, factor); per-scope index of active factors.
        self._slow_token = 0
        self.slowdowns: dict[int, tuple[str, tuple[int, ...], float]] = {}
        self.slow_index: dict[str, dict[int, dict[int, float]]] = {
            "node": {},
            "rack": {},
            "pod": {},
        }
        # Maintenance: job id -> nodes it must hand over after its drain, with the window.
        self.maintenance_due: dict[int, tuple[list[int], str, float]] = {}
        storage_faults = any(f.kind == "storage" for f in faults.values())
        self.store: SharedStore | None = None
        if scenario.storage.contention or storage_faults:
            self.store = SharedStore(self.env, scenario.storage.write_bandwidth)
        self._storage_windows: dict[int, float] = {}
        self.adaptive = scenario.checkpoint.policy == "adaptive"

    @property
    def schedulable_nodes(self) -> int:
        """Nodes a new job may be placed on (all nodes but the hot-spare pool)."""
        return self.topology.n_nodes - self.cluster.spare_target

    def _make_job(self, rec: JobRecord) -> Job:
        gpn = self.gpus_per_node
        nodes = math.ceil(rec.gpus / gpn)
        key = (nodes, rec.checkpoint_bytes)
        derived = self._job_shapes.get(key)
        if derived is None:  # generated workloads repeat a few (size, checkpoint) shapes
            derived = self._job_shapes[key] = self._job_shape(nodes, rec.checkpoint_bytes)
        stall, persist, mtbf, interval, load, init, peer_load = derived
        job = Job(
            rec.id,
            rec.name,
            rec.gpus,
            nodes,
            nodes * gpn,
            rec.work_s,
            rec.submit_s,
            rec.priority,
            rec.checkpoint_bytes,
            interval,
            stall,
            persist,
            init,
            load,
            mtbf,
        )
        if peer_load is not None:
            job.peer_load_s = peer_load
            job.peer_copy_ok = True
        return job

    def _job_shape(
        self, nodes: int, checkpoint_bytes: float
    ) -> tuple[float, float, float, float, float, float, float | None]:
        """Stall, persist, MTBF, interval, load, init and peer-load times of a job shape."""
        sc = self.scenario
        gpn = self.gpus_per_node
        rec_bytes = checkpoint_bytes
        ck = sc.checkpoint
        write_bw = sc.storage.write_bandwidth
        if ck.stall is not None:
            stall, persist = ck.stall, 0.0
        elif ck.mode == "sync":
            stall, persist = analytic.checkpoint_time(rec_bytes, write_bw), 0.0
        else:
            stall = analytic.checkpoint_time(rec_bytes, nodes * gpn * ck.copy_bandwidth_per_gpu)
            persist = analytic.checkpoint_time(rec_bytes, write_bw)
        mtbf = analytic.job_mtbf(nodes, self.job_rate_per_node)
        interval = interval_for(ck.policy, ck.interval, stall, mtbf)
        load = (
            sc.restart.load
            if sc.restart.load is not None
            else analytic.checkpoint_time(rec_bytes, sc.storage.read_bandwidth)
        )
        init = sc.restart.init + sc.restart.init_per_gpu * nodes * gpn
        peer_load = (
            analytic.checkpoint_time(rec_bytes, nodes * gpn * ck.copy_bandwidth_per_gpu)
            if ck.in_memory
            else None
        )
        return stall, persist, mtbf, interval, load, init, peer_load

    # ----------------------------------------------------------------- running
    def run(self, progress: ProgressCallback | None = None) -> None:
        """Run to the horizon (or until every runnable job has finished)."""
        env = self.env
        env.process(self.submit_jobs(env))
        for source in self.fault_sources:
            source.start(env, self)
        horizon = env.timeout(self.horizon_s)
        horizon.callbacks.append(lambda _: self._end())
        self._check_done()
        if progress is not None:
            env.process(self.report_progress(env, progress))
        if self.scenario.run.check_invariants:
            while not self.end_event.processed:
                env.step()
                self.check()
        else:
            env.run(until=self.end_event)
        self._close()
        if progress is not None:
            progress(self.end_s, self.end_s)

    def submit_jobs(self, env: simpy.Environment) -> Any:
        """Process: submit each job at its submission time."""
        for job in self.jobs:
            if job.submit_s > env.now:
                yield env.timeout(job.submit_s - env.now)
            job.phase = JobPhase.QUEUED
            self._enqueue(job)
            self.record(JobSubmitted(env.now, job.id, job.name, job.gpus, job.work_s, job.priority))
            self.wake()

    def report_progress(self, env: simpy.Environment, progress: ProgressCallback) -> Any:
        """Process: call ``progress(now, horizon)`` a hundred times over the horizon."""
        step = self.horizon_s / 100
        while True:
            yield env.timeout(step)
            progress(env.now, self.horizon_s)

    def record(self, event: Event) -> None:
        """Write one record: fold it into the tally, and keep it if the log is kept."""
        self.tally.add(event)
        if self.keep_log:
            self.log.append(event)

    def _check_done(self) -> None:
        if (
            self.scenario.run.stop_when_done
            and self.finished + self.unrunnable >= len(self.jobs)
            and not self.end_event.triggered
        ):
            self._end()

    def _end(self) -> None:
        if not self.end_event.triggered:
            self.end_event.succeed()

    def _close(self) -> None:
        """Stop everything at the current instant and close every open account."""
        env = self.env
        self.closing = True
        self.end_s = env.now
        for job in self.jobs:
            if job.proc is not None and job.proc.is_alive:
                job.proc.interrupt(Horizon())
        while env.peek() <= env.now:
            env.step()
        self._tick()
        self._close_bins(env.now, final=True)

    # ----------------------------------------------------------------- accounting
    def _tick(self) -> None:
        """Integrate node-state levels up to now (call before any node changes state).

        ``node_s`` holds the integrals the GPU-seconds identity uses; ``_state_s`` the finer
        per-state integrals behind the time series, whose bins close only when ``now`` passes
        a bin boundary.
        """
        now = self.env.now
        if now >= self._series_next + self.series_step_s:
            self._close_bins(now)
        dt = now - self._last_tick
        if dt > 0:
            c = self.cluster
            free, spare, down = c.n_free, c.n_spare, c.n_down
            self.node_s["idle"] += (free + spare) * dt
            self.node_s["down"] += down * dt
            self.node_s["allocated"] += c.n_allocated * dt
            acc = self._state_s
            planned = len(self.down_planned)
            quarantined = len(self.quarantined)  # quarantined nodes never come back up
            acc[1] += free * dt
            acc[2] += spare * dt
            acc[3] += (down - planned - quarantined) * dt
            acc[4] += planned * dt
            acc[5] += quarantined * dt
            self._last_tick = now

    def _state_integrals_at(self, t: float) -> list[float]:
        """Per-state node-second integrals extended (at current levels) from the last tick to t."""
        c = self.cluster
        dt = t - self._last_tick
        planned = len(self.down_planned)
        quarantined = len(self.quarantined)
        levels = (
            c.n_allocated,
            c.n_free,
            c.n_spare,
            c.n_down - planned - quarantined,
            planned,
            quarantined,
        )
        out = [a + v * dt for a, v in zip(self._state_s, levels, strict=True)]
        out[0] = self.node_s["allocated"] + c.n_allocated * dt
        return out

    def _close_bins(self, now: float, final: bool = False) -> None:
        """Record the mean GPUs per state over every bin that ends by ``now``."""
        gpn = self.gpus_per_node
        step = self.series_step_s
        while len(self.series["t_s"]) < SERIES_POINTS + 1:
            start = self._series_next
            end = start + step
            if end > now:
                if not final or now <= start:
                    return
                end = now  # the last, partial bin
            at_end = self._state_integrals_at(end)
            width = end - start
            self.series["t_s"].append(start)
            for key, a, b in zip(SERIES_KEYS[1:], self._bin_mark, at_end, strict=True):
                self.series[key].append((b - a) * gpn / width)
            self._bin_mark = at_end
            self._series_next = end

    def check(self) -> None:
        """Assert INV-1 (GPU conservation), per-job held-node bookkeeping, and the views' order."""
        self.cluster.check()
        for job in self.jobs:
            if job.phase in (JobPhase.QUEUED, JobPhase.PENDING, JobPhase.FINISHED):
                assert job.held_nodes == 0, f"job {job.id} holds nodes while {job.phase}"
            held = len(self.cluster.nodes_of(job.id)) if self.cluster.has_job(job.id) else 0
            assert held == job.held_nodes, f"job {job.id}: {held} nodes != {job.held_nodes}"
            assert job.committed_s <= job.work_s * (1 + 1e-12), f"job {job.id} over-progressed"
        by_end = sorted(self.running_views.values(), key=_BY_END)
        assert self.running_by_end == by_end, "running_by_end is out of order or stale"

    # ----------------------------------------------------------------- World interface
    def is_up(self, node: int) -> bool:
        """Whether ``node`` is in service."""
        return self.cluster.is_up(node)

    def node_picker(self, lemon_prone: bool) -> NodePicker:
        """How a source draws the node a failure lands on (lemon-weighted if configured)."""
        key = lemon_prone and self.lemon_nodes.size > 0
        if key not in self._pickers:
            mult = self.scenario.lemons.multiplier if key and self.scenario.lemons else 1.0
            lemons = self.lemon_nodes if key else np.empty(0, dtype=np.int64)
            self._pickers[key] = NodePicker(self.topology.n_nodes, lemons, mult)
        return self._pickers[key]

    def owner_of(self, node: int) -> int:
        """The id of the job holding ``node``, or -1."""
        return int(self.cluster.owner[node])

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
            self._hit(job, Failure(cause, node, corrupt_since))

    def _take_down(
        self, nodes: Sequence[int], cause: str, repair_s: float
    ) -> dict[int, tuple[Job, int]]:
        """Move up nodes to repair; returns the jobs that lost nodes (not yet interrupted)."""
        planned = cause in self.planned_causes
        if planned and len(nodes) > BULK_NODES:
            return self._take_down_many(nodes, cause, repair_s)
        env = self.env
        hit: dict[int, tuple[Job, int]] = {}
        lost_nodes: dict[int, int] = {}
        for node in nodes:
            if not self.cluster.is_up(node):
                continue
            self._tick()
            owner = int(self.cluster.owner[node])
            if owner >= 0:
                job = self.jobs[owner]
                job.sync_held(env.now, self.gpus_per_node)
                self.cluster.fail(node)
                job.held_nodes -= 1
                job.missing += 1
                hit.setdefault(owner, (job, node))
                lost_nodes[owner] = lost_nodes.get(owner, 0) + 1
                if lost_nodes[owner] >= 2 and not planned:
                    job.peer_copy_ok = False  # the in-memory copy's peer may be gone too
            else:
                self.cluster.fail(node)
            self.record(NodeFailed(env.now, node, cause, owner, repair_s))
            if planned:
                self.down_planned.add(node)
            else:
                self.down_planned.discard(node)
                self._count_failure(node)
            self._send_to_repair(node, repair_s, planned)
        return hit

    def _take_down_many(
        self, nodes: Iterable[int], cause: str, repair_s: float
    ) -> dict[int, tuple[Job, int]]:
        """Planned maintenance of many nodes at once: vectorised, one timer for the batch.

        One :class:`NodesMaintained` per job that held some of them (and one for the idle
        ones) instead of a ``NodeFailed`` per node; one :class:`NodesReturned` at the end.
        """
        env = self.env
        now = env.now
        cluster = self.cluster
        arr = np.fromiter(nodes, dtype=np.int64)
        arr = arr[cluster.state[arr] != int(NodeState.DOWN)]
        hit: dict[int, tuple[Job, int]] = {}
        if arr.size == 0:
            return hit
        self._tick()
        owners = cluster.owner[arr].copy()
        held = owners >= 0
        if held.any():
            ids, first, counts = np.unique(owners[held], return_index=True, return_counts=True)
            held_nodes = arr[held]
            for job_id, i, k in zip(ids.tolist(), first.tolist(), counts.tolist(), strict=True):
                job = self.jobs[job_id]
                job.sync_held(now, self.gpus_per_node)
                job.held_nodes -= k
                job.missing += k
                hit[job_id] = (job, int(held_nodes[i]))
        cluster.fail_many(arr)
        order = np.argsort(owners, kind="stable")
        groups, starts = np.unique(owners[order], return_index=True)
        bounds = [*starts.tolist(), arr.size]
        for k, owner in enumerate(groups.tolist()):
            members = arr[order[bounds[k] : bounds[k + 1]]]
            self.record(NodesMaintained(now, cluster.node_tuple(members), cause, owner, repair_s))
        self.down_planned.update(arr.tolist())
        timer = env.timeout(repair_s)
        timer.callbacks.append(lambda _: self._repair_many(arr))
        return hit

    def _repair_many(self, nodes: npt.NDArray[np.int64]) -> None:
        """The end of a planned batch: every node back in service at once."""
        if self.closing:
            return
        self._tick()
        spare = self.cluster.repair_many(nodes)
        listed = nodes.tolist()
        self.record(NodesReturned(self.env.now, self.cluster.node_tuple(listed), int(spare.sum())))
        self.down_planned.difference_update(listed)
        self.wake()

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
            self.record(NodeQuarantined(now, node, len(times)))

    def _send_to_repair(self, node: int, repair_s: float, planned: bool) -> None:
        """Repair ``node``: at once (planned work, unlimited crews) or when a crew is free."""
        if planned or self.repair_crews is None:
            self._start_repair(node, repair_s, crew=False)
        elif self.repair_busy < self.repair_crews:
            self.repair_busy += 1
            self._start_repair(node, repair_s, crew=True)
        else:
            self.repair_queue.append((node, repair_s))

    def _start_repair(self, node: int, repair_s: float, *, crew: bool) -> None:
        shop = self.scenario.repairs
        total = repair_s
        if shop.test > 0 or shop.test_failure > 0:
            # Burn-in test; a node that fails it is repaired (same time) and tested again.
            total += shop.test
            while self._repair_sampler.uniform() < shop.test_failure:
                total += repair_s + shop.test
        done = self.env.timeout(total)
        done.callbacks.append(self._repair_callback(node, crew))

    def _repair_callback(self, node: int, crew: bool = False) -> Callable[[simpy.Event], None]:
        def repaired(_: simpy.Event) -> None:
            if crew:
                self.repair_busy -= 1
                if self.repair_queue:
                    self.repair_busy += 1
                    self._start_repair(*self.repair_queue.popleft(), crew=True)
            self._repair(node)

        return repaired

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
        self._slow_token += 1
        token = self._slow_token
        ids = tuple(int(i) for i in ids)
        self.slowdowns[token] = (scope, ids, factor)
        index = self.slow_index[scope]
        for i in ids:
            index.setdefault(i, {})[token] = factor
        self.record(SlowdownBegan(self.env.now, token, scope, ids, factor, cause))
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
        self.record(SlowdownEnded(self.env.now, token))
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
        owner = self.cluster.owner
        jobs = {int(owner[n]) for n in self._nodes_in(scope, ids)} - {-1}
        for job_id in sorted(jobs):
            job = self.jobs[job_id]
            speed = self.job_speed(job)
            if speed == job.speed:
                continue
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
        """The job's speed factor: the slowest of its nodes, racks and (multi-pod) pods."""
        if not self.slowdowns:
            return 1.0
        owner = self.cluster.owner
        topo = self.topology
        speed = 1.0
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

    # ----------------------------------------------------------------- planned maintenance
    def maintain(self, nodes: Sequence[int], cause: str, duration_s: float) -> None:
        """Planned maintenance of ``nodes`` for ``duration_s``.

        Idle and spare nodes go at once. A running job first writes a checkpoint (drains),
        then hands its nodes over; a job that is starting or recovering loses them at once.
        """
        cluster = self.cluster
        arr = np.fromiter(nodes, dtype=np.int64)
        arr = arr[cluster.state[arr] != int(NodeState.DOWN)]
        owners = cluster.owner[arr]
        self._take_down(arr[owners < 0].tolist(), cause, duration_s)
        by_job: dict[int, list[int]] = {}
        held = owners >= 0
        if held.any():
            held_nodes, held_owners = arr[held], owners[held]
            for job_id in np.unique(held_owners).tolist():
                by_job[job_id] = held_nodes[held_owners == job_id].tolist()
        for job_id in sorted(by_job):
            job = self.jobs[job_id]
            if job.phase is JobPhase.RUNNING and not job.pending_interrupt:
                self.maintenance_due[job_id] = (by_job[job_id], cause, self.env.now + duration_s)
                job.pending_interrupt = True
                assert job.proc is not None
                job.proc.interrupt(Drain(cause))
            else:
                self.fail_nodes(by_job[job_id], cause, duration_s)

    def hand_over_for_maintenance(self, job: Job) -> None:
        """A drained job gives up the nodes due for maintenance (it then recovers)."""
        due = self.maintenance_due.pop(job.id, None)
        if due is None:
            return
        nodes, cause, until = due
        mine = [n for n in nodes if int(self.cluster.owner[n]) == job.id]
        self._take_down(mine, cause, max(0.0, until - self.env.now))

    # ----------------------------------------------------------------- silent data corruption
    def corrupt(self, node: int, cause: str, delay_s: float, repair_s: float) -> None:
        """Silent data corruption on ``node`` now, found ``delay_s`` later.

        If a job holds the node, its state is corrupt from now on: at detection it rolls back
        to its last checkpoint completed before now, and the node goes to repair.
        """
        now = self.env.now
        owner = int(self.cluster.owner[node])
        job = (
            self.jobs[owner] if owner >= 0 and self.jobs[owner].phase is JobPhase.RUNNING else None
        )

        def detect(_: simpy.Event) -> None:
            if self.closing:
                return
            if job is not None and job.phase is not JobPhase.FINISHED and job.proc is not None:
                if int(self.cluster.owner[node]) == job.id:
                    self.fail_nodes((node,), cause, repair_s, corrupt_since=now)
                else:
                    # The job moved on but carries the corrupt state; the faulty node (now
                    # idle or someone else's) goes to repair and fails whoever holds it.
                    self._hit(job, Failure(cause, -1, now))
                    self.fail_nodes((node,), cause, repair_s)
            else:
                self.fail_nodes((node,), cause, repair_s)

        timer = self.env.timeout(delay_s)
        timer.callbacks.append(detect)

    # ----------------------------------------------------------------- shared storage
    def storage_window(self, factor: float, cause: str, duration_s: float) -> None:
        """Scale the shared store's bandwidth to ``factor`` for ``duration_s`` (outage: 0)."""
        if self.store is None:
            return
        self._slow_token += 1
        token = self._slow_token
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
            self.record(StorageChanged(self.env.now, factor, cause))

    # ----------------------------------------------------------------- per-cause facts
    def detection_s(self, cause: str) -> float:
        """How long ``cause`` takes to detect (planned causes: none)."""
        return self.detection.get(cause, self.restart.detection)

    def is_planned(self, cause: str) -> bool:
        """Whether ``cause`` is planned maintenance (drained gracefully)."""
        return cause in self.planned_causes

    def segmented(self, job: Job) -> bool:
        """Whether ``job``'s checkpoints are simulated one by one on the shared store."""
        ck = self.scenario.checkpoint
        return (
            self.store is not None
            and ck.mode == "sync"
            and ck.stall is None
            and job.checkpoint_bytes > 0
            and math.isfinite(job.interval_s)
        )

    def adaptive_interval(self, job: Job) -> float:
        """Daly's interval on the job's own MTBF estimate (one pseudo-failure of prior)."""
        if math.isfinite(job.mtbf_s):
            mtbf = (job.mtbf_s + job.exposure_s) / (1 + job.failures_seen)
        elif job.failures_seen and job.exposure_s > 0:
            mtbf = job.exposure_s / job.failures_seen
        else:
            mtbf = math.inf
        return interval_for("daly", self.scenario.checkpoint.interval, job.stall_s, mtbf)

    def fail_job_on(self, node: int, cause: str) -> None:
        """Kill the job on ``node`` (software/job-scope fault); no hardware goes down."""
        owner = int(self.cluster.owner[node])
        if owner >= 0:
            self._hit(self.jobs[owner], Failure(cause, -1))

    def _hit(self, job: Job, cause: Failure | Preemption) -> None:
        if job.proc is None or not job.proc.is_alive or job.pending_interrupt:
            return
        if job.phase in (JobPhase.QUEUED, JobPhase.PENDING, JobPhase.FINISHED):
            return
        job.pending_interrupt = True
        job.proc.interrupt(cause)

    def _repair(self, node: int) -> None:
        if self.closing or node in self.quarantined:
            return  # a quarantined node stays out of service
        self._tick()
        self.down_planned.discard(node)
        state = self.cluster.repair(node)
        self.record(NodeRepaired(self.env.now, node, state == 1))
        self.wake()

    # ----------------------------------------------------------------- job callbacks
    def _enqueue(self, job: Job) -> None:
        self.queue[job.id] = job
        self.queue_sizes[job.nodes] = self.queue_sizes.get(job.nodes, 0) + 1
        bisect.insort(self.queue_by_size.setdefault(job.nodes, []), (job.submit_s, job.id))

    def _dequeue(self, job: Job) -> None:
        del self.queue[job.id]
        same = self.queue_by_size[job.nodes]
        del same[bisect.bisect_left(same, (job.submit_s, job.id))]
        if not same:
            del self.queue_by_size[job.nodes]
        left = self.queue_sizes[job.nodes] - 1
        if left:
            self.queue_sizes[job.nodes] = left
        else:
            del self.queue_sizes[job.nodes]

    def finish(self, job: Job) -> None:
        """A job completed: release its nodes and wake the dispatcher."""
        self._release(job)
        job.proc = None  # the finished process is not needed; its frames hold memory
        job.epochs = NO_EPOCHS  # only a running job can be rolled back
        job.phase = JobPhase.FINISHED
        job.finish_s = self.env.now
        self.finished += 1
        self.record(JobFinished(self.env.now, job.id))
        self._check_done()
        self.wake()

    def requeue(self, job: Job) -> None:
        """A preempted job releases its nodes and waits in the queue again."""
        self._release(job)
        job.peer_copy_ok = False  # in-memory copies left with the released nodes
        job.phase = JobPhase.QUEUED
        job.proc = None
        self._enqueue(job)
        self.wake()

    def _release(self, job: Job) -> None:
        self._tick()
        job.sync_held(self.env.now, self.gpus_per_node)
        self.cluster.release(job.id)
        self.active.pop(job.id, None)
        job.held_nodes = 0
        job.missing = 0
        self.awaiting.pop(job.id, None)

    def request_replacements(self, job: Job) -> simpy.Event:
        """Register a recovering job's need for ``job.missing`` nodes.

        Returns the event that fires once the job has them all.
        """
        if job.wait_event is None or job.wait_event.triggered:
            job.wait_event = self.env.event()
        self.awaiting[job.id] = job
        self.wake()
        return job.wait_event

    # ----------------------------------------------------------------- dispatcher
    def wake(self) -> None:
        """Ask the dispatcher to run once at the current instant (coalesced)."""
        if self._dispatch_pending or self.closing:
            return
        self._dispatch_pending = True
        ev = self.env.event()
        ev.callbacks.append(self._dispatch)
        ev.succeed()

    def _dispatch(self, _: Any = None) -> None:
        self._dispatch_pending = False
        if self.closing:
            return
        now = self.env.now
        cluster = self.cluster
        for job in list(self.awaiting.values()):
            if cluster.n_free + cluster.n_spare == 0:
                break
            self._tick()
            job.sync_held(now, self.gpus_per_node)
            spares_before = cluster.n_spare
            got = cluster.take_replacements(job.id, job.missing)
            if got:
                self.record(ReplacementTaken(now, job.id, got, spares_before - cluster.n_spare))
                job.held_nodes += len(got)
                job.missing -= len(got)
            if job.missing == 0:
                del self.awaiting[job.id]
                if job.wait_event is not None and not job.wait_event.triggered:
                    job.wait_event.succeed()
        if not self.queue or (cluster.n_free < min(self.queue_sizes) and not self.preemptive):
            return  # no queued job fits in the free nodes (and this policy never preempts)
        for decision in self.policy(self._view(now), self._queue_view(cluster.n_free)):
            if isinstance(decision, Start):
                self._start(self.queue[decision.job])
            elif isinstance(decision, Preempt):
                self._preempt(self.jobs[decision.job])

    def _on_phase(self, job: Job) -> None:
        """Keep the policy's view of jobs holding nodes up to date.

        Called on every phase change, so that building a view per dispatch needs no Python
        loop over the jobs holding nodes.
        """
        if job.id in self.active and job.phase is not JobPhase.DRAINING:
            view = job.as_running()
            old = self.running_views.get(job.id)
            if old is not view:
                if old is not None:
                    self._unsort(old)
                bisect.insort(self.running_by_end, view, key=_BY_END)
                self.running_views[job.id] = view
            self.draining.pop(job.id, None)
        elif job.id in self.active:
            self._drop_view(job.id)
            self.draining[job.id] = job
        else:
            self._drop_view(job.id)
            self.draining.pop(job.id, None)

    def _drop_view(self, job_id: int) -> None:
        old = self.running_views.pop(job_id, None)
        if old is not None:
            self._unsort(old)

    def _unsort(self, view: RunningView) -> None:
        """Remove ``view`` from :attr:`running_by_end` (it is there exactly once)."""
        order = self.running_by_end
        i = bisect.bisect_left(order, _BY_END(view), key=_BY_END)
        assert order[i] is view
        del order[i]

    def _view(self, now: float) -> ClusterView:
        draining = sum(j.held_nodes for j in self.draining.values())
        return ClusterView(
            now,
            self.cluster.n_free,
            self.schedulable_nodes,
            draining,
            tuple(self.running_views.values()),
            tuple(self.running_by_end),
        )

    filter_queue = True
    """Give non-preemptive policies only the queued jobs that can matter (see _queue_view)."""

    def _queue_view(self, free: int) -> tuple[JobView, ...]:
        """The queue as the policy sees it.

        Preemptive policies see every queued job. FIFO and EASY backfill can only start jobs
        that fit in the free nodes now (free nodes only shrink during a dispatch), and they
        look past those only to find the first job that does not fit (the one that blocks, or
        gets the reservation) and the first such job that could ever run (FIFO skips the
        others). So they get exactly those: the same decisions, without an O(queue) scan
        when most of a long queue cannot start (tested against the full queue).
        """
        if self.preemptive or not self.filter_queue:
            return tuple(j.as_queued() for j in self.queue.values())
        queue = self.queue
        views: list[JobView] = []
        first_big: tuple[float, int] | None = None
        first_runnable_big: tuple[float, int] | None = None
        schedulable = self.schedulable_nodes
        for size, keys in self.queue_by_size.items():
            if size <= free:
                views.extend(queue[job_id].as_queued() for _, job_id in keys)
                continue
            head = keys[0]
            if first_big is None or head < first_big:
                first_big = head
            if size <= schedulable and (first_runnable_big is None or head < first_runnable_big):
                first_runnable_big = head
        for key in {first_big, first_runnable_big} - {None}:
            assert key is not None
            views.append(queue[key[1]].as_queued())
        return tuple(views)

    def _start(self, job: Job) -> None:
        self._tick()
        placement = self.cluster.allocate(job.id, job.nodes)
        if placement is None:
            return
        now = self.env.now
        self._dequeue(job)
        self.active[job.id] = job
        job.held_nodes = len(placement.nodes)
        job.held_since_s = now
        job.placed_s = now
        if math.isnan(job.first_placed_s):
            job.first_placed_s = now
        job.racks, job.pods = placement.racks, placement.pods
        self.record(
            JobStarted(
                now,
                job.id,
                len(placement.nodes),
                placement.racks,
                placement.pods,
                job.interval_s,
                job.stall_s,
            )
        )
        job.phase = JobPhase.STARTING
        job.proc = self.env.process(run_job(self.env, self, job))

    def _preempt(self, job: Job) -> None:
        if job.phase not in (JobPhase.RUNNING, JobPhase.STARTING, JobPhase.RECOVERING):
            return
        if job.pending_interrupt:
            return  # a failure reached it this instant; the next dispatch decides again
        checkpoint = self.scenario.scheduler.preempt_checkpoint and job.phase is JobPhase.RUNNING
        drain = job.stall_s + job.persist_s if checkpoint else 0.0
        self.record(JobPreempted(self.env.now, job.id, checkpoint, drain))
        if job.phase is JobPhase.RUNNING:
            job.phase = JobPhase.DRAINING
        self._hit(job, Preemption(checkpoint))

"""The simulation: builds the world from a scenario and runs it on SimPy.

:class:`Simulation` owns the SimPy environment, the cluster (node states), the jobs, the queue,
the event log and the time-weighted node-state integrals. It implements the
:class:`~clustersim.faults.base.World` interface for fault sources and the callbacks that job
processes use (``finish``, ``requeue``, ``request_replacements``). The dispatcher runs only on
state changes, coalesced per instant: it first gives replacement nodes to recovering jobs,
then asks the scheduling policy what to start or preempt.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import simpy

from clustersim import analytic
from clustersim.checkpoint import interval_for
from clustersim.cluster import Cluster
from clustersim.config import RestartConfig, Scenario
from clustersim.events import (
    Event,
    JobFinished,
    JobPreempted,
    JobStarted,
    JobSubmitted,
    NodeFailed,
    NodeRepaired,
    ReplacementTaken,
)
from clustersim.faults import REGISTRY as FAULT_REGISTRY
from clustersim.faults.base import FaultSource
from clustersim.job import Failure, Horizon, Job, JobPhase, Preemption, run_job
from clustersim.rng import Streams
from clustersim.scheduler import PREEMPTIVE, get_policy
from clustersim.topology import Topology
from clustersim.views import ClusterView, JobView, Preempt, RunningView, Start
from clustersim.workload import JobRecord, build_workload

__all__ = ["Simulation"]

ProgressCallback = Callable[[float, float], None]


class Simulation:
    """One replication of a scenario: the world, its processes, and its event log."""

    def __init__(self, scenario: Scenario, *, replication: int = 0, seed: int | None = None):
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
        self.closing = False
        self.horizon_s = scenario.run.horizon
        self.fault_sources: list[FaultSource] = [
            FAULT_REGISTRY[f.kind](name, f, self.streams, self.topology)
            for name, f in scenario.faults.items()
        ]
        self.job_rate_per_node = sum(f.rate for f in scenario.faults.values() if not f.planned)
        self.jobs: list[Job] = [self._make_job(r) for r in build_workload(scenario, self.streams)]
        self.queue: dict[int, Job] = {}
        self.queue_sizes: dict[int, int] = {}  # nodes -> queued jobs of that size
        self.active: dict[int, Job] = {}
        self.running_views: dict[int, RunningView] = {}
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
        self.end_s = 0.0

    # ----------------------------------------------------------------- building
    @property
    def schedulable_nodes(self) -> int:
        """Nodes a new job may be placed on (all nodes but the hot-spare pool)."""
        return self.topology.n_nodes - self.cluster.spare_target

    def _make_job(self, rec: JobRecord) -> Job:
        sc = self.scenario
        gpn = self.gpus_per_node
        nodes = math.ceil(rec.gpus / gpn)
        ck = sc.checkpoint
        write_bw = sc.storage.write_bandwidth
        if ck.stall is not None:
            stall, persist = ck.stall, 0.0
        elif ck.mode == "sync":
            stall, persist = analytic.checkpoint_time(rec.checkpoint_bytes, write_bw), 0.0
        else:
            stall = analytic.checkpoint_time(
                rec.checkpoint_bytes, nodes * gpn * ck.copy_bandwidth_per_gpu
            )
            persist = analytic.checkpoint_time(rec.checkpoint_bytes, write_bw)
        mtbf = analytic.job_mtbf(nodes, self.job_rate_per_node)
        interval = interval_for(ck.policy, ck.interval, stall, mtbf)
        load = (
            sc.restart.load
            if sc.restart.load is not None
            else analytic.checkpoint_time(rec.checkpoint_bytes, sc.storage.read_bandwidth)
        )
        init = sc.restart.init + sc.restart.init_per_gpu * nodes * gpn
        return Job(
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
        """Append one record to the event log."""
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

    # ----------------------------------------------------------------- accounting
    def _tick(self) -> None:
        """Integrate node-state levels up to now (call before any node changes state)."""
        now = self.env.now
        dt = now - self._last_tick
        if dt > 0:
            c = self.cluster
            self.node_s["idle"] += (c.n_free + c.n_spare) * dt
            self.node_s["down"] += c.n_down * dt
            self.node_s["allocated"] += c.n_allocated * dt
            self._last_tick = now

    def check(self) -> None:
        """Assert INV-1 (GPU conservation) and per-job held-node bookkeeping."""
        self.cluster.check()
        for job in self.jobs:
            if job.phase in (JobPhase.QUEUED, JobPhase.PENDING, JobPhase.FINISHED):
                assert job.held_nodes == 0, f"job {job.id} holds nodes while {job.phase}"
            held = len(self.cluster.nodes_of(job.id)) if self.cluster.has_job(job.id) else 0
            assert held == job.held_nodes, f"job {job.id}: {held} nodes != {job.held_nodes}"
            assert job.committed_s <= job.work_s * (1 + 1e-12), f"job {job.id} over-progressed"

    # ----------------------------------------------------------------- World interface
    def is_up(self, node: int) -> bool:
        """Whether ``node`` is in service."""
        return self.cluster.is_up(node)

    def fail_nodes(self, nodes: Sequence[int], cause: str, repair_s: float) -> None:
        """Take the up nodes among ``nodes`` down; interrupt each affected job once."""
        env = self.env
        hit: dict[int, tuple[Job, int]] = {}
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
            else:
                self.cluster.fail(node)
            self.record(NodeFailed(env.now, node, cause, owner, repair_s))
            repaired = env.timeout(repair_s)
            repaired.callbacks.append(self._repair_callback(node))
        for job_id in sorted(hit):
            job, node = hit[job_id]
            self._hit(job, Failure(cause, node))

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

    def _repair_callback(self, node: int) -> Callable[[simpy.Event], None]:
        def repaired(_: simpy.Event) -> None:
            self._repair(node)

        return repaired

    def _repair(self, node: int) -> None:
        if self.closing:
            return
        self._tick()
        state = self.cluster.repair(node)
        self.record(NodeRepaired(self.env.now, node, state == 1))
        self.wake()

    # ----------------------------------------------------------------- job callbacks
    def _enqueue(self, job: Job) -> None:
        self.queue[job.id] = job
        self.queue_sizes[job.nodes] = self.queue_sizes.get(job.nodes, 0) + 1

    def _dequeue(self, job: Job) -> None:
        del self.queue[job.id]
        left = self.queue_sizes[job.nodes] - 1
        if left:
            self.queue_sizes[job.nodes] = left
        else:
            del self.queue_sizes[job.nodes]

    def finish(self, job: Job) -> None:
        """A job completed: release its nodes and wake the dispatcher."""
        self._release(job)
        job.proc = None  # the finished process is not needed; its frames hold memory
        job.phase = JobPhase.FINISHED
        job.finish_s = self.env.now
        self.finished += 1
        self.record(JobFinished(self.env.now, job.id))
        self._check_done()
        self.wake()

    def requeue(self, job: Job) -> None:
        """A preempted job releases its nodes and waits in the queue again."""
        self._release(job)
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
        for decision in self.policy(self._view(now), self._queue_view()):
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
            self.running_views[job.id] = job.as_running()
            self.draining.pop(job.id, None)
        elif job.id in self.active:
            self.running_views.pop(job.id, None)
            self.draining[job.id] = job
        else:
            self.running_views.pop(job.id, None)
            self.draining.pop(job.id, None)

    def _view(self, now: float) -> ClusterView:
        draining = sum(j.held_nodes for j in self.draining.values())
        return ClusterView(
            now,
            self.cluster.n_free,
            self.schedulable_nodes,
            draining,
            tuple(self.running_views.values()),
        )

    def _queue_view(self) -> tuple[JobView, ...]:
        return tuple(j.as_queued() for j in self.queue.values())

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

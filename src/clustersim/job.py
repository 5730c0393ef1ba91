"""A training job's state and its life as a SimPy process.

State machine (DESIGN §3)::

    queued -> starting -> running <-> (checkpointing, closed form) -> interrupted
           -> recovering -> running ... -> finished
    running/starting/recovering -> draining (preempted, checkpoint first) -> queued

``run_job`` is the process of one placement of a job: it starts up, trains, recovers from
failures on its nodes, and ends when the job finishes or is preempted (a preempted job is
queued again and gets a new process when placed again). Failures arrive as
``simpy.Interrupt`` carrying a :class:`Failure` or :class:`Preemption` cause.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import simpy

from clustersim.checkpoint import EpochState, epoch_state, time_to_finish
from clustersim.events import JobInterrupted, RecoveryEnded, RunEnded, RunStarted
from clustersim.views import JobView, RunningView

if TYPE_CHECKING:
    from clustersim.engine import Simulation

__all__ = ["Failure", "Horizon", "Job", "JobPhase", "Preemption", "run_job"]


class JobPhase(StrEnum):
    """Where a job is in its life."""

    PENDING = "pending"
    QUEUED = "queued"
    STARTING = "starting"
    RUNNING = "running"
    RECOVERING = "recovering"
    DRAINING = "draining"
    FINISHED = "finished"


@dataclass(frozen=True, slots=True)
class Failure:
    """Interrupt cause: a fault hit the job (``node`` = -1 for job-scope faults)."""

    cause: str
    node: int


@dataclass(frozen=True, slots=True)
class Preemption:
    """Interrupt cause: the scheduler preempted the job."""

    checkpoint: bool


@dataclass(frozen=True, slots=True)
class Horizon:
    """Interrupt cause: the simulation ends; close the books without losing work."""


@dataclass(slots=True, eq=False)
class Job:
    """Everything the engine tracks about one job: its costs, progress and held nodes."""

    id: int
    name: str
    gpus: int
    nodes: int
    gpus_held: int
    work_s: float
    submit_s: float
    priority: int
    checkpoint_bytes: float
    interval_s: float
    stall_s: float
    persist_s: float
    init_s: float
    load_s: float
    mtbf_s: float
    _phase: JobPhase = JobPhase.PENDING
    committed_s: float = 0.0
    first_start_s: float = math.nan
    finish_s: float = math.nan
    placed_s: float = math.nan
    first_placed_s: float = math.nan
    epoch_start_s: float = 0.0
    held_nodes: int = 0
    missing: int = 0
    held_gpu_s: float = 0.0
    held_since_s: float = 0.0
    interruptions: int = 0
    restarts: int = 0
    preemptions: int = 0
    racks: int = 0
    pods: int = 0
    pending_interrupt: bool = False
    awaiting_nodes: bool = False
    proc: simpy.Process | None = None
    wait_event: simpy.Event | None = None
    last_cause: str = "startup"
    rec_began_s: float = 0.0
    rec_mark_gpu_s: float = 0.0
    rec_step_mark_gpu_s: float = 0.0
    rec_split: dict[str, float] = field(default_factory=dict)
    running_view: RunningView | None = None
    queue_view: JobView | None = None
    on_phase: Callable[[Job], None] | None = None

    @property
    def phase(self) -> JobPhase:
        """Where the job is in its life (setting it invalidates the cached views)."""
        return self._phase

    @phase.setter
    def phase(self, value: JobPhase) -> None:
        self._phase = value
        self.running_view = None
        self.queue_view = None
        if self.on_phase is not None:
            self.on_phase(self)

    def as_running(self) -> RunningView:
        """The job as a policy sees it while it holds nodes (cached until its phase changes)."""
        if self.running_view is None:
            self.running_view = RunningView(
                self.id, self.nodes, self.priority, self.placed_s, self.est_end_s()
            )
        return self.running_view

    def as_queued(self) -> JobView:
        """The job as a policy sees it in the queue (cached until its phase changes)."""
        if self.queue_view is None:
            runtime = self.init_s + time_to_finish(self.remaining_s, self.interval_s, self.stall_s)
            self.queue_view = JobView(self.id, self.nodes, self.priority, self.submit_s, runtime)
        return self.queue_view

    @property
    def remaining_s(self) -> float:
        """Work not yet protected by a checkpoint (what a restart must still do)."""
        return self.work_s - self.committed_s

    def sync_held(self, now: float, gpus_per_node: int) -> None:
        """Accrue held GPU-seconds up to ``now`` (call before the held node count changes)."""
        self.held_gpu_s += self.held_nodes * gpus_per_node * (now - self.held_since_s)
        self.held_since_s = now

    def est_end_s(self) -> float:
        """Failure-free estimate of when the job ends (inf while it recovers)."""
        if self.phase is JobPhase.RUNNING:
            return self.epoch_start_s + time_to_finish(
                self.remaining_s, self.interval_s, self.stall_s
            )
        if self.phase is JobPhase.STARTING:
            remaining = time_to_finish(self.remaining_s, self.interval_s, self.stall_s)
            return self.placed_s + self.init_s + remaining
        return math.inf


_STEPS_START: tuple[str, ...] = ("init", "load")
_STEPS_RECOVER: tuple[str, ...] = ("detect", "requeue", "wait", "init", "load")


def run_job(env: simpy.Environment, sim: Simulation, job: Job) -> Generator[Any, Any, None]:
    """One placement of a job: start up, then train and recover until finished or preempted."""
    steps = _STEPS_START
    while (yield from recover(env, sim, job, steps)):
        if (yield from train(env, sim, job)):
            return
        steps = _STEPS_RECOVER


def _step_duration(sim: Simulation, job: Job, step: str) -> float:
    if step == "detect":
        return sim.restart.detection
    if step == "requeue":
        return sim.restart.requeue
    if step == "init":
        return job.init_s
    if step == "load":
        return job.load_s if job.committed_s > 0 else 0.0
    return 0.0


def _note_failure(
    env: simpy.Environment, sim: Simulation, job: Job, cause: Failure, phase: Any, lost_s: float
) -> None:
    job.interruptions += 1
    job.last_cause = cause.cause
    sim.record(JobInterrupted(env.now, job.id, cause.cause, cause.node, phase, lost_s))


def recover(
    env: simpy.Environment, sim: Simulation, job: Job, steps: tuple[str, ...]
) -> Generator[Any, Any, bool]:
    """Start-up or recovery: walk ``steps``; a failure restarts them (or is absorbed).

    Returns True when the job may train, False if it was preempted (and requeued) or the
    simulation ended.
    """
    job.phase = JobPhase.STARTING if steps is _STEPS_START else JobPhase.RECOVERING
    job.sync_held(env.now, sim.gpus_per_node)
    job.rec_began_s = env.now
    job.rec_mark_gpu_s = job.held_gpu_s
    job.rec_step_mark_gpu_s = job.held_gpu_s
    job.rec_split = dict.fromkeys(("detect", "wait", "init", "load"), 0.0)
    i = 0
    left = math.nan
    while i < len(steps):
        step = steps[i]
        t0 = env.now
        try:
            if step == "wait":
                if job.missing > 0:
                    yield sim.request_replacements(job)
            else:
                duration = _step_duration(sim, job, step) if math.isnan(left) else left
                left = math.nan
                if duration > 0:
                    yield env.timeout(duration)
            _accrue(env, sim, job, step)
            i += 1
        except simpy.Interrupt as irq:
            job.pending_interrupt = False
            _accrue(env, sim, job, step)
            cause = irq.cause
            if isinstance(cause, Preemption | Horizon):
                close_recovery(
                    env, sim, job, "preempted" if isinstance(cause, Preemption) else "horizon"
                )
                if isinstance(cause, Preemption):
                    job.preemptions += 1
                    job.last_cause = "preemption"
                    sim.requeue(job)
                return False
            assert isinstance(cause, Failure)
            _note_failure(env, sim, job, cause, "recovering", 0.0)
            if sim.restart.failure_during_recovery == "restart" or steps is _STEPS_START:
                steps = _STEPS_RECOVER
                job.phase = JobPhase.RECOVERING
                i = 0
            elif step != "wait":
                left = max(0.0, _step_duration(sim, job, step) - (env.now - t0))
        if i == len(steps) and job.missing > 0:
            # A node lost after the wait step (failure_during_recovery: ignore) must still be
            # replaced before the job can train on its full gang.
            steps, i = (*steps, "wait"), len(steps)
    close_recovery(env, sim, job, "resumed")
    return True


def _accrue(env: simpy.Environment, sim: Simulation, job: Job, step: str) -> None:
    """Charge the GPU-seconds held since the last charge to ``step``.

    Others may accrue held time in between (the dispatcher does when it hands over
    replacement nodes), so the charge is measured from a mark, not from the last sync.
    """
    job.sync_held(env.now, sim.gpus_per_node)
    key = "detect" if step == "requeue" else step
    job.rec_split[key] += job.held_gpu_s - job.rec_step_mark_gpu_s
    job.rec_step_mark_gpu_s = job.held_gpu_s


def close_recovery(env: simpy.Environment, sim: Simulation, job: Job, reason: Any) -> None:
    """Record the end of the current recovery with its GPU-seconds by step."""
    job.sync_held(env.now, sim.gpus_per_node)
    split = job.rec_split
    sim.record(
        RecoveryEnded(
            env.now,
            job.id,
            reason,
            env.now - job.rec_began_s,
            job.held_gpu_s - job.rec_mark_gpu_s,
            split["detect"],
            split["wait"],
            split["init"],
            split["load"],
            job.last_cause,
        )
    )


def train(env: simpy.Environment, sim: Simulation, job: Job) -> Generator[Any, Any, bool]:
    """Train from the last checkpoint until finished or disturbed.

    Returns True if the job's process should end (finished, preempted, horizon), False to
    recover from a failure.
    """
    job.phase = JobPhase.RUNNING
    start = env.now
    job.epoch_start_s = start
    if math.isnan(job.first_start_s):
        job.first_start_s = start
    sim.record(RunStarted(start, job.id, job.committed_s))
    remaining = job.remaining_s
    gpus = job.held_nodes * sim.gpus_per_node
    try:
        yield env.timeout(time_to_finish(remaining, job.interval_s, job.stall_s))
    except simpy.Interrupt as irq:
        job.pending_interrupt = False
        state = epoch_state(env.now - start, remaining, job.interval_s, job.stall_s, job.persist_s)
        cause = irq.cause
        if isinstance(cause, Failure):
            _note_failure(env, sim, job, cause, "running", state.lost_s)
            _end_epoch(env, sim, job, "interrupted", gpus, state, 0.0, state.lost_s, cause.cause)
            job.restarts += 1
            return False
        if isinstance(cause, Horizon):
            _end_epoch(env, sim, job, "horizon", gpus, state, 0.0, 0.0, "")
            return True
        assert isinstance(cause, Preemption)
        return (yield from drain(env, sim, job, gpus, state, cause.checkpoint))
    state = epoch_state(math.inf, remaining, job.interval_s, job.stall_s, job.persist_s)
    _end_epoch(env, sim, job, "finished", gpus, state, 0.0, 0.0, "")
    sim.finish(job)
    return True


def drain(
    env: simpy.Environment,
    sim: Simulation,
    job: Job,
    gpus: int,
    state: EpochState,
    checkpoint: bool,
) -> Generator[Any, Any, bool]:
    """A preempted job writes a final checkpoint (if allowed and useful), then is requeued.

    A failure while draining loses the work since the last completed checkpoint.
    """
    job.phase = JobPhase.DRAINING
    job.preemptions += 1
    job.last_cause = "preemption"
    lost = state.lost_s
    t0 = env.now
    drained = 0
    if checkpoint and lost > 0:
        try:
            yield env.timeout(job.stall_s + job.persist_s)
            lost, drained = 0.0, 1
        except simpy.Interrupt as irq:
            job.pending_interrupt = False
            cause = irq.cause
            if isinstance(cause, Failure):
                _note_failure(env, sim, job, cause, "draining", lost)
                job.last_cause = cause.cause
            elif isinstance(cause, Horizon):
                lost = 0.0  # the run ends: nothing is redone, but the write did not complete
    reason: Any = "horizon" if sim.closing else "preempted"
    _end_epoch(env, sim, job, reason, gpus, state, env.now - t0, lost, job.last_cause, drained)
    if not sim.closing:
        sim.requeue(job)
    return True


def _end_epoch(
    env: simpy.Environment,
    sim: Simulation,
    job: Job,
    reason: Any,
    gpus: int,
    state: EpochState,
    extra_stall_s: float,
    lost_s: float,
    cause: str,
    extra_checkpoints: int = 0,
) -> None:
    """Record the epoch's closed-form accounting and move the committed progress forward."""
    progress = job.committed_s + state.work_s
    committed = progress - lost_s
    sim.record(
        RunEnded(
            env.now,
            job.id,
            reason,
            gpus,
            state.work_s,
            state.stall_s + extra_stall_s,
            lost_s,
            state.checkpoints + extra_checkpoints,
            progress,
            committed,
            cause,
        )
    )
    job.committed_s = committed

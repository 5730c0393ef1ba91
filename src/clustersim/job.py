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
from collections import deque
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

__all__ = [
    "Drain",
    "EpochRecord",
    "Failure",
    "Horizon",
    "Job",
    "JobPhase",
    "Preemption",
    "SpeedChange",
    "run_job",
]


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
    """Interrupt cause: a fault hit the job (``node`` = -1 for job-scope faults).

    ``corrupt_since`` (silent data corruption) is when the job's state went bad: the job rolls
    back to the last checkpoint completed before it.
    """

    cause: str
    node: int
    corrupt_since: float = math.nan


@dataclass(frozen=True, slots=True)
class Drain:
    """Interrupt cause: planned maintenance; checkpoint first, then hand the nodes over."""

    cause: str


@dataclass(frozen=True, slots=True)
class SpeedChange:
    """Interrupt cause: the job's speed factor changed; re-plan without ending the epoch."""


@dataclass(frozen=True, slots=True)
class Preemption:
    """Interrupt cause: the scheduler preempted the job."""

    checkpoint: bool


@dataclass(frozen=True, slots=True)
class Horizon:
    """Interrupt cause: the simulation ends; close the books without losing work."""


EPOCH_HISTORY = 64
"""Running epochs remembered per job, for rolling back after silent data corruption."""
NO_EPOCHS: deque[EpochRecord] = deque(maxlen=0)
"""Shared by every job that is not running yet or has finished (appending to it is a no-op):
a quarter of a million queued or finished jobs then hold no deque of their own."""


@dataclass(slots=True, eq=False)
class EpochRecord:
    """What is needed to know a past epoch's committed progress at any time within it.

    Closed-form epochs keep their speed marks ``(wall, virtual, speed)``; segmented epochs
    (storage contention) keep their completed checkpoints ``(time, committed)``.
    """

    start: float
    committed0: float
    remaining: float
    job: Job
    marks: list[tuple[float, float, float]]
    end: float = math.inf
    checkpoints: list[tuple[float, float]] | None = None
    interval: float = math.nan
    stall: float = math.nan
    persist: float = math.nan

    def __post_init__(self) -> None:
        self.interval, self.stall, self.persist = (
            self.job.interval_s,
            self.job.stall_s,
            self.job.persist_s,
        )

    def committed_at(self, t: float) -> float:
        """Progress protected by checkpoints completed by time ``t``."""
        t = min(t, self.end)
        if self.checkpoints is not None:
            best = self.committed0
            for when, committed in self.checkpoints:
                if when > t:
                    break
                best = committed
            return best
        wall, virtual, speed = self.marks[0]
        for mark in self.marks:
            if mark[0] > t:
                break
            wall, virtual, speed = mark
        v = virtual + (t - wall) * speed
        state = epoch_state(v, self.remaining, self.interval, self.stall, self.persist)
        return self.committed0 + state.committed_s


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
    speed: float = 1.0
    pending_speed: bool = False
    # NO_EPOCHS until the first epoch, then a deque of its own (back to NO_EPOCHS at finish).
    epochs: deque[EpochRecord] = field(default_factory=lambda: NO_EPOCHS)
    exposure_s: float = 0.0
    failures_seen: int = 0
    peer_load_s: float = math.inf
    peer_copy_ok: bool = False

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

    def committed_at(self, t: float) -> float:
        """Committed progress as of time ``t`` (from the last :data:`EPOCH_HISTORY` epochs)."""
        for record in reversed(self.epochs):
            if record.start <= t:
                return record.committed_at(t)
        return self.epochs[0].committed0 if self.epochs else 0.0

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
        return sim.detection_s(job.last_cause)
    if step == "requeue":
        return sim.restart.requeue
    if step == "init":
        return job.init_s
    if step == "load":
        if job.committed_s <= 0:
            return 0.0
        return job.peer_load_s if job.peer_copy_ok else job.load_s
    return 0.0


def _note_failure(
    env: simpy.Environment,
    sim: Simulation,
    job: Job,
    cause: Failure,
    phase: Any,
    lost_s: float,
    *,
    planned: bool = False,
) -> None:
    job.interruptions += 1
    job.last_cause = cause.cause
    planned = planned or sim.is_planned(cause.cause)
    if not planned:
        job.failures_seen += 1
    sim.record(JobInterrupted(env.now, job.id, cause.cause, cause.node, phase, lost_s, planned))


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
                left = duration  # what is left of this step if an interrupt is absorbed
                if duration > 0:
                    yield env.timeout(duration)
                left = math.nan
            _accrue(env, sim, job, step)
            if step == "load":
                job.peer_copy_ok = math.isfinite(job.peer_load_s)
            i += 1
        except simpy.Interrupt as irq:
            cause = irq.cause
            if isinstance(cause, SpeedChange):  # only matters while training
                job.pending_speed = False
                if step != "wait":
                    left = max(0.0, left - (env.now - t0))
                continue
            job.pending_interrupt = False
            _accrue(env, sim, job, step)
            if isinstance(cause, Drain):
                cause = Failure(cause.cause, -1)
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
            lost = 0.0
            if not math.isnan(cause.corrupt_since):
                lost = job.committed_s - min(job.committed_at(cause.corrupt_since), job.committed_s)
            _note_failure(env, sim, job, cause, "recovering", lost)
            if lost > 0:
                gpus = job.nodes * sim.gpus_per_node
                empty = EpochState(0.0, 0.0, 0, 0.0)
                _end_epoch(env, sim, job, "interrupted", gpus, empty, 0.0, lost, cause.cause)
            if sim.restart.failure_during_recovery == "restart" or steps is _STEPS_START:
                steps = _STEPS_RECOVER
                job.phase = JobPhase.RECOVERING
                i = 0
                left = math.nan
            elif step != "wait":
                left = max(0.0, left - (env.now - t0))
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

    Progress is closed-form in the epoch's *virtual* time: the job's speed factor (1 unless a
    straggler or degraded link slows its gang) scales how fast virtual time passes, and a
    :class:`SpeedChange` interrupt re-plans the finish without ending the epoch. With storage
    contention on, checkpoints are simulated one by one instead (:func:`train_segments`).

    Returns True if the job's process should end (finished, preempted, horizon), False to
    recover from a failure or a maintenance drain.
    """
    if sim.segmented(job):
        return (yield from train_segments(env, sim, job))
    start, remaining, gpus = _begin_epoch(env, sim, job)
    total = time_to_finish(remaining, job.interval_s, job.stall_s)
    record = EpochRecord(start, job.committed_s, remaining, job, [(start, 0.0, job.speed)])
    job.epochs.append(record)
    virtual = 0.0
    seg_start = start
    speed = job.speed
    while True:
        try:
            if speed > 0:
                yield env.timeout((total - virtual) / speed)
            else:
                yield env.event()  # stalled until the speed changes
            break
        except simpy.Interrupt as irq:
            virtual = min(total, virtual + (env.now - seg_start) * speed)
            seg_start = env.now
            cause = irq.cause
            if isinstance(cause, SpeedChange):
                job.pending_speed = False
                speed = job.speed
                record.marks.append((env.now, virtual, speed))
                continue
            job.pending_interrupt = False
            record.end = env.now
            slow = _slow(env.now - start, virtual, record)
            state = epoch_state(virtual, remaining, job.interval_s, job.stall_s, job.persist_s)
            return (yield from _disturbed(env, sim, job, gpus, state, slow, cause))
    record.end = env.now
    state = epoch_state(math.inf, remaining, job.interval_s, job.stall_s, job.persist_s)
    slow = _slow(env.now - start, total, record)
    _end_epoch(env, sim, job, "finished", gpus, state, 0.0, 0.0, "", slow_s=slow)
    sim.finish(job)
    return True


def _slow(wall_s: float, virtual_s: float, record: EpochRecord) -> float:
    """Wall time lost to slowdowns in an epoch (exactly 0 if it ran at full speed)."""
    if len(record.marks) == 1 and record.marks[0][2] == 1.0:
        return 0.0
    return max(0.0, wall_s - virtual_s)


def _begin_epoch(env: simpy.Environment, sim: Simulation, job: Job) -> tuple[float, float, int]:
    start = env.now
    job.epoch_start_s = start
    if math.isnan(job.first_start_s):
        job.first_start_s = start
    if sim.adaptive:
        job.interval_s = sim.adaptive_interval(job)
    # Last: setting the phase publishes the job's view (and its estimated end) to the
    # dispatcher, so the epoch's start and interval must already be in place.
    job.phase = JobPhase.RUNNING
    job.speed = sim.job_speed(job)
    job.pending_speed = False
    if job.epochs is NO_EPOCHS:
        job.epochs = deque(maxlen=EPOCH_HISTORY)
    sim.record(RunStarted(start, job.id, job.committed_s))
    return start, job.remaining_s, job.held_nodes * sim.gpus_per_node


def _disturbed(
    env: simpy.Environment,
    sim: Simulation,
    job: Job,
    gpus: int,
    state: EpochState,
    slow: float,
    cause: Any,
) -> Generator[Any, Any, bool]:
    """Close an epoch that a failure, the horizon, a preemption or maintenance ended."""
    if isinstance(cause, Failure):
        lost = state.lost_s
        if not math.isnan(cause.corrupt_since):
            # Silent data corruption: every checkpoint since the corruption is bad too.
            progress = job.committed_s + state.work_s
            lost = progress - min(job.committed_at(cause.corrupt_since), progress)
        _note_failure(env, sim, job, cause, "running", lost)
        _end_epoch(env, sim, job, "interrupted", gpus, state, 0.0, lost, cause.cause, slow_s=slow)
        job.restarts += 1
        return False
    if isinstance(cause, Horizon):
        _end_epoch(env, sim, job, "horizon", gpus, state, 0.0, 0.0, "", slow_s=slow)
        return True
    if isinstance(cause, Drain):
        return (yield from drain_for_maintenance(env, sim, job, gpus, state, slow, cause))
    assert isinstance(cause, Preemption)
    return (yield from drain(env, sim, job, gpus, state, cause.checkpoint, slow))


def train_segments(env: simpy.Environment, sim: Simulation, job: Job) -> Generator[Any, Any, bool]:
    """Train with checkpoints simulated one by one on the shared store (storage contention).

    Compute segments follow the job's speed as in :func:`train`; each checkpoint's stall is
    however long its write takes at the job's fair share of the store's bandwidth.
    """
    start, remaining, gpus = _begin_epoch(env, sim, job)
    record = EpochRecord(start, job.committed_s, remaining, job, [], checkpoints=[])
    job.epochs.append(record)
    store = sim.store
    assert store is not None
    work = committed = stall = slow = 0.0
    ckpts = 0
    writing = False
    seg_start = t0 = start
    while True:
        try:
            if work >= remaining:
                break
            if not writing:
                piece = min(job.interval_s, remaining - work)
                target = work + piece
                speed = job.speed
                seg_start = env.now
                while True:
                    try:
                        if speed > 0:
                            yield env.timeout((target - work) / speed)
                        else:
                            yield env.event()
                        slow += (env.now - seg_start) - (target - work)
                        work = target
                        break
                    except simpy.Interrupt as irq:
                        done = min(target - work, (env.now - seg_start) * speed)
                        slow += (env.now - seg_start) - done
                        work += done
                        seg_start = env.now
                        if not isinstance(irq.cause, SpeedChange):
                            raise
                        job.pending_speed = False
                        speed = job.speed
                if work >= remaining:
                    break
                writing = True
                t0 = env.now
                written = store.write(job.id, job.checkpoint_bytes)
                while True:
                    try:
                        yield written  # a speed change does not restart the write
                        break
                    except simpy.Interrupt as irq:
                        if not isinstance(irq.cause, SpeedChange):
                            raise
                        job.pending_speed = False
                stall += env.now - t0
                writing = False
                committed = work
                ckpts += 1
                record.checkpoints.append((env.now, job.committed_s + committed))  # type: ignore[union-attr]
        except simpy.Interrupt as irq:
            job.pending_interrupt = False
            if writing:
                store.cancel(job.id)
                stall += env.now - t0
            record.end = env.now
            state = EpochState(work, stall, ckpts, committed)
            return (yield from _disturbed(env, sim, job, gpus, state, slow, irq.cause))
    record.end = env.now
    state = EpochState(work, stall, ckpts, work)
    _end_epoch(env, sim, job, "finished", gpus, state, 0.0, 0.0, "", slow_s=max(0.0, slow))
    sim.finish(job)
    return True


def drain_for_maintenance(
    env: simpy.Environment,
    sim: Simulation,
    job: Job,
    gpus: int,
    state: EpochState,
    slow: float,
    cause: Drain,
) -> Generator[Any, Any, bool]:
    """Planned maintenance: checkpoint, hand the nodes over, then recover like after a failure.

    A failure while writing the checkpoint loses the work since the last completed one.
    """
    job.phase = JobPhase.DRAINING
    lost = state.lost_s
    t0 = env.now
    drained = 0
    reason: Any = "drained"
    failed: Failure | None = None
    if lost > 0:
        outcome = yield from _write_final_checkpoint(env, sim, job)
        if outcome == "done":
            lost, drained = 0.0, 1
        elif isinstance(outcome, Failure):
            failed = outcome
        else:  # the run ended while writing: nothing is redone
            lost, reason = 0.0, "horizon"
    planned = Failure(cause.cause, -1)
    _note_failure(env, sim, job, failed or planned, "running", lost, planned=failed is None)
    _end_epoch(
        env, sim, job, reason, gpus, state, env.now - t0, lost, job.last_cause, drained, slow
    )
    if reason == "horizon":
        return True
    sim.hand_over_for_maintenance(job)
    job.restarts += 1
    return False


def _write_final_checkpoint(
    env: simpy.Environment, sim: Simulation, job: Job
) -> Generator[Any, Any, Any]:
    """Write one checkpoint now; returns "done", the :class:`Failure`, or "horizon"."""
    duration = job.stall_s + job.persist_s
    t_end = env.now + duration
    store = sim.store if sim.segmented(job) else None
    written = store.write(job.id, job.checkpoint_bytes) if store is not None else None
    while True:
        try:
            if written is not None:
                yield written  # an absorbed interrupt does not restart the write
            else:
                yield env.timeout(max(0.0, t_end - env.now))
            return "done"
        except simpy.Interrupt as irq:
            cause = irq.cause
            if isinstance(cause, SpeedChange):
                job.pending_speed = False
                continue
            job.pending_interrupt = False
            if isinstance(cause, Drain | Preemption):
                continue  # already draining
            if sim.store is not None:
                sim.store.cancel(job.id)
            return cause if isinstance(cause, Failure) else "horizon"


def drain(
    env: simpy.Environment,
    sim: Simulation,
    job: Job,
    gpus: int,
    state: EpochState,
    checkpoint: bool,
    slow: float = 0.0,
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
        outcome = yield from _write_final_checkpoint(env, sim, job)
        if outcome == "done":
            lost, drained = 0.0, 1
        elif isinstance(outcome, Failure):
            _note_failure(env, sim, job, outcome, "draining", lost)
        else:
            lost = 0.0  # the run ends: nothing is redone, but the write did not complete
    reason: Any = "horizon" if sim.closing else "preempted"
    _end_epoch(
        env, sim, job, reason, gpus, state, env.now - t0, lost, job.last_cause, drained, slow
    )
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
    slow_s: float = 0.0,
) -> None:
    """Record the epoch's closed-form accounting and move the committed progress forward."""
    progress = job.committed_s + state.work_s
    committed = progress - lost_s
    job.exposure_s += env.now - job.epoch_start_s
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
            max(0.0, slow_s),  # float residue of summed segments can dip below zero
        )
    )
    job.committed_s = committed

"""A job's life as a SimPy process: start-up, training, recovery, draining.

``run_job`` is the process of one placement of a job: it starts up, trains, recovers from
failures on its nodes, and ends when the job finishes or is preempted (a preempted job is
queued again and gets a new process when placed again). Failures arrive as
``simpy.Interrupt`` carrying a cause from :mod:`clustersim.job`.

This module owns the phases a job moves through and the records of its epochs and
recoveries; the records themselves are written by :mod:`clustersim.engine.accounts`. It
reaches the rest of the simulation only through
:class:`~clustersim.engine.accounts.JobHost`.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import simpy

from clustersim.checkpoint import EpochState, epoch_state, time_to_finish
from clustersim.job import (
    Drain,
    EpochRecord,
    Failure,
    Horizon,
    Job,
    JobPhase,
    Preemption,
    SpeedChange,
)

from .accounts import (
    JobHost,
    accrue,
    begin_epoch,
    close_recovery,
    end_epoch,
    note_failure,
    slow_s,
    step_duration,
)
from .segments import Segments

__all__ = ["JobHost", "run_job"]


_STEPS_START: tuple[str, ...] = ("init", "load")
_STEPS_RECOVER: tuple[str, ...] = ("detect", "requeue", "wait", "init", "load")
# With a facility ramp limit, an epoch starts only once its power ramp is done.
_STEPS_START_RAMP: tuple[str, ...] = (*_STEPS_START, "ramp")
_STEPS_RECOVER_RAMP: tuple[str, ...] = (*_STEPS_RECOVER, "ramp")


def _recover_steps(sim: JobHost) -> tuple[str, ...]:
    return _STEPS_RECOVER_RAMP if sim.ramp_limited else _STEPS_RECOVER


def run_job(env: simpy.Environment, sim: JobHost, job: Job) -> Generator[Any, Any, None]:
    """One placement of a job: start up, then train and recover until finished or preempted."""
    steps = _STEPS_START_RAMP if sim.ramp_limited else _STEPS_START
    while (yield from recover(env, sim, job, steps)):
        if (yield from train(env, sim, job)):
            return
        steps = _recover_steps(sim)


def recover(
    env: simpy.Environment, sim: JobHost, job: Job, steps: tuple[str, ...]
) -> Generator[Any, Any, bool]:
    """Start-up or recovery: walk ``steps``; a failure restarts them (or is absorbed).

    Returns True when the job may train, False if it was preempted (and requeued) or the
    simulation ended.
    """
    starting = steps[0] != "detect"
    job.phase = JobPhase.STARTING if starting else JobPhase.RECOVERING
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
                duration = step_duration(sim, job, step) if math.isnan(left) else left
                left = duration  # what is left of this step if an interrupt is absorbed
                if duration > 0:
                    yield env.timeout(duration)
                left = math.nan
            accrue(env, sim, job, step)
            if step == "ramp":
                sim.ramp_ended(job)
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
            accrue(env, sim, job, step)
            if step == "ramp":
                sim.ramp_ended(job)
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
            note_failure(env, sim, job, cause, "recovering", lost)
            if lost > 0:
                gpus = job.gpus_held
                empty = EpochState(0.0, 0.0, 0, 0.0)
                end_epoch(env, sim, job, "interrupted", gpus, empty, 0.0, lost, cause.cause)
            if sim.restart.failure_during_recovery == "restart" or starting:
                steps = _recover_steps(sim)
                starting = False
                job.phase = JobPhase.RECOVERING
                i = 0
                left = math.nan
            elif step == "ramp":
                left = math.nan  # the interrupted ramp ended above: reserve a new one
            elif step != "wait":
                left = max(0.0, left - (env.now - t0))
        if i == len(steps) and job.missing > 0:
            # A node lost after the wait step (failure_during_recovery: ignore) must still be
            # replaced before the job can train on its full gang.
            steps, i = (*steps, "wait"), len(steps)
    close_recovery(env, sim, job, "resumed")
    return True


def train(env: simpy.Environment, sim: JobHost, job: Job) -> Generator[Any, Any, bool]:
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
    start, remaining, gpus = begin_epoch(env, sim, job)
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
            slow = slow_s(env.now - start, virtual, record)
            state = epoch_state(virtual, remaining, job.interval_s, job.stall_s, job.persist_s)
            return (yield from _disturbed(env, sim, job, gpus, state, slow, cause))
    record.end = env.now
    state = epoch_state(math.inf, remaining, job.interval_s, job.stall_s, job.persist_s)
    slow = slow_s(env.now - start, total, record)
    end_epoch(env, sim, job, "finished", gpus, state, 0.0, 0.0, "", slow_s=slow)
    sim.finish(job)
    return True


def _disturbed(
    env: simpy.Environment,
    sim: JobHost,
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
        note_failure(env, sim, job, cause, "running", lost)
        end_epoch(env, sim, job, "interrupted", gpus, state, 0.0, lost, cause.cause, slow_s=slow)
        job.restarts += 1
        return False
    if isinstance(cause, Horizon):
        end_epoch(env, sim, job, "horizon", gpus, state, 0.0, 0.0, "", slow_s=slow)
        return True
    if isinstance(cause, Drain):
        return (yield from drain_for_maintenance(env, sim, job, gpus, state, slow, cause))
    assert isinstance(cause, Preemption)
    return (yield from drain(env, sim, job, gpus, state, cause.checkpoint, slow))


def train_segments(env: simpy.Environment, sim: JobHost, job: Job) -> Generator[Any, Any, bool]:
    """Train with checkpoints simulated one by one on the shared store (storage contention).

    Compute segments follow the job's speed as in :func:`train`; each checkpoint's stall is
    however long its write takes at the job's fair share of the store's bandwidth. The
    segments and writes are driven by callbacks (:class:`~clustersim.engine.segments.Segments`),
    not by resuming this process at each of them: the process waits for the end of the epoch
    or an interrupt.
    """
    start, remaining, gpus = begin_epoch(env, sim, job)
    record = EpochRecord(start, job.committed_s, remaining, job, [], checkpoints=[])
    job.epochs.append(record)
    store = sim.store
    assert store is not None
    if remaining <= 0:
        record.end = env.now
        state = EpochState(0.0, 0.0, 0, 0.0)
        end_epoch(env, sim, job, "finished", gpus, state, 0.0, 0.0, "", slow_s=0.0)
        sim.finish(job)
        return True
    seg = Segments(env, job, store, record, remaining)
    while True:
        try:
            yield seg.done
            break
        except simpy.Interrupt as irq:
            if isinstance(irq.cause, SpeedChange):
                job.pending_speed = False
                seg.respeed()
                continue
            job.pending_interrupt = False
            state = seg.stop()
            record.end = env.now
            return (yield from _disturbed(env, sim, job, gpus, state, seg.slow, irq.cause))
    record.end = env.now
    state = EpochState(seg.work, seg.stall, seg.ckpts, seg.work)
    end_epoch(env, sim, job, "finished", gpus, state, 0.0, 0.0, "", slow_s=max(0.0, seg.slow))
    sim.finish(job)
    return True


def drain_for_maintenance(
    env: simpy.Environment,
    sim: JobHost,
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
    note_failure(env, sim, job, failed or planned, "running", lost, planned=failed is None)
    end_epoch(env, sim, job, reason, gpus, state, env.now - t0, lost, job.last_cause, drained, slow)
    if reason == "horizon":
        return True
    sim.hand_over_for_maintenance(job)
    job.restarts += 1
    return False


def _write_final_checkpoint(
    env: simpy.Environment, sim: JobHost, job: Job
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
    sim: JobHost,
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
            note_failure(env, sim, job, outcome, "draining", lost)
        else:
            lost = 0.0  # the run ends: nothing is redone, but the write did not complete
    reason: Any = "horizon" if sim.closing else "preempted"
    end_epoch(env, sim, job, reason, gpus, state, env.now - t0, lost, job.last_cause, drained, slow)
    if not sim.closing:
        sim.requeue(job)
    return True

"""A job's accounts: the records of its epochs and recoveries, and what its process needs.

Owns the bookkeeping that turns a job's phases into records: an epoch's start
(:class:`~clustersim.events.RunStarted`) and its closed-form accounting at the end
(:class:`~clustersim.events.RunEnded`), interruptions, and a recovery's GPU-seconds by step
(:class:`~clustersim.events.RecoveryEnded`). :class:`JobHost` is the narrow interface through
which a job's process reaches the rest of the simulation.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Protocol

import simpy

from clustersim.checkpoint import EpochState
from clustersim.config import RestartConfig
from clustersim.events import Event, JobInterrupted, RecoveryEnded, RunEnded, RunStarted
from clustersim.job import EPOCH_HISTORY, NO_EPOCHS, EpochRecord, Failure, Job, JobPhase
from clustersim.storage import SharedStore

__all__ = [
    "JobHost",
    "accrue",
    "begin_epoch",
    "close_recovery",
    "end_epoch",
    "note_failure",
    "slow_s",
    "step_duration",
]


class JobHost(Protocol):
    """What a job's process needs from the simulation around it."""

    gpus_per_node: int
    restart: RestartConfig
    adaptive: bool
    store: SharedStore | None
    closing: bool
    ramp_limited: bool

    def record(self, event: Event) -> None:
        """Write one record to the event log."""
        ...

    def detection_s(self, cause: str) -> float:
        """How long ``cause`` takes to detect."""
        ...

    def is_planned(self, cause: str) -> bool:
        """Whether ``cause`` is planned maintenance."""
        ...

    def request_replacements(self, job: Job) -> simpy.Event:
        """An event that fires once ``job`` holds its ``missing`` nodes again."""
        ...

    def requeue(self, job: Job) -> None:
        """Release a preempted job's nodes and queue it again."""
        ...

    def finish(self, job: Job) -> None:
        """Release a finished job's nodes."""
        ...

    def segmented(self, job: Job) -> bool:
        """Whether ``job``'s checkpoints are simulated one by one on the shared store."""
        ...

    def adaptive_interval(self, job: Job) -> float:
        """The job's checkpoint interval from its own failure history."""
        ...

    def job_speed(self, job: Job) -> float:
        """The job's current speed factor."""
        ...

    def hand_over_for_maintenance(self, job: Job) -> None:
        """A drained job gives up the nodes due for maintenance."""
        ...

    def ramp_delay(self, job: Job) -> float:
        """Reserve ``job``'s power ramp; the seconds until its epoch may start."""
        ...

    def ramp_ended(self, job: Job) -> None:
        """``job``'s ramp is done (or was interrupted)."""
        ...


def step_duration(sim: JobHost, job: Job, step: str) -> float:
    """How long a start-up or recovery step takes (``wait`` is event-driven: 0 here)."""
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
    if step == "ramp":
        return sim.ramp_delay(job)
    return 0.0


def note_failure(
    env: simpy.Environment,
    sim: JobHost,
    job: Job,
    cause: Failure,
    phase: Any,
    lost_s: float,
    *,
    planned: bool = False,
) -> None:
    """Count an interruption of ``job`` by ``cause`` and write its record."""
    job.interruptions += 1
    job.last_cause = cause.cause
    planned = planned or sim.is_planned(cause.cause)
    if not planned:
        job.failures_seen += 1
    sim.record(JobInterrupted(env.now, job.id, cause.cause, cause.node, phase, lost_s, planned))


def accrue(env: simpy.Environment, sim: JobHost, job: Job, step: str) -> None:
    """Charge the GPU-seconds held since the last charge to ``step``.

    Others may accrue held time in between (the dispatcher does when it hands over
    replacement nodes), so the charge is measured from a mark, not from the last sync.
    """
    job.sync_held(env.now, sim.gpus_per_node)
    key = "detect" if step == "requeue" else "wait" if step == "ramp" else step
    job.rec_split[key] += job.held_gpu_s - job.rec_step_mark_gpu_s
    job.rec_step_mark_gpu_s = job.held_gpu_s


def close_recovery(env: simpy.Environment, sim: JobHost, job: Job, reason: Any) -> None:
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


def slow_s(wall_s: float, virtual_s: float, record: EpochRecord) -> float:
    """Wall time lost to slowdowns in an epoch (exactly 0 if it ran at full speed)."""
    if len(record.marks) == 1 and record.marks[0][2] == 1.0:
        return 0.0
    return max(0.0, wall_s - virtual_s)


def begin_epoch(env: simpy.Environment, sim: JobHost, job: Job) -> tuple[float, float, int]:
    """Start a training epoch; returns its start time, the work left and the GPUs held."""
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
    return start, job.remaining_s, job.held_nodes * (job.slot_gpus or sim.gpus_per_node)


def end_epoch(
    env: simpy.Environment,
    sim: JobHost,
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

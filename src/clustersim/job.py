"""A training job's state: its phases, costs, progress, held nodes and interrupt causes.

State machine (DESIGN §3)::

    queued -> starting -> running <-> (checkpointing, closed form) -> interrupted
           -> recovering -> running ... -> finished
    running/starting/recovering -> draining (preempted, checkpoint first) -> queued

This module owns the *data* of a job (:class:`Job`, :class:`EpochRecord`) and the causes a
job's process can be interrupted with. The process itself (start-up, training, recovery) is
:mod:`clustersim.engine.lifecycle`; the policy-facing views are built here from the state.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import simpy

from clustersim.checkpoint import epoch_state, time_to_finish
from clustersim.frozen import quick_init
from clustersim.views import JobView, RunningView

__all__ = [
    "NO_EPOCHS",
    "Drain",
    "EpochRecord",
    "Failure",
    "Horizon",
    "Interrupt",
    "Job",
    "JobPhase",
    "Preemption",
    "SpeedChange",
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


@quick_init
@dataclass(frozen=True, slots=True)
class Failure:
    """Interrupt cause: a fault hit the job (``node`` = -1 for job-scope faults).

    ``corrupt_since`` (silent data corruption) is when the job's state went bad: the job rolls
    back to the last checkpoint completed before it.
    """

    cause: str
    node: int
    corrupt_since: float = math.nan


@quick_init
@dataclass(frozen=True, slots=True)
class Drain:
    """Interrupt cause: planned maintenance; checkpoint first, then hand the nodes over."""

    cause: str


@quick_init
@dataclass(frozen=True, slots=True)
class SpeedChange:
    """Interrupt cause: the job's speed factor changed; re-plan without ending the epoch."""


@quick_init
@dataclass(frozen=True, slots=True)
class Preemption:
    """Interrupt cause: the scheduler preempted the job."""

    checkpoint: bool


@quick_init
@dataclass(frozen=True, slots=True)
class Horizon:
    """Interrupt cause: the simulation ends; close the books without losing work."""


Interrupt = Failure | Drain | SpeedChange | Preemption | Horizon
"""Every cause a job's process may be interrupted with."""


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
    slot_gpus: int = 0
    """GPUs of the job's slot on a shared node (a sub-node job under GPU sharing; 0 for a
    job of whole nodes). Its one held node then counts as this many GPUs."""
    slot_node: int = -1
    """The shared node a sub-node job's slot is on (-1: none, or a job of whole nodes)."""
    exposed_comm: float = 0.0
    """Fraction of a failure-free step that is exposed communication (docs/network.md)."""
    traffic: str = ""
    """The job's own traffic model (``uniform``, ``all``, ``shape``; empty: the network's)."""
    replica_gpus: int = 0
    """GPUs of one model replica (tensor x pipeline parallel; 0: the network's default)."""
    estimate_s: float = math.nan
    """The user's estimate of the failure-free work (nan: exact, ``work_s``). Policies see
    the failure-free time left scaled by ``estimate_s / work_s``."""
    user: str = ""
    group: str = ""
    account: str = ""
    """Who the job's GPU time is charged to under fair share: its user or its group."""

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

    def _estimated(self, seconds: float) -> float:
        """``seconds`` of failure-free time as the job's estimate sees it."""
        if math.isnan(self.estimate_s):
            return seconds
        return seconds * self.estimate_s / self.work_s

    def as_running(self) -> RunningView:
        """The job as a policy sees it while it holds nodes (cached until its phase changes)."""
        if self.running_view is None:
            self.running_view = RunningView(
                self.id,
                self.nodes,
                self.priority,
                self.placed_s,
                self.est_end_s(),
                self.slot_gpus,
                self.slot_node,
                submit_s=self.submit_s,
            )
        return self.running_view

    def as_queued(self) -> JobView:
        """The job as a policy sees it in the queue (cached until its phase changes)."""
        if self.queue_view is None:
            remaining = time_to_finish(self.remaining_s, self.interval_s, self.stall_s)
            runtime = self.init_s + self._estimated(remaining)
            self.queue_view = JobView(
                self.id,
                self.nodes,
                self.priority,
                self.submit_s,
                runtime,
                self.slot_gpus,
                account=self.account,
            )
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
        per_node = self.slot_gpus or gpus_per_node
        self.held_gpu_s += self.held_nodes * per_node * (now - self.held_since_s)
        self.held_since_s = now

    def est_end_s(self) -> float:
        """When the job's estimate says it ends, failure-free (inf while it recovers)."""
        if self.phase is JobPhase.RUNNING:
            remaining = time_to_finish(self.remaining_s, self.interval_s, self.stall_s)
            return self.epoch_start_s + self._estimated(remaining)
        if self.phase is JobPhase.STARTING:
            remaining = time_to_finish(self.remaining_s, self.interval_s, self.stall_s)
            return self.placed_s + self.init_s + self._estimated(remaining)
        return math.inf

    def interrupt(self, cause: Failure | Preemption) -> None:
        """Deliver a failure or preemption to the job's process, at most one per instant.

        Nothing happens if the job holds no nodes, has finished, or an interrupt is already
        on its way (the process clears ``pending_interrupt`` when it catches it).
        """
        if self.proc is None or not self.proc.is_alive or self.pending_interrupt:
            return
        if self._phase in (JobPhase.QUEUED, JobPhase.PENDING, JobPhase.FINISHED):
            return
        self.pending_interrupt = True
        self.proc.interrupt(cause)

"""The typed event log: one frozen, slotted record per thing that happened.

Every record has ``t`` (simulated seconds) first. Names are past tense. The log is the source
of truth for every number the simulator prints: :mod:`clustersim.metrics` derives the job
GPU-second terms from it, and ``docs/events.md`` documents each field. A running epoch of a job
(between a start/resume and the next disturbance) is summarised in one :class:`RunEnded`
record computed in closed form, so there is no event per checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from clustersim.frozen import quick_init

__all__ = [
    "CapacityCut",
    "CapacityRestored",
    "Event",
    "JobFinished",
    "JobInterrupted",
    "JobPreempted",
    "JobStarted",
    "JobSubmitted",
    "NodeFailed",
    "NodeQuarantined",
    "NodeRepaired",
    "NodesInstalled",
    "NodesMaintained",
    "NodesReplaced",
    "NodesRetired",
    "NodesReturned",
    "RecoveryEnded",
    "ReplacementTaken",
    "RunEnded",
    "RunStarted",
    "SlotsLost",
    "SlowdownBegan",
    "SlowdownEnded",
    "StorageChanged",
]

RunEndReason = Literal["finished", "interrupted", "preempted", "drained", "horizon"]
RecoveryEndReason = Literal["resumed", "preempted", "horizon"]


@quick_init
@dataclass(frozen=True, slots=True)
class JobSubmitted:
    """A job entered the queue."""

    t: float
    job: int
    name: str
    gpus: int
    work_s: float
    priority: int


@quick_init
@dataclass(frozen=True, slots=True)
class JobStarted:
    """The scheduler placed a queued job (first start or after preemption)."""

    t: float
    job: int
    nodes: int
    racks: int
    pods: int
    interval_s: float
    stall_s: float


@quick_init
@dataclass(frozen=True, slots=True)
class RunStarted:
    """A job began (or resumed) training from ``progress_s`` of committed work."""

    t: float
    job: int
    progress_s: float


@quick_init
@dataclass(frozen=True, slots=True)
class RunEnded:
    """A running epoch ended; its closed-form accounting.

    ``work_s + stall_s`` equals the epoch's wall time; ``lost_s`` of the work will be redone;
    ``checkpoints`` completed during the epoch; ``gpus`` were held throughout. ``cause`` is the
    failure that ended it (empty when it finished or hit the horizon). ``slow_s`` is wall time
    lost to slowdowns (stragglers, degraded links): ``work_s + stall_s + slow_s`` equals the
    epoch's wall time. ``drained`` epochs ended with a graceful checkpoint for planned
    maintenance.
    """

    t: float
    job: int
    reason: RunEndReason
    gpus: int
    work_s: float
    stall_s: float
    lost_s: float
    checkpoints: int
    progress_s: float
    committed_s: float
    cause: str
    slow_s: float = 0.0


@quick_init
@dataclass(frozen=True, slots=True)
class JobInterrupted:
    """A failure hit a job; ``phase`` says whether it was training or already recovering."""

    t: float
    job: int
    cause: str
    node: int
    phase: Literal["running", "recovering", "draining"]
    lost_work_s: float
    planned: bool = False


@quick_init
@dataclass(frozen=True, slots=True)
class RecoveryEnded:
    """A recovery (or start-up) ended; GPU-seconds held, split by step, and its ``cause``.

    Detection and requeue time are both charged to ``detect_gpu_s``; ``wait_gpu_s`` is time
    spent waiting for replacement nodes. ``cause`` is the failure that started it
    (``"startup"`` for a first start, ``"preemption"`` for a restart after preemption).
    """

    t: float
    job: int
    reason: RecoveryEndReason
    duration_s: float
    gpu_s: float
    detect_gpu_s: float
    wait_gpu_s: float
    init_gpu_s: float
    load_gpu_s: float
    cause: str


@quick_init
@dataclass(frozen=True, slots=True)
class ReplacementTaken:
    """A recovering job took replacement nodes (``spares`` of them from the hot-spare pool)."""

    t: float
    job: int
    nodes: tuple[int, ...]
    spares: int


@quick_init
@dataclass(frozen=True, slots=True)
class JobPreempted:
    """The scheduler preempted a job.

    ``checkpointed``: the job was asked to write a checkpoint before releasing its nodes
    (``drain_s`` long); whether it managed is in the following :class:`RunEnded`
    (``lost_s == 0``).
    """

    t: float
    job: int
    checkpointed: bool
    drain_s: float


@quick_init
@dataclass(frozen=True, slots=True)
class JobFinished:
    """A job completed all its work."""

    t: float
    job: int


@quick_init
@dataclass(frozen=True, slots=True)
class NodeFailed:
    """A node went down (``job`` = -1 if it was idle or spare, -2 if shared by sub-node jobs)."""

    t: float
    node: int
    cause: str
    job: int
    repair_s: float


@quick_init
@dataclass(frozen=True, slots=True)
class SlotsLost:
    """Each sub-node job in ``jobs`` lost its slot on shared ``node``.

    Either the node left service (this follows the ``NodeFailed`` or ``NodesMaintained``
    record that names it with job -2), or, under planned maintenance, the job drained and left
    a node that goes down when its last tenant has drained (the job then recovers elsewhere).
    """

    t: float
    node: int
    jobs: tuple[int, ...]


@quick_init
@dataclass(frozen=True, slots=True)
class NodeRepaired:
    """A node came back into service (as a hot spare or a free node)."""

    t: float
    node: int
    spare: bool


@quick_init
@dataclass(frozen=True, slots=True)
class NodesMaintained:
    """Planned maintenance took ``nodes`` down for ``duration_s`` (one record per batch).

    ``job`` held them (-1: they were free or spare). It stands for one ``NodeFailed`` per
    node, so that a whole-cluster rollout is one record rather than thousands.
    """

    t: float
    nodes: tuple[int, ...]
    cause: str
    job: int
    duration_s: float


@quick_init
@dataclass(frozen=True, slots=True)
class NodesReturned:
    """``nodes`` came back from planned maintenance; the first ``spares`` refilled the pool."""

    t: float
    nodes: tuple[int, ...]
    spares: int


@quick_init
@dataclass(frozen=True, slots=True)
class NodeQuarantined:
    """A node failed ``failures`` times within the quarantine window and is retired for good."""

    t: float
    node: int
    failures: int


@quick_init
@dataclass(frozen=True, slots=True)
class NodesInstalled:
    """An expansion: out-of-service ``nodes`` of ``cohort`` entered service.

    The first ``spares`` of them refilled the hot-spare pool; the rest are free.
    """

    t: float
    nodes: tuple[int, ...]
    cohort: str
    spares: int


@quick_init
@dataclass(frozen=True, slots=True)
class NodesRetired:
    """``nodes`` of ``cohort`` left service for good (their cohort reached its retirement age).

    Idle, spare and quarantined nodes retire at once; a node in repair when its repair ends;
    a node held by a job after the job has drained it (cause ``retirement``).
    """

    t: float
    nodes: tuple[int, ...]
    cohort: str


@quick_init
@dataclass(frozen=True, slots=True)
class NodesReplaced:
    """``nodes`` were replaced by new ones: their age restarts at ``t`` for every source.

    ``reason`` is ``node-failures`` (a node reached ``fleet.refresh.node_failures``) or
    ``cohort-rate`` (its cohort's rate passed ``fleet.refresh.cohort_rate``).
    """

    t: float
    nodes: tuple[int, ...]
    reason: str


@quick_init
@dataclass(frozen=True, slots=True)
class SlowdownBegan:
    """A slowdown began: ``scope`` (node, rack or pod) ``ids`` run at ``factor`` of full speed.

    Jobs on them run at the slowest factor among their nodes (gang synchronisation); pod
    slowdowns only affect jobs spanning more than one pod. ``token`` pairs it with its end.
    """

    t: float
    token: int
    scope: Literal["node", "rack", "pod"]
    ids: tuple[int, ...]
    factor: float
    cause: str


@quick_init
@dataclass(frozen=True, slots=True)
class SlowdownEnded:
    """The slowdown ``token`` ended."""

    t: float
    token: int


@quick_init
@dataclass(frozen=True, slots=True)
class CapacityCut:
    """A network fault removed ``fraction`` of a link's capacity (``network.model``).

    ``scope`` is ``pod`` (its uplink into the aggregation layer), ``rack`` (its ToR uplink)
    or ``node`` (its NICs), ``id`` which one. ``token`` pairs it with its end.
    """

    t: float
    token: int
    scope: Literal["pod", "rack", "node"]
    id: int
    fraction: float
    cause: str


@quick_init
@dataclass(frozen=True, slots=True)
class CapacityRestored:
    """The capacity cut ``token`` ended."""

    t: float
    token: int


@quick_init
@dataclass(frozen=True, slots=True)
class StorageChanged:
    """The shared store's bandwidth changed to ``factor`` of nominal (outage: 0)."""

    t: float
    factor: float
    cause: str


Event = (
    JobSubmitted
    | JobStarted
    | RunStarted
    | RunEnded
    | JobInterrupted
    | RecoveryEnded
    | ReplacementTaken
    | JobPreempted
    | JobFinished
    | NodeFailed
    | SlotsLost
    | NodeRepaired
    | NodesMaintained
    | NodesReturned
    | NodeQuarantined
    | NodesInstalled
    | NodesRetired
    | NodesReplaced
    | SlowdownBegan
    | SlowdownEnded
    | CapacityCut
    | CapacityRestored
    | StorageChanged
)

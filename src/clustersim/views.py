"""Frozen views that scheduling policies see, and the decisions they return.

Policies never touch the simulation: the dispatcher builds a :class:`ClusterView` and a tuple
of :class:`JobView` for the queue, calls ``decide(view, queue)``, and carries out the returned
:class:`Start` / :class:`Preempt` decisions (a :class:`Promote` is carried out by
:class:`clustersim.engine.passes.PolicyRunner` before the dispatcher sees the rest). Sizes are
in nodes (gang scheduling of whole nodes); times are simulated seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = [
    "Attained",
    "ClusterView",
    "Decision",
    "JobView",
    "Policy",
    "Preempt",
    "Promote",
    "RunningView",
    "Start",
]


@dataclass(frozen=True, slots=True)
class JobView:
    """A queued job as a policy sees it."""

    id: int
    nodes: int
    priority: int
    submit_s: float
    est_runtime_s: float
    account: str = ""
    """The user or group the job is charged to (``scheduler.fair_share.by``)."""


@dataclass(frozen=True, slots=True)
class RunningView:
    """A job holding nodes: running, starting or recovering (``est_end_s`` may be inf)."""

    id: int
    nodes: int
    priority: int
    start_s: float
    est_end_s: float
    submit_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Attained:
    """A job's attained service since its last promotion (Tiresias), exact at any time.

    A job holding nodes (``holding``) attains ``gpus`` GPU-seconds per second from ``since_s``
    (its placement) on: at time t it has ``service_gpu_s + gpus * (t - since_s)``. A queued
    job attains nothing; ``since_s`` is when it (re)joined the queue.
    """

    service_gpu_s: float
    executed_s: float
    since_s: float
    gpus: int
    holding: bool

    def service_at(self, t_s: float) -> float:
        """Attained GPU-seconds at time ``t_s`` (not before ``since_s``)."""
        if not self.holding:
            return self.service_gpu_s
        return self.service_gpu_s + self.gpus * (t_s - self.since_s)


@dataclass(frozen=True, slots=True)
class ClusterView:
    """What the cluster looks like to a policy at one instant."""

    now_s: float
    free_nodes: int
    schedulable_nodes: int
    draining_nodes: int
    running: tuple[RunningView, ...]
    by_end: tuple[RunningView, ...] | None = None
    """``running`` ordered by (``est_end_s``, ``id``), when the caller keeps that order (the
    engine does); None means a policy that needs the order sorts ``running`` itself."""
    queue_ordered: bool = False
    """True when the queue handed with this view is already in submission order
    (``submit_s``, then ``id``), as the engine's always is; False means a policy that walks the
    queue in that order sorts it itself."""
    usage: Mapping[str, float] | None = None
    """Each account's decayed GPU-seconds at ``now_s`` (every account of the workload), for
    policies that read it (``fair-share``); None otherwise."""
    service: Mapping[int, Attained] | None = None
    """Each queued and running job's attained service, for policies that read it
    (``tiresias``); None otherwise."""


@dataclass(frozen=True, slots=True)
class Start:
    """Start this queued job now (the allocator chooses where)."""

    job: int


@dataclass(frozen=True, slots=True)
class Preempt:
    """Preempt this job so a higher-priority one can run."""

    job: int


@dataclass(frozen=True, slots=True)
class Promote:
    """Reset this queued job's attained service: it starved and goes back to the top queue."""

    job: int


Decision = Start | Preempt | Promote
Policy = Callable[[ClusterView, tuple[JobView, ...]], list[Decision]]

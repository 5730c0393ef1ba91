"""Frozen views that scheduling policies see, and the decisions they return.

Policies never touch the simulation: the dispatcher builds a :class:`ClusterView` and a tuple
of :class:`JobView` for the queue, calls ``decide(view, queue)``, and carries out the returned
:class:`Start` / :class:`Preempt` decisions (a :class:`Promote` is carried out by
:class:`clustersim.engine.passes.PolicyRunner` before the dispatcher sees the rest). Sizes are
in nodes (gang scheduling of whole nodes); times are simulated seconds.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from clustersim.frozen import quick_init

__all__ = [
    "Attained",
    "Capacity",
    "ClusterView",
    "Decision",
    "JobView",
    "Policy",
    "Preempt",
    "Promote",
    "RunningView",
    "Start",
]


@quick_init
@dataclass(frozen=True, slots=True)
class JobView:
    """A queued job as a policy sees it."""

    id: int
    nodes: int
    priority: int
    submit_s: float
    est_runtime_s: float
    slot_gpus: int = 0
    """GPUs it needs on one shared node (a sub-node job under GPU sharing; ``nodes`` is 1);
    0 for a job of whole nodes."""
    account: str = ""
    """The user or group the job is charged to (``scheduler.fair_share.by``)."""


@quick_init
@dataclass(frozen=True, slots=True)
class RunningView:
    """A job holding nodes: running, starting or recovering (``est_end_s`` may be inf)."""

    id: int
    nodes: int
    priority: int
    start_s: float
    est_end_s: float
    slot_gpus: int = 0
    """GPUs of its slot on shared node ``node`` (a sub-node job); 0 for whole nodes."""
    node: int = -1
    """The shared node of a sub-node job's slot (-1 otherwise, or while it has none)."""
    submit_s: float = 0.0


@quick_init
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
        """Attained GPU-seconds at time ``t_s`` (not before ``since_s``).

        The one sum that both banks a job's service when it lets go of its nodes
        (:mod:`clustersim.engine.service`) and places it in a queue (Tiresias), so that a
        job preempted at the instant it crosses a threshold is in the same queue after.
        """
        if not self.holding:
            return self.service_gpu_s
        return self.service_gpu_s + self.gpus * (t_s - self.since_s)


@quick_init
@dataclass(frozen=True, slots=True)
class ClusterView:
    """What the cluster looks like to a policy at one instant.

    ``running`` and ``by_end`` are read-only: the engine hands its own live collections of
    the jobs holding nodes (copying thousands of views for every pass cost a large cluster
    more than the policy did), so they hold at the instant of the call and change once the
    dispatcher carries out decisions. A policy reads them while it decides; one that keeps a
    view for later copies them (``tuple(view.running)``).
    """

    now_s: float
    free_nodes: int
    schedulable_nodes: int
    draining_nodes: int
    running: Collection[RunningView]
    """The jobs holding nodes (running, starting, recovering), in the order they got them."""
    by_end: Sequence[RunningView] | None = None
    """``running`` ordered by (``est_end_s``, ``id``), when the caller keeps that order (the
    engine does); None means a policy that needs the order sorts ``running`` itself."""
    queue_ordered: bool = False
    """True when the queue handed with this view is already in submission order
    (``submit_s``, then ``id``), as the engine's always is; False means a policy that walks the
    queue in that order sorts it itself."""
    gpus_per_node: int = 0
    """GPUs per node when the cluster shares nodes between sub-node jobs (GPU sharing);
    0 when every job holds whole nodes. Policies then size jobs with :class:`Capacity`."""
    shared: tuple[tuple[int, int], ...] = ()
    """``(node, free GPUs)`` of every shared node, in the order they became shared (the
    allocator's tie order; GPU sharing only)."""
    usage: Mapping[str, float] | None = None
    """Each account's decayed GPU-seconds at ``now_s`` (every account of the workload), for
    policies that read it (``fair-share``); None otherwise."""
    service: Mapping[int, Attained] | None = None
    """Each queued and running job's attained service, for policies that read it
    (``tiresias``); None otherwise."""


@quick_init
@dataclass(frozen=True, slots=True)
class Start:
    """Start this queued job now (the allocator chooses where)."""

    job: int


@quick_init
@dataclass(frozen=True, slots=True)
class Preempt:
    """Preempt this job so a higher-priority one can run."""

    job: int


@quick_init
@dataclass(frozen=True, slots=True)
class Promote:
    """Reset this queued job's attained service: it starved and goes back to the top queue."""

    job: int


Decision = Start | Preempt | Promote
Policy = Callable[[ClusterView, tuple[JobView, ...]], list[Decision]]


class Capacity:
    """Free capacity during one policy pass under GPU sharing: FREE nodes and shared GPUs.

    It mirrors the cluster's packing (``clustersim.cluster``), so a policy knows exactly
    whether a job fits and where it would go: a job of whole nodes takes FREE nodes; a
    sub-node job takes the best-fit shared node (fewest free GPUs that hold it, ties to the
    node shared first: ``ClusterView.shared`` lists them in that order), else a FREE node
    becomes shared. A node opened this way gets a new id below -1 (its real id does not
    matter) and comes after every node shared before it. :meth:`release` gives back a
    running job's GPUs, so a copy can walk the future by estimated ends (EASY's reservation).
    """

    __slots__ = ("_base", "_ids", "_next", "_order", "_real", "free", "gpn", "nodes")

    def __init__(self, view: ClusterView) -> None:
        self.nodes = view.free_nodes
        """FREE whole nodes."""
        self.gpn = view.gpus_per_node
        self.free: dict[int, int] = dict(view.shared)
        """Free GPUs of every shared node (0 when full)."""
        # Rank of a node in the tie order: its index in view.shared; nodes opened in this
        # pass (ids -2, -3, ...) come after, in the order they were opened.
        self._ids = [node for node, _ in view.shared]
        self._real = {node: rank for rank, node in enumerate(self._ids)}
        self._base = len(self._ids)
        # Ranks of the shared nodes with k free GPUs (0 < k < gpn), sorted, per k.
        self._order: list[list[int]] = [[] for _ in range(max(self.gpn, 1))]
        for rank, (_, free) in enumerate(view.shared):
            if 0 < free < self.gpn:
                self._order[free].append(rank)
        self._next = [-2]  # the next opened node's id, shared by copies (-1 means "none")

    def copy(self) -> Capacity:
        """An independent copy (opened node ids stay unique across copies)."""
        other = Capacity.__new__(Capacity)
        other.nodes, other.gpn, other.free = self.nodes, self.gpn, dict(self.free)
        other._order = [list(ranks) for ranks in self._order]
        other._ids, other._real, other._base = self._ids, self._real, self._base
        other._next = self._next
        return other

    def _rank(self, node: int) -> int:
        rank = self._real.get(node)
        return self._base + (-2 - node) if rank is None else rank

    def _node(self, rank: int) -> int:
        return -2 - (rank - self._base) if rank >= self._base else self._ids[rank]

    def _slot(self, gpus: int) -> int | None:
        for k in range(gpus, self.gpn):
            if self._order[k]:
                return self._node(self._order[k][0])
        return None

    def where(self, job: JobView) -> int:
        """Where :meth:`take` would put ``job`` now (it must fit), without taking it.

        The shared node's id, a new id for a FREE node it would open, or -1 for whole nodes.
        """
        if not job.slot_gpus:
            return -1
        node = self._slot(job.slot_gpus)
        return self._next[0] if node is None else node

    def fits(self, job: JobView) -> bool:
        """Whether ``job`` fits now."""
        if not job.slot_gpus:
            return job.nodes <= self.nodes
        return self.nodes >= 1 or self._slot(job.slot_gpus) is not None

    def take(self, job: JobView) -> int:
        """Place ``job`` (it must fit); returns its shared node's id, or -1 for whole nodes."""
        gpus = job.slot_gpus
        if not gpus:
            self.nodes -= job.nodes
            return -1
        node = self._slot(gpus)
        if node is None:
            node = self._next[0]
            self._next[0] -= 1
            self.nodes -= 1
            self._set(node, self.gpn - gpus)
        else:
            self._set(node, self.free[node] - gpus)
        return node

    def hold(self, job: JobView, node: int) -> bool:
        """Hold ``job``'s GPUs on ``node`` (-1: whole nodes) if they are free; say whether.

        EASY uses it on the capacity at the head's shadow time for a job placed on ``node``
        now that would still run then. A node not shared here is a FREE node taken whole.
        :meth:`release` undoes it.
        """
        gpus = job.slot_gpus
        if not gpus:
            if job.nodes > self.nodes:
                return False
            self.nodes -= job.nodes
            return True
        free = self.free.get(node)
        if free is None:
            if self.nodes < 1:
                return False
            self.nodes -= 1
            self._set(node, self.gpn - gpus)
            return True
        if free < gpus:
            return False
        self._set(node, free - gpus)
        return True

    def release(self, nodes: int, gpus: int, node: int) -> None:
        """Give back a job's whole ``nodes``, or its ``gpus`` on shared ``node``."""
        if not gpus:
            self.nodes += nodes
            return
        free = self.free.get(node)
        if free is None:
            return  # no node (-1): the slot was lost to a failure; nothing comes back
        if free + gpus >= self.gpn:
            self._set(node, 0)
            del self.free[node]
            self.nodes += 1
        else:
            self._set(node, free + gpus)

    def _set(self, node: int, free: int) -> None:
        old = self.free.get(node)
        rank = self._rank(node)
        if old is not None and 0 < old < self.gpn:
            ranks = self._order[old]
            del ranks[bisect.bisect_left(ranks, rank)]
        if 0 < free < self.gpn:
            bisect.insort(self._order[free], rank)
        self.free[node] = free

"""EASY backfilling (Lifka 1995): FIFO, but later jobs may jump ahead without delaying the head.

The head job that does not fit gets a reservation at the *shadow time*, the earliest time
enough nodes are expected to be free (from running jobs' failure-free end estimates). A later
job is backfilled if it fits now and either ends before the shadow time or uses only the
*extra* nodes that the head job will not need at the shadow time.

:func:`backfill` is the same procedure over a queue in any order (``fair-share`` runs it in
fair-share priority order, as Slurm's backfill scheduler does).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from operator import attrgetter

from clustersim.scheduler.fifo import order
from clustersim.views import Capacity, ClusterView, Decision, JobView, Start

__all__ = ["backfill", "decide", "shadow"]

_BY_END = attrgetter("est_end_s", "id")  # C-level sort key: the hot path sorts every dispatch


def shadow(
    view: ClusterView,
    free: int,
    needed: int,
    started: tuple[tuple[float, int], ...] = (),
) -> tuple[float, int]:
    """Shadow time and extra nodes for a head job needing ``needed`` nodes.

    The shadow time is the earliest estimated end of a running job at which ``needed`` nodes
    are free; the extra nodes are the nodes free at that time (counting every job that ends
    then, not only those the walk needed) beyond ``needed``.

    ``started`` holds ``(estimated end, nodes)`` of the jobs this same pass has just started:
    they hold nodes already taken from ``free`` but are not yet in ``view.running``, and the
    head's reservation must count on their nodes coming back only when they end.
    """
    available = free
    by_end = view.by_end if view.by_end is not None else sorted(view.running, key=_BY_END)
    ends = ((run.est_end_s, run.nodes) for run in by_end)
    shadow_s = math.inf
    for end_s, nodes in heapq.merge(ends, sorted(started)) if started else ends:
        if end_s > shadow_s:
            break  # jobs ending at the shadow time itself all add to the extra nodes
        available += nodes
        if available >= needed:
            shadow_s = end_s
    return shadow_s, max(0, available - needed)


def decide(view: ClusterView, queue: tuple[JobView, ...]) -> list[Decision]:
    """FIFO starts, then backfill behind the first job that does not fit.

    A job larger than every schedulable node can never run: it is skipped (as FIFO skips it)
    and neither blocks the queue nor takes the reservation from the first job that can run.
    """
    schedulable = view.schedulable_nodes
    return backfill(view, [job for job in order(view, queue) if job.nodes <= schedulable])


def backfill(view: ClusterView, pending: Sequence[JobView]) -> list[Decision]:
    """EASY over ``pending`` in the order given (every job no larger than the schedulable nodes).

    Start jobs in that order while they fit; the first that does not is the head and gets the
    reservation; every later job, in that order, is backfilled if it fits now and either ends
    by the shadow time or fits in the extra nodes (under GPU sharing, :func:`_backfill_shared`).
    """
    if view.gpus_per_node:
        return _backfill_shared(view, pending)
    free = view.free_nodes
    decisions: list[Decision] = []
    started: list[tuple[float, int]] = []
    i = 0
    while i < len(pending) and pending[i].nodes <= free:
        decisions.append(Start(pending[i].id))
        free -= pending[i].nodes
        started.append((view.now_s + pending[i].est_runtime_s, pending[i].nodes))
        i += 1
    if i >= len(pending):
        return decisions
    shadow_s, extra = shadow(view, free, pending[i].nodes, tuple(started))
    for job in pending[i + 1 :]:
        if job.nodes > free:
            continue
        ends_in_time = view.now_s + job.est_runtime_s <= shadow_s
        if ends_in_time or job.nodes <= extra:
            decisions.append(Start(job.id))
            free -= job.nodes
            if not ends_in_time:
                extra -= job.nodes
    return decisions


def _backfill_shared(view: ClusterView, pending: Sequence[JobView]) -> list[Decision]:
    """:func:`backfill` under GPU sharing, with capacity in nodes and shared nodes' GPUs.

    The same rule on :class:`~clustersim.views.Capacity`: FIFO starts while jobs fit; the
    head's shadow time is the first estimated end after which it fits, releasing running
    jobs (and those started this pass) in end order. A later job that fits now is
    backfilled if it ends by the shadow time, or if the head still fits at the shadow time
    with that job (and every job backfilled before it) still holding the GPUs it would take
    now, on the node it would get: the head's reservation is never delayed. Without
    sub-node jobs this is exactly :func:`decide` (the head fits with ``extra`` nodes left).
    """
    capacity = Capacity(view)
    decisions: list[Decision] = []
    started: list[tuple[float, int, int, int, int]] = []  # (end, id, nodes, gpus, node)
    i = 0
    while i < len(pending) and capacity.fits(pending[i]):
        job = pending[i]
        node = capacity.take(job)
        decisions.append(Start(job.id))
        started.append((view.now_s + job.est_runtime_s, job.id, job.nodes, job.slot_gpus, node))
        i += 1
    if i >= len(pending):
        return decisions
    head = pending[i]
    at_shadow = capacity.copy()  # capacity at the shadow time, before the head starts
    by_end = view.by_end if view.by_end is not None else sorted(view.running, key=_BY_END)
    running = ((r.est_end_s, r.id, r.nodes, r.slot_gpus, r.node) for r in by_end)
    shadow_s = math.inf
    for end_s, _, nodes, gpus, node in heapq.merge(running, sorted(started)):
        if end_s > shadow_s:
            break  # jobs ending at the shadow time itself all count
        at_shadow.release(nodes, gpus, node)
        if shadow_s == math.inf and at_shadow.fits(head):
            shadow_s = end_s
    for job in pending[i + 1 :]:
        if not capacity.fits(job):
            continue
        if view.now_s + job.est_runtime_s > shadow_s:
            node = capacity.where(job)
            if not at_shadow.hold(job, node):
                continue
            if not at_shadow.fits(head):
                at_shadow.release(job.nodes, job.slot_gpus, node)
                continue
        capacity.take(job)
        decisions.append(Start(job.id))
    return decisions

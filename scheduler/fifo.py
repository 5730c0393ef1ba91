"""First-come, first-served: start jobs in submission order; the head blocks the rest."""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

from clustersim.views import Capacity, ClusterView, Decision, JobView, Start

__all__ = ["decide", "order"]

_BY_SUBMIT = attrgetter("submit_s", "id")  # C-level sort key


def order(view: ClusterView, queue: tuple[JobView, ...]) -> Sequence[JobView]:
    """Submission order, ties by job id (as handed, when ``view.queue_ordered`` says it is)."""
    return queue if view.queue_ordered else sorted(queue, key=_BY_SUBMIT)


def decide(view: ClusterView, queue: tuple[JobView, ...]) -> list[Decision]:
    """Start queued jobs in order while they fit; stop at the first that does not.

    A job larger than every schedulable node is skipped: it can never run, and letting it
    block the queue would starve everyone behind it.
    """
    if view.gpus_per_node:
        return _decide_shared(view, queue)
    free = view.free_nodes
    decisions: list[Decision] = []
    for job in order(view, queue):
        if job.nodes > view.schedulable_nodes:
            continue
        if job.nodes > free:
            break
        decisions.append(Start(job.id))
        free -= job.nodes
    return decisions


def _decide_shared(view: ClusterView, queue: tuple[JobView, ...]) -> list[Decision]:
    """:func:`decide` under GPU sharing: a job fits when :class:`Capacity` can place it."""
    capacity = Capacity(view)
    decisions: list[Decision] = []
    for job in order(view, queue):
        if job.nodes > view.schedulable_nodes:
            continue
        if not capacity.fits(job):
            break
        decisions.append(Start(job.id))
        capacity.take(job)
    return decisions

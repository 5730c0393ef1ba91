"""Shortest job first by estimate: greedy list scheduling of the queue sorted by estimate.

Non-preemptive. The queue is ordered by estimated runtime (``JobView.est_runtime_s``), ties
by submission time, then job id; every job that fits in the free nodes starts, in that order
(list scheduling, Garey & Graham 1975: whenever nodes are free, start the first job in the
list that fits). A job that does not fit does not block the shorter-listed jobs behind it:
SJF's aim is the shortest mean wait, and a strict SJF would idle nodes whenever the shortest
job is wide. The price is that wide and long jobs can starve while short ones keep arriving
(SJF has no reservation); use a backfilling policy when that matters.
"""

from __future__ import annotations

from operator import attrgetter

from clustersim.views import Capacity, ClusterView, Decision, JobView, Start

__all__ = ["decide", "order"]

_BY_ESTIMATE = attrgetter("est_runtime_s", "submit_s", "id")


def order(queue: tuple[JobView, ...]) -> list[JobView]:
    """Shortest estimate first, ties by submission time, then job id."""
    return sorted(queue, key=_BY_ESTIMATE)


def decide(view: ClusterView, queue: tuple[JobView, ...]) -> list[Decision]:
    """Start every queued job that fits, shortest estimate first.

    Only jobs that fit in the free nodes now can start (free nodes only shrink during a
    pass), so the dispatcher's filtered queue loses nothing; a job larger than every
    schedulable node never fits and is skipped like any other job that does not fit.
    """
    if view.gpus_per_node:  # GPU sharing: a job fits when Capacity can place it
        capacity = Capacity(view)
        shared: list[Decision] = []
        for job in order(queue):
            if capacity.fits(job):
                shared.append(Start(job.id))
                capacity.take(job)
        return shared
    free = view.free_nodes
    decisions: list[Decision] = []
    for job in order(queue):
        if job.nodes <= free:
            decisions.append(Start(job.id))
            free -= job.nodes
    return decisions

"""Strict priority with preemption of lower-priority jobs (newest first) to make room.

The highest-priority queued job runs first; if it does not fit, lower-priority jobs holding
nodes are preempted until it does.
Preempted jobs checkpoint before they release their nodes when the scenario allows it
(``scheduler.preempt_checkpoint``); the dispatcher carries that out. Nodes already draining
count as on their way, so one waiting job never preempts twice.
"""

from __future__ import annotations

from clustersim.views import Capacity, ClusterView, Decision, JobView, Preempt, Start

__all__ = ["decide"]


def decide(view: ClusterView, queue: tuple[JobView, ...]) -> list[Decision]:
    """Start by priority; preempt lower-priority jobs for the first job that does not fit."""
    if view.gpus_per_node:
        return _decide_shared(view, queue)
    free = view.free_nodes
    decisions: list[Decision] = []
    for job in sorted(queue, key=lambda j: (-j.priority, j.submit_s, j.id)):
        if job.nodes <= free:
            decisions.append(Start(job.id))
            free -= job.nodes
            continue
        if job.nodes > view.schedulable_nodes:
            continue  # can never run; skip rather than block everyone behind it
        coming = free + view.draining_nodes
        victims = sorted(
            (r for r in view.running if r.priority < job.priority),
            key=lambda r: (r.priority, -r.start_s, -r.id),
        )
        if coming + sum(r.nodes for r in victims) < job.nodes:
            break  # preempting cannot make room; wait for nodes to come back
        for run in victims:
            if coming >= job.nodes:
                break
            decisions.append(Preempt(run.id))
            coming += run.nodes
        break
    return decisions


def _decide_shared(view: ClusterView, queue: tuple[JobView, ...]) -> list[Decision]:
    """:func:`decide` under GPU sharing: fit and room measured with :class:`Capacity`.

    Draining jobs of whole nodes count as on their way; a draining sub-node job's GPUs do
    not (the view does not say where they are), so a waiting job may preempt one more.
    """
    capacity = Capacity(view)
    decisions: list[Decision] = []
    for job in sorted(queue, key=lambda j: (-j.priority, j.submit_s, j.id)):
        if capacity.fits(job):
            decisions.append(Start(job.id))
            capacity.take(job)
            continue
        if job.nodes > view.schedulable_nodes:
            continue
        coming = capacity.copy()
        coming.nodes += view.draining_nodes
        victims = sorted(
            (r for r in view.running if r.priority < job.priority),
            key=lambda r: (r.priority, -r.start_s, -r.id),
        )
        every = coming.copy()
        for run in victims:
            every.release(run.nodes, run.slot_gpus, run.node)
        if not every.fits(job):
            break  # preempting cannot make room; wait for nodes to come back
        for run in victims:
            if coming.fits(job):
                break
            decisions.append(Preempt(run.id))
            coming.release(run.nodes, run.slot_gpus, run.node)
        break
    return decisions

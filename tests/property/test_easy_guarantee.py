"""EASY backfilling's guarantee, on the engine: backfilling never delays the head job.

With exact estimates and no faults, the job at the head of the queue (the first, in FIFO
order, that does not fit; jobs that can never run aside) starts no later than the shadow
time computed when it first became the head. The policy is wrapped through the registry so
that every scheduling pass records, for a job becoming head, the reservation it is owed:
the earliest estimated end of a running job (or of a job started ahead of it in the same
pass) at which enough nodes are free. The reservation is computed here from the views, not
by the policy's own ``shadow``. "First became the head" is the first scheduling pass that sees
it as head: the dispatcher skips passes that could start nothing, and nothing moves the
reservation in between.
"""

from __future__ import annotations

import math
from unittest.mock import patch

from hypothesis import example, given, settings
from replay import start_times
from strategies import scheduling_workloads

from clustersim.scheduler import REGISTRY
from clustersim.views import ClusterView, Decision, JobView, Policy, Start

AT_LEAST_1000 = settings(max_examples=max(1000, settings().max_examples), deadline=None)


def reservation(
    view: ClusterView, queue: tuple[JobView, ...], started: set[int]
) -> tuple[int, float] | None:
    """The head of this pass and its shadow time, or None if every runnable job started."""
    fifo = sorted(
        (j for j in queue if j.nodes <= view.schedulable_nodes), key=lambda j: (j.submit_s, j.id)
    )
    free = view.free_nodes
    releases = [(run.est_end_s, run.nodes) for run in view.running]
    for job in fifo:
        if job.id not in started:
            break
        free -= job.nodes
        releases.append((view.now_s + job.est_runtime_s, job.nodes))
    else:
        return None
    if job.nodes <= free:
        return job.id, view.now_s  # it fits now: it is owed a start now
    for end_s, nodes in sorted(releases):
        free += nodes
        if free >= job.nodes:
            return job.id, end_s
    return job.id, math.inf


def recording(decide: Policy, owed: dict[int, float]) -> Policy:
    """``decide``, noting in ``owed`` each head's shadow time when it first becomes head."""

    def wrapped(view: ClusterView, queue: tuple[JobView, ...]) -> list[Decision]:
        decisions = decide(view, queue)
        head = reservation(view, queue, {d.job for d in decisions if isinstance(d, Start)})
        if head is not None:
            owed.setdefault(*head)
        return decisions

    return wrapped


@AT_LEAST_1000
@given(workload=scheduling_workloads())
@example(workload=(10, [(0, 100, 10), (1, 10, 5), (2, 10, 10), (3, 1000, 5)]))  # issue 15, bug 2
@example(workload=(2, [(0, 1, 3), (0, 2, 1), (0, 1, 2), (1, 2, 1)]))  # a never-runnable job first
def test_no_backfilled_job_delays_the_head_past_its_reservation(
    workload: tuple[int, list[tuple[int, int, int]]],
) -> None:
    n_nodes, jobs = workload
    owed: dict[int, float] = {}
    with patch.dict(REGISTRY, {"easy-backfill": recording(REGISTRY["easy-backfill"], owed)}):
        starts = start_times(jobs, n_nodes, "easy-backfill")
    # Engine job ids number the jobs in (submit, input position) order.
    ids = sorted(range(len(jobs)), key=lambda i: (jobs[i][0], i))
    for job_id, shadow_s in owed.items():
        assert starts[ids[job_id]] <= shadow_s, (job_id, shadow_s, n_nodes, jobs)

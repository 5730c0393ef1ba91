from __future__ import annotations

import math

import pytest

from clustersim.scheduler import REGISTRY, get_policy
from clustersim.views import ClusterView, JobView, Preempt, RunningView, Start


def view(
    free: int, running: tuple[RunningView, ...] = (), total: int = 16, draining: int = 0
) -> ClusterView:
    return ClusterView(0.0, free, total, draining, running)


def job(i: int, nodes: int, submit: float = 0.0, prio: int = 0, runtime: float = 100.0) -> JobView:
    return JobView(i, nodes, prio, submit, runtime)


def test_registry_names() -> None:
    assert set(REGISTRY) == {"fifo", "easy-backfill", "priority-preempt"}
    with pytest.raises(ValueError, match="known: easy-backfill, fifo, priority-preempt"):
        get_policy("lottery")


def test_fifo_blocks_behind_the_head() -> None:
    queue = (job(0, 4, 0), job(1, 10, 1), job(2, 1, 2))
    assert get_policy("fifo")(view(8), queue) == [Start(0)]


def test_fifo_skips_a_job_that_can_never_run() -> None:
    queue = (job(0, 99, 0), job(1, 2, 1))
    assert get_policy("fifo")(view(8), queue) == [Start(1)]


def test_easy_backfills_short_jobs_only() -> None:
    running = (RunningView(9, 8, 0, 0.0, 500.0),)
    queue = (job(0, 12, 0), job(1, 4, 1, runtime=400.0), job(2, 4, 2, runtime=900.0))
    # Head needs 12: shadow at t=500 with 8 + 8 = 16 free -> 4 extra nodes.
    decisions = get_policy("easy-backfill")(view(8, running), queue)
    # Job 1 ends before the shadow time; job 2 does not but fits in the 4 extra nodes.
    assert decisions == [Start(1), Start(2)]


def test_easy_does_not_delay_the_head() -> None:
    running = (RunningView(9, 8, 0, 0.0, 500.0),)
    queue = (job(0, 16, 0), job(1, 4, 1, runtime=900.0))
    assert get_policy("easy-backfill")(view(8, running), queue) == []


def test_easy_counts_every_job_ending_at_the_shadow_time_as_extra_nodes() -> None:
    running = (RunningView(8, 4, 0, 0.0, 500.0), RunningView(9, 4, 0, 0.0, 500.0))
    queue = (job(0, 8, 0), job(1, 4, 1, runtime=900.0))
    # Head needs 8 of the 4 free + 8 released at t=500: 4 nodes are extra, enough for job 1.
    assert get_policy("easy-backfill")(view(4, running), queue) == [Start(1)]


def test_easy_reserves_for_the_first_job_that_can_run_past_one_that_never_can() -> None:
    running = (RunningView(9, 8, 0, 0.0, 500.0),)
    queue = (job(0, 99, 0), job(1, 16, 1), job(2, 4, 2, runtime=900.0))
    # Job 0 never runs; job 1 is the head (reserved at t=500 with no extra nodes), and job 2
    # would delay it.
    assert get_policy("easy-backfill")(view(8, running), queue) == []


def test_priority_preempts_lowest_priority_newest_first() -> None:
    running = (
        RunningView(5, 4, 0, 10.0, math.inf),
        RunningView(6, 4, 0, 20.0, math.inf),
        RunningView(7, 8, 5, 0.0, math.inf),
    )
    queue = (job(0, 4, 0, prio=9),)
    assert get_policy("priority-preempt")(view(0, running), queue) == [Preempt(6)]


def test_priority_does_not_preempt_twice_or_uselessly() -> None:
    running = (RunningView(5, 4, 0, 10.0, math.inf),)
    # Nodes already draining cover the need: no new preemption.
    assert get_policy("priority-preempt")(view(0, running, draining=4), (job(0, 4, prio=9),)) == []
    # Preempting everything would not make room: preempt nothing.
    assert get_policy("priority-preempt")(view(0, running), (job(0, 12, prio=9),)) == []

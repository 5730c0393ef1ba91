from __future__ import annotations

import math

import pytest

from clustersim.scheduler import BACKFILL, FULL_QUEUE, PREEMPTIVE, PREFIX, REGISTRY, get_policy
from clustersim.scheduler.conservative_backfill import Profile
from clustersim.views import ClusterView, JobView, Preempt, RunningView, Start


def view(
    free: int,
    running: tuple[RunningView, ...] = (),
    total: int = 16,
    draining: int = 0,
    now: float = 0.0,
) -> ClusterView:
    return ClusterView(now, free, total, draining, running)


def job(i: int, nodes: int, submit: float = 0.0, prio: int = 0, runtime: float = 100.0) -> JobView:
    return JobView(i, nodes, prio, submit, runtime)


def test_registry_names() -> None:
    assert set(REGISTRY) == {
        "fifo",
        "easy-backfill",
        "priority-preempt",
        "sjf",
        "conservative-backfill",
        "fair-share",
        "tiresias",
    }
    known = (
        "known: conservative-backfill, easy-backfill, fair-share, fifo, priority-preempt, sjf, "
        "tiresias"
    )
    with pytest.raises(ValueError, match=known):
        get_policy("lottery")


def test_only_conservative_backfill_and_fair_share_need_the_whole_queue() -> None:
    # SJF starts only jobs that fit now, which the dispatcher's filtered queue holds; fair
    # share's head (and so its reservation) depends on every queued job's account.
    assert {"conservative-backfill", "fair-share"} == FULL_QUEUE
    assert FULL_QUEUE.issubset(REGISTRY)
    assert not FULL_QUEUE & PREEMPTIVE


def test_fifo_reads_a_prefix_and_easy_backfills_behind_it() -> None:
    assert ({"fifo"}, {"easy-backfill"}) == (PREFIX, BACKFILL)
    cuts = [PREFIX, BACKFILL, FULL_QUEUE, PREEMPTIVE]
    assert all(not a & b for i, a in enumerate(cuts) for b in cuts[i + 1 :])


@pytest.mark.parametrize("policy", ["fifo", "easy-backfill", "sjf", "conservative-backfill"])
def test_a_queue_handed_in_order_gives_the_decisions_of_the_same_queue_shuffled(
    policy: str,
) -> None:
    # Ties in submit time are broken by id; sizes and runtimes make EASY and conservative
    # backfill both reserve and backfill.
    queue = tuple(
        job(i, nodes, submit, runtime=runtime)
        for i, (nodes, submit, runtime) in enumerate(
            [(4, 0, 300.0), (12, 1, 50.0), (2, 1, 100.0), (4, 2, 900.0), (2, 2, 40.0), (1, 3, 10.0)]
        )
    )
    running = (RunningView(9, 8, 0, 0.0, 200.0),)
    shuffled = tuple(reversed(queue))
    ordered = ClusterView(0.0, 8, 16, 0, running, queue_ordered=True)
    decide = get_policy(policy)
    assert decide(ordered, queue) == decide(view(8, running), shuffled)
    assert decide(ordered, queue)  # something starts: the comparison is not vacuous


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


def test_sjf_starts_the_shortest_estimates_first_and_skips_what_does_not_fit() -> None:
    queue = (
        job(0, 4, 0, runtime=300.0),
        job(1, 12, 1, runtime=10.0),
        job(2, 4, 2, runtime=100.0),
        job(3, 4, 3, runtime=200.0),
    )
    # Job 1 is shortest but does not fit in 8 free nodes; jobs 2 and 3 are next and fill them.
    assert get_policy("sjf")(view(8), queue) == [Start(2), Start(3)]


def test_sjf_breaks_ties_by_submit_time_then_id() -> None:
    queue = (job(5, 4, 2.0), job(3, 4, 1.0), job(1, 4, 2.0))
    assert get_policy("sjf")(view(8), queue) == [Start(3), Start(1)]


def test_sjf_skips_a_job_that_can_never_run() -> None:
    queue = (job(0, 99, 0, runtime=1.0), job(1, 2, 1))
    assert get_policy("sjf")(view(8), queue) == [Start(1)]


def test_conservative_backfill_protects_every_reservation() -> None:
    # 4 of 16 nodes free until t=100. Job 0 (16 nodes) is reserved for [100, 200). Job 1
    # (4 nodes, 50 s) ends before then and starts; job 2 (4 nodes, 500 s) would delay job 0.
    running = (RunningView(9, 12, 0, 0.0, 100.0),)
    queue = (job(0, 16, 0), job(1, 4, 1, runtime=50.0), job(2, 4, 2, runtime=500.0))
    assert get_policy("conservative-backfill")(view(4, running), queue) == [Start(1)]


def test_conservative_backfill_protects_jobs_behind_the_head_unlike_easy() -> None:
    # Job 0 (12 nodes) is reserved for [100, 200) beside 4 extra nodes, job 1 (16 nodes) for
    # [200, 300). Job 2 (4 nodes, 250 s) fits beside job 0 but overlaps job 1's reservation:
    # EASY backfills it (it delays only job 1), conservative backfilling does not.
    running = (RunningView(9, 12, 0, 0.0, 100.0),)
    queue = (job(0, 12, 0), job(1, 16, 1), job(2, 4, 2, runtime=250.0))
    assert get_policy("conservative-backfill")(view(4, running), queue) == []
    assert get_policy("easy-backfill")(view(4, running), queue) == [Start(2)]


def test_conservative_backfill_orders_the_queue_by_submit_time() -> None:
    # The queue tuple is in no particular order: the job submitted first gets the nodes.
    queue = (job(1, 8, 5.0), job(0, 8, 1.0))
    assert get_policy("conservative-backfill")(view(8), queue) == [Start(0)]


def test_conservative_backfill_skips_what_never_fits_and_what_has_no_slot() -> None:
    # Job 0 is larger than the machine; job 1 fits nowhere while 8 nodes are down (4 free,
    # 4 held by a job that never ends): neither blocks job 2.
    running = (RunningView(9, 4, 0, 0.0, math.inf),)
    queue = (job(0, 99, 0), job(1, 12, 1), job(2, 4, 2))
    assert get_policy("conservative-backfill")(view(4, running), queue) == [Start(2)]


def test_profile_finds_the_earliest_slot_and_reserves_it() -> None:
    profile = Profile(10.0, 2, [(20.0, 2), (30.0, 4)])
    assert (profile.times, profile.free) == ([10.0, 20.0, 30.0], [2, 4, 8])
    assert profile.earliest(2, 100.0) == 0
    assert profile.earliest(4, 5.0) == 1
    assert profile.earliest(9, 5.0) is None
    profile.reserve(1, 4, 5.0)  # [20, 25) full
    assert (profile.times, profile.free) == ([10.0, 20.0, 25.0, 30.0], [2, 0, 4, 8])
    # A 2-node job of 20 s cannot start before t=25 (it would overlap [20, 25)).
    assert profile.earliest(2, 20.0) == 2


def test_profile_expects_an_overdue_job_to_end_just_after_now() -> None:
    profile = Profile(50.0, 0, [(40.0, 4)])
    assert profile.free == [0, 4]
    assert profile.times[0] == 50.0 < profile.times[1] == math.nextafter(50.0, math.inf)


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

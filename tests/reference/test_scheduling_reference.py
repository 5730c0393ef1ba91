"""Differential test: the engine starts every job when the reference scheduler does.

The reference (``minisched``) is written from the policies' textbook definitions; the engine
runs the same workload with faults off and zero start-up and checkpoint costs
(``replay.start_times``), so a job runs for exactly its runtime and the start times are the
policy's decisions alone. Times are integers, so ties are exact. Estimates equal runtimes,
or (``estimated_workloads``) are the users' own, over or under the runtime.

Both sides order simultaneous events the same way: at one instant, all completions, then
all arrivals, then one scheduling pass.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from minisched import simulate
from replay import start_times
from strategies import estimated_workloads, scheduling_workloads

from clustersim.engine.dispatcher import Dispatcher
from clustersim.scheduler import REGISTRY
from clustersim.views import ClusterView, Decision, JobView, Start

POLICIES = ("fifo", "easy-backfill", "sjf", "conservative-backfill")
ESTIMATE_READERS = ("easy-backfill", "sjf", "conservative-backfill")
"""The policies that read estimates (FIFO's decisions do not depend on them)."""
AT_LEAST_1000 = settings(max_examples=max(1000, settings().max_examples), deadline=None)
"""1,000 workloads per policy in every profile; more where the profile asks (``fuzz``)."""


def reference(jobs: Sequence[tuple[float, float, int]], n_nodes: int, policy: str) -> list[float]:
    """The reference's start times, with estimates equal to runtimes."""
    return simulate([(s, r, p, r) for s, r, p in jobs], n_nodes, policy)


def never_nan(starts: Sequence[float]) -> list[float | None]:
    """Start times with ``None`` for a job never started (so that lists compare equal)."""
    return [None if math.isnan(t) else t for t in starts]


@pytest.mark.parametrize("policy", POLICIES)
@AT_LEAST_1000
@given(workload=scheduling_workloads())
def test_the_engine_starts_every_job_when_the_reference_does(
    policy: str, workload: tuple[int, list[tuple[int, int, int]]]
) -> None:
    n_nodes, jobs = workload
    engine = never_nan(start_times(jobs, n_nodes, policy))
    assert engine == never_nan(reference(jobs, n_nodes, policy)), (n_nodes, jobs)


@pytest.mark.parametrize("policy", ESTIMATE_READERS)
@AT_LEAST_1000
@given(workload=estimated_workloads())
def test_with_user_estimates_the_engine_starts_every_job_when_the_reference_does(
    policy: str, workload: tuple[int, list[tuple[int, int, int, int]]]
) -> None:
    # Policies see the estimates; jobs run for their runtimes (shorter or longer).
    n_nodes, jobs = workload
    engine = never_nan(start_times(jobs, n_nodes, policy))
    assert engine == never_nan(simulate(jobs, n_nodes, policy)), (n_nodes, jobs)


@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=max(100, settings().max_examples), deadline=None)
@given(workload=scheduling_workloads(max_nodes=16, max_jobs=60))
def test_long_queues_cut_nothing_a_policy_would_start(
    policy: str, workload: tuple[int, list[tuple[int, int, int]]]
) -> None:
    """Up to 60 jobs arriving within two minutes, so that dozens wait at once.

    The dispatcher hands FIFO only the queue up to the first job that does not fit, EASY that
    prefix, the head and the later jobs it could backfill, SJF the jobs that fit. On every
    pass the policy must decide on that cut exactly as on the whole queue, and every job must
    start when the reference starts it.
    """
    n_nodes, jobs = workload
    cut_queue = Dispatcher._queue_view
    passes = []

    def checked(dispatcher: Dispatcher, view: ClusterView) -> tuple[JobView, ...]:
        cut = cut_queue(dispatcher, view)
        with patch.object(dispatcher, "filter_queue", False):
            whole = cut_queue(dispatcher, view)
        assert dispatcher.policy(view, cut) == dispatcher.policy(view, whole), (view, whole)
        passes.append(len(whole) - len(cut))
        return cut

    with patch.object(Dispatcher, "_queue_view", checked):
        engine = never_nan(start_times(jobs, n_nodes, policy))
    assert engine == never_nan(reference(jobs, n_nodes, policy)), (n_nodes, jobs)
    if policy == "conservative-backfill":
        assert not any(passes)  # it is handed the whole queue


@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=max(300, settings().max_examples), deadline=None)
@given(workload=scheduling_workloads())
def test_the_engine_makes_one_pass_per_instant_after_all_its_completions_and_arrivals(
    policy: str, workload: tuple[int, list[tuple[int, int, int]]]
) -> None:
    """The ordering rule, observed on the engine's own scheduling passes.

    Each pass is at a distinct instant; no running job is due to end at or before it (its
    completion came first); and (for the policy given the whole queue) every job submitted
    by then and not yet started is in the queue it sees (every arrival came first).
    """
    n_nodes, jobs = workload
    passes: list[float] = []
    started: set[int] = set()
    submit_s = sorted(s for s, _, _ in jobs)  # engine ids number jobs in submit order
    decide = REGISTRY[policy]

    def observed(view: ClusterView, queue: tuple[JobView, ...]) -> list[Decision]:
        passes.append(view.now_s)
        assert all(run.est_end_s > view.now_s for run in view.running)
        if policy == "conservative-backfill":
            waiting = {i for i, s in enumerate(submit_s) if s <= view.now_s} - started
            assert {job.id for job in queue} == waiting
        decisions = decide(view, queue)
        started.update(d.job for d in decisions if isinstance(d, Start))
        return decisions

    with patch.dict(REGISTRY, {policy: observed}):
        start_times(jobs, n_nodes, policy)
    assert len(passes) == len(set(passes)), passes


# --------------------------------------------------------------------------- the reference itself
# Hand-checked cases, so that the reference is right independently of the engine.

NAN = math.nan


def test_the_reference_reproduces_the_two_easy_bugs_of_issue_15() -> None:
    jobs = [(0, 100, 6), (50, 100, 4), (60, 10, 10), (70, 40, 6)]
    assert reference(jobs, 10, "easy-backfill") == [0, 50, 150, 100]
    jobs = [(0, 100, 10), (1, 10, 5), (2, 10, 10), (3, 1000, 5)]
    assert reference(jobs, 10, "easy-backfill") == [0, 100, 110, 120]


def test_the_reference_skips_a_never_runnable_job_when_choosing_the_head() -> None:
    # Job 0 can never run on 2 nodes; job 2 is the head, reserved at t=2, and job 3 (ends
    # at t=3) may not be backfilled at t=1.
    jobs = [(0, 1, 3), (0, 2, 1), (0, 1, 2), (1, 2, 1)]
    assert reference(jobs, 2, "easy-backfill")[1:] == [0, 2, 3]


def test_completions_come_before_arrivals_at_one_instant() -> None:
    # Job 0 ends at t=10 as job 1 arrives; the full machine is free for job 1 at once.
    for policy in POLICIES:
        assert reference([(0, 10, 4), (10, 5, 4)], 4, policy) == [0, 10]


def test_arrivals_at_one_instant_are_scheduled_in_one_pass() -> None:
    # SJF sees both arrivals of t=0 together and starts the shorter first.
    assert reference([(0, 20, 2), (0, 10, 2)], 2, "sjf") == [10, 0]
    assert reference([(0, 20, 2), (0, 10, 2)], 2, "fifo") == [0, 20]


def test_a_job_larger_than_the_machine_is_skipped_by_every_policy() -> None:
    for policy in POLICIES:
        starts = reference([(0, 10, 5), (0, 10, 2), (1, 10, 4)], 4, policy)
        assert math.isnan(starts[0])
        assert starts[1:] == [0, 10]


def test_fifo_blocks_behind_the_head() -> None:
    assert reference([(0, 10, 3), (1, 10, 4), (2, 1, 1)], 4, "fifo") == [0, 10, 20]


def test_easy_extra_nodes_count_every_job_ending_at_the_shadow_time() -> None:
    # Two 2-node jobs end together at t=10, when the head (4 nodes) can start: at its shadow
    # time 2 + 4 = 6 nodes are free, so 2 are extra, and a 2-node job running past the
    # shadow time is backfilled into them at t=2.
    jobs = [(0, 10, 2), (0, 10, 2), (1, 5, 4), (2, 50, 2)]
    assert reference(jobs, 6, "easy-backfill") == [0, 0, 10, 2]


def test_easy_backfills_a_job_that_ends_by_the_shadow_time_not_one_that_overruns_it() -> None:
    # The head (4 nodes) waits for t=100 and no node is extra: job 2 ends at t=100 exactly
    # and is backfilled; job 3 would run past it and waits for the head to finish.
    jobs = [(0, 100, 2), (1, 10, 4), (2, 98, 1), (3, 200, 1)]
    assert reference(jobs, 4, "easy-backfill") == [0, 100, 2, 110]


def test_conservative_backfill_protects_every_reservation_not_only_the_head() -> None:
    # Job 1 (3 nodes) is reserved for [10, 20) and job 2 (4 nodes) for [20, 30). Job 3 (one
    # node, 30 s) fits beside job 1 but would overlap job 2: EASY, which protects the head
    # only, backfills it at t=3 and job 2 waits until t=33; conservative backfilling starts
    # it at t=30. Job 4 (one node, 5 s) fits in the hole before t=10 under both.
    jobs = [(0, 10, 2), (1, 10, 3), (2, 10, 4), (3, 30, 1), (4, 5, 1)]
    assert reference(jobs, 4, "conservative-backfill") == [0, 10, 20, 30, 4]
    assert reference(jobs, 4, "easy-backfill") == [0, 10, 33, 3, 4]


def test_sjf_starts_every_job_that_fits_in_estimate_order() -> None:
    # The shortest job (4 nodes) never fits while shorter-listed 2-node jobs keep the
    # machine busy: SJF starts them around it (and the wide job starves until t=51).
    jobs = [(0, 50, 2), (1, 5, 4), (1, 30, 2), (1, 20, 2)]
    assert reference(jobs, 4, "sjf") == [0, 51, 21, 1]

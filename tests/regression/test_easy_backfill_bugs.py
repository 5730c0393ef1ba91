"""The EASY-backfill bugs of issue 15 and those the reference suite found, each reproduced.

One-GPU nodes (ten unless stated), no faults, no start-up or checkpoint cost; jobs are
(submit, run, procs).
"""

from __future__ import annotations

import math

from replay import start_times


def test_a_job_started_after_t0_publishes_start_plus_duration_as_its_end() -> None:
    # Bug 1: the running job's view was published before its epoch start was set, so the
    # job started at t=50 looked as if it ended at t=100 (its duration), the head's
    # reservation fell at t=100 instead of 150, and job 4 (ends at 140) was not backfilled.
    jobs = [(0, 100, 6), (50, 100, 4), (60, 10, 10), (70, 40, 6)]
    assert start_times(jobs, 10, "easy-backfill") == [0, 50, 150, 100]


def test_jobs_started_in_the_same_pass_count_toward_the_shadow_time() -> None:
    # Bug 2: job 2 starts at t=100 in the same pass that reserves t=110 for job 3; the
    # shadow time ignored job 2's nodes, and job 4 (1,000 s) was backfilled, delaying the
    # head by 990 s.
    jobs = [(0, 100, 10), (1, 10, 5), (2, 10, 10), (3, 1000, 5)]
    assert start_times(jobs, 10, "easy-backfill") == [0, 100, 110, 120]


# Found by the reference suite (tests/reference/), each disagreeing with the textbook EASY.


def test_a_job_that_can_never_run_does_not_take_the_head_s_reservation() -> None:
    # Two nodes. Job 1 (3 nodes) can never run. It used to be taken as the head, with no
    # reservation (shadow time inf): job 4 was backfilled at t=1 and delayed job 3, the real
    # head (reserved at t=2), to t=3.
    jobs = [(0, 1, 3), (0, 2, 1), (0, 1, 2), (1, 2, 1)]
    starts = start_times(jobs, 2, "easy-backfill")
    assert math.isnan(starts[0])
    assert starts[1:] == [0, 2, 3]


def test_every_job_ending_at_the_shadow_time_frees_extra_nodes() -> None:
    # Six nodes. Jobs 1 and 2 end together at t=10, the head's shadow time; 2 + 4 nodes are
    # then free for a head of 4, so 2 are extra. The walk stopped at the first job that made
    # room and counted no extra node, so job 4 was not backfilled at t=2.
    jobs = [(0, 10, 2), (0, 10, 2), (1, 5, 4), (2, 50, 2)]
    assert start_times(jobs, 6, "easy-backfill") == [0, 0, 10, 2]

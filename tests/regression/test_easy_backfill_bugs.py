"""The two EASY-backfill bugs of issue 15, each as its reproduction.

Ten one-GPU nodes, no faults, no start-up or checkpoint cost; jobs are (submit, run, procs).
"""

from __future__ import annotations

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

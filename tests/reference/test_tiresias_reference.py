"""Differential test: Tiresias starts and preempts every job when the reference does.

The reference (``minilas``) steps from event to event with its own accounting of attained
service (no clustersim code); the engine keeps service in closed form
(:mod:`clustersim.engine.service`) and wakes the dispatcher at each threshold crossing or
promotion with one timer (:class:`clustersim.engine.passes.PassTimer`). Preemption loses no
work on either side: the engine checkpoints at preemption with no stall and restarts at no
cost. Every job's list of start times and list of preemption times must be equal.
"""

from __future__ import annotations

from hypothesis import given, settings
from minilas import simulate
from replay import placements
from strategies import tiresias_workloads

AT_LEAST_1000 = settings(max_examples=max(1000, settings().max_examples), deadline=None)


def engine(
    jobs: list[tuple[int, int, int]], n_nodes: int, thresholds: list[int], knob: int | None
) -> list[tuple[list[float], list[float]]]:
    """The engine's starts and preemptions of each job, with Tiresias so configured."""
    settings = {"tiresias": {"thresholds": thresholds, "promote_knob": knob}}
    return placements(jobs, n_nodes, "tiresias", scheduler=settings)


@AT_LEAST_1000
@given(workload=tiresias_workloads())
def test_the_engine_starts_and_preempts_every_job_when_the_reference_does(
    workload: tuple[int, list[tuple[int, int, int]], list[int], int | None],
) -> None:
    n_nodes, jobs, thresholds, knob = workload
    got = engine(jobs, n_nodes, thresholds, knob)
    assert got == simulate(jobs, n_nodes, thresholds, knob), (n_nodes, jobs, thresholds, knob)


# --------------------------------------------------------------------------- the reference itself
# Hand-checked cases, so that the reference is right independently of the engine.


def test_a_new_job_preempts_a_demoted_one() -> None:
    # 4 nodes. The long job (4 GPUs) reaches 400 GPU-s at t = 100 and drops to queue 1; the
    # short one (queue 0, waiting since 50) preempts it then, runs to 200, and the long one
    # resumes for its last 900 s.
    got = simulate([(0, 1000, 4), (50, 100, 4)], 4, [400])
    assert got == [([0, 200], [100]), ([100], [])]


def test_jobs_of_the_same_queue_do_not_preempt_each_other() -> None:
    # Both stay in queue 0 (threshold far away): the second waits for the first to end.
    assert simulate([(0, 100, 4), (1, 10, 4)], 4, [10_000]) == [([0], []), ([100], [])]


def test_fit_first_skips_a_job_that_does_not_fit() -> None:
    # 4 nodes: job 0 (2 GPUs) runs; job 1 (4 GPUs) cannot fit and is skipped; job 2 (2 GPUs,
    # later) fits beside job 0 and starts at once.
    got = simulate([(0, 100, 2), (1, 10, 4), (2, 10, 2)], 4, [10_000])
    assert got == [([0], []), ([100], []), ([2], [])]


def test_a_starving_job_is_promoted_after_knob_times_its_executed_time() -> None:
    # 2 nodes, threshold 16 GPU-s, knob 2. Job 0 (2 GPUs) drops to queue 1 at t = 8; job 1
    # (queue 0) preempts it and runs to t = 208 (it drops too at t = 16, but nothing in
    # queue 0 waits). Job 0 has executed 8 s and is promoted after waiting 16 s (t = 24),
    # back to queue 0 with no service: it preempts job 1 (queue 1) at t = 24.
    got = simulate([(0, 100, 2), (8, 200, 2)], 2, [16], promote_knob=2)
    assert got[0][0][:2] == [0, 24] and got[0][1][:1] == [8]
    assert got[1][0][:1] == [8] and got[1][1][:1] == [24]

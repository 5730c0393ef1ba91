"""Tiresias on small hand-worked examples: demotion, preemption, promotion, exact wake-ups.

One-GPU nodes, no faults, no start-up cost; a preempted job checkpoints at once with no
stall and restarts at no cost (``replay.placements``). Jobs are (submit, run, GPUs); each
result is (start times, preemption times) per job.
"""

from __future__ import annotations

from unittest.mock import patch

from replay import placements

from clustersim.scheduler import REGISTRY
from clustersim.views import ClusterView, Decision, JobView

JOBS = [(0, 300, 4), (10, 100, 2), (20, 50, 4)]


def tiresias(
    jobs: list[tuple[float, float, int]], nodes: int, thresholds: list[float], knob: float | None
) -> list[tuple[list[float], list[float]]]:
    settings = {"tiresias": {"thresholds": thresholds, "promote_knob": knob}}
    return placements(jobs, nodes, "tiresias", scheduler=settings)


def test_a_demoted_job_is_preempted_and_resumes_when_the_low_queue_is_empty() -> None:
    """Four nodes, thresholds 400 and 1,600 GPU-s (three queues), no promotion.

    * t = 0: A (4 GPUs, 300 s) starts in queue 0. B (2 GPUs) and C (4 GPUs) arrive at
      t = 10 and 20 into queue 0 and wait: A is in their queue and keeps its place.
    * t = 100: A has attained 4 x 100 = 400 GPU-s and drops to queue 1. The order is B, C
      (queue 0, waiting), A (queue 1): B takes 2 nodes, C (4) does not fit in the 2 left
      and is skipped, A (4) does not fit either and is preempted. B starts.
    * t = 200: B ends (200 GPU-s: still queue 0). C starts; A waits in queue 1.
    * t = 250: C ends. A resumes with 200 s left and ends at t = 450, before it would reach
      1,600 GPU-s (t = 250 + 1,200 / 4 = 550).
    """
    assert tiresias(JOBS, 4, [400, 1600], None) == [([0, 250], [100]), ([100], []), ([200], [])]


def test_the_starvation_guard_promotes_a_job_that_waited_its_executed_time() -> None:
    """As above with ``promote_knob: 1``.

    * t = 100: A (executed 100 s) is preempted into queue 1 and waits from t = 100.
    * t = 200: A has waited 100 s = 1 x its executed time: promoted to queue 0 with no
      service. B ends at the same instant. Queue 0 holds A (submitted at 0) and C (at 20): A
      goes first and starts; C does not fit.
    * t = 300: A attains 400 GPU-s again and drops to queue 1: C preempts it.
    * t = 350: C ends; A resumes with 100 s left and ends at t = 450.
    """
    expected = [([0, 200, 350], [100, 300]), ([100], []), ([300], [])]
    assert tiresias(JOBS, 4, [400, 1600], 1) == expected


def test_a_crossing_between_whole_seconds_is_acted_on_at_that_exact_float() -> None:
    # 3 GPUs reach 100 GPU-s at t = 100 / 3 (not a whole second): the job waiting in queue 0
    # preempts it then, at exactly the float 100 / 3, not a tick later.
    got = tiresias([(0, 100, 3), (1, 50, 3)], 3, [100], None)
    assert got == [([0, 100 / 3 + 50], [100 / 3]), ([100 / 3], [])]


def test_the_dispatcher_is_woken_at_crossings_only_not_polled() -> None:
    # A job attains for 10^6 s through three thresholds while another waits: the passes are
    # the arrivals, the crossings that matter and the completions, not one per step of time.
    calls: list[float] = []
    decide = REGISTRY["tiresias"]

    def counted(view: ClusterView, queue: tuple[JobView, ...], **kw: object) -> list[Decision]:
        calls.append(view.now_s)
        return decide(view, queue, **kw)  # type: ignore[arg-type]

    with patch.dict(REGISTRY, {"tiresias": counted}):
        got = tiresias([(0, 1e6, 1), (1, 1e6, 1)], 1, [1e3, 1e4, 1e5], None)
    assert got[0][0][0] == 0 and got[1][0][0] > 0
    assert len(calls) <= 12, calls

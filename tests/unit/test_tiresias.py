"""The Tiresias policy (``scheduler/tiresias.py``) on hand-made views, without SimPy."""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from clustersim.engine.service import Service
from clustersim.job import JobPhase
from clustersim.scheduler import tiresias
from clustersim.views import Attained, ClusterView, JobView, Preempt, Promote, RunningView, Start

T = (100.0, 1000.0)  # three queues


Pair = tuple[Any, Attained]


def run(i: int, nodes: int, service: float, since: float = 0.0, submit: float = 0.0) -> Pair:
    view = RunningView(i, nodes, 0, since, math.inf, submit_s=submit)
    return view, Attained(service, service / nodes, since, nodes, True)


def wait(i: int, nodes: int, service: float, since: float, executed: float = 0.0) -> Pair:
    return JobView(i, nodes, 0, float(i), 10.0), Attained(service, executed, since, nodes, False)


def cluster(
    now: float, free: int, running: list[Pair], queued: list[Pair]
) -> tuple[ClusterView, tuple[JobView, ...]]:
    service = {v.id: a for v, a in running + queued}
    view = ClusterView(now, free, 8, 0, tuple(v for v, _ in running), service=service)
    return view, tuple(v for v, _ in queued)


def test_a_waiting_job_of_a_lower_queue_preempts_a_demoted_running_job() -> None:
    # Job 1 (4 nodes) started at t = 0 with no service: it crossed 100 GPU-s at t = 25.
    view, queue = cluster(30.0, 4, [run(1, 4, 0.0)], [wait(2, 8, 0.0, 5.0)])
    assert tiresias.decide(view, queue, thresholds=T) == [Preempt(1)]
    # Before the crossing it keeps its place: job 2 is in its queue and waits.
    view, queue = cluster(20.0, 4, [run(1, 4, 0.0)], [wait(2, 8, 0.0, 5.0)])
    assert tiresias.decide(view, queue, thresholds=T) == []


def test_the_crossing_instant_itself_counts_as_crossed() -> None:
    view, queue = cluster(25.0, 4, [run(1, 4, 0.0)], [wait(2, 8, 0.0, 5.0)])
    assert tiresias.decide(view, queue, thresholds=T) == [Preempt(1)]


def test_fit_first_starts_what_fits_and_never_preempts_in_vain() -> None:
    # Job 1 (queue 0, 6 nodes) runs; job 2 (queue 0, 4 nodes) does not fit beside it; job 3
    # (queue 1, 2 nodes) fits in the 2 free nodes and starts.
    view, queue = cluster(1.0, 2, [run(1, 6, 0.0)], [wait(2, 4, 0.0, 0.5), wait(3, 2, 500.0, 0.5)])
    assert tiresias.decide(view, queue, thresholds=T) == [Start(3)]


def test_lower_queues_first_then_first_come_first_served() -> None:
    queue_jobs = [wait(5, 4, 2000.0, 0.0), wait(7, 4, 0.0, 3.0), wait(6, 4, 0.0, 2.0)]
    view, queue = cluster(4.0, 8, [], queue_jobs)
    assert tiresias.decide(view, queue, thresholds=T) == [Start(6), Start(7)]


def test_a_starved_job_is_promoted_and_goes_first() -> None:
    # Job 4 sits in queue 2 (2,000 GPU-s), ran 50 s and has waited 100 s: with knob 2 it is
    # promoted (service back to 0) and, submitted first, goes before job 6.
    queue_jobs = [wait(4, 8, 2000.0, 0.0, executed=50.0), wait(6, 8, 0.0, 90.0)]
    view, queue = cluster(100.0, 8, [], queue_jobs)
    got = tiresias.decide(view, queue, thresholds=T, promote_knob=2.0)
    assert got == [Promote(4), Start(4)]
    assert tiresias.decide(view, queue, thresholds=T) == [Start(6)]  # no guard


def next_pass(view: ClusterView, queue: tuple[JobView, ...], **kw: Any) -> float:
    return tiresias.next_pass_s(view, queue, tiresias.decide(view, queue, **kw), **kw)


def test_next_pass_is_the_next_crossing_or_promotion() -> None:
    # Running job 1 (2 nodes, 40 GPU-s at t = 10) crosses 100 at t = 40; waiting job 2
    # (queue 1, executed 20 s, waiting since t = 0) is promoted at t = 0 + 3 x 20 = 60.
    view, queue = cluster(10.0, 0, [run(1, 2, 40.0, since=10.0)], [wait(2, 8, 150.0, 0.0, 20.0)])
    assert next_pass(view, queue, thresholds=T) == 40.0
    view, queue = cluster(50.0, 0, [run(1, 2, 40.0, since=10.0)], [wait(2, 8, 150.0, 0.0, 20.0)])
    assert next_pass(view, queue, thresholds=T, promote_knob=3.0) == 60.0
    # Job 1 past its last threshold and no guard: nothing changes with time alone.
    view, queue = cluster(10.0, 0, [run(1, 2, 5000.0, since=10.0)], [wait(2, 8, 150.0, 0.0)])
    assert next_pass(view, queue, thresholds=T) == math.inf


def test_next_pass_counts_started_jobs_from_now_and_not_preempted_ones() -> None:
    # At t = 30 job 1 (crossed 100 at t = 25) is preempted for job 2 (8 nodes, 50 GPU-s
    # attained before): job 2 cannot start before job 1 drains, and job 1 will be queued, so
    # nothing here is due: the drain's release makes the next pass.
    view, queue = cluster(30.0, 4, [run(1, 4, 0.0)], [wait(2, 8, 50.0, 5.0)])
    assert next_pass(view, queue, thresholds=T) == math.inf
    # With 8 free nodes job 2 starts now and crosses 100 GPU-s at 30 + 50 / 8.
    view, queue = cluster(30.0, 8, [], [wait(2, 8, 50.0, 5.0)])
    assert next_pass(view, queue, thresholds=T) == 30.0 + 50.0 / 8


def test_a_job_larger_than_the_cluster_is_skipped() -> None:
    view, queue = cluster(0.0, 8, [], [wait(1, 9, 0.0, 0.0), wait(2, 8, 0.0, 0.0)])
    assert tiresias.decide(view, queue, thresholds=T) == [Start(2)]


def test_without_service_in_the_view_every_job_is_new() -> None:
    view = ClusterView(0.0, 4, 8, 0, ())
    queue = (JobView(1, 4, 0, 0.0, 1.0), JobView(2, 4, 0, 1.0, 1.0))
    assert tiresias.decide(view, queue) == [Start(1)]


@st.composite
def whole_node_passes(draw: st.DrawFn) -> tuple[ClusterView, tuple[JobView, ...]]:
    """A pass of whole-node jobs: some running (attaining), some waiting, on up to 16 nodes."""
    now = 100.0
    running, used = [], 0
    for i in range(draw(st.integers(0, 5))):
        nodes = draw(st.integers(1, 4))
        if used + nodes > 12:
            break
        used += nodes
        service = draw(st.sampled_from((0.0, 50.0, 500.0, 5000.0)))
        running.append(run(i, nodes, service, since=draw(st.sampled_from((0.0, 60.0, 99.0)))))
    queued = [
        wait(
            10 + i,
            draw(st.integers(1, 8)),
            draw(st.sampled_from((0.0, 150.0, 2000.0))),
            draw(st.sampled_from((0.0, 50.0))),
            draw(st.sampled_from((0.0, 10.0))),
        )
        for i in range(draw(st.integers(0, 6)))
    ]
    free = draw(st.integers(0, 16 - used))
    view, queue = cluster(now, free, running, queued)
    draining = draw(st.integers(0, 16 - used - free))
    return dataclasses.replace(view, draining_nodes=draining, schedulable_nodes=16), queue


@settings(max_examples=300, deadline=None)
@given(whole_node_passes(), st.sampled_from((None, 1.0)))
def test_under_gpu_sharing_whole_node_jobs_get_exactly_the_same_decisions(
    case: tuple[ClusterView, tuple[JobView, ...]], knob: float | None
) -> None:
    view, queue = case
    plain = tiresias.decide(view, queue, thresholds=T, promote_knob=knob)
    shared = dataclasses.replace(view, gpus_per_node=8)
    assert tiresias.decide(shared, queue, thresholds=T, promote_knob=knob) == plain


def two_shared_nodes(
    running: list[Pair], queued: list[Pair], gpus_per_node: int, shared: tuple[tuple[int, int], ...]
) -> ClusterView:
    """Two shared nodes at t = 10 (no FREE node) with these running and queued jobs."""
    service = {v.id: a for v, a in running + queued}
    runs = tuple(v for v, _ in running)
    return ClusterView(
        10.0, 0, 2, 0, runs, service=service, gpus_per_node=gpus_per_node, shared=shared
    )


def test_under_gpu_sharing_a_sub_node_job_preempts_only_what_it_needs() -> None:
    # Two 8-GPU nodes, both shared: node 0 holds job 1 (4 GPUs, queue 1) and job 2 (4 GPUs,
    # queue 1), node 1 holds job 3 (6 GPUs, queue 1); 2 GPUs free on node 1. Job 9 (queue 0)
    # needs 4 GPUs: the lowest in order (job 3, submitted last) gives back its 6 and job 9
    # takes 4 on node 1; jobs 1 and 2 keep running.
    running = [
        (RunningView(1, 1, 0, 0.0, math.inf, 4, 0, 1.0), Attained(500.0, 1.0, 0.0, 4, True)),
        (RunningView(2, 1, 0, 0.0, math.inf, 4, 0, 2.0), Attained(500.0, 1.0, 0.0, 4, True)),
        (RunningView(3, 1, 0, 0.0, math.inf, 6, 1, 3.0), Attained(500.0, 1.0, 0.0, 6, True)),
    ]
    queued = [(JobView(9, 1, 0, 5.0, 10.0, 4), Attained(0.0, 0.0, 5.0, 4, False))]
    view = two_shared_nodes(running, queued, 8, ((0, 0), (1, 2)))
    got = tiresias.decide(view, (queued[0][0],), thresholds=T)
    assert got == [Preempt(3)]


def test_under_gpu_sharing_a_sub_node_target_does_not_start_past_a_blocked_one() -> None:
    # Two 3-GPU nodes. Node 0 holds jobs 4 and 5 (1 GPU each, queue 1), node 1 job 7 (1 GPU,
    # queue 0). Job 6 (a whole node, queue 0) needs node 0: jobs 5 and 4 give theirs back and
    # are preempted; it waits for them. Job 3 (1 GPU, queue 1) is a target too (node 1 has
    # room in the plan), but started now the allocator would put it, best fit, on node 0's
    # free GPU and block job 6 again: it waits for the pass at the release.
    t1 = T[0]
    running = [
        (RunningView(7, 1, 0, 0.0, math.inf, 1, 1, 7.0), Attained(0.0, 0.0, 0.0, 1, True)),
        (RunningView(4, 1, 0, 0.0, math.inf, 1, 0, 4.0), Attained(t1, t1, 0.0, 1, True)),
        (RunningView(5, 1, 0, 0.0, math.inf, 1, 0, 5.0), Attained(t1, t1, 0.0, 1, True)),
    ]
    queued = [
        (JobView(3, 1, 0, 3.0, 10.0, 1), Attained(t1 + 1, t1 + 1, 10.0, 1, False)),
        (JobView(6, 1, 0, 6.0, 10.0, 0), Attained(0.0, 0.0, 6.0, 3, False)),
    ]
    view = two_shared_nodes(running, queued, 3, ((0, 1), (1, 2)))
    got = tiresias.decide(view, tuple(v for v, _ in queued), thresholds=T, promote_knob=1.0)
    assert got == [Preempt(4), Preempt(5)]


@given(
    service=st.floats(0.0, 1e6),
    gap=st.floats(1e-6, 1e7),
    since=st.floats(0.0, 3e7),
    gpus=st.integers(1, 131_072),
)
def test_a_job_preempted_at_its_crossing_is_in_the_same_queue_waiting(
    service: float, gap: float, since: float, gpus: int
) -> None:
    # The wake-up next_pass_s asks for is the first float instant at which the job holding
    # nodes counts as crossed; one float before, it does not; and its service banked at that
    # instant by the engine (engine/service.py, on preemption) puts it in the same queue.
    # (Session 10 found a livelock where the time-based count and the banked sum disagreed
    # by an ulp: test_dispatcher_livelock.py.)
    threshold = service + gap
    running = run(1, gpus, service, since)
    holding = running[1]
    view, queue = cluster(since, 0, [running], [])
    wake = next_pass(view, queue, thresholds=(threshold,))
    assert math.isfinite(wake) and wake > since
    assert tiresias._level(holding, wake, (threshold,)) == 1
    assert tiresias._level(holding, math.nextafter(wake, -math.inf), (threshold,)) == 0
    bank = Service()
    bank.records[1] = holding
    job = SimpleNamespace(id=1, phase=JobPhase.QUEUED, gpus=gpus)  # what phase_changed reads
    bank.phase_changed(job, wake)  # type: ignore[arg-type]
    assert not bank.records[1].holding
    assert tiresias._level(bank.records[1], wake, (threshold,)) == 1


@given(
    since=st.floats(0.0, 3e7),
    executed=st.floats(1e-3, 1e6),
    knob=st.floats(0.1, 100.0),
)
def test_a_starved_job_is_promoted_at_the_instant_next_pass_s_wakes_for_it(
    since: float, executed: float, knob: float
) -> None:
    # A waiting job in queue 1 that ran ``executed`` s is due for promotion ``knob`` times
    # that after it joined the queue. The pass at the instant next_pass_s asks for must
    # promote it (before session 11 the wake-up was since + knob x executed and the check
    # now - since >= knob x executed, which rounding failed at about half of such instants,
    # leaving the promotion to whatever event came next).
    def at(now: float) -> tuple[ClusterView, tuple[JobView, ...]]:
        return cluster(now, 0, [], [wait(2, 8, 5000.0, since, executed)])

    view, queue = at(since)
    kw: dict[str, Any] = {"thresholds": T, "promote_knob": knob}
    assert tiresias.decide(view, queue, **kw) == []
    wake = next_pass(view, queue, **kw)
    assert since < wake < math.inf
    assert Promote(2) in tiresias.decide(*at(wake), **kw)
    assert tiresias.decide(*at(math.nextafter(wake, -math.inf)), **kw) == []

"""Preemptive policies under GPU sharing reach a fixed point at one instant: no start-preempt cycle.

Each pass's decisions are applied at once to a small model of the allocator (written from
its rule, not from ``clustersim.cluster``): a started job is placed best fit (the shared
node with the fewest free GPUs that hold it, ties to the node shared first; else the lowest
FREE node becomes shared; a job of a node or more takes FREE nodes) while the jobs
preempted in the same pass still hold their GPUs, which they then give back with no drain.
Time does not move, so attained service does not change: passes must stop deciding within
a bounded number. A policy that starts a job that the next pass preempts, and back, fails
here instead of hanging a simulation (it once did).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from hypothesis import example, given, settings
from hypothesis import strategies as st

from clustersim.scheduler import priority_preempt, tiresias
from clustersim.views import (
    Attained,
    ClusterView,
    Decision,
    JobView,
    Preempt,
    Promote,
    RunningView,
    Start,
)

T = (100.0, 1000.0)
NOW = 50.0


class MiniCluster:
    """Nodes of ``gpn`` GPUs: FREE, shared (tenants' GPUs, rank when shared) or whole."""

    def __init__(self, n_nodes: int, gpn: int) -> None:
        self.gpn = gpn
        self.free_nodes = list(range(n_nodes))
        self.shared: dict[int, int] = {}  # node -> free GPUs, in the order they became shared
        self.where: dict[int, list[int]] = {}  # job -> its nodes (one for a sub-node job)

    def __repr__(self) -> str:
        return (
            f"MiniCluster(gpn={self.gpn}, free={self.free_nodes}, shared={self.shared},"
            f" where={self.where})"
        )

    def fits(self, gpus: int) -> bool:
        if gpus >= self.gpn:
            return math.ceil(gpus / self.gpn) <= len(self.free_nodes)
        return bool(self.free_nodes) or any(f >= gpus for f in self.shared.values())

    def place(self, job: int, gpus: int) -> None:
        assert self.fits(gpus), f"job {job} ({gpus} GPUs) started where it does not fit"
        if gpus >= self.gpn:
            k = math.ceil(gpus / self.gpn)
            self.where[job], self.free_nodes = self.free_nodes[:k], self.free_nodes[k:]
            return
        room = [(f, rank, n) for rank, (n, f) in enumerate(self.shared.items()) if f >= gpus]
        if room:
            node = min(room)[2]
        else:
            node = self.free_nodes.pop(0)
            self.shared[node] = self.gpn
        self.shared[node] -= gpus
        self.where[job] = [node]

    def release(self, job: int, gpus: int) -> None:
        nodes = self.where.pop(job)
        if gpus >= self.gpn:
            self.free_nodes = sorted(self.free_nodes + nodes)
            return
        node = nodes[0]
        self.shared[node] += gpus
        if self.shared[node] == self.gpn:
            del self.shared[node]
            self.free_nodes = sorted([*self.free_nodes, node])


@st.composite
def instants(draw: st.DrawFn) -> tuple[MiniCluster, dict[int, int], dict[int, Attained], set[int]]:
    """A cluster, jobs (id -> GPUs), their attained service, and the ones running."""
    gpn = draw(st.integers(2, 4))
    n_nodes = draw(st.integers(1, 4))
    cluster = MiniCluster(n_nodes, gpn)
    n_jobs = draw(st.integers(1, 9))
    gpus = {j: draw(st.integers(1, gpn * 2)) for j in range(n_jobs)}
    service: dict[int, Attained] = {}
    running: set[int] = set()
    ghosts: list[tuple[int, int]] = []  # jobs that ended: they leave holes in the packing
    for j in range(n_jobs):
        attained = draw(st.sampled_from((0.0, 50.0, 100.0, 500.0, 2000.0)))
        executed = draw(st.sampled_from((0.0, 10.0, 100.0)))
        ghost = -1 - len(ghosts), draw(st.integers(1, gpn))
        if draw(st.booleans()) and cluster.fits(ghost[1]):
            cluster.place(*ghost)
            ghosts.append(ghost)
        if draw(st.booleans()) and cluster.fits(gpus[j]):
            cluster.place(j, gpus[j])
            running.add(j)
            service[j] = Attained(attained, executed, NOW, gpus[j], True)
        else:
            since = draw(st.sampled_from((0.0, 40.0, NOW)))
            service[j] = Attained(attained, executed, since, gpus[j], False)
    for ghost in ghosts:
        cluster.release(*ghost)
    return cluster, gpus, service, running


def view_of(
    cluster: MiniCluster,
    gpus: dict[int, int],
    service: dict[int, Attained],
    running: set[int],
    priority: Sequence[int] = (),
) -> tuple[ClusterView, tuple[JobView, ...]]:
    gpn = cluster.gpn

    def prio(j: int) -> int:
        return priority[j] if j < len(priority) else 0

    def size(j: int) -> tuple[int, int]:  # (nodes, slot GPUs)
        return (1, gpus[j]) if gpus[j] < gpn else (math.ceil(gpus[j] / gpn), 0)

    runs = tuple(
        RunningView(
            j,
            size(j)[0],
            prio(j),
            -float(j),
            math.inf,
            size(j)[1],
            cluster.where[j][0] if size(j)[1] else -1,
            float(j),
        )
        for j in sorted(running)
    )
    queue = tuple(
        JobView(j, size(j)[0], prio(j), float(j), 10.0, size(j)[1])
        for j in sorted(gpus)
        if j not in running
    )
    n_nodes = (
        len(cluster.free_nodes)
        + len(cluster.shared)
        + sum(len(nodes) for j, nodes in cluster.where.items() if gpus[j] >= gpn)
    )
    view = ClusterView(
        NOW,
        len(cluster.free_nodes),
        n_nodes,
        0,
        runs,
        queue_ordered=True,
        gpus_per_node=gpn,
        shared=tuple(cluster.shared.items()),
        service=dict(service),
    )
    return view, queue


def packed(gpn: int, n_nodes: int, order: list[tuple[int, int]], ended: list[int]) -> MiniCluster:
    """A cluster after placing ``order`` ((job, GPUs), in turn) and releasing ``ended``."""
    cluster = MiniCluster(n_nodes, gpn)
    for job, gpus in order:
        cluster.place(job, gpus)
    for job in ended:
        cluster.release(job, dict(order)[job])
    return cluster


def held(service: float) -> Attained:
    return Attained(service, 0.0, NOW, 1, True)


def waits(service: float, gpus: int = 1) -> Attained:
    return Attained(service, 0.0, 0.0, gpus, False)


# Two 2-GPU nodes: job 1 (queue 1) on node 0, job 4 (queue 0) on node 1. Job 2 (queue 0, a
# whole node) preempts job 1 for node 0; job 0 (queue 1, 1 GPU) must not start on node 0.
@example(
    (
        packed(2, 2, [(1, 1), (4, 1)], []),
        {0: 1, 1: 1, 2: 2, 3: 1, 4: 1},
        {0: waits(100.0), 1: held(100.0), 2: waits(0.0, 2), 3: waits(100.0), 4: held(0.0)},
        {1, 4},
    ),
    None,
)
# The engine's case (tests/regression/test_tiresias_sharing_livelock.py), made small.
@example(
    (
        packed(3, 2, [(4, 1), (5, 1), (-1, 1), (7, 1)], [-1]),
        {3: 1, 4: 1, 5: 1, 6: 3, 7: 1},
        {7: held(0.0), 4: held(500.0), 5: held(500.0), 6: waits(0.0, 3), 3: waits(500.0)},
        {4, 5, 7},
    ),
    1.0,
)
@settings(max_examples=1000, deadline=None)
@given(instants(), st.sampled_from((None, 1.0)))
def test_passes_at_one_instant_reach_a_fixed_point(
    case: tuple[MiniCluster, dict[int, int], dict[int, Attained], set[int]], knob: float | None
) -> None:
    settle(case, lambda view, queue: tiresias.decide(view, queue, thresholds=T, promote_knob=knob))


@settings(max_examples=300, deadline=None)
@given(instants(), st.lists(st.integers(0, 2), min_size=9, max_size=9))
def test_priority_preempt_passes_at_one_instant_reach_a_fixed_point(
    case: tuple[MiniCluster, dict[int, int], dict[int, Attained], set[int]], priority: list[int]
) -> None:
    settle(case, priority_preempt.decide, priority)


def settle(
    case: tuple[MiniCluster, dict[int, int], dict[int, Attained], set[int]],
    decide: Callable[[ClusterView, tuple[JobView, ...]], list[Decision]],
    priority: Sequence[int] = (),
) -> None:
    """Apply ``decide``'s passes at one instant until one neither starts nor preempts."""
    cluster, gpus, service, running = case
    bound = 2 * len(gpus) + 2
    for _ in range(bound):
        view, queue = view_of(cluster, gpus, service, running, priority)
        decisions = decide(view, queue)
        acts = [d for d in decisions if not isinstance(d, Promote)]
        # The engine places a pass's starts while the jobs it preempts still hold their GPUs
        # (they give them back after, at the same instant): so does this model.
        for d in decisions:
            a = service[d.job]
            if isinstance(d, Promote):
                service[d.job] = Attained(0.0, 0.0, a.since_s, a.gpus, False)
            elif isinstance(d, Start):
                assert d.job not in running
                cluster.place(d.job, gpus[d.job])
                running.add(d.job)
                service[d.job] = Attained(a.service_gpu_s, a.executed_s, NOW, a.gpus, True)
        for d in decisions:
            a = service[d.job]
            if isinstance(d, Preempt):
                assert d.job in running
                cluster.release(d.job, gpus[d.job])
                running.discard(d.job)
                service[d.job] = Attained(a.service_gpu_s, a.executed_s, NOW, a.gpus, False)
        if not acts:
            return
    raise AssertionError(f"still starting and preempting after {bound} passes at one instant")

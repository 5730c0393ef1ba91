"""INV-1 (GPU conservation) for the allocator, as a Hypothesis state machine."""

from __future__ import annotations

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from strategies import topologies

from clustersim.cluster import Cluster, NodeState
from clustersim.topology import Topology


def min_racks_in_one_pod(cluster: Cluster, n: int) -> int | None:
    """Fewest racks any single pod needs for ``n`` FREE nodes (None if no pod can hold n)."""
    per_pod = cluster.free_per_rack.reshape(cluster.topology.pods, -1)
    best: int | None = None
    for racks in per_pod.tolist():
        total, used = 0, 0
        for free in sorted(racks, reverse=True):
            if total >= n:
                break
            total, used = total + free, used + 1
        if total >= n and (best is None or used < best):
            best = used
    return best


def min_pods(cluster: Cluster, n: int) -> int:
    """Fewest pods whose FREE nodes add up to ``n``."""
    total = 0
    for used, free in enumerate(sorted(cluster.free_per_pod.tolist(), reverse=True), start=1):
        total += free
        if total >= n:
            return used
    raise AssertionError("not enough free nodes")


class INV1AllocatorMachine(RuleBasedStateMachine):
    """Random allocate/release/fail/repair/replace sequences never lose or duplicate a node.

    Fleet changes too (docs/fleet.md): some nodes may start OUT of service, and ``install``
    and ``retire`` move nodes between OUT and service.
    """

    def __init__(self) -> None:
        super().__init__()
        self._cluster: Cluster | None = None
        self.requested: dict[int, int] = {}
        self.next_job = 0

    @property
    def cluster(self) -> Cluster:
        assert self._cluster is not None
        return self._cluster

    @initialize(topology=topologies(), data=st.data())
    def build(self, topology: Topology, data: st.DataObject) -> None:
        out = data.draw(
            st.lists(st.integers(0, topology.n_nodes - 1), unique=True, max_size=3),
            label="out_nodes",
        )
        spares = data.draw(st.integers(0, topology.n_nodes - len(out)), label="spare_nodes")
        self._cluster = Cluster(topology, spare_nodes=spares, out_nodes=out)
        assert self._cluster.n_out == len(out)

    # ------------------------------------------------------------------ rules
    @rule(data=st.data())
    def allocate(self, data: st.DataObject) -> None:
        cluster = self.cluster
        # Mostly sizes that fit, sometimes larger than what is free or than the cluster.
        fits = st.integers(1, max(1, cluster.n_free))
        size = data.draw(
            st.one_of(fits, st.integers(1, cluster.topology.n_nodes + 2)), label="size"
        )
        state_before = cluster.state.copy()
        free_before = cluster.n_free
        single_pod_racks = min_racks_in_one_pod(cluster, size) if size <= free_before else None
        fewest_pods = min_pods(cluster, size) if size <= free_before else None
        job = self.next_job
        self.next_job += 1
        placement = cluster.allocate(job, size)
        if size > free_before:
            assert placement is None
            assert not cluster.has_job(job)
            return
        assert placement is not None
        assert len(placement.nodes) == size
        assert all(state_before[node] == NodeState.FREE for node in placement.nodes)
        if single_pod_racks is not None:
            assert placement.pods == 1
            assert placement.racks == single_pod_racks
        else:
            assert placement.pods == fewest_pods
        self.requested[job] = size

    @precondition(lambda self: bool(self.requested))
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        cluster = self.cluster
        job = data.draw(st.sampled_from(sorted(self.requested)), label="job")
        held = cluster.nodes_of(job)
        spare_before = cluster.n_spare
        assert cluster.release(job) == held
        del self.requested[job]
        assert cluster.n_spare == min(cluster.spare_target, spare_before + len(held))
        assert all(cluster.owner[node] == -1 for node in held)

    @precondition(
        lambda self: self.cluster.n_down + self.cluster.n_out < self.cluster.topology.n_nodes
    )
    @rule(data=st.data())
    def fail_node(self, data: st.DataObject) -> None:
        cluster = self.cluster
        up = np.flatnonzero(cluster.state < NodeState.DOWN).tolist()
        node = data.draw(st.sampled_from(up), label="node")
        owner = int(cluster.owner[node])
        assert cluster.fail(node) == owner
        assert not cluster.is_up(node)
        if owner >= 0:
            assert node not in cluster.nodes_of(owner)

    @rule(data=st.data())
    def fail_rack(self, data: st.DataObject) -> None:
        cluster = self.cluster
        rack = data.draw(st.integers(0, cluster.topology.n_racks - 1), label="rack")
        nodes = cluster.topology.nodes_of_rack(rack)
        expected = [(n, int(cluster.owner[n])) for n in nodes if cluster.is_up(n)]
        assert cluster.fail_rack(rack) == expected
        assert not any(cluster.is_up(n) for n in nodes)

    @precondition(lambda self: self.cluster.n_down > 0)
    @rule(data=st.data())
    def repair(self, data: st.DataObject) -> None:
        cluster = self.cluster
        down = np.flatnonzero(cluster.state == NodeState.DOWN).tolist()
        node = data.draw(st.sampled_from(down), label="node")
        below_target = cluster.n_spare < cluster.spare_target
        new = cluster.repair(node)
        assert new is (NodeState.SPARE if below_target else NodeState.FREE)
        assert cluster.state[node] == new

    @precondition(
        lambda self: any(len(self.cluster.nodes_of(j)) < n for j, n in self.requested.items())
    )
    @rule(data=st.data())
    def take_replacements(self, data: st.DataObject) -> None:
        cluster = self.cluster
        short = sorted(j for j, n in self.requested.items() if len(cluster.nodes_of(j)) < n)
        job = data.draw(st.sampled_from(short), label="job")
        lost = self.requested[job] - len(cluster.nodes_of(job))
        state_before = cluster.state.copy()
        spare_before, free_before = cluster.n_spare, cluster.n_free
        got = cluster.take_replacements(job, lost)
        assert len(got) == min(lost, spare_before + free_before)
        from_spares = sum(1 for node in got if state_before[node] == NodeState.SPARE)
        assert from_spares == min(len(got), spare_before)  # spares first
        assert all(state_before[node] in (NodeState.FREE, NodeState.SPARE) for node in got)
        assert set(got) <= set(cluster.nodes_of(job))

    @precondition(lambda self: self.cluster.n_out > 0)
    @rule(data=st.data())
    def install(self, data: st.DataObject) -> None:
        cluster = self.cluster
        out = np.flatnonzero(cluster.state == NodeState.OUT)
        nodes = np.asarray(
            data.draw(st.lists(st.sampled_from(out.tolist()), min_size=1, unique=True), label="in")
        )
        below = max(0, cluster.spare_target - cluster.n_spare)
        spare = cluster.install(nodes)
        assert int(spare.sum()) == min(below, nodes.size)
        assert all(cluster.state[n] in (NodeState.FREE, NodeState.SPARE) for n in nodes.tolist())

    @precondition(lambda self: self.cluster.n_allocated < self.cluster.topology.n_nodes)
    @rule(data=st.data())
    def retire(self, data: st.DataObject) -> None:
        cluster = self.cluster
        can = np.flatnonzero(
            (cluster.state != NodeState.ALLOCATED) & (cluster.state != NodeState.OUT)
        )
        if can.size == 0:
            return
        nodes = np.asarray(
            data.draw(st.lists(st.sampled_from(can.tolist()), min_size=1, unique=True), label="x")
        )
        out_before = cluster.n_out
        cluster.retire(nodes)
        assert cluster.n_out == out_before + nodes.size
        assert not any(cluster.is_up(n) for n in nodes.tolist())

    # ------------------------------------------------------------------ invariants
    @invariant()
    def inv1_bookkeeping_consistent(self) -> None:
        self.cluster.check()

    @invariant()
    def inv1_gpus_conserved(self) -> None:
        cluster = self.cluster
        counts = np.bincount(cluster.state, minlength=len(NodeState)).tolist()
        assert counts == [
            cluster.n_free,
            cluster.n_spare,
            cluster.n_allocated,
            cluster.n_down,
            cluster.n_out,
        ]
        gpus = cluster.topology.gpus_per_node
        in_service = cluster.n_allocated + cluster.n_free + cluster.n_spare + cluster.n_down
        total = (in_service + cluster.n_out) * gpus
        assert total == cluster.topology.n_gpus

    @invariant()
    def inv1_no_node_held_by_two_jobs(self) -> None:
        cluster = self.cluster
        held = [node for job in cluster.job_ids for node in cluster.nodes_of(job)]
        assert len(held) == len(set(held)) == cluster.n_allocated
        assert sorted(cluster.job_ids) == sorted(self.requested)
        for job, size in self.requested.items():
            assert len(cluster.nodes_of(job)) <= size


INV1AllocatorMachine.TestCase.settings = settings(
    max_examples=max(50, settings().max_examples),  # more under ci/thorough
    stateful_step_count=30,
    deadline=None,
)
TestINV1AllocatorStateMachine = INV1AllocatorMachine.TestCase

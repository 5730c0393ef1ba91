from __future__ import annotations

import copy
import os
import pickle
import random

import numpy as np
import numpy.typing as npt
import pytest

from clustersim.cluster import Cluster, NodeState, Placement
from clustersim.topology import Topology

META_24K = Topology(
    gpus_per_node=8, nodes_per_rack=2, racks_per_pod=192, pods=8, oversubscription=7.0
)
# 2 pods x 4 racks x 4 nodes = 32 nodes; small enough to reason about by hand.
SMALL = Topology(gpus_per_node=8, nodes_per_rack=4, racks_per_pod=4, pods=2)


def test_empty_meta_cluster_places_2048_nodes_in_1024_racks_and_6_pods() -> None:
    cluster = Cluster(META_24K)
    placement = cluster.allocate(job_id=1, n_nodes=2048)
    assert placement is not None
    assert len(placement.nodes) == 2048
    # 384 nodes per pod -> ceil(2048 / 384) = 6 pods; full racks -> 2048 / 2 = 1024 racks.
    assert placement.pods == 6
    assert placement.racks == 1024
    assert cluster.n_allocated == 2048
    assert cluster.n_free == 3072 - 2048
    cluster.check()


def test_meta_job_fitting_one_pod_stays_in_one_pod() -> None:
    cluster = Cluster(META_24K, spare_nodes=16)
    placement = cluster.allocate(1, 384)
    assert placement is not None
    assert (placement.pods, placement.racks) == (1, 192)


def test_small_jobs_stay_in_one_rack() -> None:
    cluster = Cluster(META_24K)
    for job_id, size in enumerate([1, 2, 1, 2, 2, 1]):
        placement = cluster.allocate(job_id, size)
        assert placement is not None
        assert placement.racks == 1
        assert placement.pods == 1
    cluster.check()


def test_single_node_job_best_fits_into_a_half_free_rack() -> None:
    cluster = Cluster(META_24K)
    assert cluster.allocate(1, 1) == Placement(nodes=(0,), racks=1, pods=1)
    # A 2-node job does not split across the half-free rack and another one.
    assert cluster.allocate(2, 2) == Placement(nodes=(2, 3), racks=1, pods=1)
    # The next 1-node job fills the hole rather than breaking a full rack.
    assert cluster.allocate(3, 1) == Placement(nodes=(1,), racks=1, pods=1)


def test_best_fit_rack_limits_fragmentation() -> None:
    cluster = Cluster(SMALL)
    # Leave racks 0..3 of pod 0 with 4, 1, 3, 2 free nodes.
    assert cluster.allocate(1, 4) is not None  # rack 0
    assert cluster.allocate(2, 3) is not None  # best fit: rack 1, leaving 1 free
    assert cluster.allocate(3, 1) is not None  # best fit: rack 1's last node
    assert cluster.allocate(4, 2) is not None  # rack 2 (now 2 free)
    cluster.release(1)  # rack 0 is whole again; pod 0 racks free: 4, 0, 2, 4
    assert cluster.free_per_rack[:4].tolist() == [4, 0, 2, 4]
    placement = cluster.allocate(5, 2)
    assert placement is not None
    assert placement.nodes == (10, 11)  # the rack with exactly 2 free, not a whole rack
    cluster.check()


def test_prefers_fewest_racks_within_a_pod_over_best_fit_pod() -> None:
    cluster = Cluster(SMALL)
    # Fragment pod 0: one node busy in each of its racks (3 free per rack, 12 free).
    for rack in range(4):
        assert cluster.allocate(100 + rack, 4) is not None
    for rack in range(4):
        cluster.release(100 + rack)
    for rack in range(4):
        cluster.fail(rack * 4)
    # Pod 0 has 12 free in 3-node racks, pod 1 has 16 free in full racks: a 4-node job
    # needs 2 racks in pod 0 but 1 in pod 1, so pod 1 wins despite having more free.
    placement = cluster.allocate(1, 4)
    assert placement is not None
    assert (placement.racks, placement.pods) == (1, 1)
    assert placement.nodes == (16, 17, 18, 19)


def test_job_larger_than_a_pod_takes_fewest_pods_with_best_fit_last_pod() -> None:
    topo = Topology(gpus_per_node=8, nodes_per_rack=2, racks_per_pod=4, pods=3)
    cluster = Cluster(topo)
    assert cluster.allocate(1, 4) is not None  # pod 0 keeps 4 free
    placement = cluster.allocate(2, 12)
    assert placement is not None
    # Largest pod first (pod 1: 8), then the remaining 4 go to the best-fit pod: pod 0's
    # 4 free nodes rather than half of pod 2, which stays whole for a later 8-node job.
    assert (placement.pods, placement.racks) == (2, 6)
    assert placement.nodes == tuple(range(4, 16))
    assert cluster.free_per_pod.tolist() == [0, 0, 8]
    cluster.check()


def test_best_fit_pod_counts_spares_as_unavailable() -> None:
    cluster = Cluster(SMALL, spare_nodes=2)  # spares 30, 31: pod 1 has 14 free, pod 0 has 16
    placement = cluster.allocate(1, 4)
    assert placement == Placement(nodes=(16, 17, 18, 19), racks=1, pods=1)
    assert cluster.free_per_pod.tolist() == [16, 10]  # pod 0 stays whole for a 16-node job


def test_allocation_fails_when_not_enough_free_nodes_and_changes_nothing() -> None:
    cluster = Cluster(SMALL, spare_nodes=4)
    assert cluster.allocate(1, 29) is None
    assert cluster.n_free == 28
    assert not cluster.has_job(1)
    cluster.check()


def test_spares_are_never_allocated_to_new_jobs() -> None:
    cluster = Cluster(SMALL, spare_nodes=4)
    assert cluster.n_spare == 4
    assert cluster.state[28:].tolist() == [NodeState.SPARE] * 4  # spares at the end
    placement = cluster.allocate(1, 28)
    assert placement is not None
    assert max(placement.nodes) == 27
    assert cluster.allocate(2, 1) is None
    assert cluster.n_spare == 4
    cluster.check()


def test_replacement_prefers_a_spare_in_the_jobs_pod() -> None:
    cluster = Cluster(SMALL, spare_nodes=6)  # spares: 26..31 (26, 27 in rack 6; 28.. in rack 7)
    placement = cluster.allocate(1, 6)
    assert placement is not None
    # Pod 1 is the best fit; rack 4 whole, then the best-fit rack 6 for the last 2 nodes.
    assert placement.nodes == (16, 17, 18, 19, 24, 25)
    assert cluster.fail(17) == 1
    assert cluster.take_replacements(1, 1) == (26,)  # a spare in the job's pod and rack
    assert cluster.n_spare == 5
    assert 26 in cluster.nodes_of(1)
    cluster.check()


def test_replacement_prefers_spares_over_free_nodes_even_in_another_pod() -> None:
    cluster = Cluster(SMALL, spare_nodes=2)  # spares 30, 31 in pod 1
    assert cluster.allocate(1, 14) is not None  # fills pod 1's free nodes
    assert cluster.allocate(2, 4) == Placement(nodes=(0, 1, 2, 3), racks=1, pods=1)
    cluster.fail(0)
    cluster.fail(1)
    # Rack 0 has no free node left, pod 0 has 12, yet spares (in pod 1) go first.
    assert cluster.take_replacements(2, 2) == (30, 31)
    assert cluster.n_spare == 0


def test_replacement_falls_back_to_free_nodes_in_the_jobs_rack_then_pod() -> None:
    cluster = Cluster(SMALL)
    assert cluster.allocate(1, 3) == Placement(nodes=(0, 1, 2), racks=1, pods=1)
    assert cluster.allocate(2, 4) is not None  # rack 1
    cluster.fail(1)
    assert cluster.take_replacements(1, 1) == (3,)  # same rack
    cluster.fail(2)
    replacement = cluster.take_replacements(1, 1)
    assert len(replacement) == 1
    assert SMALL.pod_of(replacement[0]) == 0  # same pod, not pod 1
    assert SMALL.rack_of(replacement[0]) in (2, 3)
    cluster.check()


def test_replacement_returns_what_it_can_get() -> None:
    topo = Topology(gpus_per_node=8, nodes_per_rack=2, racks_per_pod=1, pods=2)
    cluster = Cluster(topo, spare_nodes=1)
    assert cluster.allocate(1, 3) is not None
    cluster.fail(0)
    cluster.fail(1)
    assert cluster.take_replacements(1, 2) == (3,)  # only the one spare is left
    assert cluster.take_replacements(1, 1) == ()
    assert len(cluster.nodes_of(1)) == 2
    cluster.check()


def test_release_refills_the_spare_pool_first() -> None:
    cluster = Cluster(SMALL, spare_nodes=2)
    assert cluster.allocate(1, 4) == Placement(nodes=(16, 17, 18, 19), racks=1, pods=1)
    cluster.fail(16)
    assert cluster.take_replacements(1, 1) == (30,)
    assert cluster.n_spare == 1
    released = cluster.release(1)
    assert released == (17, 18, 19, 30)
    assert cluster.n_spare == 2
    assert cluster.state[30] == NodeState.SPARE  # highest released id becomes the spare
    assert cluster.n_free == 32 - 2 - 1
    assert not cluster.has_job(1)
    cluster.check()


def test_fail_and_repair_keep_counters_consistent() -> None:
    cluster = Cluster(SMALL, spare_nodes=1)
    assert cluster.allocate(7, 2) == Placement(nodes=(28, 29), racks=1, pods=1)  # best-fit rack
    assert cluster.fail(28) == 7
    assert cluster.fail(10) == -1
    assert cluster.fail(31) == -1  # the spare
    assert (cluster.n_free, cluster.n_spare, cluster.n_allocated, cluster.n_down) == (28, 0, 1, 3)
    assert cluster.nodes_of(7) == (29,)
    assert not cluster.is_up(28)
    with pytest.raises(ValueError, match="already down"):
        cluster.fail(28)
    assert cluster.repair(28) is NodeState.SPARE  # refills the pool first
    assert cluster.repair(31) is NodeState.FREE
    with pytest.raises(ValueError, match="not down"):
        cluster.repair(31)
    assert (cluster.n_free, cluster.n_spare, cluster.n_allocated, cluster.n_down) == (29, 1, 1, 1)
    cluster.check()


def test_fail_rack_reports_previous_owners_and_skips_down_nodes() -> None:
    cluster = Cluster(SMALL)
    assert cluster.allocate(1, 2) == Placement(nodes=(0, 1), racks=1, pods=1)
    cluster.fail(3)
    assert cluster.fail_rack(0) == [(0, 1), (1, 1), (2, -1)]
    assert cluster.n_down == 4
    assert cluster.placement_of(1) == Placement(nodes=(), racks=0, pods=0)
    cluster.check()


def test_argument_errors() -> None:
    with pytest.raises(ValueError, match="spare_nodes"):
        Cluster(SMALL, spare_nodes=33)
    cluster = Cluster(SMALL)
    with pytest.raises(ValueError, match="n_nodes"):
        cluster.allocate(1, 0)
    assert cluster.allocate(1, 1) is not None
    with pytest.raises(ValueError, match="already holds"):
        cluster.allocate(1, 1)
    with pytest.raises(KeyError):
        cluster.release(2)
    with pytest.raises(ValueError, match="out of range"):
        cluster.fail(-1)


def test_check_detects_corruption() -> None:
    cluster = Cluster(SMALL)
    assert cluster.allocate(1, 2) is not None
    cluster.check()
    cluster.state[5] = NodeState.DOWN
    with pytest.raises(AssertionError, match="INV-1"):
        cluster.check()


@pytest.mark.parametrize("copier", ["none", "deepcopy", "pickle"])
def test_scalar_and_array_paths_see_one_state_also_in_copies(copier: str) -> None:
    """The scalar paths write Python buffers, the vector paths numpy views of them: one memory.

    A copy (``copy.deepcopy``, as the replacement differential takes; ``pickle``) must rebuild
    its views on its own buffers, else its scalar writes would never reach its arrays.
    """
    original = Cluster(SMALL, spare_nodes=2)
    assert original.allocate(1, 3) is not None
    copies = {
        "none": lambda c: c,
        "deepcopy": copy.deepcopy,
        "pickle": lambda c: pickle.loads(pickle.dumps(c)),
    }
    cluster = copies[copier](original)
    node = cluster.nodes_of(1)[0]
    assert cluster.fail(node) == 1  # scalar path: state, owner and counters by buffer
    assert cluster.state[node] == NodeState.DOWN and cluster.owner[node] == -1
    assert cluster.take_replacements(1, 1) != ()  # a spare, by the scalar path
    big = np.arange(8, 16, dtype=np.int64)  # pod 0's second half, by the array path
    cluster.fail_many(big)
    cluster.check()  # every counter against the arrays
    if copier != "none":
        assert original.state[node] == NodeState.ALLOCATED  # the copy is independent
        original.check()


def test_placement_is_deterministic() -> None:
    def run() -> list[Placement | None]:
        cluster = Cluster(META_24K, spare_nodes=32)
        out = [cluster.allocate(job, size) for job, size in enumerate([5, 300, 2048, 7, 1, 600])]
        cluster.release(1)
        out.append(cluster.allocate(99, 250))
        return out

    assert run() == run()


# ---------------------------------------------------------------------------------------------
# Differential test: the allocator before the fast paths, copied verbatim, must agree with the
# optimised one on every decision and every counter.
_FREE = int(NodeState.FREE)
_SPARE = int(NodeState.SPARE)
_ALLOCATED = int(NodeState.ALLOCATED)
_DOWN = int(NodeState.DOWN)
IntArray = npt.NDArray[np.int64]
_EMPTY: IntArray = np.zeros(0, dtype=np.int64)


class ReferenceCluster(Cluster):
    """The original (pre-optimisation) allocator: every mutating method and its helpers."""

    def placement_of(self, job_id: int) -> Placement:
        """Return the nodes ``job_id`` holds now and the racks and pods they span."""
        nodes = self.nodes_of(job_id)
        index = np.asarray(nodes, dtype=np.int64)
        racks = np.unique(self._node_rack[index]).size
        pods = np.unique(self._node_pod[index]).size
        return Placement(nodes=nodes, racks=racks, pods=pods)

    # ----------------------------------------------------------------- allocation
    def allocate(self, job_id: int, n_nodes: int) -> Placement | None:
        """Gang-allocate exactly ``n_nodes`` FREE nodes to a new job, or return None.

        Spares are never used for new jobs. Returns None (and changes nothing) when fewer than
        ``n_nodes`` nodes are FREE. See the module docstring for the placement rule.

        Raises:
            ValueError: ``n_nodes`` < 1 or ``job_id`` already holds an allocation.
        """
        if n_nodes < 1:
            raise ValueError(f"n_nodes must be >= 1, got {n_nodes}")
        if job_id in self._jobs:
            raise ValueError(f"job {job_id} already holds an allocation")
        if n_nodes > self.n_free:
            return None
        all_pods = np.arange(self.topology.pods, dtype=np.int64)
        racks, takes = self._choose_racks(all_pods, n_nodes)
        self._jobs[job_id] = set()
        self._assign(job_id, self._take_free(racks, takes))
        return self.placement_of(job_id)

    def release(self, job_id: int) -> tuple[int, ...]:
        """Return a job's nodes to service and forget the job; returns the released nodes.

        Released nodes refill the spare pool up to :attr:`spare_target` (the highest ids become
        spares, as at start-up); the rest become FREE. KeyError for an unknown job.
        """
        released = tuple(sorted(self._jobs.pop(job_id)))
        nodes = np.asarray(released, dtype=np.int64)
        self.owner[nodes] = -1
        n_to_spare = min(max(0, self._spare_target - self.n_spare), nodes.size)
        cut = nodes.size - n_to_spare
        self._set_state(nodes[:cut], _FREE)
        self._set_state(nodes[cut:], _SPARE)
        return released

    def take_replacements(self, job_id: int, n: int) -> tuple[int, ...]:
        """Give ``job_id`` up to ``n`` replacement nodes; returns the nodes added (sorted).

        Spares go first, preferring a pod and then a rack the job already uses. Then FREE nodes:
        in the job's racks, then elsewhere in its pods (best-fit rack), then in other pods by the
        allocation rule. Returns fewer than ``n`` (possibly none) when the cluster has no more.

        Raises:
            KeyError: ``job_id`` holds no allocation.
            ValueError: ``n`` < 0.
        """
        held = np.asarray(sorted(self._jobs[job_id]), dtype=np.int64)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        job_racks = np.unique(self._node_rack[held]).astype(np.int64)
        job_pods = np.unique(self._node_pod[held]).astype(np.int64)
        spares = self._pick_spares(job_racks, job_pods, n)
        need = n - spares.size
        picked: list[tuple[IntArray, IntArray]] = []
        if need > 0 and self.n_free > 0:
            topo = self.topology
            pod_racks = job_pods[:, None] * topo.racks_per_pod + np.arange(topo.racks_per_pod)
            stages = (job_racks, np.setdiff1d(pod_racks.ravel(), job_racks))
            for candidates in stages:
                racks, takes = self._pick_racks(candidates, need)
                picked.append((racks, takes))
                need -= int(takes.sum())
            other_pods = np.setdiff1d(np.arange(topo.pods, dtype=np.int64), job_pods)
            if need > 0 and other_pods.size:
                picked.append(self._choose_racks(other_pods, need))
        free_nodes = [self._take_free(racks, takes) for racks, takes in picked]
        new = np.sort(np.concatenate([spares, *free_nodes]))
        self._assign(job_id, new)
        return tuple(int(node) for node in new)

    # ----------------------------------------------------------------- failures and repair
    def fail(self, node: int) -> int:
        """Take ``node`` DOWN; returns the job it was taken from, or -1.

        The node leaves its job's node set (the job keeps its allocation record).

        Raises:
            ValueError: the node is already DOWN.
        """
        if not self.is_up(node):
            raise ValueError(f"node {node} is already down")
        previous_owner = int(self.owner[node])
        if previous_owner >= 0:
            self._jobs[previous_owner].discard(node)
            self.owner[node] = -1
        self._set_state(np.array([node], dtype=np.int64), _DOWN)
        return previous_owner

    def repair(self, node: int) -> NodeState:
        """Return a DOWN node to service: SPARE while the pool is below target, else FREE.

        Raises:
            ValueError: the node is not DOWN.
        """
        if self.is_up(node):
            raise ValueError(f"node {node} is not down")
        new = _SPARE if self.n_spare < self._spare_target else _FREE
        self._set_state(np.array([node], dtype=np.int64), new)
        return NodeState(new)

    def _choose_racks(self, pods: IntArray, n: int) -> tuple[IntArray, IntArray]:
        """Choose racks (and how many FREE nodes from each) in ``pods`` to hold up to ``n``."""
        pod_free = self.free_per_pod[pods]
        fits = pods[pod_free >= n]
        if fits.size:
            return self._pick_racks(self._racks_of_pod(self._best_pod(fits, n)), n)
        order = np.lexsort((pods, -pod_free))
        ranked, cum = pods[order], np.cumsum(pod_free[order])
        k = int(np.searchsorted(cum, n))  # pods fully used; the next one (if any) tops up
        racks = [self._racks_of_pod(int(pod)) for pod in ranked[:k]]
        takes = [self.free_per_rack[r] for r in racks]
        if k < ranked.size:
            remainder = n - int(cum[k - 1])
            last = self._best_pod(ranked[k:][pod_free[order][k:] >= remainder], remainder)
            last_racks, last_takes = self._pick_racks(self._racks_of_pod(last), remainder)
            racks.append(last_racks)
            takes.append(last_takes)
        return np.concatenate(racks), np.concatenate(takes)

    def _best_pod(self, pods: IntArray, n: int) -> int:
        """Among ``pods`` (each with >= n FREE), the one needing fewest racks, then least free."""
        per_rack = self.free_per_rack.reshape(self.topology.pods, -1)[pods]
        cum = np.cumsum(-np.sort(-per_rack, axis=1), axis=1)
        racks_needed = (cum < n).sum(axis=1)
        return int(pods[np.lexsort((pods, self.free_per_pod[pods], racks_needed))[0]])

    def _racks_of_pod(self, pod: int) -> IntArray:
        per_pod = self.topology.racks_per_pod
        return np.arange(pod * per_pod, (pod + 1) * per_pod, dtype=np.int64)

    def _pick_racks(self, candidates: IntArray, n: int) -> tuple[IntArray, IntArray]:
        """Take up to ``n`` FREE nodes from the fewest ``candidates``; the last rack is best fit."""
        free = self.free_per_rack[candidates]
        racks, free = candidates[free > 0], free[free > 0]
        if n <= 0 or racks.size == 0:
            return _EMPTY, _EMPTY
        order = np.lexsort((racks, -free))
        racks, free = racks[order], free[order]
        cum = np.cumsum(free)
        if cum[-1] <= n:
            return racks, free
        k = int(np.searchsorted(cum, n))  # racks taken whole before the last one
        remainder = n - (int(cum[k - 1]) if k else 0)
        tail_racks, tail_free = racks[k:], free[k:]
        fits = tail_free >= remainder
        best = np.lexsort((tail_racks[fits], tail_free[fits]))[0]
        last = tail_racks[fits][best]
        return np.append(racks[:k], last), np.append(free[:k], remainder)

    def _take_free(self, racks: IntArray, takes: IntArray) -> IntArray:
        """Return the lowest-id FREE nodes of each rack, ``takes[i]`` from ``racks[i]``."""
        per_rack = self.topology.nodes_per_rack
        index = racks[:, None] * per_rack + np.arange(per_rack, dtype=np.int64)
        free = self.state[index] == _FREE
        chosen = free & (np.cumsum(free, axis=1) <= takes[:, None])
        return np.sort(index[chosen])

    def _pick_spares(self, job_racks: IntArray, job_pods: IntArray, n: int) -> IntArray:
        """Up to ``n`` SPARE nodes, those in the job's pods (then racks) first, then by id."""
        if n <= 0 or self.n_spare == 0:
            return _EMPTY
        per_pod = self.topology.nodes_per_pod
        pods = np.flatnonzero(self.spare_per_pod > 0)
        grid = pods[:, None] * per_pod + np.arange(per_pod, dtype=np.int64)
        candidates: IntArray = grid.ravel().astype(np.int64)
        candidates = candidates[self.state[candidates] == _SPARE]
        other_rack = ~np.isin(self._node_rack[candidates], job_racks)
        other_pod = ~np.isin(self._node_pod[candidates], job_pods)
        return candidates[np.lexsort((candidates, other_rack, other_pod))[:n]]

    def _assign(self, job_id: int, nodes: IntArray) -> None:
        """Hand FREE or SPARE ``nodes`` to ``job_id``."""
        self._set_state(nodes, _ALLOCATED)
        self.owner[nodes] = job_id
        self._jobs[job_id].update(int(node) for node in nodes)

    def _set_state(self, nodes: IntArray, new: int) -> None:
        """Move ``nodes`` to state ``new``, keeping every counter consistent (owners aside)."""
        if nodes.size == 0:
            return
        old = self.state[nodes]
        for state, k in enumerate(np.bincount(old.astype(np.int64), minlength=len(NodeState))):
            self._counts[state] -= int(k)
        self._counts[new] += nodes.size
        was_free, was_spare = nodes[old == _FREE], nodes[old == _SPARE]
        np.subtract.at(self.free_per_rack, self._node_rack[was_free], 1)
        np.subtract.at(self.free_per_pod, self._node_pod[was_free], 1)
        np.subtract.at(self.spare_per_pod, self._node_pod[was_spare], 1)
        if new == _FREE:
            np.add.at(self.free_per_rack, self._node_rack[nodes], 1)
            np.add.at(self.free_per_pod, self._node_pod[nodes], 1)
        elif new == _SPARE:
            np.add.at(self.spare_per_pod, self._node_pod[nodes], 1)
        self.state[nodes] = new


def _assert_same_state(new: Cluster, ref: Cluster) -> None:
    assert np.array_equal(new.state, ref.state)
    assert np.array_equal(new.owner, ref.owner)
    assert np.array_equal(new.free_per_rack, ref.free_per_rack)
    assert np.array_equal(new.free_per_pod, ref.free_per_pod)
    assert np.array_equal(new.spare_per_pod, ref.spare_per_pod)
    assert (new.n_free, new.n_spare, new.n_allocated, new.n_down) == (
        ref.n_free,
        ref.n_spare,
        ref.n_allocated,
        ref.n_down,
    )
    assert new.job_ids == ref.job_ids
    for job in new.job_ids:
        assert new.placement_of(job) == ref.placement_of(job)


def _differential_run(topology: Topology, seed: int, steps: int) -> None:
    """Drive the optimised and the reference allocator through one random operation sequence."""
    rng = random.Random(seed)
    n_nodes = topology.n_nodes
    spares = rng.choice([0, 0, rng.randint(0, max(1, n_nodes // 8)), rng.randint(0, n_nodes)])
    new, ref = Cluster(topology, spare_nodes=spares), ReferenceCluster(topology, spare_nodes=spares)
    next_job = 0
    for step in range(steps):
        op = rng.random()
        if op < 0.45:
            size = rng.randint(1, 40) if rng.random() < 0.9 else rng.randint(1, n_nodes)
            assert new.allocate(next_job, size) == ref.allocate(next_job, size)
            next_job += 1
        elif op < 0.70:
            if new.job_ids:
                job = rng.choice(new.job_ids)
                assert new.release(job) == ref.release(job)
        elif op < 0.80:
            node = rng.randrange(n_nodes)
            if new.is_up(node):
                assert new.fail(node) == ref.fail(node)
        elif op < 0.83:
            rack = rng.randrange(topology.n_racks)
            assert new.fail_rack(rack) == ref.fail_rack(rack)
        elif op < 0.93:
            down = np.flatnonzero(new.state == _DOWN)
            if down.size:
                node = int(down[rng.randrange(down.size)])
                assert new.repair(node) == ref.repair(node)
        elif new.job_ids:
            job = rng.choice(new.job_ids)
            want = rng.randint(0, 6)
            assert new.take_replacements(job, want) == ref.take_replacements(job, want)
        if step % 10 == 0 or step == steps - 1:
            _assert_same_state(new, ref)
            new.check()


DIFFERENTIAL_TOPOLOGIES = [
    SMALL,
    Topology(gpus_per_node=8, nodes_per_rack=1, racks_per_pod=5, pods=3),
    Topology(gpus_per_node=8, nodes_per_rack=8, racks_per_pod=3, pods=5),
    Topology(gpus_per_node=8, nodes_per_rack=16, racks_per_pod=6, pods=2),
    Topology(gpus_per_node=8, nodes_per_rack=3, racks_per_pod=7, pods=1),
    Topology(gpus_per_node=8, nodes_per_rack=2, racks_per_pod=16, pods=6),
    # Many pods x rack sizes: the vectorised (not the scalar) best-pod search.
    Topology(gpus_per_node=8, nodes_per_rack=12, racks_per_pod=2, pods=40),
    # Many pods of 2- and 3-node racks: its shortcut when k full racks (or k - 1 and one
    # short of a node) decide, which the racks of year-131k and fleet-350k-year (2) take.
    Topology(gpus_per_node=8, nodes_per_rack=2, racks_per_pod=3, pods=70),
    Topology(gpus_per_node=8, nodes_per_rack=3, racks_per_pod=2, pods=60),
]
# Set CLUSTER_DIFF_SCALE=10 (say) for a longer local soak.
_SCALE = int(os.environ.get("CLUSTER_DIFF_SCALE", "1"))


@pytest.mark.parametrize("topology", DIFFERENTIAL_TOPOLOGIES)
def test_optimised_allocator_matches_reference_on_small_topologies(topology: Topology) -> None:
    for seed in range(300 * _SCALE):
        _differential_run(topology, seed, steps=60)


@pytest.mark.parametrize("seed", range(4))
def test_optimised_allocator_matches_reference_on_meta_24k(seed: int) -> None:
    # Long sequences so that the 3,072-node machine fills up and fragments.
    _differential_run(META_24K, seed, steps=1500 * _SCALE)

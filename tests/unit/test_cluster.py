from __future__ import annotations

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


def test_placement_is_deterministic() -> None:
    def run() -> list[Placement | None]:
        cluster = Cluster(META_24K, spare_nodes=32)
        out = [cluster.allocate(job, size) for job, size in enumerate([5, 300, 2048, 7, 1, 600])]
        cluster.release(1)
        out.append(cluster.allocate(99, 250))
        return out

    assert run() == run()

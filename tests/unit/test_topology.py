from __future__ import annotations

import math

import numpy as np
import pytest

from clustersim.topology import Topology

META_24K = Topology(
    gpus_per_node=8, nodes_per_rack=2, racks_per_pod=192, pods=8, oversubscription=7.0
)


def test_meta_24k_sizes() -> None:
    assert META_24K.n_nodes == 3072
    assert META_24K.n_racks == 1536
    assert META_24K.n_gpus == 24_576
    assert META_24K.nodes_per_pod == 384
    assert META_24K.nodes_per_pod * META_24K.gpus_per_node == 3072  # GPUs per pod


def test_node_to_rack_and_pod() -> None:
    assert META_24K.rack_of(0) == 0
    assert META_24K.rack_of(3) == 1
    assert META_24K.pod_of(383) == 0
    assert META_24K.pod_of(384) == 1
    assert META_24K.pod_of(3071) == 7
    assert META_24K.pod_of_rack(191) == 0
    assert META_24K.pod_of_rack(192) == 1
    assert META_24K.nodes_of_rack(5) == range(10, 12)
    assert META_24K.racks_of_pod(1) == range(192, 384)
    assert META_24K.nodes_of_pod(2) == range(768, 1152)


def test_lookup_arrays_match_scalar_methods() -> None:
    topo = Topology(gpus_per_node=4, nodes_per_rack=3, racks_per_pod=2, pods=3)
    node_rack, node_pod, rack_pod = topo.node_rack(), topo.node_pod(), topo.rack_pod()
    assert node_rack.dtype == np.int32
    assert node_pod.dtype == np.int32
    assert node_rack.tolist() == [topo.rack_of(n) for n in range(topo.n_nodes)]
    assert node_pod.tolist() == [topo.pod_of(n) for n in range(topo.n_nodes)]
    assert rack_pod.tolist() == [topo.pod_of_rack(r) for r in range(topo.n_racks)]


def test_lookup_arrays_are_cached_and_read_only() -> None:
    assert META_24K.node_rack() is META_24K.node_rack()
    with pytest.raises(ValueError, match="read-only"):
        META_24K.node_pod()[0] = 1


@pytest.mark.parametrize("field", ["gpus_per_node", "nodes_per_rack", "racks_per_pod", "pods"])
@pytest.mark.parametrize("value", [0, -1])
def test_sizes_must_be_positive(field: str, value: int) -> None:
    sizes = {"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": 4, "pods": 2}
    sizes[field] = value
    with pytest.raises(ValueError, match=field):
        Topology(**sizes)


@pytest.mark.parametrize("ratio", [0.5, 0.0, math.nan])
def test_oversubscription_must_be_at_least_one(ratio: float) -> None:
    with pytest.raises(ValueError, match="oversubscription"):
        Topology(gpus_per_node=8, nodes_per_rack=2, racks_per_pod=4, pods=2, oversubscription=ratio)


@pytest.mark.parametrize("node", [-1, 3072])
def test_out_of_range_ids_are_rejected(node: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        META_24K.rack_of(node)
    with pytest.raises(ValueError, match="out of range"):
        META_24K.racks_of_pod(8)


def test_topology_is_frozen_and_hashable() -> None:
    with pytest.raises(AttributeError):
        META_24K.pods = 3  # type: ignore[misc]
    assert hash(META_24K) == hash(
        Topology(gpus_per_node=8, nodes_per_rack=2, racks_per_pod=192, pods=8, oversubscription=7.0)
    )

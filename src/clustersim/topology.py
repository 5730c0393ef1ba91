"""Cluster topology: nodes under top-of-rack switches, racks under pods, pods under a spine.

This module owns the shape of the machine and the arithmetic that maps a node id to its rack
and pod. It holds no state: which node is free or down lives in :mod:`clustersim.cluster`.

Numbering is dense and hierarchical: node ids are ``0 .. n_nodes - 1``, ``rack = node //
nodes_per_rack`` and ``pod = rack // racks_per_pod``, so the nodes of a rack and the racks of a
pod are contiguous ranges.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

__all__ = ["Topology"]


@dataclass(frozen=True, slots=True)
class Topology:
    """The shape of a GPU cluster: GPUs per node, nodes per rack, racks per pod, and pods.

    Owns the node → rack → pod mapping. Instances are immutable and hashable, so the per-node
    lookup arrays are computed once per distinct topology and shared.

    Attributes:
        gpus_per_node: Accelerators in one node (8 for an H100 HGX box).
        nodes_per_rack: Nodes under one top-of-rack (ToR) switch.
        racks_per_pod: Racks joined by one pod-level (cluster) switch layer.
        pods: Pods joined by the aggregation layer (spine).
        oversubscription: Aggregation-layer oversubscription ratio (7.0 means 1:7); >= 1.
    """

    gpus_per_node: int
    nodes_per_rack: int
    racks_per_pod: int
    pods: int
    oversubscription: float = 1.0

    def __post_init__(self) -> None:
        for name in ("gpus_per_node", "nodes_per_rack", "racks_per_pod", "pods"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        # `not >=` also rejects NaN.
        if not self.oversubscription >= 1.0:
            raise ValueError(f"oversubscription must be >= 1, got {self.oversubscription!r}")

    @property
    def nodes_per_pod(self) -> int:
        """Nodes in one pod."""
        return self.nodes_per_rack * self.racks_per_pod

    @property
    def n_racks(self) -> int:
        """Total number of racks."""
        return self.racks_per_pod * self.pods

    @property
    def n_nodes(self) -> int:
        """Total number of nodes."""
        return self.nodes_per_rack * self.n_racks

    @property
    def n_gpus(self) -> int:
        """Total number of GPUs."""
        return self.gpus_per_node * self.n_nodes

    def rack_of(self, node: int) -> int:
        """Return the rack that holds ``node``."""
        self._check_index(node, self.n_nodes, "node")
        return node // self.nodes_per_rack

    def pod_of(self, node: int) -> int:
        """Return the pod that holds ``node``."""
        self._check_index(node, self.n_nodes, "node")
        return node // self.nodes_per_pod

    def pod_of_rack(self, rack: int) -> int:
        """Return the pod that holds ``rack``."""
        self._check_index(rack, self.n_racks, "rack")
        return rack // self.racks_per_pod

    def nodes_of_rack(self, rack: int) -> range:
        """Return the contiguous range of node ids in ``rack``."""
        self._check_index(rack, self.n_racks, "rack")
        start = rack * self.nodes_per_rack
        return range(start, start + self.nodes_per_rack)

    def racks_of_pod(self, pod: int) -> range:
        """Return the contiguous range of rack ids in ``pod``."""
        self._check_index(pod, self.pods, "pod")
        start = pod * self.racks_per_pod
        return range(start, start + self.racks_per_pod)

    def nodes_of_pod(self, pod: int) -> range:
        """Return the contiguous range of node ids in ``pod``."""
        self._check_index(pod, self.pods, "pod")
        start = pod * self.nodes_per_pod
        return range(start, start + self.nodes_per_pod)

    def node_rack(self) -> npt.NDArray[np.int32]:
        """Return the rack of every node (read-only int32 array of length ``n_nodes``)."""
        return _lookup_arrays(self)[0]

    def node_pod(self) -> npt.NDArray[np.int32]:
        """Return the pod of every node (read-only int32 array of length ``n_nodes``)."""
        return _lookup_arrays(self)[1]

    def rack_pod(self) -> npt.NDArray[np.int32]:
        """Return the pod of every rack (read-only int32 array of length ``n_racks``)."""
        return _lookup_arrays(self)[2]

    @staticmethod
    def _check_index(index: int, size: int, what: str) -> None:
        if not 0 <= index < size:
            raise ValueError(f"{what} {index} out of range [0, {size})")


@lru_cache(maxsize=16)
def _lookup_arrays(
    topology: Topology,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """Build the node → rack, node → pod and rack → pod arrays once per topology.

    A module-level cache because slotted frozen dataclasses cannot use ``cached_property``.
    The arrays are marked read-only since every caller shares them.
    """
    nodes = np.arange(topology.n_nodes, dtype=np.int32)
    node_rack = nodes // np.int32(topology.nodes_per_rack)
    node_pod = nodes // np.int32(topology.nodes_per_pod)
    rack_pod = np.arange(topology.n_racks, dtype=np.int32) // np.int32(topology.racks_per_pod)
    for array in (node_rack, node_pod, rack_pod):
        array.flags.writeable = False
    return node_rack, node_pod, rack_pod

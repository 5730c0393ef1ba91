"""The one home of the test suite's Hypothesis strategies.

Property tests import their strategies from here so that shapes (topologies, seeds, ...) are
defined once. Seeds are drawn as plain integers so that a failing example replays.
"""

from __future__ import annotations

from hypothesis import strategies as st

from clustersim.topology import Topology

__all__ = ["topologies"]


@st.composite
def topologies(draw: st.DrawFn) -> Topology:
    """Small topologies: 1-4 pods of 1-4 racks of 1-4 nodes with 1, 2, 4 or 8 GPUs each."""
    return Topology(
        gpus_per_node=draw(st.sampled_from((1, 2, 4, 8))),
        nodes_per_rack=draw(st.integers(1, 4)),
        racks_per_pod=draw(st.integers(1, 4)),
        pods=draw(st.integers(1, 4)),
        oversubscription=draw(st.sampled_from((1.0, 2.0, 7.0))),
    )

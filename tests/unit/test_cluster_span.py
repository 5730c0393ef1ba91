"""A big job's nodes per rack and per pod (``Cluster._span``) follow every change of its nodes.

Replacements for a job of more than 64 nodes read the racks and pods it uses from counts kept
up to date on allocation, failure (one node or many), replacement and release, instead of
rebuilding them from its node set each time. ``Cluster.check`` recomputes them from the node
set after every step; and the same steps on a cluster that always rebuilds them from the set
(``_SPAN_MIN`` raised past every job) must give the same replacements.
"""

from __future__ import annotations

from unittest.mock import patch

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from clustersim import cluster as cluster_module
from clustersim.cluster import Cluster
from clustersim.topology import Topology

TOPO = Topology(gpus_per_node=8, nodes_per_rack=4, racks_per_pod=8, pods=8)  # 256 nodes
SIZES = {1: 100, 2: 70}

Ops = list[tuple[str, int]]


def play(ops: Ops, *, check: bool) -> list[tuple[int, ...]]:
    """Run ``ops`` on a fresh cluster; returns every replacement's nodes."""
    cluster = Cluster(TOPO, spare_nodes=8)
    for job, size in SIZES.items():
        assert cluster.allocate(job, size) is not None
    down: list[int] = []
    got: list[tuple[int, ...]] = []
    for op, k in ops:
        job = 1 + k % 2
        nodes = cluster.nodes_of(job)
        if op == "f" and nodes:
            node = nodes[k % len(nodes)]
            cluster.fail(node)
            down.append(node)
        elif op == "m" and nodes:
            batch = np.asarray(sorted(set(nodes[k % len(nodes) :: 7])), dtype=np.int64)
            cluster.fail_many(batch)
            down.extend(batch.tolist())
        elif op == "r" and down:
            cluster.repair(down.pop(k % len(down)))
        elif op == "R":
            got.append(cluster.take_replacements(job, SIZES[job] - len(nodes)))
        if check:
            cluster.check()
    cluster.release(1)
    if check:
        cluster.check()
        assert 1 not in cluster._span
    return got


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("fmrRR"), st.integers(0, 10**6)), max_size=40))
def test_span_counts_follow_every_change(ops: Ops) -> None:
    kept = play(ops, check=True)
    with patch.object(cluster_module, "_SPAN_MIN", 10**9):
        rebuilt = play(ops, check=False)
    assert kept == rebuilt

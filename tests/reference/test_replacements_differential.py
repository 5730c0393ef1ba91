"""``Cluster.take_replacements`` against its previous implementation (``old_replacements``).

Session 6 of issue 22 made the replacement pick read a big job's racks from its span counts
(no sets of racks built per replacement) and look only at racks with FREE nodes in the job's
pods instead of masks over every rack. The pick itself must not change: on random cluster
states (jobs above and below the span threshold, failures one by one and in batches, repairs,
small jobs coming and going, spare pools that run dry), both versions must return the same
nodes and leave the same cluster behind.
"""

from __future__ import annotations

import copy

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from old_replacements import take_replacements as old_take_replacements

from clustersim.cluster import Cluster
from clustersim.topology import Topology

TOPOS = (
    Topology(gpus_per_node=8, nodes_per_rack=4, racks_per_pod=8, pods=8),  # 256 nodes
    Topology(gpus_per_node=8, nodes_per_rack=2, racks_per_pod=16, pods=6),  # 192 nodes
)
BIG = {1: 90, 2: 66}  # above the span threshold (64 nodes)

Ops = list[tuple[str, int]]


def same_cluster(a: Cluster, b: Cluster) -> None:
    assert np.array_equal(a.state, b.state)
    assert np.array_equal(a.owner, b.owner)
    assert a._jobs == b._jobs
    assert a._span.keys() == b._span.keys()
    for job, (racks, pods) in a._span.items():
        assert np.array_equal(racks, b._span[job][0])
        assert np.array_equal(pods, b._span[job][1])


def play(topo: Topology, spares: int, ops: Ops) -> int:
    """Run ``ops``; at each replacement compare the new pick with the old on a copy."""
    cluster = Cluster(topo, spare_nodes=spares)
    sizes = dict(BIG)
    for job, size in BIG.items():
        assert cluster.allocate(job, size) is not None
    down: list[int] = []
    compared = 0
    for op, k in ops:
        jobs = sorted(cluster._jobs)
        job = jobs[k % len(jobs)] if jobs else 0
        nodes = cluster.nodes_of(job) if jobs else ()
        if op == "f" and nodes:
            node = nodes[k % len(nodes)]
            cluster.fail(node)
            down.append(node)
        elif op == "i":  # an idle node fails
            idle = np.flatnonzero(cluster.state <= 1)
            if idle.size:
                node = int(idle[k % idle.size])
                cluster.fail(node)
                down.append(node)
        elif op == "m" and nodes:
            batch = np.asarray(sorted(set(nodes[k % len(nodes) :: 5])), dtype=np.int64)
            cluster.fail_many(batch)
            down.extend(batch.tolist())
        elif op == "r" and down:
            cluster.repair(down.pop(k % len(down)))
        elif op == "a":  # a small job arrives
            new_id = 100 + k % 1000
            size = 1 + k % 9
            if new_id not in cluster._jobs and cluster.allocate(new_id, size) is not None:
                sizes[new_id] = size
        elif op == "x" and job > 2:  # a small job leaves
            cluster.release(job)
        elif op == "R" and jobs:
            want = sizes[job] - len(nodes)
            twin = copy.deepcopy(cluster)
            got = cluster.take_replacements(job, want)
            expected = old_take_replacements(twin, job, want)
            assert got == expected
            same_cluster(cluster, twin)
            compared += 1
        cluster.check()
    return compared


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(TOPOS),
    st.integers(0, 6),
    st.lists(st.tuples(st.sampled_from("ffimraaxRRR"), st.integers(0, 10**6)), max_size=60),
)
def test_replacements_match_the_previous_pick(topo: Topology, spares: int, ops: Ops) -> None:
    play(topo, spares, ops)


def test_the_differential_reaches_every_branch() -> None:
    """A fixed script that exercises spares, the job's racks, its pods and other pods."""
    topo = TOPOS[0]
    ops: Ops = [("a", k) for k in range(40)] + [("f", 7), ("f", 11), ("R", 0), ("R", 1)]
    ops += [("i", 3), ("i", 5), ("m", 2), ("f", 1), ("f", 2), ("R", 0), ("R", 1)] * 4
    ops += [("x", k) for k in range(3, 30)] + [("m", 1), ("R", 0), ("R", 1), ("r", 0)] * 3
    assert play(topo, 2, ops) >= 10


def test_a_spare_in_the_jobs_rack_beats_a_lower_id_in_its_pod() -> None:
    """The near-first order among spares: the job's rack first, then id (a big job's span)."""
    cluster = Cluster(TOPOS[0], spare_nodes=2)  # spares 254 and 255 (rack 63, pod 7)
    placed = cluster.allocate(1, 90)
    assert placed is not None and 252 in placed.nodes  # pods 0, 1 and 7, rack 63 among them
    for node in (20, 21, 22, 23):  # rack 5 (pod 0) leaves the job
        cluster.fail(node)
    assert cluster.take_replacements(1, 1) == (254,)
    cluster.repair(21)  # a spare again: in the job's pod 0, no longer in one of its racks
    assert sorted(set().union(*cluster._spares_in_pod)) == [21, 255]
    twin = copy.deepcopy(cluster)
    assert cluster.take_replacements(1, 1) == (255,)  # its rack 63 beats the lower id
    assert old_take_replacements(twin, 1, 1) == (255,)

"""Demands of the ``shape`` traffic model (docs/network.md), from the definition.

Ranks run in node-id order; a model replica is ``replica`` consecutive GPUs; pipeline hops
join consecutive nodes of one replica; data-parallel ring ``q`` visits GPU ``q`` of every
replica in order and closes back to the first. The reference below counts those hops GPU by
GPU with plain Python; the engine's vectorised counts and its closed-form per-node demand
must agree with it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from clustersim.engine.traffic import Profile, group_demands, node_demand, shape_hops
from clustersim.network_metrics import residual


def reference_hops(
    owners: list[int], gpn: int, replica: int
) -> tuple[dict[int, int], dict[int, int]]:
    """Pipeline hops touching each group, ring hops leaving each group (GPU by GPU)."""
    total = len(owners) * gpn
    group = [owners[r // gpn] for r in range(total)]
    pp: dict[int, int] = {}
    for i in range(len(owners) - 1):
        last, first = i * gpn + gpn - 1, (i + 1) * gpn  # last GPU of node i, first of i+1
        if last // replica == first // replica and owners[i] != owners[i + 1]:
            pp[owners[i]] = pp.get(owners[i], 0) + 1
            pp[owners[i + 1]] = pp.get(owners[i + 1], 0) + 1
    dp: dict[int, int] = {}
    replicas = total // replica
    if replicas >= 2:
        span = replicas * replica
        for r in range(span):
            nxt = (r + replica) % span
            if group[r] != group[nxt]:
                dp[group[r]] = dp.get(group[r], 0) + 1
    return pp, dp


def test_two_replicas_in_two_pods() -> None:
    # 4 nodes of 8 GPUs, replicas of 16 GPUs: replica 0 on nodes 0-1 (pod 0), 1 on 2-3 (pod 1).
    pp, dp = shape_hops(np.array([0, 0, 1, 1]), 8, 16)
    assert dict(pp) == {}  # the pod boundary falls between replicas
    assert dict(dp) == {0: 16, 1: 16}  # every ring leaves each pod once


def test_a_replica_straddling_two_pods() -> None:
    pp, dp = shape_hops(np.array([0, 1, 1, 1]), 8, 32)
    assert dict(pp) == {0: 1, 1: 1} and dict(dp) == {}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 3), min_size=2, max_size=24),
    st.sampled_from((1, 2, 4, 8)),
    st.sampled_from((1, 3, 4, 8, 12, 16, 64)),
)
def test_vectorised_hops_match_the_reference(owners: list[int], gpn: int, replica: int) -> None:
    replica = min(replica, len(owners) * gpn)
    pp, dp = shape_hops(np.array(owners), gpn, replica)
    ref_pp, ref_dp = reference_hops(owners, gpn, replica)
    assert {k: v for k, v in pp.items() if v} == ref_pp
    assert {k: v for k, v in dp.items() if v} == ref_dp


@settings(max_examples=200, deadline=None)
@given(
    st.integers(2, 40),
    st.sampled_from((1, 2, 8)),
    st.sampled_from((1, 2, 8, 12, 16, 128)),
    st.sampled_from((0.0, 0.5, 1.0)),
    st.sampled_from(("all", "uniform", "shape")),
    st.data(),
)
def test_node_demand_matches_the_group_demand(
    m: int, gpn: int, replica: int, pipe: float, traffic: str, data: Any
) -> None:
    """The closed-form NIC-link demand of one node equals the general one-node group's."""
    p = data.draw(st.integers(0, m - 1))
    profile = Profile(traffic, replica, pipe, gpn, 50e9)
    out: dict[int, float] = {}
    mask = np.zeros(m, dtype=np.int64)
    mask[p] = 1
    group_demands(profile, mask, 0, out, only=1)
    assert node_demand(profile, p, m) == out.get(1, 0.0)


def test_the_unattributed_slowdown_is_zero_when_only_rounding_is_left() -> None:
    """``other_slowdown_gpu_hours`` is the slowdown less its attributed causes: a difference
    of two sums, which must not print as −3e-9 GPU-h when every hour has a cause."""
    whole = 0.1 + 0.2  # 0.30000000000000004
    assert residual(whole, 0.3) == 0.0
    assert residual(120_000.0, 120_000.0 + 3.4e-9) == 0.0
    assert residual(10.0, 4.0) == 6.0
    assert residual(1e-6, 0.0) == 1e-6  # a small slowdown with no cause is kept

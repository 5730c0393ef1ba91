"""INV-2 with the network model on: the GPU-seconds identity holds, and the network's share
of the slowdown term is no more than the term (docs/network.md).

Scenarios come from ``tests/strategies.py`` with ``network=True``: a ``fair-share`` network of
any traffic model (shape included), exposed-communication fraction and plane count, every
placement, rack oversubscription, sometimes aggregation switch faults that cut pod uplinks,
dual-homed ToR faults that halve rack links, link flaps that cut a NIC rail, and
``placement_wait``.
"""

from __future__ import annotations

from hypothesis import given, settings
from strategies import scenarios

from clustersim.config import Scenario
from clustersim.experiment import run_replication
from clustersim.metrics import GPU_SECONDS_TERMS

REL = 1e-9


@settings(deadline=None, max_examples=150)
@given(scenarios(check_invariants=True, network=True))
def test_inv2_identity_with_network(scenario: Scenario) -> None:
    metrics, _ = run_replication(scenario, 0, scenario.run.seed)
    gs = metrics.gpu_seconds
    scale = max(1.0, gs["total"])
    assert abs(sum(gs[k] for k in GPU_SECONDS_TERMS) - gs["total"]) <= REL * scale, gs
    assert abs(gs["allocated"] - gs["allocated_measured"]) <= REL * scale, gs
    s = metrics.summary
    net_h = s["network_slowdown_gpu_hours"]
    assert net_h >= -REL * scale
    # The network's part of the slowdown term never exceeds the term.
    assert net_h <= gs["slowdown"] / 3600 + REL * scale, (net_h, gs["slowdown"] / 3600)
    # These scenarios have no other slowdown source (no stragglers or flaps, no storage
    # contention): the network's integral of its factors is the epochs' whole slowdown.
    assert abs(s["other_slowdown_gpu_hours"]) * 3600 <= 1e-7 * scale, s["other_slowdown_gpu_hours"]
    assert 0.0 <= s["network_link_utilisation"] <= 1.0 + REL
    # The utilisation series (exact steps, binned exactly) averages to the summary's mean.
    series = metrics.network
    end = s["sim_time_s"]
    if end > 0:
        t = [*series["t_s"], end]
        area = sum(v * (t[i + 1] - t[i]) for i, v in enumerate(series["utilisation"]))
        assert abs(area - s["network_link_utilisation"] * end) <= 1e-9 * max(1.0, end)
        for i, (lo, mean, hi) in enumerate(
            zip(
                series["utilisation_min"],
                series["utilisation"],
                series["utilisation_max"],
                strict=True,
            )
        ):
            if t[i + 1] > t[i]:  # a bin of no width has no mean (0 by convention)
                assert lo - 1e-12 <= mean <= hi + 1e-12
        assert series["peak"] <= 1.0 + REL
    for row in metrics.jobs:
        if row.network_share is not None:
            assert -REL <= row.network_share <= 1.0 + REL

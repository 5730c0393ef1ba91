"""Network faults as capacity changes (docs/network.md, phase 2): exact speeds.

A failed ToR of a dual-homed rack leaves the rack's uplink at half its capacity; a lone job
that sends all its traffic through it then runs at ``1 / ((1 - f) + f / 0.5)`` while the
ToR is down. A flapping NIC rail leaves its node ``1 - 1/8`` of its NIC capacity. The cut
is made at a known instant (through the same world method the fault sources call), so the
finish time is closed form: ``work + D * (1 - v)`` for a cut of length ``D`` at speed ``v``.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest
import simpy

from clustersim.config import Scenario
from clustersim.engine.simulation import Simulation
from clustersim.events import CapacityCut, CapacityRestored
from clustersim.metrics import measure

GPN, NPR, RPP, PODS = 8, 2, 4, 2
WORK_S = 36_000.0
AT_S, CUT_S = 3_600.0, 7_200.0
REL = 1e-12


def scenario(gpus: int, f: float, traffic: str = "all") -> Scenario:
    """Two pods of four racks of two 8-GPU nodes; one job; the network model on."""
    return Scenario.model_validate(
        {
            "cluster": {
                "gpus_per_node": GPN,
                "nodes_per_rack": NPR,
                "racks_per_pod": RPP,
                "pods": PODS,
                "oversubscription": 7,
            },
            "network": {"model": "fair-share", "exposed_comm": f, "traffic": traffic},
            "workload": {"jobs": [{"gpus": gpus, "work": WORK_S}]},
            "checkpoint": {"policy": "none"},
            "run": {"horizon": "60d"},
        }
    )


def run_with_cut(sc: Scenario, cut: Any) -> Simulation:
    """Run ``sc`` with ``cut(sim)`` called at ``AT_S``."""
    sim = Simulation(sc, seed=1)

    def at(env: simpy.Environment) -> Generator[Any, Any, None]:
        yield env.timeout(AT_S)
        assert cut(sim)

    sim.env.process(at(sim.env))
    sim.run()
    return sim


@pytest.mark.parametrize("f", [0.1, 0.4])
def test_dual_homed_tor_failure_halves_the_rack_link(f: float) -> None:
    # 32 GPUs = 4 nodes = racks 0 and 1 of pod 0: no pod link, and rack 0's link carries
    # all 16 of its GPUs' traffic (traffic: all); half the ToRs gone -> share 1/2.
    sim = run_with_cut(scenario(32, f), lambda s: s.cut_rack(0, 0.5, "tor-degraded", CUT_S))
    job = sim.jobs[0]
    v = 1.0 / ((1.0 - f) + f / 0.5)
    assert job.finish_s - job.first_start_s == pytest.approx(WORK_S + CUT_S * (1 - v), rel=REL)
    m = measure(sim)
    lost_h = 32 * CUT_S * (1 - v) / 3600
    assert m.summary["network_slowdown_gpu_hours_by_cause"] == {
        "network-contention": 0.0,
        "tor-degraded": pytest.approx(lost_h, rel=1e-9),
    }
    assert m.gpu_seconds["slowdown"] / 3600 == pytest.approx(lost_h, rel=1e-9)


@pytest.mark.parametrize(
    ("cut", "scope", "ident", "fraction"),
    [
        (lambda s: s.cut_rack(1, 0.5, "tor-degraded", CUT_S), "rack", 1, 0.5),
        (lambda s: s.cut_node(3, 0.125, "link-flap", CUT_S), "node", 3, 0.125),
    ],
)
def test_a_capacity_cut_is_in_the_event_log_with_its_end(
    cut: Any, scope: str, ident: int, fraction: float
) -> None:
    """A cut that slows jobs without killing them still leaves its records: what was cut,
    how much, why, and when it came back (the log explains the slowdown GPU-hours)."""
    sim = run_with_cut(scenario(32, 0.4), cut)
    cuts = [e for e in sim.log if isinstance(e, CapacityCut)]
    ends = [e for e in sim.log if isinstance(e, CapacityRestored)]
    assert [(e.t, e.scope, e.id, e.fraction) for e in cuts] == [(AT_S, scope, ident, fraction)]
    assert [(e.t, e.token) for e in ends] == [(AT_S + CUT_S, cuts[0].token)]
    assert cuts[0].cause in measure(sim).summary["network_slowdown_gpu_hours_by_cause"]


def test_tor_failure_spares_a_job_inside_the_rack() -> None:
    sim = run_with_cut(scenario(16, 0.5), lambda s: s.cut_rack(0, 0.5, "tor-degraded", CUT_S))
    job = sim.jobs[0]
    assert job.finish_s - job.first_start_s == WORK_S


@pytest.mark.parametrize("f", [0.1, 0.4])
def test_link_flap_drops_one_rail(f: float) -> None:
    sim = run_with_cut(scenario(32, f), lambda s: s.cut_node(1, 1 / GPN, "link-flap", CUT_S))
    job = sim.jobs[0]
    v = 1.0 / ((1.0 - f) + f / (1 - 1 / GPN))
    assert job.finish_s - job.first_start_s == pytest.approx(WORK_S + CUT_S * (1 - v), rel=REL)
    by_cause = measure(sim).summary["network_slowdown_gpu_hours_by_cause"]
    assert by_cause["link-flap"] == pytest.approx(32 * CUT_S * (1 - v) / 3600, rel=1e-9)


def test_uniform_traffic_under_a_tor_cut() -> None:
    """Uniform traffic: rack 0 holds 16 of 32 GPUs, sends half of its traffic out: demand
    16 x bw x 1/2 = the capacity left by the cut, so the job is not slowed at all."""
    sim = run_with_cut(
        scenario(32, 0.5, traffic="uniform"), lambda s: s.cut_rack(0, 0.5, "tor", CUT_S)
    )
    job = sim.jobs[0]
    assert job.finish_s - job.first_start_s == pytest.approx(WORK_S, rel=REL)

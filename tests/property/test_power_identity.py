"""The power series integrates to the energy by state, over random small scenarios.

Energy by state is priced from the GPU-seconds ledger (the log's job records and the node
integrals); the series is built from node-state ticks and closed-form epochs. Two independent
computations, so their agreement to a relative 1e-9 (checked inside every replication, and
again here) is the power analogue of INV-2. The scenarios add what the plain ``scenarios()``
lack and the series must handle: GPU sharing (drawn by ``cluster_configs``), stragglers (speed
marks inside epochs), maintenance windows (shared nodes included), storage contention
(segmented epochs), both ways of showing stalls (steps of their own, or spread over the
epoch), and a facility: a power cap that holds or throttles (from the idle floor up), a ramp
limit and a stall floor (docs/power.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st
from strategies import add_power_swing_faults, scenarios

from clustersim.config import Scenario
from clustersim.config.power import idle_floor_w
from clustersim.engine import Simulation
from clustersim.experiment import run_replication
from clustersim.metrics import measure
from clustersim.power.energy import check_power_identity

REL = 1e-9


@st.composite
def powered_scenarios(draw: st.DrawFn, facility_always: bool = False) -> Scenario:
    """A small scenario with power, and sometimes slowdowns, maintenance, contention."""
    base = draw(scenarios(check_invariants=False))
    data: dict[str, Any] = base.model_dump(mode="json")
    data["power"] = {
        "profile": draw(st.sampled_from(("h100-sxm", "a100-sxm"))),
        "pue": draw(st.sampled_from((1.0, 1.1, 1.5))),
        "gpu": {
            "down": draw(st.sampled_from(("0W", "20W"))),
            "quarantined": draw(st.sampled_from(("0W", "5W"))),
            "checkpoint": draw(st.sampled_from(("100W", "800W"))),  # above computing, too
        },
        "swings": {"stall_steps_min": draw(st.sampled_from(("0W", "1GW")))},
    }
    add_power_swing_faults(draw, data["faults"], (0.0, 0.5))
    data["storage"]["contention"] = draw(st.booleans())
    scenario = Scenario.model_validate(data)
    if not facility_always and not draw(st.booleans()):
        return scenario
    facility: dict[str, Any] = {}
    if facility_always or draw(st.booleans()):
        assert scenario.power is not None
        cluster = scenario.cluster
        floor = idle_floor_w(scenario.power, cluster.n_nodes, cluster.gpus_per_node)
        facility["power_cap"] = floor * draw(st.sampled_from((1.0, 1.01, 1.05, 1.1, 1.3, 2.0)))
        facility["cap_policy"] = draw(st.sampled_from(("hold", "throttle")))
    if draw(st.booleans()):
        facility["ramp_limit"] = draw(st.sampled_from(("500W/s", "20kW/s", "1MW/s")))
    if draw(st.booleans()):
        facility["stall_floor"] = draw(st.sampled_from((0.5, 0.95)))
        facility["floor_during"] = draw(st.sampled_from(("stalls", "stalls-and-recovery")))
    data["facility"] = facility
    return Scenario.model_validate(data)


@settings(deadline=None)
@given(powered_scenarios())
def test_power_series_integrates_to_the_energy_by_state(scenario: Scenario) -> None:
    _check_identities(scenario)


@settings(deadline=None, max_examples=20)
@given(powered_scenarios(facility_always=True))
def test_power_identities_hold_under_a_facility_cap(scenario: Scenario) -> None:
    """Every drawn scenario has a cap (hold or throttle), some a ramp limit and a floor."""
    _check_identities(scenario)


def _check_identities(scenario: Scenario) -> None:
    metrics, _ = run_replication(scenario, 0, scenario.run.seed)
    power = metrics.power
    check_power_identity(power)
    total = power["energy_total_mwh"]
    assert abs(sum(power["energy_mwh_by_state"].values()) - total) <= REL * max(total, 1e-12)
    assert abs(sum(power["energy_mwh_by_part"].values()) - total) <= REL * max(total, 1e-12)
    # The binned series keeps the integral: each bin's mean times its width.
    t = metrics.timeseries["t_s"]
    edges = np.array([*t, metrics.summary["sim_time_s"]])
    binned_mwh = float(np.sum(np.array(power["power_mw"]) * np.diff(edges))) / 3600
    assert abs(binned_mwh - total) <= 1e-7 * max(total, 1e-9)
    if metrics.summary["sim_time_s"] > 0:
        assert power["peak_mw"] >= power["mean_mw"] * (1 - REL)
    facility = power.get("facility", {})
    watts = power["watts_per_gpu"]
    if facility.get("cap_policy") == "hold" and watts["checkpoint"] <= watts["computing"]:
        # Committed power counts every held GPU computing and every node in repair back up:
        # no start, recovery or repair can take a hold cap's facility over it.
        assert facility["time_over_cap_s"] == 0.0
    if "cap_slowdown_gpu_hours" in facility:
        # The throttle's slowdown is part of the slowdown term; all of it if nothing else slows.
        cap_s = facility["cap_slowdown_gpu_hours"] * 3600
        event(f"cap {facility['cap_policy']}, binding: {facility['time_at_cap_s'] > 0}")
        slow = metrics.gpu_seconds["slowdown"]
        assert cap_s <= slow * (1 + REL) + 1e-6
        if "slow" not in scenario.faults:
            assert abs(cap_s - slow) <= 1e-9 * max(slow, 1.0)


@settings(deadline=None, max_examples=10)
@given(powered_scenarios())
def test_power_series_never_goes_negative(scenario: Scenario) -> None:
    sim = Simulation(scenario)
    sim.run()
    steps = sim.power_steps
    assert steps is not None
    assert np.all(np.diff(steps.t_s) > 0)
    assert steps.watts.min() >= -1e-6 * max(1.0, float(steps.watts.max()))
    check_power_identity(measure(sim).power)
    assert sim.power_meter is not None and sim.power_meter.running_gpus == 0

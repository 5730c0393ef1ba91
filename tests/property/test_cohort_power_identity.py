"""The power identities over random fleets whose cohorts have their own power profiles.

``fleet.cohorts[].power`` (docs/fleet.md#power-per-generation) prices each node at its own
cohort's watts. Over random small scenarios (``strategies.scenarios``, with or without fleet
changes, plus maintenance windows and stragglers; ``strategies.cohort_power_fleets`` draws the
profiles) three things hold:

* the identity of docs/power.md: the series integrates to the energy by state (checked inside
  every replication, again here), and each state's GPU-seconds summed over the cohorts equals
  the GPU-seconds ledger's term (checked inside too: ``CohortEnergy.check_split``);
* the per-cohort node-state counts, kept incrementally, equal a recount of the node states;
* a differential: naming, for every cohort, the profile the ``power`` section already uses
  gives the single-profile run's energy and series (the per-cohort path against the plain one).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import add_power_swing_faults, cohort_power_fleets, scenarios

from clustersim.config import Scenario
from clustersim.engine import Simulation
from clustersim.engine.cohort_power import CohortCluster
from clustersim.experiment import run_replication
from clustersim.metrics import measure
from clustersim.power.energy import check_power_identity

REL = 1e-9


def _powered(draw: st.DrawFn, fleet: bool) -> dict[str, Any]:
    base = draw(scenarios(check_invariants=False, fleet=fleet, max_jobs=8))
    data: dict[str, Any] = base.model_dump(mode="json")
    data["cluster"]["sharing"] = "node"  # per-cohort power refuses GPU sharing
    refresh = (data.get("fleet") or {}).get("refresh")
    if refresh and refresh.get("cohort_rate") is not None:
        # The cohort-rate refresh over-counts recovery by a few hundredths of a GPU-second
        # on main too (the engine's GPU-seconds identity fails; reproducer in
        # notes/cohort-power.md): left out so that this test checks the cohort split only.
        if refresh.get("node_failures") is None:
            del data["fleet"]["refresh"]
        else:
            data["fleet"]["refresh"] = {"node_failures": refresh["node_failures"]}
    data["power"] = {
        "profile": draw(st.sampled_from(("h100-sxm", "a100-sxm"))),
        "pue": draw(st.sampled_from((1.0, 1.3))),
        "swings": {"stall_steps_min": draw(st.sampled_from(("0W", "1GW")))},
    }
    add_power_swing_faults(draw, data["faults"], (0.5,))
    return data


@st.composite
def cohort_powered_scenarios(draw: st.DrawFn) -> Scenario:
    """A small powered scenario whose cohorts (1-3, or a changing fleet) have own profiles."""
    data = _powered(draw, fleet=draw(st.booleans()))
    data["fleet"] = draw(cohort_power_fleets(data))
    return Scenario.model_validate(data)


@settings(deadline=None, max_examples=40)
@given(cohort_powered_scenarios())
def test_power_identities_hold_with_a_profile_per_cohort(scenario: Scenario) -> None:
    metrics, _ = run_replication(scenario, 0, scenario.run.seed)
    power = metrics.power
    check_power_identity(power)
    total = power["energy_total_mwh"]
    assert abs(sum(power["energy_mwh_by_state"].values()) - total) <= REL * max(total, 1e-12)
    assert abs(sum(power["energy_mwh_by_part"].values()) - total) <= REL * max(total, 1e-12)
    cohorts = power["cohorts"]
    assert list(cohorts) == [c.name for c in scenario.fleet.cohorts]  # type: ignore[union-attr]
    by_cohort = sum(row["energy_total_mwh"] for row in cohorts.values())
    assert abs(by_cohort - total) <= REL * max(total, 1e-12)
    for row in cohorts.values():  # GPU-seconds per state are never negative
        assert min(row["gpu_hours_by_state"].values()) >= -1e-9 * max(1.0, total)
    # Causes price their lost work and recoveries: part of the energy wasted.
    wasted = power["energy_wasted_mwh"]
    causes = sum(c["energy_wasted_mwh"] for c in metrics.causes.values())
    assert causes <= wasted * (1 + REL) + 1e-12


@settings(deadline=None, max_examples=25)
@given(cohort_powered_scenarios())
def test_per_cohort_counts_match_a_recount(scenario: Scenario) -> None:
    sim = Simulation(scenario)
    cluster = sim.cluster
    assert isinstance(cluster, CohortCluster)

    def recount(env: Any) -> Any:  # recount every simulated hour
        while True:
            yield env.timeout(3600.0)
            cluster.check_cohorts()

    sim.env.process(recount(sim.env))
    sim.run()
    cluster.check_cohorts()
    steps = sim.power_steps
    assert steps is not None
    assert steps.watts.min() >= -1e-6 * max(1.0, float(steps.watts.max()))
    check_power_identity(measure(sim).power)


@settings(deadline=None, max_examples=25)
@given(st.data())
def test_the_same_profile_per_cohort_gives_the_single_profile_run(data: st.DataObject) -> None:
    """Differential: every cohort naming the ``power`` section's profile (no overrides)."""
    plain: dict[str, Any] = _powered(data.draw, fleet=data.draw(st.booleans()))
    fleet = data.draw(cohort_power_fleets(plain))
    profile = plain["power"]["profile"]
    same = {**fleet, "cohorts": [{**c, "power": profile} for c in fleet["cohorts"]]}
    unset = {**fleet, "cohorts": [{**c, "power": None} for c in fleet["cohorts"]]}
    a = Scenario.model_validate({**plain, "fleet": unset})
    b = Scenario.model_validate({**plain, "fleet": same})
    ma, _ = run_replication(a, 0, a.run.seed)
    mb, _ = run_replication(b, 0, b.run.seed)
    assert "cohorts" not in ma.power and "cohorts" in mb.power
    assert ma.gpu_seconds == mb.gpu_seconds  # the same run
    for key in ("energy_total_mwh", "energy_series_mwh", "energy_wasted_mwh", "peak_mw"):
        x, y = ma.power[key], mb.power[key]
        assert abs(x - y) <= REL * max(abs(x), 1e-12), key
    for state, x in ma.power["energy_mwh_by_state"].items():
        y = mb.power["energy_mwh_by_state"][state]
        assert abs(x - y) <= REL * max(ma.power["energy_total_mwh"], 1e-12), state
    for cause, row in ma.causes.items():
        x, y = row["energy_wasted_mwh"], mb.causes[cause]["energy_wasted_mwh"]
        assert abs(x - y) <= REL * max(abs(x), 1e-9), cause
    xa, xb = np.asarray(ma.power["power_mw"]), np.asarray(mb.power["power_mw"])
    assert np.allclose(xa, xb, rtol=REL, atol=1e-12)

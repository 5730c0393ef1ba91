"""Ageing config, cohorts and the per-period ledger (issue 21, docs/ageing.md)."""

from __future__ import annotations

from typing import Any

import pytest

from clustersim.cohorts import Cohorts
from clustersim.config import ConfigError, Scenario, UsageError, load_scenario, load_scenario_text
from clustersim.engine import Simulation
from clustersim.events import JobInterrupted, NodeFailed
from clustersim.faults.hazard import Bathtub

BASE = """
cluster: {pods: 1, racks_per_pod: 4, nodes_per_rack: 2}
workload: {jobs: [{name: a, gpus: 48, work: 200d}]}
run: {period: 30d, horizon: 200d, stop_when_done: false}
faults:
  gpu:
    rate: 20/1000 node-days
    hazard: {wearout: {shape: 3, scale: 1y}}
    repair: {distribution: fixed, mean: 1h}
"""


def load(extra: str = "") -> Scenario:
    return load_scenario_text(BASE + extra, "t.yaml")


def error_of(extra: str) -> str:
    with pytest.raises((ConfigError, UsageError)) as info:
        load(extra)
    return str(info.value)


def test_cohorts_map_node_ranges_and_install_times() -> None:
    sc = load(
        """
fleet:
  start: "2025-01-01"
  cohorts:
    - {name: old, count: 3, install: -2y}
    - {name: dated, count: 5, install: "2024-12-02"}
"""
    )
    c = Cohorts.of(sc)
    assert [c.cohort_of(n) for n in range(8)] == [0, 0, 0, 1, 1, 1, 1, 1]
    assert c.install_s == (-2 * 365 * 86400.0, -30 * 86400.0)
    again = Scenario.model_validate(sc.model_dump(mode="json"))
    assert again == sc


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("fleet: {cohorts: [{count: 7}]}", "fleet.cohorts: counts sum to 7 nodes"),
        ("fleet: {cohorts: [{count: 4}, {count: 4, install: 1y}]}", "not at a pod boundary"),
        ("fleet: {cohorts: [{count: 8}], refresh: {fraction: 0.1}}", "needs node_failures or"),
        ('fleet: {cohorts: [{count: 8, install: "2024-01-01"}]}', "set fleet.start too"),
        ("fleet: {cohorts: [{count: 8, hazards: {nope: {}}}]}", "no poisson fault source"),
    ],
)
def test_config_errors_are_one_line_with_the_field(extra: str, message: str) -> None:
    text = error_of(extra)
    assert message in text and "\n" not in text


def test_hazard_shapes_must_fit_their_roles() -> None:
    bad = BASE.replace("wearout: {shape: 3", "wearout: {shape: 0.7")
    with pytest.raises((ConfigError, UsageError), match=r"wearout\.shape must be above 1"):
        load_scenario_text(bad, "t.yaml")


def test_scenarios_without_ageing_dump_as_before() -> None:
    dumped = load_scenario("llama3-405b").model_dump(mode="json")
    assert "fleet" not in dumped and "period" not in dumped["run"]
    assert all("hazard" not in f for f in dumped["faults"].values())


def test_period_rows_add_up_to_the_run_totals() -> None:
    sim = Simulation(load(), seed=2)
    sim.run()
    rows = sim.periods()
    assert [r["start_s"] for r in rows] == [i * 30 * 86400.0 for i in range(7)]
    assert rows[-1]["days"] == pytest.approx(20.0)
    failures = sum(isinstance(e, NodeFailed) for e in sim.log)
    hits = sum(isinstance(e, JobInterrupted) for e in sim.log)
    assert sum(r["node_failures"] for r in rows) == failures > 0
    assert sum(r["interruptions"] for r in rows) == hits
    repair_gpu_s = sum(r["gpus_in_repair"] * r["days"] * 86400 for r in rows)
    assert repair_gpu_s == pytest.approx(sim.node_s["down"] * 8, rel=1e-9)
    useful = sum(r["goodput"] * 64 * r["days"] * 86400 for r in rows)
    assert useful == pytest.approx(sim.tally.useful, rel=1e-9)


def test_bathtub_closed_forms_and_zero_hazard() -> None:
    assert Bathtub(0.0, []).next_age(5.0, 1.0) == float("inf")
    assert Bathtub(2.0, []).next_age(1.0, 1.0) == pytest.approx(1.5)
    weibull = Bathtub(0.0, [(2.0, 10.0)])
    assert weibull.next_age(0.0, 1.0) == pytest.approx(10.0)
    assert Bathtub(0.0, [(2.0, 10.0)], 8.0).cumulative(10.0) == pytest.approx(8.0)


def _rows(sc: Scenario) -> list[dict[str, Any]]:
    sim = Simulation(sc, seed=4)
    sim.run()
    return sim.periods()


def test_no_period_no_rows_and_same_failures() -> None:
    with_period = load()
    without = with_period.replace({"run.period": None})
    assert _rows(without) == []
    a, b = Simulation(with_period, seed=4), Simulation(without, seed=4)
    a.run()
    b.run()
    assert a.log == b.log


def test_periods_of_a_non_integral_length_cross_every_boundary() -> None:
    # Regression: 5 x 30.4166666667 d rounds so that ``t // period`` puts the boundary in the
    # period before; the ledger's spread then never advanced (the run hung at day 152).
    sc = load_scenario_text(
        BASE.replace("period: 30d, horizon: 200d", "period: 30.4166666667d, horizon: 200d"),
        "t.yaml",
    )
    sim = Simulation(sc, seed=1)
    sim.run()
    rows = sim.periods()
    assert len(rows) == 7 and rows[5]["start_s"] == 5 * sc.run.period
    assert sum(r["goodput"] * r["days"] for r in rows) > 0

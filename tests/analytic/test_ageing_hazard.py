"""Age-dependent hazards (issue 21): the simulator against the closed form of the Weibull NHPP.

Without age reset (minimal repair) a node whose cumulative hazard is ``Λ(a)`` fails a Poisson
number of times over ages ``[a, b]`` with mean ``Λ(b) − Λ(a)``; for a Weibull term
``(b/λ)^k − (a/λ)^k``. The DES's count of failures over many nodes must lie within the 99.9 %
Poisson interval of that mean (deterministic seeds), for an infant-mortality shape (k < 1),
a wear-out shape (k > 1) and the bathtub sum; the power-law fit of its own failure ages
recovers the shape within its 95 % interval; and the inversion of Λ is exact (hypothesis).
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clustersim.analysis import analytic
from clustersim.config import Scenario
from clustersim.engine import Simulation
from clustersim.events import NodeFailed
from clustersim.faults.hazard import Bathtub
from clustersim.traces.powerlaw import fit_power_law

YEAR_S = 365 * 86400.0
NODES = 2000


def aged_scenario(hazard: dict[str, Any], rate: str, age: str, horizon: str) -> Scenario:
    """``NODES`` nodes of one cohort of age ``age`` at the start, with one aged source."""
    return Scenario.model_validate(
        {
            "cluster": {"gpus_per_node": 8, "nodes_per_rack": 10, "racks_per_pod": 20, "pods": 10},
            "workload": {"jobs": [{"gpus": 8, "work": "1h"}]},
            "faults": {
                "hw": {
                    "rate": rate,
                    "hazard": hazard,
                    "lemons": False,
                    "repair": {"distribution": "fixed", "mean": "1s"},
                }
            },
            "fleet": {"cohorts": [{"count": NODES, "install": f"-{age}" if age != "0" else 0}]},
            "run": {"horizon": horizon, "stop_when_done": False},
        }
    )


def failure_times(sc: Scenario, seed: int) -> list[float]:
    sim = Simulation(sc, seed=seed)
    sim.run()
    return [e.t for e in sim.log if isinstance(e, NodeFailed)]


CASES = {
    "infant k=0.5": ({"infant": {"shape": 0.5, "scale": "1y"}}, "0/1000 node-days", 0.5, 1.0),
    "wear-out k=3": ({"wearout": {"shape": 3, "scale": "3y"}}, "0/1000 node-days", 1.0, 2.0),
    "bathtub": (
        {"infant": {"shape": 0.4, "scale": "20y"}, "wearout": {"shape": 4, "scale": "4y"}},
        "0.2/1000 node-days",
        2.0,
        2.0,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_failures_per_window_match_the_cumulative_hazard(case: str) -> None:
    hazard, rate, age_y, horizon_y = CASES[case]
    sc = aged_scenario(hazard, rate, f"{age_y}y", f"{horizon_y}y")
    fault = sc.faults["hw"]
    terms = [(t.shape, t.scale) for t in (fault.hazard.infant, fault.hazard.wearout) if t]
    curve = Bathtub(fault.rate or 0.0, terms)
    times = failure_times(sc, seed=3)
    a0 = age_y * YEAR_S
    half = horizon_y * YEAR_S / 2
    for lo, hi in ((0.0, half), (half, 2 * half)):
        seen = sum(lo <= t < hi for t in times)
        expected = NODES * (curve.cumulative(a0 + hi) - curve.cumulative(a0 + lo))
        low, high = analytic.poisson_interval(seen, 0.999)
        assert low <= expected <= high, (case, lo, seen, expected)


@pytest.mark.parametrize(("shape", "scale_y", "age_y"), [(0.5, 1.0, 0.0), (3.0, 2.0, 0.0)])
def test_power_law_fit_recovers_the_shape_from_the_failure_log(
    shape: float, scale_y: float, age_y: float
) -> None:
    term = "infant" if shape < 1 else "wearout"
    hazard = {term: {"shape": shape, "scale": f"{scale_y}y"}}
    sc = aged_scenario(hazard, "0/1000 node-days", "0", "2y")
    times = failure_times(sc, seed=5)
    end = 2 * YEAR_S
    fit = fit_power_law(times, NODES, age_y * YEAR_S, end)
    assert fit.shape_ci95[0] <= shape <= fit.shape_ci95[1], fit
    assert fit.scale_s == pytest.approx(scale_y * YEAR_S, rel=0.2)


def test_power_law_fit_of_an_aged_cohort_recovers_the_shape() -> None:
    sc = aged_scenario({"wearout": {"shape": 3, "scale": "3y"}}, "0/1000 node-days", "1y", "2y")
    times = failure_times(sc, seed=7)
    fit = fit_power_law([YEAR_S + t for t in times], NODES, YEAR_S, 3 * YEAR_S)
    assert fit.shape_ci95[0] <= 3.0 <= fit.shape_ci95[1], fit


shapes = st.floats(0.2, 8.0)
scales = st.floats(1e4, 1e9)


@given(
    rate=st.sampled_from([0.0, 1e-9, 1e-7]),
    infant=st.one_of(st.none(), st.tuples(st.floats(0.2, 0.95), scales)),
    wearout=st.one_of(st.none(), st.tuples(st.floats(1.05, 8.0), scales)),
    multiplier=st.sampled_from([1.0, 8.0, 0.1]),
    age=st.floats(0.0, 1e9),
    u=st.floats(1e-12, 1.0, exclude_max=True),
)
def test_inverting_the_cumulative_hazard_is_exact(
    rate: float,
    infant: tuple[float, float] | None,
    wearout: tuple[float, float] | None,
    multiplier: float,
    age: float,
    u: float,
) -> None:
    terms = [t for t in (infant, wearout) if t is not None]
    curve = Bathtub(rate, terms, multiplier)
    e = -math.log(u)
    nxt = curve.next_age(age, e)
    if curve.is_zero:
        assert nxt == math.inf
        return
    assert nxt >= age
    got = curve.cumulative(nxt) - curve.cumulative(age)
    scale = max(1.0, curve.cumulative(nxt))
    assert got == pytest.approx(e, abs=1e-9 * scale), (nxt, got, e)

"""Fleet changes (issue 21 phase 2) against closed forms written from their definitions.

* **Expansion**: a cohort of ``N`` new nodes installed at time ``a`` fails, over ``[a, b]``, a
  Poisson number of times with mean ``N·Λ(b − a)`` (minimal repair, age 0 at install); for a
  Weibull term ``Λ(x) = (x/λ)^k``. Before ``a`` it never fails.
* **Retirement**: a cohort retired at time ``r`` never fails after ``r``, and the run's
  in-service GPU-time (the GPU-seconds identity's total) is exactly ``Σ count × service time``.
  A constant-rate source (a superposed stream over every node id, OUT nodes thinned away)
  fails ``rate × in-service node-time`` times on average.
* **Refresh**: replacing the whole cohort at ``r`` restarts its hazard at age 0: over
  ``[r, T]`` the mean is ``N·Λ(T − r)`` instead of ``N·(Λ(a0 + T) − Λ(a0 + r))``. Replacing a
  node at each of its failures (``node_failures: 1``) is a renewal process: the mean count of
  one node over ``[0, T]`` is the renewal function ``M(T)``, the solution of
  ``M(t) = F(t) + ∫₀ᵗ M(t − x) dF(x)``, computed here on a fine grid.

Counts lie in the 99.9 % Poisson interval of the mean (for a renewal process with an
increasing hazard the count is less variable than Poisson, so the interval is conservative).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from clustersim.analysis import analytic
from clustersim.config import Scenario
from clustersim.engine import Simulation
from clustersim.events import NodeFailed
from clustersim.metrics import measure

YEAR_S = 365 * 86400.0
PER_POD = 200
GPN = 8


def weibull_cum(x: float, shape: float, scale: float) -> float:
    """Λ(x) = (x/λ)^k for x ≥ 0 (the definition, not the simulator's Bathtub)."""
    return (max(x, 0.0) / scale) ** shape


def fleet_scenario(
    cohorts: list[dict[str, Any]],
    faults: dict[str, Any],
    horizon: str,
    refresh: dict[str, Any] | None = None,
) -> Scenario:
    """A 10-pod cluster of 200-node pods whose cohorts are ``cohorts``; one tiny job."""
    fleet: dict[str, Any] = {"cohorts": cohorts}
    if refresh is not None:
        fleet["refresh"] = refresh
    return Scenario.model_validate(
        {
            "cluster": {
                "gpus_per_node": GPN,
                "nodes_per_rack": 10,
                "racks_per_pod": 20,
                "pods": 10,
            },
            "workload": {"jobs": [{"gpus": 8, "work": "1h"}]},
            "faults": faults,
            "fleet": fleet,
            "run": {"horizon": horizon, "stop_when_done": False},
        }
    )


def wearout(shape: float, scale: str, rate: str = "0/1000 node-days") -> dict[str, Any]:
    return {
        "rate": rate,
        "hazard": {"wearout": {"shape": shape, "scale": scale}},
        "lemons": False,
        "repair": {"distribution": "fixed", "mean": "1s"},
    }


def run(sc: Scenario, seed: int) -> Simulation:
    sim = Simulation(sc, seed=seed)
    sim.run()
    return sim


def failures(sim: Simulation, lo_node: int, hi_node: int, cause: str = "hw") -> list[float]:
    return [
        e.t
        for e in sim.log
        if isinstance(e, NodeFailed) and e.cause == cause and lo_node <= e.node < hi_node
    ]


def assert_in_poisson_interval(seen: int, expected: float) -> None:
    low, high = analytic.poisson_interval(seen, 0.999)
    assert low <= expected <= high, (seen, expected)


def test_expansion_cohort_fails_as_new_nodes_from_its_install_time() -> None:
    k, lam = 3.0, 2 * YEAR_S
    a, end = 0.5 * YEAR_S, 2 * YEAR_S
    sc = fleet_scenario(
        [{"name": "first", "count": 1000}, {"name": "added", "count": 1000, "install": "0.5y"}],
        {"hw": wearout(k, "2y")},
        "2y",
    )
    sim = run(sc, seed=11)
    added = failures(sim, 1000, 2000)
    assert added and min(added) >= a
    assert_in_poisson_interval(len(added), 1000 * weibull_cum(end - a, k, lam))
    first = failures(sim, 0, 1000)
    assert_in_poisson_interval(len(first), 1000 * weibull_cum(end, k, lam))


def test_retired_cohort_stops_failing_and_service_time_is_exact() -> None:
    k, lam = 3.0, 2 * YEAR_S
    sc = fleet_scenario(
        [
            {"name": "old", "count": 1000, "install": "-1y", "retire": "2y"},
            {"name": "young", "count": 1000},
        ],
        {"hw": wearout(k, "2y"), "flat": {"rate": "2/1000 node-days", "lemons": False}},
        "2y",
    )
    sim = run(sc, seed=12)
    old = failures(sim, 0, 1000)
    assert old and max(old) < YEAR_S  # retired at age 2 y = time 1 y
    assert_in_poisson_interval(
        len(old), 1000 * (weibull_cum(2 * YEAR_S, k, lam) - weibull_cum(YEAR_S, k, lam))
    )
    gs = measure(sim).gpu_seconds
    in_service = GPN * (1000 * YEAR_S + 1000 * 2 * YEAR_S)
    assert math.isclose(gs["total"], in_service, rel_tol=1e-12)
    assert math.isclose(gs["out_of_service"], GPN * 1000 * YEAR_S, rel_tol=1e-12)
    # The constant-rate source: rate x in-service node-time (3,000 node-years).
    flat = failures(sim, 0, 2000, cause="flat")
    assert_in_poisson_interval(len(flat), 2 / 1000 * 3000 * 365)


def test_refreshing_a_whole_cohort_restarts_its_hazard() -> None:
    k, lam = 3.0, 3 * YEAR_S
    a0, r, end = YEAR_S, YEAR_S, 2 * YEAR_S
    sc = fleet_scenario(
        [{"name": "aged", "count": 2000, "install": "-1y"}],
        {"hw": wearout(k, "3y")},
        "2y",
        refresh={"cohort_rate": 0, "fraction": 1.0, "every": "1y", "swap": 0},
    )
    sim = run(sc, seed=13)
    times = failures(sim, 0, 2000)
    before = sum(t < r for t in times)
    after = sum(t >= r for t in times)
    expected_before = 2000 * (weibull_cum(a0 + r, k, lam) - weibull_cum(a0, k, lam))
    assert_in_poisson_interval(before, expected_before)
    assert_in_poisson_interval(after, 2000 * weibull_cum(end - r, k, lam))
    # Without refresh the second year would see the much higher aged rate.
    aged = 2000 * (weibull_cum(a0 + end, k, lam) - weibull_cum(a0 + r, k, lam))
    low, high = analytic.poisson_interval(after, 0.999)
    assert not low <= aged <= high


def renewal_function(t_end: float, shape: float, scale: float, steps: int = 4000) -> float:
    """M(t_end) of a Weibull renewal process: M = F + M * dF on a uniform grid (Riemann-Stieltjes).

    Solves ``M(t_i) = F(t_i) + Σ_j M(t_i − x_j) ΔF(x_j)`` with ``ΔF`` the increments of the
    Weibull CDF over each grid cell, ``M`` evaluated at the cell's midpoint by interpolation.
    """
    h = t_end / steps
    t = np.arange(steps + 1) * h
    cdf = 1.0 - np.exp(-((t / scale) ** shape))
    d_f = np.diff(cdf)  # mass of (t_j, t_{j+1}]
    m = np.zeros(steps + 1)
    for i in range(1, steps + 1):
        # M at t_i - x for x in cell j (midpoint t_j + h/2): index i - j - 1/2, averaged.
        back = m[i - 1 :: -1][:i]  # M(t_{i-1-j}), j = 0..i-1
        ahead = m[i::-1][:i]  # M(t_{i-j}), j = 0..i-1 (m[i] not yet known: 0, corrected below)
        conv = float(np.dot(d_f[:i], 0.5 * (back + ahead)))
        # m[i] enters ``ahead`` with weight 0.5 d_f[0]: solve for it.
        m[i] = (cdf[i] + conv) / (1.0 - 0.5 * d_f[0])
    return float(m[-1])


def test_renewal_function_reference_is_right_for_the_exponential() -> None:
    # Shape 1: a Poisson process, M(t) = t/λ exactly.
    assert math.isclose(renewal_function(3.0, 1.0, 1.0), 3.0, rel_tol=1e-4)


def test_replacing_a_node_at_each_failure_is_a_renewal_process() -> None:
    k, lam, end = 2.0, YEAR_S, 2 * YEAR_S
    sc = fleet_scenario(
        [{"name": "all", "count": 2000}],
        {"hw": wearout(k, "1y")},
        "2y",
        refresh={"node_failures": 1},
    )
    sim = run(sc, seed=14)
    seen = len(failures(sim, 0, 2000))
    expected = 2000 * renewal_function(end, k, lam)
    assert_in_poisson_interval(seen, expected)
    # Minimal repair would give 2000·Λ(2 y) = 8,000: clearly different.
    low, high = analytic.poisson_interval(seen, 0.999)
    assert not low <= 2000 * weibull_cum(end, k, lam) <= high

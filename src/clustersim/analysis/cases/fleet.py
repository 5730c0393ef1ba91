"""Validation cases of ageing and changing fleets against closed forms (docs/fleet.md).

:func:`case_fleet_changes` runs one cohort-level scenario per fleet event and compares the
count of failures with its expected value: Weibull cohorts with minimal repair (an aged
cohort over ``[a, b]``: ``N·(Λ(b) − Λ(a))``), an expansion installed at ``a``
(``N·Λ(b − a)``), a retirement (no failure afterwards, and in-service GPU-hours equal to
``Σ count × service time``), a refresh of the whole cohort (its hazard restarts at age 0) and
replacement at every failure (the renewal function). A count passes when the formula lies in
the 95 % Poisson interval of the simulated count.
"""

from __future__ import annotations

from typing import Any

from clustersim.analysis import analytic
from clustersim.analysis.cases.base import CaseResult, Estimate, Row, verdict
from clustersim.analysis.renewal import weibull_cumulative, weibull_renewal_function
from clustersim.config import Scenario
from clustersim.engine import Simulation
from clustersim.events import NodeFailed
from clustersim.metrics import measure

__all__ = ["case_fleet_changes"]

YEAR = 365 * 86400.0
K, SCALE = 3.0, 2 * YEAR
"""The wear-out term of every scenario here: shape 3, characteristic life 2 years."""
SOURCE = "Weibull NHPP / renewal theory (docs/fleet.md)"


def _scenario(
    per_pod: int, cohorts: list[dict[str, Any]], refresh: dict[str, Any] | None = None
) -> Scenario:
    """Ten pods of ``per_pod`` nodes, one wear-out source, a one-hour job, two years."""
    fleet: dict[str, Any] = {"cohorts": cohorts}
    if refresh is not None:
        fleet["refresh"] = refresh
    return Scenario.model_validate(
        {
            "name": "fleet-validation",
            "cluster": {
                "gpus_per_node": 8,
                "nodes_per_rack": per_pod,
                "racks_per_pod": 1,
                "pods": 10,
            },
            "workload": {"jobs": [{"gpus": 8, "work": "1h"}]},
            "faults": {
                "hw": {
                    "rate": 0.0,
                    "hazard": {"wearout": {"shape": K, "scale": SCALE}},
                    "lemons": False,
                    "repair": {"distribution": "fixed", "mean": "1s"},
                }
            },
            "fleet": fleet,
            "run": {"horizon": 2 * YEAR, "stop_when_done": False, "seed": 1},
        }
    )


def _count_row(quantity: str, seen: int, formula: float) -> Row:
    low, high = analytic.poisson_interval(seen, 0.95)
    est = Estimate(float(seen), low, high, 1)
    return Row(quantity, formula, est, source=SOURCE, status=verdict(est.contains(formula)))


def case_fleet_changes(quick: bool) -> CaseResult:
    """Cohort failures under expansion, retirement and refresh vs closed forms."""
    per_pod = 50 if quick else 200
    n = 5 * per_pod  # nodes per half of the cluster
    case = CaseResult(
        "fleet-changes",
        "Ageing fleets: expansion, retirement and refresh vs the Weibull closed forms",
        {"hazard": "wear-out shape 3, scale 2 y, minimal repair", "nodes": f"{2 * n:,}"},
    )

    def lam(x: float) -> float:
        return weibull_cumulative(x, K, SCALE)

    def failures(sc: Scenario) -> tuple[list[NodeFailed], Simulation]:
        sim = Simulation(sc, seed=1)
        sim.run()
        return [e for e in sim.log if isinstance(e, NodeFailed)], sim

    # Expansion: half the nodes installed at 0.5 y (age 0 then); the other half aged 1 y.
    log, _ = failures(
        _scenario(per_pod, [{"count": n, "install": "-1y"}, {"count": n, "install": "0.5y"}])
    )
    aged = sum(e.node < n for e in log)
    case.rows.append(
        _count_row(
            "aged cohort, failures over [1 y, 3 y] of age", aged, n * (lam(3 * YEAR) - lam(YEAR))
        )
    )
    added = [e for e in log if e.node >= n]
    case.rows.append(
        _count_row("expansion at 0.5 y, failures to 2 y", len(added), n * lam(1.5 * YEAR))
    )
    case.rows.append(
        Row(
            "expansion, failures before its install",
            0.0,
            Estimate(float(sum(e.t < 0.5 * YEAR for e in added)), 0.0, 0.0, 1),
            source="definition",
            status=verdict(all(e.t >= 0.5 * YEAR for e in added)),
        )
    )
    # Retirement: the aged half retires at age 2 y (time 1 y).
    log, sim = failures(
        _scenario(per_pod, [{"count": n, "install": "-1y", "retire": "2y"}, {"count": n}])
    )
    old = [e for e in log if e.node < n]
    case.rows.append(
        _count_row(
            "retired cohort, failures to its retirement", len(old), n * (lam(2 * YEAR) - lam(YEAR))
        )
    )
    late = float(sum(e.t >= YEAR for e in old))
    case.rows.append(
        Row(
            "retired cohort, failures after retirement",
            0.0,
            Estimate(late, late, late, 1),
            source="definition",
            status=verdict(late == 0),
        )
    )
    total_h = measure(sim).gpu_seconds["total"] / 3600
    expected_h = 8 * (n * YEAR + n * 2 * YEAR) / 3600
    case.rows.append(
        Row(
            "in-service GPU-hours (Σ count × service time)",
            expected_h,
            Estimate(total_h, total_h, total_h, 1),
            source="definition",
            status=verdict(abs(total_h - expected_h) <= 1e-9 * expected_h),
        )
    )
    # Refresh: the whole cohort (aged 1 y) is replaced at 1 y: age 0 again.
    log, _ = failures(
        _scenario(
            per_pod,
            [{"count": 2 * n, "install": "-1y"}],
            {"cohort_rate": 0, "fraction": 1.0, "every": "1y", "swap": 0},
        )
    )
    after = sum(e.t >= YEAR for e in log)
    case.rows.append(
        _count_row("refreshed at 1 y, failures over [1 y, 2 y]", after, 2 * n * lam(YEAR))
    )
    case.rows.append(
        Row(
            "  the same without refresh (aged 2-3 y)",
            2 * n * (lam(3 * YEAR) - lam(2 * YEAR)),
            source=SOURCE,
            note="for comparison",
        )
    )
    # Replacement at every failure: a renewal process from age 0.
    log, _ = failures(_scenario(per_pod, [{"count": 2 * n}], {"node_failures": 1}))
    case.rows.append(
        _count_row(
            "replaced at each failure, failures to 2 y (renewal M(t))",
            len(log),
            2 * n * weibull_renewal_function(2 * YEAR, K, SCALE),
        )
    )
    return case

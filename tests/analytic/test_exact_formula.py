"""The DES against the exact checkpoint/restart formula (DESIGN §6).

Each case simulates one job under exponential failures (job MTBF M), checkpoint stall C,
restart R (failures may hit the restart) and interval τ, over enough replications for
≥ 1,000 failures, and asserts that the exact formula's ETTR lies inside the simulated 95 %
confidence interval. Nothing here pins a number taken from a run.
"""

from __future__ import annotations

import math

import pytest

from clustersim import analytic
from clustersim.config import Scenario
from clustersim.experiment import run
from clustersim.loader import load_scenario

HOUR = 3600.0


def single_job(
    mtbf_s: float,
    stall_s: float,
    restart_s: float,
    policy: str,
    interval_s: float = 3600.0,
    work_s: float = 30 * 86400.0,
) -> Scenario:
    """The single-job preset with the job MTBF, stall, restart and interval set."""
    base = load_scenario("single-job")
    nodes = base.workload.jobs[0].gpus // base.cluster.gpus_per_node
    rate = 1.0 / (nodes * mtbf_s)
    return base.model_copy(
        update={
            "faults": {"node": base.faults["node"].model_copy(update={"rate": rate})},
            "checkpoint": base.checkpoint.model_copy(
                update={"policy": policy, "stall": stall_s, "interval": interval_s}
            ),
            "restart": base.restart.model_copy(update={"init": restart_s}),
            "workload": base.workload.model_copy(
                update={"jobs": [base.workload.jobs[0].model_copy(update={"work": work_s})]}
            ),
        }
    )


def simulate(
    scenario: Scenario, min_failures: int = 1000, seed: int = 11
) -> tuple[float, list[float], float]:
    """Mean job ETTR, its 95 % CI and the total number of failures over replications."""
    job = scenario.workload.jobs[0]
    per_rep = job.work / (
        1.0 / (scenario.faults["node"].rate * job.gpus / scenario.cluster.gpus_per_node)
    )
    reps = max(4, math.ceil(min_failures / per_rep))
    result = run(scenario, reps=reps, seed=seed)
    s = result.summary
    return s["ettr"], s["ettr_ci95"], s["interruptions_total"] * reps


def test_design_case_m2h_c60_r10min_daly() -> None:
    """M = 2 h, C = 60 s, R = 10 min, Daly interval: exact ETTR ≈ 0.806 inside the DES CI."""
    M, C, R = 2 * HOUR, 60.0, 600.0
    tau = analytic.daly_interval(C, M)
    assert tau == pytest.approx(889.9, abs=0.1)
    exact = analytic.exact_ettr(tau, C, R, M)
    assert exact == pytest.approx(0.806, abs=0.001)
    mean, ci, failures = simulate(single_job(M, C, R, "daly"))
    assert failures >= 1000
    assert ci[0] <= exact <= ci[1], (mean, ci, exact)
    # The first-order accounting (≈ 0.79) is the classic bug: the simulation must exclude it.
    first_order = analytic.first_order_ettr(tau, C, R, M)
    assert not ci[0] <= first_order <= ci[1]


@pytest.mark.parametrize(
    ("mtbf_h", "stall_s", "restart_s", "interval_s"),
    [
        (2.0, 60.0, 600.0, 300.0),  # checkpointing too often
        (2.0, 60.0, 600.0, 3 * HOUR),  # too rarely: far outside the first-order regime
        (0.5, 120.0, 300.0, 900.0),  # failures every 30 min
    ],
)
def test_fixed_interval_grid(
    mtbf_h: float, stall_s: float, restart_s: float, interval_s: float
) -> None:
    M = mtbf_h * HOUR
    exact = analytic.exact_ettr(interval_s, stall_s, restart_s, M)
    scenario = single_job(M, stall_s, restart_s, "fixed", interval_s, work_s=10 * 86400.0)
    mean, ci, _ = simulate(scenario, min_failures=600)
    assert ci[0] <= exact <= ci[1], (mean, ci, exact)


def test_exact_policy_uses_the_lambert_w_optimum() -> None:
    M, C = 2 * HOUR, 60.0
    sc = single_job(M, C, 600.0, "exact", work_s=2 * 86400.0)
    result = run(sc, seed=1)
    assert result.replications[0].jobs[0].interval_s == pytest.approx(
        analytic.exact_optimal_interval(C, M)
    )

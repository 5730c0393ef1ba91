"""The DES and the vectorised Monte Carlo against the exact checkpoint/restart formula.

Each case simulates one job under exponential failures (job MTBF M), checkpoint stall C,
restart R (failures may hit the restart) and interval τ, and asserts that the exact formula's
long-run ETTR lies inside the simulated 95 % confidence interval (ratio-of-sums estimator,
see :func:`clustersim.analysis.cases.base.ratio_estimate`). Nothing here pins a number from a run.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clustersim.analysis import analytic
from clustersim.analysis.cases.base import Estimate, des_ettr, mc_ettr, reps_for, single_job
from clustersim.experiment import run

HOUR = 3600.0
DAY = 86400.0


def test_design_case_m2h_c60_r10min_daly() -> None:
    """M = 2 h, C = 60 s, R = 10 min, Daly interval: exact ETTR ≈ 0.806 inside the DES CI."""
    M, C, R = 2 * HOUR, 60.0, 600.0
    tau = analytic.daly_interval(C, M)
    assert tau == pytest.approx(889.9, abs=0.1)
    exact = analytic.exact_ettr(tau, C, R, M)
    assert exact == pytest.approx(0.806, abs=0.001)
    sc = single_job(M, C, R, policy="daly")
    reps = reps_for(1200, M, sc.workload.jobs[0].work)
    result = run(sc, reps=reps, seed=11)
    assert result.summary["interruptions_total"] * reps >= 1000
    des = des_ettr(result)
    assert des.contains(exact), (des, exact)
    # The first-order accounting (≈ 0.79) is the classic bug: the simulation must exclude it.
    assert not des.contains(analytic.first_order_ettr(tau, C, R, M))
    mc = mc_ettr(sc, 10_000)
    assert mc.contains(exact), (mc, exact)
    assert not mc.contains(analytic.first_order_ettr(tau, C, R, M))


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
    sc = single_job(M, stall_s, restart_s, interval_s=interval_s, work_s=10 * DAY)
    des = des_ettr(run(sc, reps=reps_for(600, M, 10 * DAY), seed=5))
    assert des.contains(exact), (des, exact)


def agrees(est: Estimate, exact: float, work_s: float, interval_s: float) -> bool:
    """Whether ``exact`` lies within a 99.9 % interval of ``est``, widened by the finite-job
    bias bound.

    Property tests draw many cases, so a 95 % interval would fail one case in twenty by
    chance. A finite job also differs from the long-run formula: its last segment is
    shorter and needs no checkpoint, a bias of order interval / work (relative).
    """
    half = (est.high - est.mean) * 3.29 / 1.96
    bias = exact * min(interval_s, work_s) / work_s
    return abs(est.mean - exact) <= half + bias


@settings(
    max_examples=10, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    mtbf_h=st.floats(0.25, 24.0),
    stall_s=st.floats(1.0, 600.0),
    restart_ratio=st.floats(0.0, 2.0),
    interval_factor=st.floats(0.2, 5.0),
    seed=st.integers(0, 2**16),
)
def test_mc_contains_the_exact_value(
    mtbf_h: float, stall_s: float, restart_ratio: float, interval_factor: float, seed: int
) -> None:
    """Hypothesis draws (M, C, R ≤ 2M, τ) around the optimum; the MC must agree with the
    exact ETTR."""
    M = mtbf_h * HOUR
    restart_s = restart_ratio * M
    tau = interval_factor * analytic.exact_optimal_interval(stall_s, M)
    exact = analytic.exact_ettr(tau, stall_s, restart_s, M)
    work = 200 * max(M, tau)
    sc = single_job(M, stall_s, restart_s, interval_s=tau, work_s=work)
    sc = sc.model_copy(update={"run": sc.run.model_copy(update={"horizon": 1e15})})
    mc = mc_ettr(sc, 2000, seed=seed)
    assert agrees(mc, exact, work, tau), f"MC {mc} disagrees with the exact ETTR {exact}"


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mtbf_h=st.floats(0.5, 8.0),
    stall_s=st.floats(5.0, 300.0),
    restart_s=st.floats(0.0, 1800.0),
    interval_factor=st.floats(0.3, 3.0),
    seed=st.integers(0, 2**16),
)
def test_des_contains_the_exact_value(
    mtbf_h: float, stall_s: float, restart_s: float, interval_factor: float, seed: int
) -> None:
    M = mtbf_h * HOUR
    tau = interval_factor * analytic.exact_optimal_interval(stall_s, M)
    exact = analytic.exact_ettr(tau, stall_s, restart_s, M)
    work = 10 * DAY
    sc = single_job(M, stall_s, restart_s, interval_s=tau, work_s=work)
    sc = sc.model_copy(update={"run": sc.run.model_copy(update={"horizon": 1e15})})
    # At least 8 replications: a variance estimated from 2-3 runs makes the interval a lottery.
    reps = reps_for(1000, M, work, minimum=8)
    des = des_ettr(run(sc, reps=reps, seed=seed))
    assert agrees(des, exact, work, tau), f"DES {des} disagrees with the exact ETTR {exact}"


def test_exact_policy_uses_the_lambert_w_optimum() -> None:
    M, C = 2 * HOUR, 60.0
    sc = single_job(M, C, 600.0, policy="exact", work_s=2 * DAY)
    result = run(sc, seed=1)
    assert result.replications[0].jobs[0].interval_s == pytest.approx(
        analytic.exact_optimal_interval(C, M)
    )


@pytest.mark.parametrize("preset", ["single-job", "llama3-405b"])
def test_des_and_mc_agree_on_presets(preset: str) -> None:
    """Same semantics: on a single-job preset the DES and MC intervals overlap."""
    from clustersim.config import load_scenario

    sc = load_scenario(preset)
    des = des_ettr(run(sc, reps=6, seed=2))
    mc = mc_ettr(sc, 4000)
    assert des.low <= mc.high and mc.low <= des.high, (des, mc)


def test_des_contains_the_formula_when_recovery_ignores_failures() -> None:
    """Issue 17 item 9: with ``failure_during_recovery: ignore`` each failure costs R once.

    The DES's interval must contain ``τ / ((M + R)(e^{(τ+C)/M} − 1))`` and exclude the
    restart-exposed formula, and ``plan`` must screen with the former.
    """
    from clustersim.plan.core import analytic_ettr, fast_model

    M, C, R, tau = 0.5 * HOUR, 60.0, 1200.0, 900.0
    sc = single_job(M, C, R, interval_s=tau, work_s=10 * DAY)
    sc = sc.model_copy(
        update={"restart": sc.restart.model_copy(update={"failure_during_recovery": "ignore"})}
    )
    exact = analytic.exact_ettr_recovery_unexposed(tau, C, R, M)
    des = des_ettr(run(sc, reps=6, seed=3))
    assert des.contains(exact), (des, exact)
    assert not des.contains(analytic.exact_ettr(tau, C, R, M))
    model, _ = fast_model(sc)
    assert analytic_ettr(model, tau) == pytest.approx(exact, rel=1e-12)
    assert analytic.exact_ettr_recovery_unexposed(1e-9, 0.0, R, M) == pytest.approx(M / (M + R))

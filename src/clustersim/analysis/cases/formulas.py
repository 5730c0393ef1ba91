"""Validation cases against closed forms: Young, Daly, the exact model, MTTF scaling, sizes.

Each case function takes ``quick`` (fewer replications) and returns a
:class:`~clustersim.analysis.cases.base.CaseResult`; :data:`clustersim.analysis.cases.CASES`
registers them by name.
"""

from __future__ import annotations

from clustersim.analysis import analytic
from clustersim.analysis.cases.base import (
    DAY,
    DESIGN6,
    HOUR,
    CaseResult,
    Estimate,
    Row,
    close,
    des_ettr,
    mc_ettr,
    reps_for,
    single_job,
    verdict,
)
from clustersim.config import Scenario
from clustersim.experiment import run

__all__ = [
    "GRID",
    "case_checkpoint_size",
    "case_exact_grid",
    "case_kokolis_mttf",
    "case_llama3_restart",
    "case_young_daly_exact",
]


def case_young_daly_exact(quick: bool) -> CaseResult:
    """M = 2 h, C = 60 s, R = 10 min: the textbook case."""
    M, C, R = 2 * HOUR, 60.0, 600.0
    tau = analytic.daly_interval(C, M)
    case = CaseResult(
        "young-daly-exact",
        "Young, Daly and the exact model: M = 2 h, C = 60 s, R = 10 min",
        {"M": "2 h", "C": "60 s", "R": "10 min", "interval": "Daly"},
    )
    young = analytic.young_interval(C, M)
    case.rows.append(
        Row(
            "Young interval (s)",
            young,
            published=929.5,
            source=DESIGN6,
            status=verdict(close(young, 929.5, 0.05)),
        )
    )
    case.rows.append(
        Row(
            "Daly interval (s)",
            tau,
            published=889.9,
            source=DESIGN6,
            status=verdict(close(tau, 889.9, 0.05)),
        )
    )
    exact = analytic.exact_ettr(tau, C, R, M)
    sc = single_job(M, C, R, policy="daly")
    work = sc.workload.jobs[0].work
    reps = reps_for(300 if quick else 1500, M, work)
    des = des_ettr(run(sc, reps=reps, seed=11))
    mc_est = mc_ettr(sc, 2000 if quick else 10000)
    case.rows.append(
        Row(
            "ETTR (exact model)",
            exact,
            des,
            mc_est,
            0.806,
            DESIGN6,
            verdict(des.contains(exact), mc_est.contains(exact), close(exact, 0.806, 0.0005)),
        )
    )
    first = analytic.first_order_ettr(tau, C, R, M)
    case.rows.append(
        Row(
            "ETTR (first-order waste model)",
            first,
            des,
            mc_est,
            0.79,
            DESIGN6,
            verdict(not des.contains(first), not mc_est.contains(first), close(first, 0.79, 0.005)),
            note=f"known wrong: {100 * (exact - first) / exact:.1f} % below the exact value; "
            "PASS means the simulation rejects it",
        )
    )
    return case


GRID: tuple[tuple[float, float, float, float | None], ...] = (
    (2 * HOUR, 60.0, 600.0, 300.0),
    (2 * HOUR, 60.0, 600.0, 3 * HOUR),
    (0.5 * HOUR, 120.0, 300.0, 900.0),
    (8 * HOUR, 300.0, 1200.0, None),
    (1 * HOUR, 30.0, 1800.0, 2 * HOUR),
)


def case_exact_grid(quick: bool) -> CaseResult:
    """DES and MC against the exact model inside and outside the first-order regime."""
    case = CaseResult(
        "exact-grid",
        "Exact model vs DES and MC over (M, C, R, interval)",
        {"points": str(len(GRID)), "interval None": "Daly"},
    )
    for M, C, R, tau in GRID:
        policy = "daly" if tau is None else "fixed"
        interval = analytic.daly_interval(C, M) if tau is None else tau
        sc = single_job(M, C, R, policy=policy, interval_s=interval, work_s=10 * DAY)
        reps = reps_for(200 if quick else 1000, M, 10 * DAY)
        des = des_ettr(run(sc, reps=reps, seed=5))
        mc_est = mc_ettr(sc, 2000 if quick else 10000)
        exact = analytic.exact_ettr(interval, C, R, M)
        first = analytic.first_order_ettr(interval, C, R, M)
        label = f"ETTR M={M / HOUR:g}h C={C:g}s R={R / 60:g}min τ={interval:.0f}s"
        case.rows.append(
            Row(
                label,
                exact,
                des,
                mc_est,
                status=verdict(des.contains(exact), mc_est.contains(exact)),
                note=f"first-order {first:.4f} ({first - exact:+.4f})",
            )
        )
    return case


def case_llama3_restart(quick: bool) -> CaseResult:
    """ETTR vs restart time at Llama 3 scale (M = 2.78 h with planned maintenance, C = 3 s)."""
    M, C = 54 * 24 * HOUR / 466, 3.0
    tau = analytic.exact_optimal_interval(C, M)
    case = CaseResult(
        "llama3-restart",
        "Llama 3: ETTR vs restart time R (M = 2.78 h, C = 3 s)",
        {
            "M": f"{M / HOUR:.3f} h (466 interruptions in 54 d)",
            "C": "3 s",
            "interval": f"exact optimum {tau:.1f} s",
        },
    )
    case.rows.append(
        Row(
            "optimal interval (s)",
            tau,
            published=245.0,
            source=DESIGN6,
            status=verdict(close(tau, 245.0, 3.0)),
            note=f"Young {analytic.young_interval(C, M):.1f} s",
        )
    )
    for r_min, published in ((5, 0.947), (10, 0.919), (15, 0.892)):
        R = r_min * 60.0
        exact = analytic.exact_ettr(tau, C, R, M)
        sc = single_job(M, C, R, interval_s=tau, work_s=54 * DAY)
        reps = reps_for(300 if quick else 1200, M, 54 * DAY)
        des = des_ettr(run(sc, reps=reps, seed=3))
        mc_est = mc_ettr(sc, 2000 if quick else 10000)
        case.rows.append(
            Row(
                f"ETTR at R = {r_min} min",
                exact,
                des,
                mc_est,
                published,
                DESIGN6,
                verdict(
                    des.contains(exact), mc_est.contains(exact), close(exact, published, 0.0015)
                ),
            )
        )
    lo, hi = 60.0, 3600.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if analytic.exact_ettr(tau, C, mid, M) > 0.9 else (lo, mid)
    case.rows.append(
        Row(
            "R where ETTR = 0.90 (min)",
            lo / 60,
            published=13.5,
            source=DESIGN6,
            status=verdict(close(lo / 60, 13.5, 0.1)),
        )
    )
    return case


def case_kokolis_mttf(quick: bool) -> CaseResult:
    """Job MTTF at 6.50 failures per 1,000 node-days from 16,384 to 131,072 GPUs."""
    rate = 6.5 / 1000 / DAY
    case = CaseResult(
        "kokolis-mttf",
        "Job MTTF scaling at 6.50 / 1,000 node-days (RSC-1)",
        {"rate": "6.50/1000 node-days", "source": "../shared/data/published_rates.csv"},
    )
    for gpus, published in ((16384, 1.8), (131072, 0.23)):
        nodes = gpus // 8
        formula = analytic.job_mtbf(nodes, rate) / HOUR
        days = 4.0 if gpus == 16384 else 1.0
        sc = Scenario.model_validate(
            {
                "name": f"mttf-{gpus}",
                "cluster": {
                    "gpus_per_node": 8,
                    "nodes_per_rack": 2,
                    "racks_per_pod": nodes // 2,
                    "pods": 1,
                },
                "workload": {"jobs": [{"gpus": gpus, "work": "365d"}]},
                "checkpoint": {"policy": "fixed", "interval": "1h", "stall": 0},
                "restart": {"detection": 0, "init": 0, "init_per_gpu": 0, "load": 0},
                "faults": {"node": {"rate": rate, "blast_radius": "job"}},
                "run": {"horizon": days * DAY},
            }
        )
        reps = 8 if quick else 24
        res = run(sc, reps=reps, seed=1)
        failures = sum(int(m.summary["interruptions_total"]) for m in res.replications)
        hours = reps * days * 24
        lo, hi = analytic.poisson_interval(failures, 0.95)
        mtbf = Estimate(hours / failures, hours / hi, hours / max(lo, 1), reps)
        case.rows.append(
            Row(
                f"job MTTF at {gpus:,} GPUs (h)",
                formula,
                mtbf,
                published=published,
                source="Kokolis et al. 2024 (published_rates.csv)",
                status=verdict(close(formula, published, 0.05 * published), mtbf.contains(formula)),
            )
        )
    return case


def case_checkpoint_size(quick: bool) -> CaseResult:
    """Checkpoint arithmetic for Llama 3 405B."""
    size = analytic.checkpoint_bytes(405e9, 14.0)
    seconds = analytic.checkpoint_time(size, 2e12)
    src = "../shared/data/recovery_times.csv"
    return CaseResult(
        "checkpoint-size",
        "Llama 3 405B checkpoint: size and write time",
        {"params": "405e9", "bytes/param": "14", "bandwidth": "2 TB/s"},
        [
            Row(
                "checkpoint size (TB)",
                size / 1e12,
                published=5.67,
                source=src,
                status=verdict(close(size / 1e12, 5.67, 0.005)),
            ),
            Row(
                "write time at 2 TB/s (s)",
                seconds,
                published=2.83,
                source=DESIGN6,
                status=verdict(close(seconds, 2.83, 0.01)),
            ),
        ],
    )

from __future__ import annotations

import math

import numpy as np
import pytest

from clustersim.analysis.mc import SingleJobModel, simulate


def model(**kw: float) -> SingleJobModel:
    base = dict(
        work_s=36000.0,
        interval_s=3600.0,
        stall_s=60.0,
        mtbf_s=math.inf,
        detection_s=60.0,
        requeue_s=0.0,
        init_s=120.0,
        load_s=30.0,
    )
    base.update(kw)
    return SingleJobModel(**base)  # type: ignore[arg-type]


def test_no_failures_costs_start_up_and_stalls_only() -> None:
    r = simulate(model(), reps=4)
    assert np.allclose(r.wall_s, 120 + 36000 + 9 * 60)
    assert np.all(r.interruptions == 0) and np.all(r.lost_s == 0) and np.all(r.finished)


def test_horizon_cuts_the_run_without_losing_work() -> None:
    r = simulate(model(horizon_s=120 + 1800.0), reps=3)
    assert np.allclose(r.wall_s, 1920.0)
    assert np.allclose(r.progress_s, 1800.0)
    assert not r.finished.any()


def test_lost_work_is_bounded_by_the_interval() -> None:
    r = simulate(model(mtbf_s=3600.0, work_s=20 * 3600.0), reps=500, seed=3)
    assert r.interruptions.sum() > 1000
    # Per failure while training, at most one segment (interval) of work is lost.
    assert np.all(r.lost_s <= r.interruptions * 3600.0 + 1e-6)
    assert np.all(r.progress_s[r.finished] == 20 * 3600.0)


def test_same_seed_same_draws() -> None:
    a = simulate(model(mtbf_s=7200.0), reps=50, seed=9)
    b = simulate(model(mtbf_s=7200.0), reps=50, seed=9)
    assert np.array_equal(a.wall_s, b.wall_s)


def test_from_scenario_rejects_multi_job_and_ignore_mode() -> None:
    from clustersim.config import load_scenario

    with pytest.raises(ValueError, match="exactly one job"):
        SingleJobModel.from_scenario(load_scenario("meta-24k-shared"))
    sc = load_scenario("single-job", ["restart.failure_during_recovery=ignore"])
    with pytest.raises(ValueError, match="restart only"):
        SingleJobModel.from_scenario(sc)


def _digest(r: object) -> str:
    import hashlib

    h = hashlib.sha256()
    for name in ("wall_s", "progress_s", "interruptions", "lost_s", "finished"):
        h.update(np.ascontiguousarray(getattr(r, name)).tobytes())
    return h.hexdigest()


RICH = model(
    work_s=20 * 3600.0,
    mtbf_s=3600.0,
    requeue_s=10.0,
    persist_s=20.0,
    detection_mix=((0.3, 30.0), (0.7, 300.0)),  # type: ignore[arg-type]
    maintenance_every_s=50000.0,
    maintenance_s=600.0,
)
UNCHUNKED_DIGEST = "d46af92cc1181858d0e5e1934ee02c67d2e69873ab737c6c5bf099ceb83ab4c1"
"""sha256 of simulate(RICH, 3000, seed=11) from the unchunked code (before issue 17)."""


def test_chunked_equals_unchunked_for_a_small_case() -> None:
    assert _digest(simulate(RICH, 3000, seed=11)) == UNCHUNKED_DIGEST
    assert _digest(simulate(RICH, 3000, seed=11, chunk_reps=3000)) == UNCHUNKED_DIGEST
    # a longer run in chunks extends the shorter: its first chunk is the unchunked run
    long = simulate(RICH, 7000, seed=11, chunk_reps=3000)
    assert len(long.wall_s) == 7000
    short = simulate(RICH, 3000, seed=11)
    assert np.array_equal(long.wall_s[:3000], short.wall_s)
    assert np.array_equal(long.interruptions[:3000], short.interruptions)
    # later chunks are fresh streams, not copies of the first
    assert not np.array_equal(long.wall_s[3000:6000], short.wall_s)


def test_monte_carlo_is_refused_up_front_when_too_big() -> None:
    from clustersim.budget import BudgetExceeded

    with pytest.raises(BudgetExceeded, match="1,000,000,000 replications too big"):
        simulate(RICH, 10**9)
    with pytest.raises(BudgetExceeded):
        simulate(RICH, 10_000, max_events=1000)
    assert len(simulate(RICH, 10_000, max_memory=10_000 * 33 + 600 * 10_000).wall_s) == 10_000

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

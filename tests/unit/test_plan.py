"""Tests for clustersim.plan (knobs, core, search, report and the ``plan`` command).

A small single-job scenario (the ``single-job`` preset with 2 days of work: MTBF 2 h, 60 s
stall, 10 min restart) where the exact formula applies; every DES replication takes
milliseconds.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from wallclock import without_wall

from clustersim import experiment
from clustersim.analysis import analytic
from clustersim.cli import main
from clustersim.config import Scenario, UsageError, load_scenario
from clustersim.plan import PlanOptions, plan
from clustersim.plan.knobs import (
    INTERVAL_RATIO,
    apply_knobs,
    format_value,
    knob_grid,
    parse_knob,
    parse_scales,
    requests_for,
    scale_scenario,
)
from clustersim.plan.knobs import KNOBS as KNOBS_BY_PATH

SMALL = ["single-job", "--set", "workload.jobs.0.work=2d"]
KNOBS = ["checkpoint.interval", "restart.init_time=2m,5m,10m"]


def small() -> Scenario:
    return load_scenario("single-job", ["workload.jobs.0.work=2d"])


def run_plan(
    target: float, knobs: list[str] = KNOBS, budget: int = 24, **kw: Any
) -> dict[str, Any]:
    options = PlanOptions(
        target=target, knobs=tuple(requests_for(knobs)), budget=budget, mc_reps=200, **kw
    )
    return plan(small(), options)


def test_recommended_interval_agrees_with_exact_optimum() -> None:
    result = run_plan(0.8)
    scale = result["scales"][0]
    rec = scale["recommendation"]
    assert rec is not None
    tau = rec["values"]["checkpoint.interval"]
    exact = analytic.exact_optimal_interval(60.0, 7200.0)  # C = 60 s, M = 2 h
    # within the grid's resolution (a factor 2^(1/4)) of the Lambert-W optimum
    assert abs(math.log(tau / exact)) <= math.log(INTERVAL_RATIO) + 1e-9
    assert scale["interval"]["exact_s"] == pytest.approx(exact)


def test_recommendation_meets_target_by_its_ci_lower_bound() -> None:
    """The plan's rule is the DES 95 % CI lower bound; rerunning the config agrees."""
    target = 0.8
    result = run_plan(target)
    rec = result["scales"][0]["recommendation"]
    assert rec["meets"] and rec["des"]["ettr_ci95"][0] >= target
    # an independent DES run of the recommended settings, same seed and replications
    again = experiment.run(
        apply_knobs(small(), rec["values"]), reps=result["reps_per_point"], seed=result["seed"]
    )
    assert again.summary["ettr_ci95"][0] >= target
    assert again.summary["ettr"] == pytest.approx(rec["des"]["ettr"])
    # it is the cheapest of the configurations that met the target
    met = [p for p in result["scales"][0]["des_points"] if p["meets"]]
    assert rec["cost_usd_month"] == min(p["cost_usd_month"] for p in met)


def test_unreachable_target_reports_the_rate_reduction_needed() -> None:
    target = 0.97
    result = run_plan(target, budget=8)
    scale = result["scales"][0]
    assert scale["status"] == "unreachable"
    assert scale["recommendation"] is None
    rate = scale["rate_reduction"]
    m = rate["multiplier_analytic"]
    assert 0 < m < 1
    assert rate["reduction_pct_fast"] == pytest.approx(100 * (1 - rate["multiplier_fast"]))
    # the exact formula at the best settings (init 2 min, optimal interval) and MTBF 2 h / m
    mtbf = 7200.0 / m
    tau = analytic.exact_optimal_interval(60.0, mtbf)
    assert analytic.exact_ettr(tau, 60.0, 120.0, mtbf) == pytest.approx(target, abs=1e-3)
    assert rate["des"], "the DES confirmation of the multiplier ran"


def test_budget_bounds_des_replications(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = experiment.run_replication

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(experiment, "run_replication", counting)
    result = run_plan(0.8, budget=10, reps=3, scales=(512, 1024))
    assert len(calls) == result["des_replications"] <= 10
    # an even share per scale (5: one 3-replication point); the leftover carries to the next
    assert [s["des_replications"] for s in result["scales"]] == [3, 6]
    calls.clear()
    run_plan(0.97, budget=7, reps=2)  # unreachable: best config + rate confirmations
    assert 0 < len(calls) <= 7


def test_same_seed_gives_identical_json(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["plan", *SMALL, "--target", "ettr=0.8", "--budget", "12", "--mc-reps", "100"]
    outs = []
    for _ in range(2):
        assert main([*argv, "--json", "--seed", "3"]) == 0
        outs.append(without_wall(capsys.readouterr().out))  # the wall time may differ
    assert outs[0] == outs[1]
    assert json.loads(outs[0])["seed"] == 3
    assert main([*argv, "--json", "--seed", "4"]) == 0
    assert capsys.readouterr().out != outs[0]


def test_markdown_out_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plan.md"
    code = main(["plan", *SMALL, "--target", "ettr=0.8", "--budget", "8", "--out", str(out)])
    assert code == 0
    text = out.read_text()
    assert text.startswith("## Plan for single-job")
    assert "| interval |" in text and "Sensitivity" in text
    assert "Checkpoint interval" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra",
    [
        ["--target", "ettr=1.5"],
        ["--target", "goodput=0.9"],
        ["--target", "ettr=abc"],
        ["--target", "ettr=0.9", "--knob", "storage.bandwith"],
        ["--target", "ettr=0.9", "--knob", "checkpoint.interval=10m:1m"],
        ["--target", "ettr=0.9", "--knob", "storage.write_bandwidth=fast"],
        ["--target", "ettr=0.9", "--knob", "restart.init_time", "--knob", "restart.init_time"],
        ["--target", "ettr=0.9", "--price", "cluster.spare_nodes=-1"],
        ["--target", "ettr=0.9", "--scale", "16q"],
        ["--target", "ettr=0.9", "--reps", "1"],
    ],
)
def test_bad_target_or_knob_is_a_usage_error(
    extra: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plan.md"
    code = main(["plan", *SMALL, *extra, "--budget", "4", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_knob_ranges_and_lists() -> None:
    req = parse_knob("restart.init_time=30s:30m")
    grid = knob_grid(req, optimum_s=100.0, n_nodes=100, job_nodes=64)
    assert grid[0] == pytest.approx(30.0) and grid[-1] == pytest.approx(1800.0)
    assert knob_grid(
        parse_knob("storage.write_bandwidth=1TB/s,4TB/s"), optimum_s=1, n_nodes=1, job_nodes=1
    ) == (1e12, 4e12)
    spares = knob_grid(parse_knob("cluster.spare_nodes"), optimum_s=1, n_nodes=3072, job_nodes=2048)
    assert spares[0] == 0 and spares[-1] == math.floor(0.05 * 3072)
    interval = knob_grid(parse_knob("checkpoint.interval"), optimum_s=600, n_nodes=1, job_nodes=1)
    assert len(interval) == 17 and interval[8] == pytest.approx(600)
    assert parse_scales("16k, 32k,64k,131k") == [16384, 32768, 65536, 131072]
    assert parse_scales("24k,98k,12345") == [24576, 98304, 12345]
    with pytest.raises(UsageError, match="unknown knob"):
        parse_knob("cluster.spares")


def test_scale_scenario_matches_the_scale_history_presets() -> None:
    base = load_scenario("scale-history-16k")
    for gpus, preset in ((2048, "scale-history-2k"), (4096, "scale-history-4k")):
        scaled = scale_scenario(base, gpus)
        assert scaled.cluster == load_scenario(preset).cluster
        assert scaled.workload.jobs[0].gpus == gpus
        assert scaled.faults == base.faults


def test_a_point_short_of_confidence_gets_more_replications() -> None:
    """Mean above the target, CI lower bound below: the next replication indices are added."""
    target = 0.85
    result = run_plan(target, knobs=["restart.init_time=2m,10m"], budget=40)
    (point,) = result["scales"][0]["des_points"]
    des = point["des"]
    assert result["reps_per_point"] < des["replications"] <= 4 * result["reps_per_point"]
    assert len(des["ettr_per_replication"]) == des["replications"]
    assert point["meets"] and des["ettr_ci95"][0] >= target
    # the first replications are the ones a 4-replication run of the same point draws
    first = experiment.run(apply_knobs(small(), point["values"]), reps=4, seed=0)
    assert des["ettr_per_replication"][:4] == [m.summary["ettr"] for m in first.replications]


def test_sensitivity_moves_are_in_their_named_unit_and_short_times_in_seconds() -> None:
    """``from``/``to`` are base units and ``unit`` says which (``plan --json`` read 82 s as
    '82 min' before); the tables show a 5 s detection as '5 s', not '0.0833 min'."""
    result = run_plan(0.8, [*KNOBS, "restart.detection=5s,30s"])
    rows = {r["knob"]: r for r in result["scales"][0]["sensitivity"]}
    assert rows, result["scales"][0]
    units = {"checkpoint.interval": "s", "restart.init_time": "s", "restart.detection": "s"}
    for knob, row in rows.items():
        assert row["unit"] == units[knob] and row["display_unit"] == "min", row
        assert min(row["from"], row["to"]) < 3600  # seconds, not minutes, for these knobs
    detection = KNOBS_BY_PATH["restart.detection"]
    assert format_value(detection, 5.0) == "5 s"
    assert format_value(detection, 90.0) == "1.5 min"
    assert format_value(KNOBS_BY_PATH["storage.write_bandwidth"], 2e12) == "2 TB/s"

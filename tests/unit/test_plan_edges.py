"""Edge cases of ``clustersim plan``: knob and price parsing, usage errors, report sections.

The same tiny scenario as ``test_plan.py`` (``single-job`` with 2 days of work), small
budgets and few Monte Carlo replications, so every plan takes well under a second.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from clustersim.cli import main
from clustersim.config import UsageError, load_scenario
from clustersim.plan import PlanOptions, plan
from clustersim.plan.knobs import knob_grid, parse_knob, parse_price, requests_for, scale_scenario
from clustersim.plan.report import to_markdown

SMALL = ["single-job", "--set", "workload.jobs.0.work=2d"]
KNOBS = ["checkpoint.interval", "restart.init_time=2m,5m,10m"]


def run_plan(target: float, budget: int, **kw: Any) -> dict[str, Any]:
    options = PlanOptions(
        target=target, knobs=tuple(requests_for(KNOBS)), budget=budget, mc_reps=100, **kw
    )
    return plan(load_scenario("single-job", ["workload.jobs.0.work=2d"]), options)


# --- knobs and prices ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cluster.spare_nodes=1.5,2", "expected a whole number of nodes, got '1.5'"),
        ("cluster.spare_nodes=-1,2", "expected a whole number of nodes, got '-1'"),
        ("restart.init_time=0s,1m", "values must be > 0"),
        ("restart.init_time=5m:1m", "expected lo < hi, both > 0"),
    ],
)
def test_bad_knob_values(text: str, expected: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_knob(text)
    assert str(info.value).startswith(f"--knob {text!r}: ") and expected in str(info.value)


def test_spare_nodes_may_be_zero() -> None:
    assert parse_knob("cluster.spare_nodes=0,3").values == (0.0, 3.0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cluster.spares=5", "expected KNOB=USD with a knob of: checkpoint.interval"),
        ("cluster.spare_nodes", "expected KNOB=USD"),
        ("cluster.spare_nodes=cheap", "'cheap' is not a number"),
        ("cluster.spare_nodes=inf", "the price must be a finite number >= 0"),
    ],
)
def test_bad_prices(text: str, expected: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_price(text)
    assert str(info.value).startswith(f"--price {text!r}: ") and expected in str(info.value)


def test_price_parses() -> None:
    assert parse_price("restart.init_time=250") == ("restart.init_time", 250.0)


def test_interval_range_is_geometric_with_the_default_point_count() -> None:
    grid = knob_grid(parse_knob("checkpoint.interval=1m:16m"), optimum_s=1, n_nodes=1, job_nodes=1)
    assert len(grid) == 17
    assert grid[0] == pytest.approx(60.0) and grid[-1] == pytest.approx(960.0)
    assert grid[8] == pytest.approx(240.0)  # the geometric middle of 1 and 16 minutes
    ratios = {round(b / a, 9) for a, b in itertools.pairwise(grid)}
    assert ratios == {round(16 ** (1 / 16), 9)}


def test_too_many_spares_leave_no_room_for_the_job() -> None:
    req = parse_knob("cluster.spare_nodes=0,10")
    with pytest.raises(UsageError) as info:
        knob_grid(req, optimum_s=1, n_nodes=72, job_nodes=64)
    assert str(info.value) == (
        "--knob cluster.spare_nodes: at most 7 spares leave room for the job (64 of 72 nodes)"
    )


def test_scale_needs_exactly_one_job() -> None:
    two = load_scenario("single-job", ["workload.jobs.0.count=2"])
    with pytest.raises(UsageError, match=r"--scale needs a scenario with exactly one job"):
        scale_scenario(two, 1024)


# --- the command's usage errors -----------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            ["--knob", "restart.init_time", "--price", "cluster.spare_nodes=100"],
            "--price 'cluster.spare_nodes': not one of the --knob knobs",
        ),
        (["--mc-reps", "1"], "--mc-reps must be at least 2"),
        (["--out", "{tmp}/missing/plan.md"], "directory {tmp}/missing does not exist"),
        (["--out", "{tmp}"], "cannot write {tmp}: it is a directory"),
    ],
)
def test_plan_usage_errors(
    extra: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in extra]
    code = main(["plan", *SMALL, "--target", "ettr=0.9", "--budget", "4", *argv])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and expected.replace("{tmp}", str(tmp_path)) in err
    assert list(tmp_path.iterdir()) == []


# --- report sections ----------------------------------------------------------------------


def test_report_across_scales_has_one_row_per_scale() -> None:
    result = run_plan(0.8, budget=10, reps=3, scales=(512, 1024))
    text = to_markdown(result)
    assert "Across scales" in text
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("| GPUs |"))
    rows = [line for line in lines[head + 2 :] if line.startswith("|")][:2]
    assert [row.split("|")[1].strip() for row in rows] == ["512", "1,024"]
    for row, scale in zip(rows, result["scales"], strict=True):
        cells = [c.strip() for c in row.split("|")[1:-1]]
        assert cells[1] == scale["status"]
        exact = scale["interval"]["exact_s"]
        assert cells[4] == f"{exact / 60:.2f} min ({exact:.0f} s)"


def test_report_of_an_unreachable_target_shows_the_rate_reduction() -> None:
    result = run_plan(0.97, budget=8)
    scale = result["scales"][0]
    assert scale["status"] == "unreachable" and scale["formula_pick"] is None
    text = to_markdown(result)
    assert "Across scales" not in text  # one scale: no cross-scale table
    rate = scale["rate_reduction"]
    assert "Failure-rate reduction needed" in text
    assert f"x{rate['multiplier_analytic']:.3f} (exact formula)" in text
    best = scale["best_fast"]["analytic_ettr"]
    assert (
        f"The exact formula says no setting in the knobs' ranges reaches 0.97; its best is "
        f"{best:.4f}." in text
    )
    for point in rate["des"]:
        assert f"| x{point['multiplier']:.3f} |" in text


# --- the fast path's maintenance derating ------------------------------------------------


def test_maintenance_derates_the_exact_formula_and_never_goes_negative() -> None:
    import dataclasses
    import math

    from clustersim.plan.core import (
        analytic_ettr,
        fast_model,
        first_order_ettr,
        maintenance_factor,
    )

    model, refused = fast_model(load_scenario("single-job", ["workload.jobs.0.work=2d"]))
    assert refused is None and maintenance_factor(model) == 1.0  # no maintenance
    daily = dataclasses.replace(model, maintenance_every_s=86400.0, maintenance_s=3600.0)
    # a drain costs the stall, the window and a restart's init (60 + 3600 + 600 s) per day
    assert maintenance_factor(daily) == pytest.approx(1 - 4260 / 86400)
    assert analytic_ettr(daily, 1800.0) == pytest.approx(
        analytic_ettr(model, 1800.0) * (1 - 4260 / 86400)
    )
    assert maintenance_factor(dataclasses.replace(daily, maintenance_every_s=3000.0)) == 0.0
    assert analytic_ettr(model, math.inf) == 0.0 and first_order_ettr(model, math.inf) == 0.0


@pytest.mark.parametrize(
    ("override", "why"),
    [
        (
            "workload.jobs.0.gpus=4096",
            "needs 512 nodes (4096 GPUs) but the cluster runs jobs on 144",
        ),
        ("cluster.spare_nodes=20", "runs jobs on 124 nodes (20 of its 144 are hot spares)"),
        ("workload.jobs.0.submit=400d", "not before the horizon"),
    ],
)
def test_a_job_that_can_never_start_is_one_line_exit_65(
    override: str, why: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 17 item 6: no ZeroDivisionError (exit 70), no ``DES –`` without a reason."""
    out = tmp_path / "plan.md"
    argv = ["plan", *SMALL, "--set", override, "--target", "ettr=0.5", "--reps", "2"]
    assert main([*argv, "--knob", "checkpoint.interval", "--out", str(out)]) == 65
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and "job 'job' can never start" in err[0] and why in err[0]
    assert captured.out == "" and not out.exists()


def test_plan_and_sweep_tables_fit_the_terminal_width(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Issue 17 item 15: 200-column plan tables; a sweep table at 80 columns lost its ± values."""
    monkeypatch.setenv("COLUMNS", "80")
    argv = ["plan", *SMALL, "--target", "ettr=0.8", "--reps", "2", "--budget", "4"]
    assert main([*argv, "--knob", "checkpoint.interval", "--knob", "restart.init_time=2m,5m"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines and max(map(len, lines)) <= 80 and any("DES ETTR" in line for line in lines)
    grid = ["--grid", "checkpoint.interval=5m,10m", "--set", "checkpoint.policy=fixed"]
    out = ["--reps", "3", "--out", str(tmp_path / "r.jsonl")]
    assert main(["sweep", *SMALL, *grid, *out]) == 0
    text = capsys.readouterr().out
    assert max(map(len, text.splitlines())) <= 80
    assert text.count("±") + text.count("−") >= 6  # every interval is shown, none cut off
    assert "…" not in text


def test_huge_mc_reps_are_refused_up_front(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["plan", "single-job", "--target", "ettr=0.9", "--mc-reps", "1000000000"])
    err = capsys.readouterr().err
    assert code == 65 and err.count("\n") == 1 and "Monte Carlo of 1,000,000,000" in err

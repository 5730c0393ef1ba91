"""Tests for clustersim.experiment: the replication summary and its confidence intervals."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from clustersim.config import load_scenario
from clustersim.experiment import NON_NEGATIVE, UNIT_RANGE, ci95, run
from clustersim.output.terminal import render_result
from clustersim.plan.core import _meets, summarise


def test_t_interval_without_a_range_is_unchanged() -> None:
    low, high = ci95([1.0, 2.0, 3.0]) or [0.0, 0.0]
    assert (low + high) / 2 == pytest.approx(2.0)
    assert high - 2.0 == pytest.approx(4.302653 * 1.0 / 3**0.5, rel=1e-3)
    assert ci95([1.0]) is None and ci95([1.0, None, float("nan")]) is None


@pytest.mark.parametrize(
    "values", [[0.9622, 1.0], [0.9811, 0.9811 + 1e-4, 0.9], [0.01, 0.0, 0.2], [0.5, 0.6]]
)
def test_ratio_intervals_stay_inside_zero_one(values: list[float]) -> None:
    """Issue 17 item 8: ``ETTR 0.9811 [0.8476, 1.1145]`` was a Student-t interval above 1."""
    low, high = ci95(values, UNIT_RANGE) or [0.0, 0.0]
    mean = sum(values) / len(values)
    assert 0.0 < low < mean < high < 1.0


def test_ratio_interval_is_close_to_t_well_inside_and_a_point_at_a_bound() -> None:
    values = [0.50, 0.52, 0.48, 0.51, 0.49, 0.50, 0.505, 0.495]
    t_low, t_high = ci95(values) or [0.0, 0.0]
    low, high = ci95(values, UNIT_RANGE) or [0.0, 0.0]
    assert low == pytest.approx(t_low, abs=1e-3) and high == pytest.approx(t_high, abs=1e-3)
    assert ci95([1.0, 1.0, 1.0], UNIT_RANGE) == [1.0, 1.0]


def test_count_intervals_are_clipped_at_zero() -> None:
    """``interruptions 0.5 [-5.9, 6.9]``: a count's interval never goes below 0."""
    low, high = ci95([0, 1], NON_NEGATIVE) or [-1.0, 0.0]
    assert low == 0.0 and high == pytest.approx(0.5 + 12.7062 * 0.5, rel=1e-4)


def test_replicated_run_intervals_are_feasible_and_few_replications_are_flagged() -> None:
    sc = load_scenario("single-job", ["workload.jobs.0.work=1d"])
    result = run(sc, reps=2, seed=0)
    s = result.summary
    assert s["ettr_ci95"][0] > 0.0 and s["ettr_ci95"][1] < 1.0
    assert s["goodput_ci95"][1] < 1.0 and s["interruptions_total_ci95"][0] >= 0.0
    console = Console(file=io.StringIO(), width=200)
    console.print(render_result(result))
    text = " ".join(console.file.getvalue().split())  # type: ignore[attr-defined]
    assert "only 2 replications: rough intervals" in text


def test_plan_meets_rule_uses_a_feasible_lower_bound() -> None:
    """Two replications at 0.99 and 0.80: the t interval's bounds (−0.21 .. 2.0) are impossible."""
    records = [
        {"ettr": e, "days": 1.0, "interruptions": 0.0, "gpu_hours_wasted": 0.0}
        | {"energy_wasted_mwh": 0.0, "cost_wasted_usd": 0.0, "wait_gpu_h": 0.0}
        for e in (0.99, 0.80)
    ]
    des = summarise(records)
    low, high = des["ettr_ci95"]
    assert 0.0 < low < high < 1.0
    assert not _meets({"des": des}, 0.5)

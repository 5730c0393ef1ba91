"""The numbers of docs/fleet.md: preset tables, the worked question, stated hazards and costs.

The per-period tables are rendered here from the presets' golden runs (``run --seed 1``) and
from ``bench/results/fleet-question.json`` (the worked question, written by
``bench/fleet_question.py``) and must appear verbatim in the page, so editing a preset, the
bench script or the page alone fails here. The slow test re-runs the worked question and
checks the committed JSON file is what the code computes today.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from clustersim.config import load_scenario
from clustersim.faults.hazard import Bathtub

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "fleet.md"
GOLDEN = ROOT / "tests" / "regression" / "golden"
QUESTION = ROOT / "bench" / "results" / "fleet-question.json"
DAY_S = 86400.0
YEAR_S = 365 * DAY_S


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _golden_periods(preset: str) -> list[dict[str, Any]]:
    periods: list[dict[str, Any]] = json.loads(
        (GOLDEN / f"{preset}.json").read_text(encoding="utf-8")
    )["periods"]
    return periods


def _f(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def growth_table(periods: list[dict[str, Any]]) -> str:
    """A monthly table of a growing fleet: size, rates by cohort, ETTR, goodput, energy."""
    cohorts = list(periods[0]["by_cohort"])
    head = ["month", "day", "GPUs in service", "all", *cohorts]
    head += ["in repair", "goodput", "ETTR", "MWh"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, p in enumerate(periods, start=1):
        cells = [str(i), f"{p['start_s'] / DAY_S:.0f}", f"{p['gpus_in_service']:,.0f}"]
        cells.append(_f(p["failures_per_1000_node_days"], 2))
        cells += [_f(p["by_cohort"][c], 2) if p["by_cohort"][c] else "-" for c in cohorts]
        cells += [_f(p["gpus_in_repair"], 0), _f(p["goodput"], 3), _f(p["ettr"], 3)]
        cells.append(_f(p["energy_mwh"], 0))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def question_table(data: dict[str, Any]) -> str:
    """Per quarter: the fleet's rate and the job's ETTR without and with refresh."""
    head = ["quarter", "fleet age (y)", "rate, none", "ETTR, none", "rate, refresh"]
    head += ["ETTR, refresh", "nodes replaced"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    rows = zip(data["quarters"]["none"], data["quarters"]["refresh"], strict=True)
    for i, (a, b) in enumerate(rows, start=1):
        cells = [str(i), f"{a['start_s'] / YEAR_S:.2f}"]
        cells += [_f(a["failures_per_1000_node_days"], 2), _f(a["ettr"], 4)]
        cells += [_f(b["failures_per_1000_node_days"], 2), _f(b["ettr"], 4)]
        cells.append(f"{b['replaced']:,}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def test_the_colossus_growth_table_is_its_golden_run() -> None:
    assert growth_table(_golden_periods("colossus-growth")) in _doc()


def test_the_100k_baseline_is_the_golden_run_of_the_preset() -> None:
    data = json.loads(QUESTION.read_text(encoding="utf-8"))
    golden = _golden_periods("fleet-wearout-100k")
    keep = list(data["quarters"]["none"][0])
    assert [{k: p.get(k) for k in keep} for p in golden] == data["quarters"]["none"]


def test_the_worked_question_table_and_answer() -> None:
    data = json.loads(QUESTION.read_text(encoding="utf-8"))
    doc = _doc()
    assert question_table(data) in doc
    below = data["below_at_years"]
    assert (
        f"falls below 0.85 in the quarter that starts at fleet age {below['none']:.2f} years" in doc
    )
    if below["refresh"] is None:
        assert "with refresh it stays above 0.85 for the three years" in doc
    else:
        assert f"with refresh, at {below['refresh']:.2f} years" in doc
    totals = data["totals"]
    gain = totals["refresh"]["useful_gpu_h"] - totals["none"]["useful_gpu_h"]
    assert f"{gain / 1e6:+,.1f} million useful GPU-hours" in doc
    assert f"ETTR over the three years {totals['none']['ettr']:.4f}" in doc
    assert f"against {totals['refresh']['ettr']:.4f}" in doc
    # The first refresh quarter costs, every later one pays off; counts as stated.
    none, ref = data["quarters"]["none"], data["quarters"]["refresh"]
    first = next(i for i, r in enumerate(ref) if r["replaced"])
    assert ref[first]["ettr"] < none[first]["ettr"]
    assert all(ref[i]["ettr"] > none[i]["ettr"] for i in range(first + 1, len(ref)))
    for a, b in zip(none[:first], ref[:first], strict=True):  # common random numbers
        assert (a["ettr"], a["interruptions"]) == (b["ettr"], b["interruptions"])
        assert a["failures_per_1000_node_days"] == pytest.approx(b["failures_per_1000_node_days"])
    replaced = sum(r["replaced"] for r in ref)
    assert f"replaces\n{replaced:,} of the 12,672 nodes" in doc
    fewer = totals["none"]["interruptions"] - totals["refresh"]["interruptions"]
    assert f"{fewer:,} fewer interruptions" in doc


def test_the_stated_wear_out_onset() -> None:
    """fleet-wearout-100k: the wear-out hazard equals the GPU floor at 2.5 years (within 1 %)."""
    gpu = load_scenario("fleet-wearout-100k").faults["gpu"]
    assert gpu.hazard is not None and gpu.hazard.wearout is not None and gpu.rate is not None
    term = Bathtub(0.0, [(gpu.hazard.wearout.shape, gpu.hazard.wearout.scale)])
    assert term.hazard(2.5 * YEAR_S) / gpu.rate == pytest.approx(1.0, abs=0.01)
    assert "2.92 years" in _doc() and "2.92y" in str(
        (ROOT / "src/clustersim/config/presets/fleet-wearout-100k.yaml").read_text()
    )


@pytest.mark.slow
def test_the_worked_question_file_is_what_the_code_computes() -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import fleet_question  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    data = fleet_question.answer(1)
    for key in ("none", "refresh"):
        data["totals"][key].pop("wall_s")
    assert data == json.loads(QUESTION.read_text(encoding="utf-8"))


def test_the_colossus_growth_claims() -> None:
    """Expansions' first month above the first cohort's rate; energy follows the fleet's size."""
    periods = _golden_periods("colossus-growth")
    for month, cohort in ((2, "expansion-1"), (4, "expansion-2")):
        rates = periods[month]["by_cohort"]
        assert rates[cohort] > rates["colossus-1"]
    per_gpu = {round(p["energy_mwh"] / p["gpus_in_service"], 9) for p in periods}
    assert len(per_gpu) == 1
    assert periods[4]["ettr"] < 0.5 < periods[3]["ettr"]
    sc = load_scenario("colossus-growth")
    restart_s = sc.restart.detection + sc.restart.init + sc.restart.init_per_gpu * 131_072
    assert round(restart_s / 60) == 22 and "about 22 minutes" in _doc()
    gpn = sc.cluster.gpus_per_node
    job_rate = sum(f.node_rate(gpn) for f in sc.faults.values() if f.kills_jobs)
    mtbf_s = 1 / (job_rate * 131_072 / gpn)
    assert round(mtbf_s / 60) == 23 and "about 23 minutes" in _doc()


@pytest.mark.slow
def test_fleet_growth_2024_grows_at_its_first_expansion() -> None:
    """The first 100 days of fleet-growth-2024, in-service GPUs to the first expansion."""
    from clustersim.experiment import run

    result = run(load_scenario("fleet-growth-2024", ["run.horizon=100d"]), reps=1, seed=1)
    rows = result.replications[0].periods
    in_service = [round(r["gpus_in_service"]) for r in rows]
    assert in_service[:2] == [49_152, 49_152]  # the two 24,576-GPU clusters
    day = (91 - 2 * 30.4166666667) / 30.4166666667  # 2024-04-01 is day 91
    assert in_service[2] == round(49_152 + (1 - day) * 24 * 3_072)
    assert rows[3]["gpus_in_service"] == 49_152 + 24 * 3_072
    assert [r["installed"] for r in rows] == [0, 0, 24 * 384, 0]


def test_the_config_example_loads() -> None:
    """docs/fleet.md's ``fleet:`` example is a valid section (on a cluster of its size)."""
    from clustersim.config import load_scenario_text

    block = _doc().split("```yaml\n", 1)[1].split("```", 1)[0]
    cluster = "cluster: {gpus_per_node: 8, nodes_per_rack: 2, racks_per_pod: 192, pods: 40}\n"
    sc = load_scenario_text(cluster + "workload: {jobs: [{gpus: 8, work: 1h}]}\n" + block, "x.yaml")
    assert sc.fleet is not None and sc.fleet.refresh is not None and sc.fleet_changes_size


def test_the_fleet_growth_table_and_claims() -> None:
    periods = _golden_periods("fleet-growth-2024")
    assert growth_table(periods) in _doc()
    for month, cohort in ((2, "2024-q2"), (5, "2024-q3"), (9, "2024-q4"), (11, "2024-dec")):
        rates = periods[month]["by_cohort"]
        assert rates[cohort] > max(rates["rsc-a"], rates["rsc-b"]), (month, cohort)
    assert all(p["ettr"] < 0.55 for p in periods[9:]) and periods[8]["ettr"] > 0.9
    sc = load_scenario("fleet-growth-2024")
    restart_s = sc.restart.detection + sc.restart.init + sc.restart.init_per_gpu * 98_304
    assert round(restart_s / 60) == 17 and "about 17 minutes" in _doc()
    assert periods[-1]["goodput"] < periods[0]["goodput"] / 3

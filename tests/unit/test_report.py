"""The terminal report: the per-cause table's totals equal the summary's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rich.console import Console

from clustersim.config import load_scenario
from clustersim.experiment import run
from clustersim.output.terminal import render_result


@pytest.mark.parametrize("reps", [1, 3])
def test_cause_table_totals_equal_the_summary(reps: int) -> None:
    # The flat energy model (cost.mwh_per_gpu_year): the preset's power profile removed.
    scenario = load_scenario("llama3-405b", ["run.horizon=10d", "power=null"])
    result = run(scenario, reps=reps, seed=3)
    console = Console(record=True, width=160)
    console.print(render_result(result))
    text = console.export_text()
    table = text[text.index("Interruptions by cause") :]
    total = next(line for line in table.splitlines() if line.strip().startswith("total"))
    numbers = [float(x.replace(",", "")) for x in re.findall(r"[\d,]+\.?\d*", total)]
    hits, _pct, lost_gpu_h, mwh, usd = numbers
    s = result.summary
    assert hits == pytest.approx(s["interruptions_total"], abs=0.05)
    gs = result.gpu_seconds
    assert lost_gpu_h == pytest.approx((gs["recovery"] + gs["lost"]) / 3600, abs=0.5)
    per_gpu_s = scenario.cost.mwh_per_gpu_year / (365 * 86400)
    assert mwh == pytest.approx((gs["recovery"] + gs["lost"]) * per_gpu_s, abs=0.05)
    assert usd == pytest.approx(lost_gpu_h * scenario.cost.usd_per_gpu_hour, rel=1e-3)
    # Every cause of the scenario that interrupted the job has a row with its category.
    assert "automated-maintenance" in table and "Planned" in table
    head = text[: text.index("GPU-hours")]
    assert "unexpected" in head and "planned" in head


def test_cause_table_fits_80_columns() -> None:
    result = run(load_scenario("llama3-405b", ["run.horizon=5d"]), reps=1, seed=0)
    console = Console(record=True, width=80)
    console.print(render_result(result))
    assert all(len(line) <= 80 for line in console.export_text().splitlines())


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("summary", "ettr"), "abc", "summary.ettr"),
        (("timeseries", "t_s"), [0.0, "x"], "timeseries.t_s"),
        (("causes", "node", "interruptions"), "x", "causes.node.interruptions"),
        (("jobs",), [{"gpus": "x"}], "jobs.0.gpus"),
        (("seed",), "1", "seed"),
        (("causes",), [], "causes"),
    ],
)
def test_wrong_typed_field_is_bad_data_naming_the_field(
    path: tuple[str, ...],
    value: object,
    field: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from clustersim.cli import main

    run_json = tmp_path / "run.json"
    assert (
        main(["run", "single-job", "--set", "workload.jobs.0.work=2d", "--out", str(run_json)]) == 0
    )
    data = json.loads(run_json.read_text())
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    capsys.readouterr()
    out = tmp_path / "r.html"
    assert main(["report", str(bad), "--out", str(out)]) == 65
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{bad}:1:1: {field}: expected" in err, err
    assert not out.exists()

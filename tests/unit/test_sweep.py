"""Unit tests of clustersim.sweep and clustersim.sweep.results: grids, CRN, resume, file formats."""

from __future__ import annotations

import concurrent.futures as cf
import json
from pathlib import Path
from typing import Any

import pytest

from clustersim.cli import main
from clustersim.config import UsageError, load_scenario
from clustersim.experiment import run
from clustersim.sweep import (
    SerialExecutor,
    executor,
    grid_points,
    knob_value,
    paired,
    parse_grid,
    point_scenario,
    run_points,
    split_values,
    sweep,
)
from clustersim.sweep.results import read_results

TINY = ("run.horizon=2d", "workload.jobs.0.work=1d", "checkpoint.policy=fixed")
GRID = {"checkpoint.interval": ["5m", "20m", "1h"]}


@pytest.fixture(scope="module")
def tiny() -> Any:
    return load_scenario("single-job", TINY)


class _NoRun(cf.Executor):
    """Fails the test if anything is submitted (a resumed, finished sweep runs nothing)."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        raise AssertionError("a finished point was run again")


def test_split_values_keeps_flow_values_whole() -> None:
    assert split_values("5m, 10m,1h") == ["5m", "10m", "1h"]
    assert split_values("{pods: 1, spare_nodes: 2},[1, 2],'a,b'") == [
        "{pods: 1, spare_nodes: 2}",
        "[1, 2]",
        "'a,b'",
    ]


def test_parse_grid_and_points() -> None:
    grid = parse_grid(["checkpoint.interval=5m,10m", "cluster.spare_nodes=0,8"])
    assert grid_points(grid) == [
        {"checkpoint.interval": "5m", "cluster.spare_nodes": "0"},
        {"checkpoint.interval": "5m", "cluster.spare_nodes": "8"},
        {"checkpoint.interval": "10m", "cluster.spare_nodes": "0"},
        {"checkpoint.interval": "10m", "cluster.spare_nodes": "8"},
    ]
    for bad in (["checkpoint.interval"], ["a=1", "a=2"], ["a=1,,2"], ["a=1,1"]):
        with pytest.raises(UsageError):
            parse_grid(bad)


def test_point_values_are_parsed_through_the_loader(tiny: Any) -> None:
    sc = point_scenario(tiny, {"checkpoint.interval": "5m", "storage.write_bandwidth": "1TB/s"})
    assert knob_value(sc, "checkpoint.interval") == 300.0
    assert knob_value(sc, "storage.write_bandwidth") == 1e12
    assert knob_value(sc, "workload.jobs.0.gpus") == 1024
    with pytest.raises(UsageError, match=r"did you mean 'checkpoint\.interval'"):
        point_scenario(tiny, {"checkpoint.intervl": "5m"})
    with pytest.raises(UsageError, match="--seed"):
        point_scenario(tiny, {"run.seed": "3"})


def test_point_equals_experiment_run_with_the_same_seed(tiny: Any) -> None:
    """Common random numbers: a sweep point is exactly `clustersim run --set ...`."""
    records = sweep(tiny, GRID, 3, 11, SerialExecutor())
    for record, interval in zip(records, GRID["checkpoint.interval"], strict=True):
        alone = run(
            load_scenario("single-job", [*TINY, f"checkpoint.interval={interval}"]), reps=3, seed=11
        )
        assert record["summary"] == alone.summary
        assert record["values"] == {"checkpoint.interval": alone.scenario.checkpoint.interval}


def test_batching_and_process_pool_give_the_same_records(tiny: Any) -> None:
    serial = sweep(tiny, GRID, 4, 5, SerialExecutor())
    with cf.ProcessPoolExecutor(max_workers=2) as pool:
        pooled = list(run_points(tiny, grid_points(GRID), 4, 5, pool, batch=1))
    assert sorted((r for _, r in pooled), key=lambda r: r["index"]) == serial
    with executor(workers=1) as ex:
        assert isinstance(ex, SerialExecutor)


def test_paired_differences_use_the_same_replications(tiny: Any) -> None:
    records = sweep(tiny, GRID, 4, 5, SerialExecutor())
    diffs = paired(records, {"checkpoint.interval": "20m"})
    assert diffs[1]["ettr"]["mean"] == 0.0 and diffs[1]["vs"] == records[1]["point"]
    per = [
        (a["ettr"] - b["ettr"])
        for a, b in zip(records[0]["per_replication"], records[1]["per_replication"], strict=True)
    ]
    assert diffs[0]["ettr"]["mean"] == pytest.approx(sum(per) / 4)
    lo, hi = diffs[0]["ettr"]["ci95"]
    assert lo < diffs[0]["ettr"]["mean"] < hi
    assert paired(records)[0]["vs"] == records[0]["point"]  # default: the first point


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_resume_skips_finished_points_and_round_trips(
    tiny: Any, tmp_path: Path, suffix: str
) -> None:
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    out = tmp_path / f"r{suffix}"
    first = sweep(tiny, GRID, 3, 2, SerialExecutor(), out=out)
    head, records = read_results(out)
    assert records == first
    assert head is not None and head["grid"] == GRID and head["seed"] == 2 and head["reps"] == 3
    before = out.read_bytes()
    assert sweep(tiny, GRID, 3, 2, _NoRun(), out=out) == first
    assert out.read_bytes() == before


def test_a_torn_or_missing_point_is_rerun_and_the_file_ends_identical(
    tiny: Any, tmp_path: Path
) -> None:
    reference = tmp_path / "ref.jsonl"
    sweep(tiny, GRID, 3, 2, SerialExecutor(), out=reference)
    lines = reference.read_bytes().splitlines(keepends=True)
    out = tmp_path / "r.jsonl"
    # points finished out of order (2 then 0), then a kill in the middle of writing point 1
    out.write_bytes(lines[0] + lines[3] + lines[1] + lines[2][:40])
    sweep(tiny, GRID, 3, 2, SerialExecutor(), out=out)
    assert out.read_bytes() == reference.read_bytes()


def test_another_sweep_is_refused_on_the_same_file(tiny: Any, tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    sweep(tiny, {"checkpoint.interval": ["5m"]}, 2, 2, SerialExecutor(), out=out)
    with pytest.raises(UsageError, match="seed was 2, now 3"):
        sweep(tiny, {"checkpoint.interval": ["5m"]}, 2, 3, SerialExecutor(), out=out)
    other = point_scenario(tiny, {"restart.init": "5m"})
    with pytest.raises(UsageError, match=r"scenario\.restart\.init was '10m', now '5m'"):
        sweep(other, {"checkpoint.interval": ["5m"]}, 2, 2, SerialExecutor(), out=out)
    (tmp_path / "x.jsonl").write_text('{"not": "a sweep"}\n')
    with pytest.raises(Exception, match="not a clustersim sweep results file"):
        sweep(
            tiny, {"checkpoint.interval": ["5m"]}, 2, 2, SerialExecutor(), out=tmp_path / "x.jsonl"
        )


def test_cli_bad_grid_key_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "r.jsonl"
    code = main(["sweep", "single-job", "--grid", "checkpoint.intervl=5m", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.count("\n") == 1 and "did you mean 'checkpoint.interval'" in captured.err
    assert not out.exists()
    assert main(["sweep", "single-job", "--grid", "checkpoint.interval=5m", "--out", "r.txt"]) == 2
    assert "use .jsonl, .csv or .parquet" in capsys.readouterr().err


def test_cli_sweep_json_and_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    args = ["sweep", "single-job", *[a for s in TINY for a in ("--set", s)], "--workers", "1"]
    args += ["--grid", "checkpoint.interval=5m,20m", "--reps", "2", "--seed", "4"]
    assert main([*args, "--json", "--out", str(tmp_path / "r.csv")]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [r["point"] for r in payload["records"]] == [
        {"checkpoint.interval": "5m"},
        {"checkpoint.interval": "20m"},
    ]
    assert payload["paired"][1]["ettr"]["pairs"] == 2
    assert main([*args, "--baseline", "checkpoint.interval=20m"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert "baseline" in rows["20m"] and "baseline" not in rows["5m"]
    assert main([*args, "--baseline", "checkpoint.interval=7m"]) == 2


def test_plot_and_report_commands(
    tiny: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    from clustersim.sweep.plot import optimum_intervals

    out = tmp_path / "r.jsonl"
    grid = {"checkpoint.interval": ["5m", "20m"], "cluster.spare_nodes": ["0", "4"]}
    sweep(tiny, grid, 2, 1, SerialExecutor(), out=out)
    png = tmp_path / "ettr.png"
    args = ["plot", str(out), "--x", "checkpoint.interval", "--y", "summary.ettr"]
    assert main([*args, "--hue", "cluster.spare_nodes", "--out", str(png)]) == 0
    assert png.read_bytes().startswith(b"\x89PNG")
    assert main([*args, "--hue", "nope", "--out", str(png)]) == 2
    assert "not a grid knob" in capsys.readouterr().err
    # single-job: C = 60 s, M = 2 h -> Young 929.5 s, Daly 889.9 s (DESIGN §6)
    marks = optimum_intervals(read_results(out)[0]["scenario"], {})  # type: ignore[index]
    assert marks["young"] == pytest.approx(929.5, abs=0.1)
    assert marks["daly"] == pytest.approx(889.9, abs=0.1)

    run_json = tmp_path / "run.json"
    assert (
        main(
            ["run", "single-job", *[a for s in TINY for a in ("--set", s)], "--out", str(run_json)]
        )
        == 0
    )
    capsys.readouterr()
    for name in ("report.html", "report.md"):
        assert main(["report", str(run_json), "--out", str(tmp_path / name)]) == 0
    page = (tmp_path / "report.html").read_text()
    assert "Interruptions by cause" in page and "data:image/png;base64," in page
    md = (tmp_path / "report.md").read_text()
    assert "| node |" in md and "![GPUs down over time](report-gpus-down.png)" in md
    assert (tmp_path / "report-gpus-down.png").read_bytes().startswith(b"\x89PNG")
    (tmp_path / "bad.json").write_text('{"summary": {}}')
    assert main(["report", str(tmp_path / "bad.json"), "--out", str(tmp_path / "x.md")]) == 65
    assert capsys.readouterr().err.count("\n") == 1


def test_package_level_sweep_is_the_sweep_function() -> None:
    # The public API: clustersim.sweep(scenario, grid, reps, seed, ...) -> SweepResult, whose
    # records are the runner's, while clustersim.sweep.executor / run_points stay reachable
    # on the same name.
    import clustersim

    scenario = load_scenario("single-job", list(TINY))
    records = clustersim.sweep(scenario, GRID, 2, 5, workers=1).records
    assert records == sweep(scenario, GRID, 2, 5, workers=1)
    assert [r["point"] for r in records] == [
        {"checkpoint.interval": v} for v in GRID["checkpoint.interval"]
    ]
    assert clustersim.sweep.executor is executor


def test_overlapping_grid_knobs_are_refused(tmp_path: Any, capsys: Any) -> None:
    """Issue 17 item 5: ``cluster.pods`` and ``cluster={pods: ...}`` would set the same field."""
    for bad in (
        ["cluster.pods=1,2", "cluster={pods: 3},{pods: 4}"],
        ["faults={}", "faults.node.rate=1"],
    ):
        with pytest.raises(UsageError, match="overlaps the grid key"):
            parse_grid(bad)
    assert list(parse_grid(["cluster.pods=1,2", "cluster.podsx=1"])) == [
        "cluster.pods",
        "cluster.podsx",
    ]
    from clustersim.cli import main

    argv = ["sweep", "single-job", "--grid", "cluster.pods=1,2", "--grid", "cluster={pods: 3}"]
    assert main([*argv, "--out", str(tmp_path / "r.jsonl")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "overlaps the grid key 'cluster.pods'" in err[0]
    assert not (tmp_path / "r.jsonl").exists()

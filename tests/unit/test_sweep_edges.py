"""Edge cases of the sweep library and commands that need no simulation: executors, files,
rendering, and the one-line errors."""

from __future__ import annotations

import concurrent.futures as cf
import io
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from clustersim.cli import main
from clustersim.commands import common
from clustersim.config import ConfigError, UsageError, load_scenario
from clustersim.sweep import SerialExecutor, executor, paired, sweep
from clustersim.sweep import runner as sweep_mod
from clustersim.sweep.report import delta, pm, sweep_table
from clustersim.sweep.results import ResultsFile, flatten, header, read_results, unflatten

TINY = ("run.horizon=2d", "workload.jobs.0.work=1d", "checkpoint.policy=fixed")
GRID = {"checkpoint.interval": ["5m", "20m"]}


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return sweep(load_scenario("single-job", TINY), GRID, 2, 1, SerialExecutor())


def _boom() -> None:
    raise RuntimeError("boom")


def test_serial_executor_delivers_exceptions_through_the_future() -> None:
    future = SerialExecutor().submit(_boom)
    assert isinstance(future.exception(), RuntimeError)


def test_executor_arguments_and_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="--workers must be >= 1"), executor(workers=0):
        pass
    assert sweep_mod._executor_workers(cf.ThreadPoolExecutor(max_workers=3)) == 3
    assert sweep_mod._executor_workers(object()) == 1  # type: ignore[arg-type]
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if Dask were not installed
    with pytest.raises(UsageError, match="Dask is not installed"), executor("tcp://x:1"):
        pass
    with executor(workers=2) as ex:
        assert isinstance(ex, cf.ProcessPoolExecutor)
        assert ex.submit(abs, -3).result() == 3
    with pytest.raises(RuntimeError), executor(workers=2) as ex:  # stops the pool at once
        ex.submit(abs, -1).result()
        raise RuntimeError("stop")


def test_unreachable_scheduler_is_one_usage_line(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("distributed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(sweep_mod, "CONNECT_TIMEOUT", "0.5s")
    message = "cannot start or reach the Dask scheduler"
    with pytest.raises(UsageError, match=message), executor(f"tcp://127.0.0.1:{port}"):
        pass


def test_rendering_table_deltas_and_progress(records: list[dict[str, Any]]) -> None:
    diffs = paired(records, {"checkpoint.interval": "20m"})
    buf = io.StringIO()
    Console(file=buf, width=200).print(sweep_table("tiny", GRID, 2, 1, records, diffs))
    rows = {line.split()[0]: line for line in buf.getvalue().splitlines() if line.strip()}
    assert "baseline" in rows["20m"] and " ± " in rows["5m"]
    assert pm(None, None, ".2f") == "-" and pm(0.5, None, ".2f") == "0.50"
    assert delta(None, False) == "-"
    progress = common.progress_bar("sweep", unit="points")
    progress._console = Console(file=io.StringIO(), force_terminal=True)
    with progress as update:
        assert update is not None
        update(0, 3)  # within the first second: nothing shown yet
        assert progress._progress is None
        progress._t0 -= 2.0
        update(3, 3)
        assert progress._progress is not None
        columns = [type(c).__name__ for c in progress._progress.columns]
        assert "MofNCompleteColumn" in columns  # points done / total, not a percentage
    assert paired([]) == []
    missing = paired(records[:1], {"checkpoint.interval": "20m"})
    assert missing[0]["ettr"] is None


def test_results_file_errors(tmp_path: Path, records: list[dict[str, Any]]) -> None:
    head = header(load_scenario("single-job", TINY), GRID, 2, 1)
    with pytest.raises(UsageError, match="does not exist"):
        ResultsFile.open(tmp_path / "no" / "r.jsonl", head)
    (tmp_path / "d.jsonl").mkdir()
    with pytest.raises(UsageError, match="is a directory"):
        ResultsFile.open(tmp_path / "d.jsonl", head)
    (tmp_path / "t.csv").write_text("index\n")
    with pytest.raises(UsageError, match="journal"):
        ResultsFile.open(tmp_path / "t.csv", head)
    for text, message in [
        ('{"type": "header"\n', "not a JSON record"),
        ('{"type": "point"}\n', "not a clustersim sweep results file"),
        ('{"type": "header", "format": "other/9"}\n', "unknown results format"),
    ]:
        (tmp_path / "b.jsonl").write_text(text)
        with pytest.raises(ConfigError, match=message):
            read_results(tmp_path / "b.jsonl")
    with pytest.raises(UsageError, match="no such file"):
        read_results(tmp_path / "missing.jsonl")
    with pytest.raises(UsageError, match="unsupported results file type"):
        read_results(tmp_path / "r.xlsx")
    assert unflatten(flatten(records[0])) == records[0]


def test_parquet_without_pyarrow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    head = header(load_scenario("single-job", TINY), GRID, 2, 1)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(UsageError, match="Parquet needs pyarrow"):
        ResultsFile.open(tmp_path / "r.parquet", head)


def test_plot_and_report_usage_errors(
    tmp_path: Path, records: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    from clustersim.sweep.plot import lookup, sweep_png

    with pytest.raises(UsageError, match="no finished point"):
        sweep_png(None, [], "checkpoint.interval", "summary.ettr")
    with pytest.raises(UsageError, match="--x nope is not a grid knob"):
        sweep_png(None, records, "nope", "summary.ettr")
    with pytest.raises(UsageError, match="is not a number"):
        sweep_png(None, records, "checkpoint.interval", "summary.nope")
    assert sweep_png(None, records, "checkpoint.interval", "summary.goodput")[:4] == b"\x89PNG"
    assert lookup(records[0], "summary.ettr") == records[0]["summary"]["ettr"]
    assert lookup(records[0], "summary.ettr.deeper") is None
    run_json = tmp_path / "run.json"
    run_json.write_text("{not json")
    cases = [
        (["report", str(run_json), "--out", str(tmp_path / "r.pdf")], 2),
        (["report", str(run_json), "--out", str(tmp_path / "no" / "r.md")], 2),
        (["report", str(tmp_path / "none.json"), "--out", str(tmp_path / "r.md")], 2),
        (["report", str(run_json), "--out", str(tmp_path / "r.md")], 65),
        (["plot", str(run_json), "--x", "a", "--out", str(tmp_path / "no" / "p.png")], 2),
    ]
    for argv, code in cases:
        assert main(argv) == code
        assert capsys.readouterr().err.count("\n") == 1
    run_json.write_text("[1]")
    assert main(["report", str(run_json), "--out", str(tmp_path / "r.md")]) == 65
    assert "expected the JSON object" in capsys.readouterr().err


def test_a_point_too_big_is_refused_before_any_file(tmp_path: Path) -> None:
    from clustersim.budget import BudgetExceeded

    out = tmp_path / "r.jsonl"
    with pytest.raises(BudgetExceeded):
        sweep(load_scenario("single-job", TINY), {"run.max_events": ["1"]}, 2, 1, out=out)
    assert not out.exists()


def test_categorical_knob_plots_in_grid_order() -> None:
    pytest.importorskip("matplotlib")
    from clustersim.sweep.plot import _positions, sweep_png

    grid = {"checkpoint.policy": ["young", "daly"]}
    recs = sweep(load_scenario("single-job", TINY), grid, 2, 1, SerialExecutor())
    assert _positions(recs, "checkpoint.policy") == ({"young": 0.0, "daly": 1.0}, False)
    assert sweep_png(None, recs, "checkpoint.policy", "summary.ettr")[:4] == b"\x89PNG"


SWEEP_ARGV = ["sweep", "single-job", *[a for s in TINY for a in ("--set", s)]]
SWEEP_ARGV += ["--grid", "checkpoint.interval=5m,20m", "--reps", "2", "--workers", "1"]


def test_second_sweep_on_the_same_out_is_locked_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    out = tmp_path / "r.jsonl"
    scenario = load_scenario("single-job", TINY)
    holder = ResultsFile.open(out, header(scenario, GRID, 2, 0))  # "another sweep" running
    try:
        before = out.read_bytes()
        assert main([*SWEEP_ARGV, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"in use by another sweep (pid {os.getpid()})" in err
        assert out.read_bytes() == before
    finally:
        holder.close()
    assert main([*SWEEP_ARGV, "--out", str(out)]) == 0  # released: this one runs


def test_resume_drops_a_duplicated_point(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.jsonl"
    assert main([*SWEEP_ARGV, "--out", str(out)]) == 0
    clean = out.read_bytes()
    lines = clean.splitlines(keepends=True)
    out.write_bytes(b"".join([*lines, lines[1]]))  # point 0 stored twice
    assert main([*SWEEP_ARGV, "--out", str(out)]) == 0
    assert out.read_bytes() == clean
    out.write_bytes(b"".join([lines[0], lines[1], lines[1]]))  # point 1 missing, 0 twice
    assert main([*SWEEP_ARGV, "--out", str(out)]) == 0
    assert out.read_bytes() == clean


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("a,b,c\n1,2,3\n", ":1:1: not a clustersim sweep table (no column index"),
        ("index,reps,seed,per_replication\n1,2,x,[]\n", ":2:1: seed: expected an integer"),
        ("index,reps,seed,per_replication\n1,2,3,{x\n", ":2:1: bad cell"),
        ("a\n1,2\n", ":2:1: more cells than header columns"),
    ],
)
def test_foreign_csv_given_to_plot_is_bad_data(
    text: str, where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "t.csv"
    table.write_text(text)
    code = main(["plot", str(table), "--x", "a", "--out", str(tmp_path / "p.png")])
    err = capsys.readouterr().err
    assert code == 65 and err.count("\n") == 1 and f"{table}{where}" in err, err
    assert not (tmp_path / "p.png").exists()


@pytest.mark.parametrize("address", ["not a url", "tcp://host", "foo://h:1"])
def test_bad_address_is_a_usage_error_and_leaves_no_file(
    address: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("distributed")
    out = tmp_path / "r.jsonl"
    assert main([*SWEEP_ARGV[:-2], "--address", address, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a Dask scheduler address" in err
    assert not out.exists()


def test_failed_executor_start_leaves_no_header_only_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise UsageError("cannot start or reach the Dask scheduler at x")

    monkeypatch.setattr(sweep_mod, "_open_executor", refuse)
    out = tmp_path / "r.csv"
    assert main([*SWEEP_ARGV[:-2], "--workers", "2", "--out", str(out)]) == 2
    assert not out.exists() and not (tmp_path / "r.csv.journal.jsonl").exists()

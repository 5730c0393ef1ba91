"""The trace-replay fault source: parsing, one-line errors for bad traces, and replay."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

import clustersim.faults.trace as trace_mod
from clustersim.config import ConfigError, FaultConfig, Scenario
from clustersim.engine import Simulation
from clustersim.events import JobInterrupted, NodeFailed
from clustersim.faults import REGISTRY
from clustersim.faults.trace import FaultTrace, TraceFaults, read_fault_trace
from clustersim.metrics import measure

HEADER = "time,component,cause,duration\n"


def write(tmp_path: Path, text: str | bytes, name: str = "trace.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path | str, n_nodes: int = 4096) -> str:
    """The one line a bad trace is reported with."""
    with pytest.raises(ConfigError) as info:
        read_fault_trace(path, n_nodes)
    err = info.value
    assert err.exit_code == 65
    assert len(err.messages) == 1
    assert "\n" not in str(err)
    assert str(err) == err.messages[0]
    return err.messages[0]


# ----------------------------------------------------------------- good traces


def test_parses_plain_seconds_human_units_comments_and_empty_durations(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "# exported from the incident tracker\n"
        "\n"
        + HEADER
        + "0,0,xid-79,2h\n"
        + "   # an indented comment\n"
        + "30m,5,ecc,\n"
        + "1.5d, 7 , nvlink ,5400\n"
        + "\n"
        + '1.5d,3,"psu, rack 0",1h30m\n'
        + "2d,4095,,\n",
    )
    trace = read_fault_trace(path, 4096)
    assert isinstance(trace, FaultTrace)
    assert len(trace) == 5
    assert trace.times == (0.0, 1800.0, 1.5 * 86400, 1.5 * 86400, 2 * 86400)
    assert trace.nodes == (0, 5, 7, 3, 4095)
    assert trace.causes == ("xid-79", "ecc", "nvlink", "psu, rack 0", "")
    assert trace.durations[0] == 7200.0
    assert math.isnan(trace.durations[1])
    assert trace.durations[2] == 5400.0
    assert trace.durations[3] == 5400.0
    assert math.isnan(trace.durations[4])
    assert trace.lines == (4, 6, 7, 9, 10)
    assert trace.path == str(path)


def test_columns_in_any_order_bom_crlf_and_case(tmp_path: Path) -> None:
    text = "\ufeffCause, Duration,TIME,component\r\nboot,,10s,1\r\nfan,1m,10s,2\r\n"
    trace = read_fault_trace(write(tmp_path, text), 4)
    assert trace.times == (10.0, 10.0)  # ties are allowed
    assert trace.nodes == (1, 2)
    assert trace.causes == ("boot", "fan")
    assert math.isnan(trace.durations[0]) and trace.durations[1] == 60.0


def test_zero_duration_and_negative_zero_are_allowed(tmp_path: Path) -> None:
    trace = read_fault_trace(write(tmp_path, HEADER + "-0,0,a,0\n"), 1)
    assert trace.times == (0.0,) and math.copysign(1.0, trace.times[0]) == 1.0
    assert trace.durations == (0.0,)


def test_relative_path_resolves_against_base_dir_else_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = tmp_path / "scenarios"
    sub.mkdir()
    write(sub, HEADER + "1h,0,a,1h\n")
    trace = read_fault_trace("trace.csv", 2, base_dir=sub)
    assert trace.times == (3600.0,)
    assert trace.path == str(sub / "trace.csv")
    monkeypatch.chdir(sub)
    assert read_fault_trace("trace.csv", 2).times == (3600.0,)
    monkeypatch.chdir(tmp_path)
    assert error_of("trace.csv").startswith("trace.csv:1: file: cannot read the trace")
    # An absolute path ignores base_dir.
    assert read_fault_trace(sub / "trace.csv", 2, base_dir=tmp_path).nodes == (0,)


def test_a_changed_file_is_parsed_again(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "1h,0,a,1h\n")
    assert read_fault_trace(path, 2).nodes == (0,)
    write(tmp_path, HEADER + "1h,1,a,1h\n")
    assert read_fault_trace(path, 2).nodes == (1,)
    # The node range is part of validation, so a smaller cluster re-checks the trace.
    assert error_of(path, 1) == f"{path}:2: component: node 1 out of range [0, 1)"


# ----------------------------------------------------------------- bad traces


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        # the three examples of the format's documentation
        (HEADER + "0,1,a,\n" * 5 + "abc,1,a,\n", 7, "time", "cannot parse duration 'abc'"),
        (HEADER + "0,1,a,\n" * 7 + "0,99999,a,\n", 9, "component", "node 99999 out of range"),
        (
            HEADER + "0,1,a,\n" * 9 + "30,1,a,\n12,1,a,\n",
            12,
            "time",
            "rows must be sorted by time (12.0 < 30.0 on line 11)",
        ),
        # fields
        (HEADER + "1x,1,a,\n", 2, "time", "unknown time unit 'x'"),
        (HEADER + ",1,a,\n", 2, "time", "empty value"),
        (HEADER + "inf,1,a,\n", 2, "time", "finite"),
        (HEADER + "nan,1,a,\n", 2, "time", "finite"),
        (HEADER + "1e400,1,a,\n", 2, "time", "finite"),
        (HEADER + "1e305d,1,a,\n", 2, "time", "not a finite number"),
        (HEADER + "-5,1,a,\n", 2, "time", "must not be negative, got '-5'"),
        (HEADER + "1h,1,a,-2h\n", 2, "duration", "must not be negative, got '-2h'"),
        (HEADER + "1h,1,a,Infinity\n", 2, "duration", "finite"),
        (HEADER + "1h,1,a,soon\n", 2, "duration", "cannot parse duration 'soon'"),
        (HEADER + "1h," + "9" * 5000 + ",a,\n", 2, "component", "out of range [0, 4096)"),
        (HEADER + "1h,-1,a,\n", 2, "component", "node -1 out of range [0, 4096)"),
        (HEADER + "1h,1.5,a,\n", 2, "component", "expected an integer node id, got '1.5'"),
        (HEADER + "1h,node7,a,\n", 2, "component", "expected an integer node id"),
        (HEADER + "1h,,a,\n", 2, "component", "expected an integer node id, got ''"),
        (HEADER + "1h," + "x" * 500 + ",a,\n", 2, "component", "'xxxx"),
        # rows
        (HEADER + "1h,1,a\n", 2, "row", "expected 4 fields (time,component,cause,duration), got 3"),
        (HEADER + "1h,1,a,,\n", 2, "row", "expected 4 fields"),
        (HEADER + '1h,1,"a,\n', 2, "row", "malformed CSV"),
        # header and file
        ("time,component,cause\n1h,1,a\n", 1, "header", "missing column 'duration'"),
        ("time,cause\n", 1, "header", "missing columns 'component', 'duration'"),
        (HEADER.strip() + ",rack\n1h,1,a,,0\n", 1, "header", "unknown column 'rack'"),
        ("time,component,cause,time\n", 1, "header", "column 'time' appears twice"),
        ("", 1, "header", "the trace is empty"),
        ("# only a comment\n\n", 1, "header", "the trace is empty"),
        ("# comment\n" + HEADER + "# no rows\n", 2, "trace", "the trace has no rows"),
    ],
)
def test_bad_trace_is_one_line_with_file_line_and_column(
    tmp_path: Path, text: str, line: int, column: str, message: str
) -> None:
    path = write(tmp_path, text)
    got = error_of(path)
    assert got.startswith(f"{path}:{line}: {column}: "), got
    assert message in got
    assert len(got) < 300


def test_documented_example_messages_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, HEADER + "0,1,a,\n" * 7 + "0,99999,a,\n")
    assert error_of("trace.csv") == "trace.csv:9: component: node 99999 out of range [0, 4096)"
    write(tmp_path, HEADER + "0,1,a,\n" * 9 + "30,1,a,\n12,1,a,\n")
    assert (
        error_of("trace.csv")
        == "trace.csv:12: time: rows must be sorted by time (12.0 < 30.0 on line 11)"
    )
    write(tmp_path, HEADER + "0,1,a,\n" * 5 + "abc,1,a,\n")
    assert error_of("trace.csv").startswith("trace.csv:7: time: cannot parse duration 'abc'")


def test_missing_file_and_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    assert error_of(missing) == (
        f"{missing}:1: file: cannot read the trace: No such file or directory"
    )
    assert error_of(tmp_path).startswith(f"{tmp_path}:1: file: cannot read the trace: ")


def test_invalid_utf8_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER.encode() + b"1h,1,a,\n1h,2,\xff,\n")
    assert error_of(path) == f"{path}:3: file: not valid UTF-8 (byte 0xff)"


def test_file_over_the_size_cap_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert trace_mod.MAX_TRACE_BYTES == 50_000_000
    path = write(tmp_path, HEADER + "1h,1,a,\n" * 100)
    monkeypatch.setattr(trace_mod, "MAX_TRACE_BYTES", 200)
    assert error_of(path).startswith(f"{path}:1: file: the trace is larger than the ")
    monkeypatch.setattr(trace_mod, "MAX_TRACE_BYTES", 10_000)
    assert len(read_fault_trace(path, 4)) == 100


def test_a_line_break_in_the_path_stays_on_one_line(tmp_path: Path) -> None:
    got = error_of(tmp_path / "bad\nname.csv")
    assert "bad\\nname.csv:1: file:" in got


# ----------------------------------------------------------------- replay


def trace_fault(path: Path, **fields: Any) -> dict[str, Any]:
    """A ``kind: trace`` source as a scenario file gives it."""
    fault: dict[str, Any] = {
        "kind": "trace",
        "path": str(path),
        "repair": {"distribution": "fixed", "mean": "15m"},
    }
    fault.update(fields)
    return fault


def scenario(fault: dict[str, Any], **sections: Any) -> Scenario:
    # 4 nodes (2 racks of 2) and one 3-node job: it gets nodes 0, 1, 2; node 3 stays idle.
    doc: dict[str, Any] = {
        "cluster": {"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": 2, "pods": 1},
        "workload": {"jobs": [{"gpus": 24, "work": "10h"}]},
        "checkpoint": {"policy": "fixed", "interval": "1h", "stall": "60s"},
        "restart": {"detection": "60s", "init": "120s", "init_per_gpu": 0, "load": "30s"},
        "run": {"check_invariants": True},
        "faults": {"replay": fault},
    }
    doc.update(sections)
    return Scenario.model_validate(doc)


REPLAY = (
    "# t, node, label, repair\n"
    + HEADER
    + "10m,3,idle-node,1d\n"  # node 3 is idle: down for a day, no job hit
    + "1h,0,xid-79,10m\n"
    + "3h,1,ecc,\n"  # repair drawn from the source's repair distribution (fixed 15 min)
    + "5.5h,2,nvlink,20m\n"
    + "100d,0,after-the-run,1h\n"  # never reached: the run ends when the job finishes
)


def test_registered_under_kind_trace() -> None:
    assert REGISTRY["trace"] is TraceFaults


def test_replay_interrupts_the_job_exactly_at_the_trace_times(tmp_path: Path) -> None:
    sim = Simulation(scenario(trace_fault(write(tmp_path, REPLAY))), seed=0)
    sim.run()
    failed = [e for e in sim.log if isinstance(e, NodeFailed)]
    assert [(e.t, e.node, e.job, e.repair_s) for e in failed] == [
        (600.0, 3, -1, 86400.0),
        (3600.0, 0, 0, 600.0),
        (10800.0, 1, 0, 900.0),
        (19800.0, 2, 0, 1200.0),
    ]
    interrupted = [e for e in sim.log if isinstance(e, JobInterrupted)]
    assert [(e.t, e.job, e.node) for e in interrupted] == [
        (3600.0, 0, 0),
        (10800.0, 0, 1),
        (19800.0, 0, 2),
    ]
    # The recorded cause is the source's name; the trace's own labels are kept on the source.
    assert {e.cause for e in failed} | {e.cause for e in interrupted} == {"replay"}
    source = sim.fault_sources[0]
    assert isinstance(source, TraceFaults)
    assert source.replayed == {"idle-node": 1, "xid-79": 1, "ecc": 1, "nvlink": 1}
    assert source.last_cause == "nvlink"
    assert source.trace.causes[-1] == "after-the-run"
    m = measure(sim)
    assert m.jobs[0].finished and m.jobs[0].interruptions == 3
    assert m.summary["interruptions_by_cause"] == {"replay": 3}
    assert m.causes["replay"]["node_failures"] == 4


def test_blast_radius_job_kills_the_job_without_taking_nodes_down(tmp_path: Path) -> None:
    fault = trace_fault(write(tmp_path, REPLAY), blast_radius="job")
    sim = Simulation(scenario(fault), seed=0)
    sim.run()
    assert not [e for e in sim.log if isinstance(e, NodeFailed)]
    interrupted = [e for e in sim.log if isinstance(e, JobInterrupted)]
    assert [(e.t, e.cause) for e in interrupted] == [
        (3600.0, "replay"),
        (10800.0, "replay"),
        (19800.0, "replay"),
    ]


def test_blast_radius_rack_takes_the_whole_rack(tmp_path: Path) -> None:
    text = HEADER + "1h,3,psu,30m\n"  # node 3 is idle, but rack 1 also holds node 2 (job's)
    sim = Simulation(scenario(trace_fault(write(tmp_path, text), blast_radius="rack")), seed=0)
    sim.run()
    failed = [(e.t, e.node, e.job) for e in sim.log if isinstance(e, NodeFailed)]
    assert failed == [(3600.0, 2, 0), (3600.0, 3, -1)]
    interrupted = [(e.t, e.node) for e in sim.log if isinstance(e, JobInterrupted)]
    assert interrupted == [(3600.0, 2)]


def test_a_row_on_a_node_already_down_does_nothing(tmp_path: Path) -> None:
    text = HEADER + "10m,3,a,1d\n1h,3,b,1d\n"
    sim = Simulation(scenario(trace_fault(write(tmp_path, text))), seed=0)
    sim.run()
    assert [(e.t, e.node) for e in sim.log if isinstance(e, NodeFailed)] == [(600.0, 3)]
    assert not [e for e in sim.log if isinstance(e, JobInterrupted)]


def test_a_bad_trace_fails_before_the_simulation_starts(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "1h,4,a,\n")
    with pytest.raises(ConfigError) as info:
        Simulation(scenario(trace_fault(path)), seed=0)
    assert info.value.messages == [f"{path}:2: component: node 4 out of range [0, 4)"]


def test_trace_fault_config_takes_path_blast_radius_and_repair() -> None:
    cfg = FaultConfig.model_validate({"kind": "trace", "path": "t.csv", "repair": {"mean": "1h"}})
    assert cfg.kind == "trace" and cfg.path == "t.csv" and cfg.blast_radius == "node"
    assert cfg.repair.mean == 3600.0


SCENARIO_YAML = """\
cluster: {gpus_per_node: 8, nodes_per_rack: 2, racks_per_pod: 2, pods: 1}
workload: {jobs: [{gpus: 24, work: 10h}]}
faults:
  replay: {kind: trace, path: trace.csv, repair: {distribution: fixed, mean: 15m}}
"""


def test_cli_runs_a_trace_and_reports_a_bad_one_in_one_line_exit_65(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from clustersim.cli import main

    monkeypatch.chdir(tmp_path)
    write(tmp_path, SCENARIO_YAML, "scenario.yaml")
    write(tmp_path, REPLAY)
    assert main(["run", "scenario.yaml", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["summary"]["interruptions_by_cause"] == {"replay": 3}
    assert result["scenario"]["faults"]["replay"]["path"] == "trace.csv"
    write(tmp_path, HEADER + "1h,9,x,\n")
    assert main(["run", "scenario.yaml"]) == 65
    captured = capsys.readouterr()
    assert captured.err == "trace.csv:2: component: node 9 out of range [0, 4)\n"


def test_the_documented_example_trace_parses() -> None:
    example = Path(__file__).resolve().parents[2] / "docs" / "examples" / "fault-trace.csv"
    trace = read_fault_trace(example, 16)
    assert len(trace) == 6
    assert trace.causes[2] == "psu, rack 0"
    assert trace.times == tuple(sorted(trace.times))
    assert sum(math.isnan(d) for d in trace.durations) == 2


def test_relative_trace_path_is_relative_to_the_scenario_file(tmp_path: Path) -> None:
    from clustersim.config import load_scenario

    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "t.csv").write_text("time,component,cause,duration\n1h,0,gpu,1h\n")
    (sub / "sc.yaml").write_text(
        "cluster: {gpus_per_node: 8, nodes_per_rack: 2, racks_per_pod: 1, pods: 1}\n"
        "workload: {jobs: [{gpus: 16, work: 2h}]}\n"
        "faults: {replay: {kind: trace, path: t.csv}}\n"
    )
    scenario = load_scenario(sub / "sc.yaml")
    assert Path(scenario.faults["replay"].path or "") == sub / "t.csv"

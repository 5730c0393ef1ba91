"""Edge cases of the trace readers, writers, summaries and ``clustersim trace`` commands.

Each test pins one rule the main trace tests (``test_traces.py``) leave open: the message of
a bad value (file, line, field), a rounding rule, a skipped or dropped count, a report line.
"""

from __future__ import annotations

import errno
import gzip
import io
import json
from pathlib import Path

import pytest
from test_traces import SAMPLES, cli, error_of, read  # the main trace tests' helpers

import clustersim.traces.summary as summary_mod
from clustersim.config import ConfigError, TraceWorkloadConfig
from clustersim.faults.trace import read_fault_trace
from clustersim.rng import Streams
from clustersim.traces.fit import fit_trace
from clustersim.traces.formats import detect_format
from clustersim.traces.record import MAX_GPUS, BadLine, TraceJob, text_lines
from clustersim.traces.summary import TraceSummary
from clustersim.traces.swf import read_swf, write_swf
from clustersim.traces.synthetic import SHAPES, _capped_lognormal_mean, generate
from clustersim.traces.workload import TraceReplay

SWF_FIELDS = ("job", "submit", "wait", "run", "procs", "status", "user")
HELIOS = "job_id,gpu_num,submit_time,start_time,end_time\n"
ALIBABA = "name,num_gpu,gpu_milli,creation_time,scheduled_time,deletion_time,pod_phase\n"


def swf_line(**fields: object) -> str:
    """One 18-field SWF line: job 1 submitted at 0, no wait, 10 s run, 1 processor, done."""
    values: list[object] = ["-1"] * 18
    defaults = {"job": 1, "submit": 0, "wait": 0, "run": 10, "procs": 1, "status": 1, "user": 1}
    where = {"job": 0, "submit": 1, "wait": 2, "run": 3, "procs": 4, "status": 10, "user": 11}
    for name, value in {**defaults, **fields}.items():
        values[where[name]] = value
    return " ".join(str(v) for v in values) + "\n"


def job(**fields: object) -> TraceJob:
    base: dict[str, object] = {
        "id": "1",
        "user": "",
        "gpus": 1,
        "submit_s": 0.0,
        "start_s": None,
        "end_s": None,
        "run_s": None,
        "state": "",
    }
    return TraceJob(**{**base, **fields})  # type: ignore[arg-type]


# --- numbers and times (record.py), through the readers that use them ---------------------


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("a,,0", "gpu_num: empty value (expected a number)"),
        ("a,1.5,0", "gpu_num: expected a whole number, got '1.5'"),
        (f"a,{MAX_GPUS + 1},0", f"gpu_num: must be at most {MAX_GPUS}, got '{MAX_GPUS + 1}'"),
        ("a,1e30,0", f"gpu_num: must be at most {MAX_GPUS}, got '1e30'"),
        ("a,-3,0", "gpu_num: must not be negative, got '-3'"),
        ("a,1,", "submit_time: empty value (expected a time)"),
        ("a,1,1e14", "submit_time: must be at most 1e+13 s, got '1e14'"),
        (
            "a,1,1969-12-31 23:59:59",
            "submit_time: must not be before 1970, got '1969-12-31 23:59:59'",
        ),
        (
            "a,1," + "9" * 30 + "-01-01",
            "submit_time: expected seconds or a date-time, got '" + "9" * 30 + "-01-01'",
        ),
        (
            "a,1,2020-01-01 00:00:00 and then some more words",
            "submit_time: expected seconds or a date-time, got "
            "'2020-01-01 00:00:00 and then some more w'...",  # the first 40 characters
        ),
    ],
)
def test_helios_value_errors_name_line_and_column(tmp_path: Path, row: str, expected: str) -> None:
    path = tmp_path / "h.csv"
    path.write_text(HELIOS.replace(",start_time,end_time", "") + row + "\n")
    assert error_of(path, "helios") == f"{path}:2: {expected}"


def test_whole_number_counts_and_zone_aware_times(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("job_id,gpu_num,submit_time\na,8.0,2020-04-01T02:00:00+02:00\nb,0,5\n")
    jobs, stats = read(path, "helios")
    # "8.0" is 8 GPUs; an explicit offset is honoured (02:00+02:00 is midnight UTC)
    assert [(j.id, j.gpus, j.submit_s) for j in jobs] == [("a", 8, 1585699200.0)]
    assert stats.dropped == {"no GPUs": 1} and stats.jobs == 1


def test_a_missing_file_is_reported_at_line_1(tmp_path: Path) -> None:
    path = tmp_path / "nope.swf"
    assert error_of(path, "swf") == f"{path}:1: file: cannot read: No such file or directory"


def test_gzip_read_errors_say_why(tmp_path: Path) -> None:
    plain = tmp_path / "plain.swf.gz"  # named .gz but not compressed
    plain.write_text(swf_line())
    message = error_of(plain, "swf", on_bad_line="skip")
    assert message.startswith(f"{plain}:1: file: cannot read: Not a gzipped file")
    corrupt = tmp_path / "corrupt.swf.gz"
    data = bytearray(gzip.compress(swf_line().encode() * 50))
    data[20:30] = b"\xff" * 10  # damage the deflate stream, keep the header
    corrupt.write_bytes(bytes(data))
    message = error_of(corrupt, "swf", on_bad_line="skip")
    assert message.startswith(f"{corrupt}:1: file: cannot read: ")
    assert "decompressing" in message or "CRC" in message or "invalid" in message


def test_an_os_read_error_is_fatal_with_its_reason() -> None:
    class Broken(io.BytesIO):
        def readline(self, size: int | None = -1) -> bytes:
            if self.tell() > 0:
                raise OSError(errno.EIO, "Input/output error")
            return super().readline(size)

    lines = text_lines(Broken(b"first\nsecond\n"))
    assert next(lines) == (1, "first")
    with pytest.raises(BadLine) as info:
        next(lines)
    err = info.value
    assert err.fatal and (err.line, err.field) == (2, "file")
    assert err.message == "cannot read: Input/output error"


def test_a_byte_order_mark_is_dropped_and_bad_utf8_is_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bom.swf"
    path.write_bytes(
        b"\xef\xbb\xbf" + swf_line(job=7).encode() + b"\xff\xfe\n" + swf_line(job=8).encode()
    )
    assert error_of(path, "swf") == f"{path}:2: line: not valid UTF-8 (byte 0xff)"
    jobs, stats = read(path, "swf", on_bad_line="skip")
    assert [j.id for j in jobs] == ["7", "8"] and stats.skipped == 1


# --- SWF -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"run": "2e13"}, "run (field 4): must be at most 1e+13, got '2e13'"),
        ({"submit": -1}, "submit (field 2): the submit time is missing"),
        ({"status": 7}, "status (field 11): expected -1 or 0-5, got '7'"),
        ({"user": 1.5}, "user (field 12): expected a user number, got '1.5'"),
        (
            {"procs": 3000000000},
            f"procs (field 5): 3000000000 processors is more than {MAX_GPUS} GPUs",
        ),
    ],
)
def test_swf_field_errors(tmp_path: Path, fields: dict[str, object], expected: str) -> None:
    path = tmp_path / "t.swf"
    path.write_text("; header\n" + swf_line(**fields))
    assert error_of(path, "swf") == f"{path}:2: {expected}"


def test_swf_zero_processors_are_dropped_and_missing_user_is_blank(tmp_path: Path) -> None:
    path = tmp_path / "t.swf"
    path.write_text(swf_line(job=1, procs=0) + swf_line(job=2, user=-1, status=-1))
    jobs, stats = read(path, "swf")
    assert stats.dropped == {"no GPUs": 1} and stats.jobs == 1
    (only,) = jobs
    assert (only.id, only.user, only.state) == ("2", "", "")


def test_swf_rejects_a_bad_gpus_per_processor(tmp_path: Path) -> None:
    for ratio in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="gpus_per_processor must be a positive number"):
            next(read_swf(tmp_path / "unused.swf", gpus_per_processor=ratio))


def test_swf_writer_rounds_half_to_even_and_keeps_numeric_meta() -> None:
    jobs = [
        job(id="a", submit_s=2.5, start_s=3.5, run_s=10.5, meta=(("swf.req_time", "7200"),)),
        job(id="42", submit_s=3.5, start_s=3.0, run_s=0.5, user="alice", state="Killed"),
        job(
            id="b", submit_s=4.0, user="bob", meta=(("swf.req_time", "soon"), ("swf.queue", "1 2"))
        ),
        job(id="c", submit_s=5.0, user="alice", state="TIMEOUT"),
    ]
    out = io.StringIO()
    assert write_swf(jobs, out, source="mem") == 4
    rows = [line.split() for line in out.getvalue().splitlines() if not line.startswith(";")]
    # submit 2.5 -> 2, 3.5 -> 4 (half to even); wait = round(start) - submit, never negative
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("1", "2", "2", "10"),  # id 'a' is not numeric: its position; run 10.5 -> 10
        ("42", "4", "0", "0"),  # started 'before' its rounded submit: wait 0; run 0.5 -> 0
        ("3", "4", "-1", "-1"),
        ("4", "5", "-1", "-1"),
    ]
    assert [r[8] for r in rows] == ["7200", "-1", "-1", "-1"]  # a non-number meta is dropped
    assert [r[14] for r in rows] == ["-1"] * 4  # "1 2" is not one count either
    assert [r[11] for r in rows] == ["-1", "1", "2", "1"]  # users numbered by first appearance
    assert [r[10] for r in rows] == ["-1", "5", "-1", "0"]
    assert "UnixStartTime" not in out.getvalue()  # origin 0


def test_swf_writer_refuses_a_job_before_the_origin() -> None:
    jobs = [job(id="x", submit_s=100.0, line=3), job(id="y", submit_s=40.0, line=9)]
    with pytest.raises(ConfigError) as info:
        write_swf(jobs, io.StringIO(), origin_s=None, source="in.csv")
    assert info.value.messages == [
        "in.csv:9: submit: job 'y' was submitted before the first job; SWF needs the jobs in "
        "submission order"
    ]


def test_swf_writer_of_no_jobs_writes_only_the_header() -> None:
    out = io.StringIO()
    assert write_swf([], out, gpus_per_processor=4.0, origin_s=None) == 0
    assert out.getvalue() == (
        "; Version: 2.2\n; Computer: written by clustersim trace convert\n"
        "; Note: processors = GPUs / 4 (gpus_per_processor)\n"
    )


# --- CSV tables, Alibaba, detection -------------------------------------------------------


def test_malformed_csv_rows_and_headers(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text('job_id,gpu_num,submit_time\n"a"b,1,0\nc,1,5\n')
    assert error_of(path, "helios") == f"{path}:2: line: malformed CSV: ',' expected after '\"'"
    jobs, stats = read(path, "helios", on_bad_line="skip")
    assert [j.id for j in jobs] == ["c"] and stats.skipped == 1
    path.write_text('# comment\n"job_id,gpu_num,submit_time\n')
    message = error_of(path, "helios", on_bad_line="skip")  # never skipped
    assert message == f"{path}:2: header: malformed CSV: unexpected end of data"


def test_an_empty_csv_has_no_header(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("# only a comment\n\n")
    assert error_of(path, "alibaba", on_bad_line="skip") == (
        f"{path}:1: header: the file is empty (expected a header row with "
        "name,num_gpu,gpu_milli,creation_time)"
    )


def test_alibaba_share_limits_and_unfinished_pods(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(ALIBABA + "p,1,1001,0,,,Pending\n")
    assert error_of(path, "alibaba") == (
        f"{path}:2: gpu_milli: must be at most 1000 (one whole GPU), got 1001"
    )
    path.write_text(ALIBABA + "run,2,300,10,12,,Running\nnever,1,1000,20,,90,Failed\n")
    jobs, _ = read(path, "alibaba")
    running, never = jobs
    # scheduled but not deleted: started, no end, no run time; 2 x 300 milli = 2 whole GPUs
    assert (running.gpus, running.start_s, running.end_s, running.run_s) == (2, 12, None, None)
    # deleted without being scheduled: the deletion is not an end
    assert (never.start_s, never.end_s, never.run_s) == (None, None, None)


def test_detect_format_gives_up_on_unreadable_or_empty_files(tmp_path: Path) -> None:
    bad_gz = tmp_path / "x.csv.gz"
    bad_gz.write_bytes(b"not gzip at all")
    assert detect_format(bad_gz) is None
    blank = tmp_path / "blank.csv"
    blank.write_text("\n# comment\n   \n")
    assert detect_format(blank) is None
    with pytest.raises(ConfigError, match=r"missing\.csv:1: file: cannot read"):  # issue 17 #13
        detect_format(tmp_path / "missing.csv")
    with pytest.raises(ConfigError, match="is a directory"):
        detect_format(tmp_path)


# --- summary --------------------------------------------------------------------------------


def test_summary_of_no_jobs() -> None:
    summary = TraceSummary(path="x", format="swf")
    assert summary.span_s == 0.0
    data = summary.to_dict()
    assert "skipped_lines" not in data and "dropped" not in data
    assert data["jobs"] == 0 and data["first_submit_s"] is None


def test_summary_caps_states_and_users(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(summary_mod, "MAX_DISTINCT", 3)
    summary = TraceSummary(path="x", format="helios")
    for i in range(70):
        summary.add(job(id=str(i), user=f"u{i % 5}", state=f"S{i}"))
    assert len(summary.states) == 65  # 64 named states and "(other)"
    assert summary.states["(other)"] == 70 - 64
    assert summary.users == 3 and summary.users_capped


def test_summary_end_from_start_plus_run() -> None:
    summary = TraceSummary(path="x", format="helios")
    summary.add(job(submit_s=100.0, start_s=150.0, run_s=50.0))  # no end given
    summary.add(job(submit_s=120.0))
    assert summary.last_end_s == 200.0 and summary.span_s == 100.0


# --- trace workloads -------------------------------------------------------------------------


def test_trace_replay_format_and_zero_run_time(tmp_path: Path) -> None:
    path = tmp_path / "jobs.txt"
    path.write_text(
        swf_line(job=1, run=0) + swf_line(job=2, run=30) + swf_line(job=3, wait=-1, run=-1)
    )
    replay = TraceReplay(TraceWorkloadConfig(path=str(path), format="swf"))
    assert replay.format() == "swf"
    assert [row[1] for row in replay.jobs()] == ["2"]
    assert replay.left_out == {"zero run time": 1, "no run time": 1}
    unknown = tmp_path / "mystery.dat"
    unknown.write_text("hello\n")
    with pytest.raises(ConfigError) as info:
        TraceReplay(TraceWorkloadConfig(path=str(unknown))).jobs()
    assert info.value.messages == [
        f"{unknown}:1: file: cannot tell the trace format "
        "(set workload.trace.format: swf, helios, philly or alibaba)"
    ]


# --- synthetic shapes ---------------------------------------------------------------------


def test_capped_lognormal_mean_without_spread_is_the_capped_median() -> None:
    assert _capped_lognormal_mean(10.0, 0.0, 4.0) == 4.0
    assert _capped_lognormal_mean(3.0, 0.0, 4.0) == 3.0


def test_generate_needs_a_shape() -> None:
    from clustersim.config import GeneratorConfig

    fields = GeneratorConfig.model_fields
    assert "shape" in fields and "rsc1" in SHAPES
    cfg = GeneratorConfig.model_construct(shape=None, jobs=1)
    with pytest.raises(ValueError, match=r"generate\(\) needs a generator with a shape"):
        generate(cfg, Streams(0), 2.0)


# --- the trace command ----------------------------------------------------------------------


def test_info_text_of_an_swf_trace_shows_seconds_and_buckets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.swf"
    path.write_text(swf_line(job=1, submit=0, procs=3) + swf_line(job=2, submit=1234, wait=-1))
    code, out, err = cli(capsys, "trace", "info", str(path))
    assert code == 0, err
    lines = out.splitlines()
    assert "first submit 0 s" in lines and "last submit  1,234 s" in lines
    assert "last end     10 s" in lines  # job 2 never started
    # sizes by power-of-two bucket: 1 GPU, then 3 processors counted under 3-4
    assert lines[lines.index("sizes (GPUs: jobs)") + 1 :] == [
        "              1: 1",
        "            3-4: 1",
        "states",
        "      COMPLETED: 2",
    ]


def test_info_text_of_an_empty_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.swf"
    path.write_text("; nothing here\n")
    code, out, _ = cli(capsys, "trace", "info", str(path))
    assert code == 0
    assert "first submit -" in out.splitlines() and "span         0.00 days" in out


@pytest.mark.parametrize(
    ("value", "expected"),
    [("abc", "expected a number, got 'abc'"), ("inf", "must be a positive finite number")],
)
def test_gpus_per_processor_option(
    value: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(
        capsys, "trace", "info", str(SAMPLES / "sample.swf"), "--gpus-per-processor", value
    )
    assert code == 2 and out == "" and expected in err


def test_convert_refuses_a_directory_and_an_unwritable_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out.swf"
    target.mkdir()
    code, _, err = cli(capsys, "trace", "convert", str(SAMPLES / "sample.swf"), str(target))
    assert code == 2 and err == f"clustersim: error: cannot write {target}: it is a directory\n"
    long = tmp_path / ("x" * 246 + ".swf")  # the temporary file's name is too long
    code, _, err = cli(capsys, "trace", "convert", str(SAMPLES / "sample.swf"), str(long))
    assert code == 2 and err == f"clustersim: error: cannot write {long}: File name too long\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.swf"]


def test_fit_command_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "f.csv"
    trace.write_text("time,component,cause,duration\n100,0,gpu,\n")
    cases = [
        (["--window", "0s"], "--window 0s: must be positive"),
        (["--out", str(tmp_path / "no" / "f.yaml")], "does not exist"),
        (["--out", str(tmp_path)], "it is a directory"),
    ]
    for extra, expected in cases:
        code, out, err = cli(capsys, "trace", "fit", str(trace), *extra)
        assert code == 2 and out == "" and expected in err, extra
    code, _, err = cli(capsys, "trace", "fit", str(tmp_path))
    assert code == 2 and err == f"clustersim: error: {tmp_path}: not a file\n"


def test_fit_without_nodes_notes_the_missing_faults_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = tmp_path / "f.csv"
    trace.write_text(
        "time,component,cause,duration\n"
        + "".join(f"{3600 * (i + 1)},{i % 3},gpu,\n" for i in range(12))
    )
    code, out, err = cli(capsys, "trace", "fit", str(trace))
    assert code == 0
    assert err == "clustersim: note: give --nodes N for a faults: section\n"
    assert "gpu" in out and "faults:" not in out


# --- fault-trace directives (traces/fit.py) ----------------------------------------------


def test_fit_directive_errors(tmp_path: Path) -> None:
    trace = tmp_path / "f.csv"
    body = "time,component,cause,duration\n100,0,gpu,\n200,1,gpu,\n"
    trace.write_text("# window: 1d\n# window: 2d\n" + body)
    with pytest.raises(ConfigError) as info:
        fit_trace(trace)
    assert info.value.messages == [f"{trace}:2: window: given twice"]
    trace.write_text("# window: soon\n" + body)
    with pytest.raises(ConfigError, match=rf"^{trace}:1: window: "):
        fit_trace(trace)
    trace.write_text("# window: 150s\n" + body)
    with pytest.raises(ConfigError) as info:
        fit_trace(trace)
    assert info.value.messages == [
        f"{trace}:1: window: the window (150 s) ends before the last row (200 s)"
    ]
    trace.write_text("time,component,cause,duration\n0,0,gpu,\n0,1,gpu,\n")
    with pytest.raises(ConfigError) as info:
        fit_trace(trace)
    assert info.value.messages == [f"{trace}:3: time: every row is at time 0: no window"]


# --- fault traces (faults/trace.py) --------------------------------------------------------


def test_fault_trace_node_ids_with_a_sign_and_long_durations(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("time,component,cause,duration\n5,+3,gpu,1h\n")
    trace = read_fault_trace(path, 8)
    assert trace.nodes == (3,) and trace.durations == (3600.0,)
    bad = "x" * 60
    path.write_text(f"time,component,cause,duration\n5,1,gpu,{bad}\n")
    with pytest.raises(ConfigError) as info:
        read_fault_trace(path, 8)
    (message,) = info.value.messages
    assert message.startswith(f"{path}:2: duration: cannot parse duration 'xxxx")
    path.write_text('{"time": 5}\n')
    jsonl = path.with_suffix(".jsonl")
    path.rename(jsonl)
    with pytest.raises(ConfigError) as info:
        read_fault_trace(jsonl, 8)
    assert info.value.messages == [f"{jsonl}:1: component: missing key 'component'"]


def test_info_json_reports_first_skipped_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps([{"jobid": "a", "submitted_time": 0, "attempts": "x"}]))
    code, out, _ = cli(capsys, "trace", "info", str(path), "--json", "--on-bad-line", "skip")
    assert code == 0
    info = json.loads(out)
    assert info["skipped_lines"] == 1 and info["jobs"] == 0
    assert info["first_skipped"] == f"{path}:1: attempts: expected a list, got a string"


def test_fault_trace_jsonl_value_rules(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(
        '{"time": 5, "component": 1, "cause": null}\n{"time": "1h", "component": "2"}\n'
    )
    trace = read_fault_trace(path, 8)
    assert trace.causes == ("", "") and trace.times == (5.0, 3600.0)
    cases = [
        ('{"time": [1], "component": 1}', "time: expected seconds or a duration string, got '[1]'"),
        ('{"time": 1' + "0" * 400 + ', "component": 1}', "time: must be finite, got '1000"),
        ('{"time": 1, "component": 1, "cause": 5}', "cause: expected a string, got '5'"),
    ]
    for text, expected in cases:
        path.write_text(text + "\n")
        with pytest.raises(ConfigError) as info:
            read_fault_trace(path, 8)
        (message,) = info.value.messages
        assert message.startswith(f"{path}:1: {expected}"), message


def test_fault_trace_blast_radius_pod_takes_every_node_of_the_pod(tmp_path: Path) -> None:
    from clustersim.config import Scenario
    from clustersim.engine import Simulation
    from clustersim.events import NodeFailed

    path = tmp_path / "t.csv"
    path.write_text("time,component,cause,duration\n1h,3,power,30m\n")
    doc = {
        "cluster": {"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": 2, "pods": 1},
        "workload": {"jobs": [{"gpus": 24, "work": "10h"}]},
        "checkpoint": {"policy": "fixed", "interval": "1h", "stall": "60s"},
        "faults": {
            "replay": {
                "kind": "trace",
                "path": str(path),
                "blast_radius": "pod",
                "repair": {"distribution": "fixed", "mean": "15m"},
            }
        },
    }
    sim = Simulation(Scenario.model_validate(doc), seed=0)
    sim.run()
    failed = [(e.t, e.node, e.job) for e in sim.log if isinstance(e, NodeFailed)]
    # node 3 is idle, but the one pod holds all four nodes, three of them the job's
    assert failed == [(3600.0, 0, 0), (3600.0, 1, 0), (3600.0, 2, 0), (3600.0, 3, -1)]


def test_convert_with_gpus_per_processor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o.csv"
    source = tmp_path / "in.swf"
    source.write_text(swf_line(job=1, procs=3) + swf_line(job=2, procs=16))
    code, _, err = cli(
        capsys, "trace", "convert", str(source), str(out), "--gpus-per-processor", "0.5"
    )
    assert code == 0, err
    assert [j.gpus for j in read(out, "helios")[0]] == [2, 8]  # ceil(3 x 0.5), 16 x 0.5


def test_a_negative_plain_time_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(ALIBABA + "p,1,1000,-5,,,Pending\n")
    assert error_of(path, "alibaba") == f"{path}:2: creation_time: must not be negative, got '-5'"


# --- Philly job fields ------------------------------------------------------------------


def _philly(tmp_path: Path, *jobs: object) -> Path:
    path = tmp_path / "p.json"
    path.write_text("[\n" + ",\n".join(json.dumps(j) for j in jobs) + "\n]\n")
    return path


GOOD_ATTEMPT = {"start_time": 10, "end_time": 20, "detail": [{"ip": "m", "gpus": ["g0"]}]}


@pytest.mark.parametrize(
    ("job", "expected"),
    [
        (["not", "a", "job"], "job: expected a job object, got a list"),
        ({"jobid": ["x"], "submitted_time": 0}, "jobid: expected a string, got a list"),
        ({"jobid": True, "submitted_time": 0}, "jobid: expected a string, got a boolean"),
        ({"submitted_time": 0}, "jobid: expected a string, got nothing (null or missing)"),
        ({"jobid": "a"}, "submitted_time: missing"),
        ({"jobid": "a", "submitted_time": True}, "submitted_time: expected a time, got a boolean"),
        (
            {"jobid": "a", "submitted_time": 0, "attempts": [3]},
            "attempts[0]: expected an object, got a number",
        ),
        (
            {"jobid": "a", "submitted_time": 0, "attempts": [{"detail": {"ip": "m"}}]},
            "attempts[0].detail: expected a list of machines, got an object",
        ),
        (
            {"jobid": "a", "submitted_time": 0, "attempts": [GOOD_ATTEMPT, {"detail": ["m"]}]},
            "attempts[1].detail[0]: expected an object, got a string",
        ),
        (
            {"jobid": "a", "submitted_time": 0, "attempts": [{"detail": [{"gpus": 8}]}]},
            "attempts[0].detail[0].gpus: expected a list of GPU names, got a number '8'",
        ),
        (
            {"jobid": "a", "submitted_time": 0, "user": {"n": 1}, "attempts": [GOOD_ATTEMPT]},
            "user: expected a string, got an object",
        ),
    ],
)
def test_philly_field_errors_are_skippable(tmp_path: Path, job: object, expected: str) -> None:
    ok = {"jobid": "ok", "submitted_time": 0, "attempts": [GOOD_ATTEMPT]}
    path = _philly(tmp_path, ok, job)
    assert error_of(path, "philly") == f"{path}:3: {expected}"
    jobs, stats = read(path, "philly", on_bad_line="skip")
    assert [j.id for j in jobs] == ["ok"] and stats.skipped == 1


def test_philly_numeric_ids_and_vc(tmp_path: Path) -> None:
    path = _philly(
        tmp_path,
        {"jobid": 17, "submitted_time": 5.5, "vc": "vc1", "attempts": [GOOD_ATTEMPT]},
    )
    (only,) = read(path, "philly")[0]
    assert (only.id, only.submit_s, only.run_s) == ("17", 5.5, 10)
    assert only.meta == (("attempts", "1"), ("vc", "vc1"))


def test_philly_truncated_after_a_comma(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('[{"jobid": "a", "submitted_time": 0},\n  ')
    message = error_of(path, "philly", on_bad_line="skip")
    assert message == f"{path}:2: file: invalid JSON: the file ends inside a job (truncated?)"


def test_philly_job_over_the_size_limit(tmp_path: Path) -> None:
    from clustersim.traces.record import MAX_LINE_BYTES

    path = tmp_path / "p.json"
    path.write_text('[{"jobid": "a", "pad": "' + "x" * (2 * MAX_LINE_BYTES) + '"}]')
    message = error_of(path, "philly", on_bad_line="skip")
    assert message == f"{path}:1: file: a job is longer than {MAX_LINE_BYTES} bytes"


def test_philly_corrupt_gzip_is_fatal(tmp_path: Path) -> None:
    path = tmp_path / "p.json.gz"
    path.write_bytes(b"definitely not gzip")
    message = error_of(path, "philly", on_bad_line="skip")
    assert message.startswith(f"{path}:1: file: cannot read: ") and "gzip" in message


def test_swf_to_swf_keeps_an_unknown_allocated_processor_count(tmp_path: Path) -> None:
    """Issue 17 item 18: allocated processors -1 (GPUs from the request) came back as 16."""
    src = tmp_path / "a.swf"
    src.write_text(
        "; test\n"
        "1 0 10 100 -1 -1 -1 16 -1 -1 1 3 -1 -1 -1 -1 -1 -1\n"
        "2 5 10 100 8 -1 -1 16 -1 -1 1 3 -1 -1 -1 -1 -1 -1\n",
        encoding="utf-8",
    )
    jobs = list(read_swf(src))
    assert [j.gpus for j in jobs] == [16, 8]
    out = io.StringIO()
    write_swf(jobs, out)
    rows = [line.split() for line in out.getvalue().splitlines() if not line.startswith(";")]
    assert rows == [line.split() for line in src.read_text().splitlines()[1:]]
    back = tmp_path / "b.swf"
    back.write_text(out.getvalue(), encoding="utf-8")
    assert [j.gpus for j in read_swf(back)] == [16, 8]


@pytest.mark.parametrize("kind", ["missing", "directory", "fifo", "pty"])
def test_trace_path_that_is_not_a_regular_file_is_refused(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    from clustersim.cli import main

    path, what = tmp_path / "t", ""
    master = slave = -1
    if kind == "directory":
        path.mkdir()
        what = "is a directory"
    elif kind == "fifo":
        os.mkfifo(path)
        what = "is a FIFO"
    elif kind == "pty":  # a character device the test owns (like /dev/zero, never ending)
        master, slave = os.openpty()
        path = Path(os.ttyname(slave))
        what = "is a character device"
    else:
        what = "cannot read: No such file"
    try:
        argv = ["run", "single-job", "--set", "workload.jobs=[]"]
        code = main([*argv, "--set", f"workload.trace.path={path}"])
    finally:
        for fd in (master, slave):
            if fd >= 0:
                os.close(fd)
    err = capsys.readouterr().err
    assert code == 65 and err.count("\n") == 1, err
    assert f"{path}:1: file: {what}" in err and "cannot tell the trace format" not in err


def test_gzip_trace_past_the_ratio_cap_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clustersim.config import ConfigError
    from clustersim.traces import record
    from clustersim.traces.formats import read_trace

    monkeypatch.setattr(record, "GZIP_RATIO_FREE_BYTES", 1 << 16)
    bomb = tmp_path / "bomb.swf.gz"
    with gzip.open(bomb, "wb") as fh:
        fh.write(b"; blank lines\n" + b"\n" * (4 << 20))
    assert bomb.stat().st_size < 50_000
    with pytest.raises(ConfigError, match=r"bomb.swf.gz:\d+: file: cannot read: decompresses"):
        list(read_trace(bomb, "swf"))
    ok = tmp_path / "ok.swf.gz"
    with gzip.open(ok, "wb") as fh:
        fh.write((Path(record.__file__).parent / "samples" / "sample.swf").read_bytes())
    assert list(read_trace(ok, "swf"))

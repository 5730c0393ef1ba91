"""Workload trace readers, writers, ``clustersim trace info/convert`` and trace workloads."""

from __future__ import annotations

import gzip
import json
from importlib import resources
from pathlib import Path

import pytest

from clustersim.cli import main
from clustersim.config import ConfigError, Scenario, load_scenario
from clustersim.rng import Streams
from clustersim.traces.alibaba import whole_gpus
from clustersim.traces.formats import detect_format, read_trace
from clustersim.traces.record import MAX_LINE_BYTES, ReadStats, TraceJob
from clustersim.traces.summary import TraceSummary, size_bucket
from clustersim.workload import build_workload

SAMPLES = Path(str(resources.files("clustersim.traces") / "samples"))
SWF_LINE = "{id} {submit} {wait} {run} {procs} -1 -1 {req} -1 -1 1 1 -1 -1 -1 -1 -1 -1\n"


def read(path: Path, fmt: str, **options: object) -> tuple[list[TraceJob], ReadStats]:
    stats = ReadStats()
    jobs = list(read_trace(path, fmt, stats=stats, **options))  # type: ignore[arg-type]
    return jobs, stats


def error_of(path: Path, fmt: str, **options: object) -> str:
    with pytest.raises(ConfigError) as info:
        read(path, fmt, **options)
    assert info.value.exit_code == 65
    (message,) = info.value.messages
    return message


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


# --- the samples ------------------------------------------------------------------------


def test_samples_are_small_and_detected() -> None:
    found = {path.name: detect_format(path) for path in SAMPLES.iterdir()}
    assert found == {
        "sample.swf": "swf",
        "helios.csv": "helios",
        "philly.json": "philly",
        "alibaba.csv": "alibaba",
    }
    assert all(path.stat().st_size < 1024 for path in SAMPLES.iterdir())


def test_swf_sample_fields() -> None:
    jobs, stats = read(SAMPLES / "sample.swf", "swf")
    assert stats.jobs == len(jobs) == 8 and stats.dropped == {}
    first, cancelled = jobs[0], jobs[3]
    assert (first.id, first.user, first.gpus) == ("1", "1", 8)
    assert (first.submit_s, first.start_s, first.run_s, first.end_s) == (0, 5, 3600, 3605)
    assert first.state == "COMPLETED" and first.get("swf.req_time") == "7200"
    assert first.line == 5
    # allocated processors missing (-1): the requested 16 are used; no wait, no run time
    assert (cancelled.gpus, cancelled.start_s, cancelled.run_s) == (16, None, None)
    assert cancelled.state == "CANCELLED"


def test_helios_sample_fields() -> None:
    jobs, stats = read(SAMPLES / "helios.csv", "helios")
    assert stats.dropped == {"no GPUs": 1}  # j0004 is a CPU job
    by_id = {job.id: job for job in jobs}
    node_fail = by_id["j0003"]
    assert node_fail.state == "NODE_FAIL" and node_fail.gpus == 64
    assert node_fail.submit_s == 1585701000.0  # 2020-04-01 00:30:00 UTC
    assert node_fail.run_s == 36000
    assert by_id["j0005"].start_s is None and by_id["j0005"].run_s is None
    assert by_id["j0007"].run_s == 1800  # empty duration: end - start


def test_philly_sample_fields() -> None:
    jobs, stats = read(SAMPLES / "philly.json", "philly")
    assert stats.dropped == {"no GPUs": 1}  # no attempts
    two = jobs[1]
    assert (two.id, two.gpus, two.state, two.line) == ("app_0002", 4, "Failed", 6)
    assert two.run_s == 600 + 7200  # both attempts' running time
    assert two.end_s is not None and two.start_s is not None
    assert two.end_s - two.start_s == 8040  # first start to last end (a 4-min requeue)
    assert two.get("attempts") == "2"
    assert jobs[2].end_s is None and jobs[2].run_s is None  # still running (end null)


def test_alibaba_rounding_rule() -> None:
    assert whole_gpus(1, 220) == 1  # a GPU-sharing pod holds a whole GPU
    assert whole_gpus(1, 1000) == 1
    assert whole_gpus(8, 1000) == 8
    assert whole_gpus(0, 0) == 0
    jobs, stats = read(SAMPLES / "alibaba.csv", "alibaba")
    assert stats.dropped == {"no GPUs": 1}
    pod_b = next(job for job in jobs if job.id == "pod-b")
    assert (pod_b.gpus, pod_b.start_s, pod_b.run_s) == (1, 62, 7198)
    assert pod_b.get("gpu_milli") == "250"
    pending = jobs[-1]
    assert pending.state == "Pending" and pending.start_s is None and pending.end_s is None


# --- reading rules ----------------------------------------------------------------------


def test_swf_gpus_per_processor(tmp_path: Path) -> None:
    path = tmp_path / "t.swf"
    path.write_text(
        SWF_LINE.format(id=1, submit=0, wait=0, run=10, procs=12, req=-1)
        + SWF_LINE.format(id=2, submit=1, wait=0, run=10, procs=1, req=-1)
        + SWF_LINE.format(id=3, submit=2, wait=0, run=10, procs=-1, req=-1)
    )
    jobs, stats = read(path, "swf", gpus_per_processor=0.25)
    assert [job.gpus for job in jobs] == [3, 1]  # ceil(12/4), ceil(1/4)
    assert stats.dropped == {"no processor count": 1}
    jobs, _ = read(path, "swf", gpus_per_processor=8)
    assert [job.gpus for job in jobs] == [96, 8]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 0 0 10 8 -1 -1 8\n", "line: expected 18 fields, got 8"),
        (SWF_LINE.format(id=1, submit=0, wait=-2, run=1, procs=1, req=1), "wait (field 3): must"),
        (SWF_LINE.format(id=1, submit="nan", wait=0, run=1, procs=1, req=1), "submit (field 2)"),
        (SWF_LINE.format(id=1, submit=0, wait=0, run="1e400", procs=1, req=1), "must be finite"),
        (SWF_LINE.format(id=1.5, submit=0, wait=0, run=1, procs=1, req=1), "job (field 1)"),
    ],
)
def test_swf_bad_line_message(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.swf"
    path.write_text("; header\n" + text)
    message = error_of(path, "swf")
    assert message.startswith(f"{path}:2: ") and expected in message


def test_helios_errors_name_the_column(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("job_id,gpu_num,submit_time,start_time,end_time\na,1,0,100,50\n")
    assert error_of(path, "helios") == f"{path}:2: end_time: 50 is before the start 100"
    path.write_text("job_id,gpu_num\na,1\n")
    assert error_of(path, "helios") == f"{path}:1: header: missing column 'submit_time'"
    path.write_text("job_id,gpu_num,submit_time\na,1,yesterday\nb,2\nc,-1,0\nd,1,5\n")
    assert error_of(path, "helios").startswith(f"{path}:2: submit_time: expected seconds or a")
    jobs, stats = read(path, "helios", on_bad_line="skip")
    assert [job.id for job in jobs] == ["d"]
    assert stats.skipped == 3 and stats.first_skipped is not None
    assert stats.first_skipped.startswith(f"{path}:2: submit_time:")
    # a header problem is never skipped
    path.write_text("job_id,gpu_num,gpu_num,submit_time\n")
    with pytest.raises(ConfigError, match="appears twice"):
        read(path, "helios", on_bad_line="skip")


def test_a_line_over_the_limit_is_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "long.swf"
    good = SWF_LINE.format(id=2, submit=0, wait=0, run=10, procs=1, req=1)
    path.write_text("; " + "x" * (MAX_LINE_BYTES + 10) + "\n" + good)
    assert error_of(path, "swf") == f"{path}:1: line: longer than {MAX_LINE_BYTES} bytes"
    jobs, stats = read(path, "swf", on_bad_line="skip")
    assert [job.id for job in jobs] == ["2"] and jobs[0].line == 2 and stats.skipped == 1


def test_gzip_input_and_a_corrupt_gzip(tmp_path: Path) -> None:
    path = tmp_path / "t.swf.gz"
    path.write_bytes(gzip.compress((SAMPLES / "sample.swf").read_bytes()))
    assert detect_format(path) == "swf"
    assert read(path, "swf")[0] == read(SAMPLES / "sample.swf", "swf")[0]
    path.write_bytes(gzip.compress(b"1 2 3")[:-6])
    assert error_of(path, "swf").startswith(f"{path}:1: file: cannot read: ")


def test_philly_streams_across_chunks_with_right_line_numbers(tmp_path: Path) -> None:
    job = {
        "jobid": "j",
        "user": "u",
        "status": "Pass",
        "submitted_time": "2017-10-01 00:00:00",
        "attempts": [
            {
                "start_time": "2017-10-01 00:00:01",
                "end_time": "2017-10-01 00:00:11",
                "detail": [{"ip": "m", "gpus": ["g0", "g1"]}],
            }
        ],
    }
    n = 3000  # about 600 kB: many 64 kB chunks
    lines = ["["] + [json.dumps({**job, "jobid": f"j{i}"}) + "," for i in range(n)]
    lines.append(json.dumps({**job, "jobid": "bad", "attempts": 5}))
    lines.append("]")
    path = tmp_path / "p.json"
    path.write_text("\n".join(lines))
    assert error_of(path, "philly") == f"{path}:{n + 2}: attempts: expected a list, got a number"
    jobs, stats = read(path, "philly", on_bad_line="skip")
    assert len(jobs) == n and stats.skipped == 1
    assert jobs[-1].id == f"j{n - 1}" and jobs[-1].line == n + 1
    assert jobs[0].run_s == 10 and jobs[0].gpus == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', "1: file: expected a JSON array of jobs"),
        ('[{"jobid": "a", "submitted_time": NaN}]', "1: file: NaN is not valid JSON"),
        ('[{"jobid": "a",\n "x": tru}]', "2: file: invalid JSON: Expecting value"),
        ('[{"jobid": "a", "submitted_time": 0}', "1: file: the file ends before the array's"),
        ('[{"jobid": "a", "submitted_time": 0} {', "1: file: expected ',' or ']' after a job"),
        ('[{"jobid": "a", "submit', "1: file: invalid JSON: Unterminated string"),
        (
            '[{"jobid": "a", "submitted_time": 0,',
            "1: file: invalid JSON: the file ends inside a job",
        ),
        ("[" * 100_000, "1: file: a job is nested too deeply"),
        ("[] []", "1: file: unexpected data after the array"),
    ],
)
def test_philly_syntax_errors_are_fatal(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "p.json"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        read(path, "philly", on_bad_line="skip")
    (message,) = info.value.messages
    assert message.startswith(f"{path}:") and expected in message


def test_detect_format_by_content(tmp_path: Path) -> None:
    cases = {
        "a.csv": "name,num_gpu,gpu_milli,creation_time\n",
        "b.csv": "job_id,gpu_num,submit_time\n",
        "c.txt": "; SWF header\n",
        "d": SWF_LINE.format(id=1, submit=0, wait=0, run=1, procs=1, req=1),
        "e": '\n  [{"jobid": 1}]',
        "f.csv": "time,component\n",
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
    found = {name: detect_format(tmp_path / name) for name in cases}
    assert found == {"a.csv": "alibaba", "b.csv": "helios", "c.txt": "swf", "d": "swf"} | {
        "e": "philly",
        "f.csv": None,
    }


def test_summary_counts() -> None:
    assert [size_bucket(g) for g in (1, 2, 3, 4, 5, 8, 9, 256, 257)] == [
        1,
        2,
        4,
        4,
        8,
        8,
        16,
        256,
        512,
    ]
    summary = TraceSummary(path="x", format="swf")
    for job in read(SAMPLES / "sample.swf", "swf")[0]:
        summary.add(job)
    expected_gpu_s = 8 * 3600 + 600 + 64 * 86400 + 16 * 1200 + 2 * 7200 + 256 * 43200 + 4 * 30
    assert summary.gpu_hours == pytest.approx(expected_gpu_s / 3600)
    assert summary.sizes == {1: 1, 2: 1, 4: 1, 8: 1, 16: 2, 64: 1, 256: 1}
    assert summary.users == 4 and summary.states["COMPLETED"] == 5
    assert summary.span_s == 86550  # job 3 ends at 150 + 86400


# --- command line -----------------------------------------------------------------------


def test_info_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "trace", "info", str(SAMPLES / "helios.csv"), "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["format"] == "helios" and info["jobs"] == 6
    assert info["dropped"] == {"no GPUs": 1} and info["states"]["NODE_FAIL"] == 1
    assert info["gpu_hours"] == pytest.approx(
        (8 * 7200 + 120 + 64 * 36000 + 4 * 86400 + 3600) / 3600
    )
    code, out, _ = cli(capsys, "trace", "info", str(SAMPLES / "philly.json"))
    assert code == 0 and "2017-10-01 00:00:00 UTC" in out and "GPU-hours" in out


def test_info_bad_data_and_skip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.swf"
    good = SWF_LINE.format(id=1, submit=0, wait=0, run=10, procs=1, req=1)
    path.write_text(good + "2 x\n" + good)
    code, out, err = cli(capsys, "trace", "info", str(path))
    assert code == 65 and out == ""
    assert err == f"{path}:2: line: expected 18 fields, got 2\n"
    code, out, err = cli(capsys, "trace", "info", str(path), "--on-bad-line", "skip", "--json")
    assert code == 0 and json.loads(out)["jobs"] == 2 and json.loads(out)["skipped_lines"] == 1
    assert (
        err
        == f"clustersim: skipped 1 bad line (first: {path}:2: line: expected 18 fields, got 2)\n"
    )


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    unknown = tmp_path / "mystery.dat"
    unknown.write_text("hello\n")
    cases = [
        (["trace", "info", str(tmp_path / "missing.swf")], "no such file"),
        (["trace", "info", str(tmp_path)], "not a file"),
        (["trace", "info", str(unknown)], "cannot tell the trace format; give --format"),
        (["trace", "info", str(unknown), "--format", "xml"], "invalid choice"),
        (["trace", "info", str(unknown), "--gpus-per-processor", "0"], "must be a positive"),
        (["trace", "convert", str(SAMPLES / "sample.swf"), str(tmp_path / "o.txt")], "--to"),
        (["trace", "convert", str(SAMPLES / "sample.swf"), str(tmp_path / "no/o.swf")], "exist"),
    ]
    for argv, expected in cases:
        code, out, err = cli(capsys, *argv)
        assert code == 2, argv
        assert expected in err and err.count("\n") == 1 and out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mystery.dat"]


def test_convert_round_trip_through_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv_path, swf_path = tmp_path / "a.csv", tmp_path / "b.swf"
    assert cli(capsys, "trace", "convert", str(SAMPLES / "sample.swf"), str(csv_path))[0] == 0
    code, _, err = cli(capsys, "trace", "convert", str(csv_path), str(swf_path), "--from", "helios")
    assert code == 0 and f"wrote 8 jobs to {swf_path} (swf)" in err
    original = read(SAMPLES / "sample.swf", "swf")[0]
    again = read(swf_path, "swf")[0]
    strip = [(j.id, j.user, j.gpus, j.submit_s, j.start_s, j.run_s, j.state) for j in original]
    assert [(j.id, j.user, j.gpus, j.submit_s, j.start_s, j.run_s, j.state) for j in again] == strip


def test_convert_epoch_trace_to_swf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "h.swf"
    code, _, err = cli(capsys, "trace", "convert", str(SAMPLES / "helios.csv"), str(out))
    assert code == 0 and "dropped 1 (no GPUs)" in err
    text = out.read_text()
    assert "; UnixStartTime: 1585699200\n" in text
    jobs = read(out, "swf")[0]
    assert [job.submit_s for job in jobs][:2] == [0, 600]
    assert [job.state for job in jobs] == [
        "COMPLETED",
        "FAILED",
        "FAILED",  # NODE_FAIL: SWF has only failed
        "CANCELLED",
        "FAILED",  # TIMEOUT
        "COMPLETED",
    ]
    assert [job.id for job in jobs] == ["1", "2", "3", "4", "5", "6"]  # text ids: positions


def test_convert_failure_leaves_no_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.swf"
    good = SWF_LINE.format(id=1, submit=0, wait=0, run=10, procs=1, req=1)
    source.write_text(good * 5000 + "oops\n")
    out = tmp_path / "out.csv"
    code, _, err = cli(capsys, "trace", "convert", str(source), str(out))
    assert code == 65 and err == f"{source}:5001: line: expected 18 fields, got 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.swf"]
    out.write_text("keep me")
    assert cli(capsys, "trace", "convert", str(source), str(out))[0] == 65
    assert out.read_text() == "keep me"
    code, _, err = cli(capsys, "trace", "convert", str(source), str(out), "--on-bad-line", "skip")
    assert code == 0 and "skipped 1 bad line" in err and "wrote 5,000 jobs" in err


# --- trace workloads --------------------------------------------------------------------


def _scenario(tmp_path: Path, trace: str, **extra: object) -> Path:
    (tmp_path / "traces").mkdir(exist_ok=True)
    (tmp_path / "traces" / "w.swf").write_bytes((SAMPLES / "sample.swf").read_bytes())
    fields = ", ".join(f"{k}: {v}" for k, v in extra.items())
    path = tmp_path / "s.yaml"
    path.write_text(
        "cluster: {gpus_per_node: 8, nodes_per_rack: 2, racks_per_pod: 4, pods: 2}\n"
        f"workload:\n  trace: {{path: {trace}{', ' if fields else ''}{fields}}}\n"
        "checkpoint: {policy: fixed}\n"
        "run: {horizon: 30d}\n"
    )
    return path


def test_trace_workload_rules(tmp_path: Path) -> None:
    scenario = load_scenario(_scenario(tmp_path, "traces/w.swf", time_scale=0.5, gpu_scale=2))
    assert scenario.workload.trace is not None
    assert scenario.workload.trace.path == str(tmp_path / "traces" / "w.swf")
    jobs = build_workload(scenario, Streams(0))
    # job 4 has no run time; the others, times halved and GPUs doubled
    assert [(j.name, j.gpus, j.work_s, j.submit_s) for j in jobs][:3] == [
        ("1", 16, 1800.0, 0.0),
        ("2", 2, 300.0, 30.0),
        ("3", 128, 43200.0, 60.0),
    ]
    assert len(jobs) == 7
    late = load_scenario(_scenario(tmp_path, "traces/w.swf", start=300, max_jobs=2))
    assert [(j.name, j.submit_s) for j in build_workload(late, Streams(0))] == [
        ("5", 60.0),
        ("6", 600.0),
    ]


def test_trace_workload_shorthand_and_bad_trace(tmp_path: Path) -> None:
    data = {"workload": {"trace": str(SAMPLES / "alibaba.csv")}}
    scenario = Scenario.model_validate(data)
    assert scenario.workload.trace is not None and scenario.workload.trace.format is None
    assert len(build_workload(scenario, Streams(0))) == 5  # pod-c (no GPU), pod-g (pending)
    bad = tmp_path / "bad.swf"
    bad.write_text("1 2 3\n")
    broken = Scenario.model_validate({"workload": {"trace": {"path": str(bad)}}})
    with pytest.raises(ConfigError, match=r"bad.swf:1: line: expected 18 fields"):
        build_workload(broken, Streams(0))


def test_run_a_trace_scenario_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _scenario(tmp_path, "traces/w.swf")
    code, out, err = cli(capsys, "run", str(path), "--json")
    assert code == 0, err
    result = json.loads(out)
    jobs = result["jobs"]
    assert len(jobs) == 7
    big = next(job for job in jobs if job["gpus"] == 256)  # larger than the 128-GPU cluster
    assert big["finished"] is False
    assert sum(1 for job in jobs if job["finished"]) == 6
    (tmp_path / "traces" / "w.swf").write_text("1 2 3\n")
    code, out, err = cli(capsys, "run", str(path))
    assert code == 65 and err.endswith("w.swf:1: line: expected 18 fields, got 3\n")

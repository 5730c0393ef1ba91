"""Workload traces: write → read round trips, and fuzzed readers that only raise ConfigError.

Round trip (issue 9): for every format clustersim writes (SWF, CSV), jobs drawn from what
the format stores exactly come back equal. Fuzzing: random bytes, truncated samples and
sample lines with one field replaced by a wrong type, NaN/inf, a negative or huge number
never raise anything but :class:`ConfigError` with one ``file:line: field: message`` line,
and with ``on_bad_line="skip"`` a bad data line is counted instead.
"""

from __future__ import annotations

import io
import re
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import trace_jobs

from clustersim.config import ConfigError
from clustersim.traces.formats import FORMATS, read_trace
from clustersim.traces.helios import write_csv
from clustersim.traces.record import ReadStats, TraceJob
from clustersim.traces.swf import write_swf

SAMPLES = resources.files("clustersim.traces") / "samples"
SAMPLE_FILES = {
    "swf": "sample.swf",
    "helios": "helios.csv",
    "philly": "philly.json",
    "alibaba": "alibaba.csv",
}
ONE_LINE = re.compile(r"^[^\n]+:\d+: [^\n]+: [^\n]+$")
FUZZ = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)


def _expected_csv(job: TraceJob) -> TraceJob:
    """What the CSV reader makes of ``job``: a missing duration is end − start."""
    if job.run_s is None and job.start_s is not None and job.end_s is not None:
        return TraceJob(**{**_fields(job), "run_s": job.end_s - job.start_s})
    return job


def _fields(job: TraceJob) -> dict[str, object]:
    return {name: getattr(job, name) for name in TraceJob.__dataclass_fields__}


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(jobs=trace_jobs(fmt="swf"))
def test_swf_round_trip(tmp_path: Path, jobs: list[TraceJob]) -> None:
    path = tmp_path / "t.swf"
    with path.open("w", encoding="utf-8") as out:
        assert write_swf(jobs, out) == len(jobs)
    assert list(read_trace(path, "swf")) == jobs


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(jobs=trace_jobs(fmt="csv"))
def test_csv_round_trip(tmp_path: Path, jobs: list[TraceJob]) -> None:
    path = tmp_path / "t.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        assert write_csv(jobs, out) == len(jobs)
    assert list(read_trace(path, "helios")) == [_expected_csv(job) for job in jobs]


def test_round_trip_can_fail() -> None:
    """The SWF writer really rounds: a fractional time does not survive (so the test bites)."""
    job = TraceJob("1", "", 1, 0.4, None, None, 10.5, "")
    out = io.StringIO()
    write_swf([job], out)
    assert " 0 -1 10 1 " in out.getvalue()  # submit 0 (rounded), run 10 (half to even)


def _read_all(path: Path, fmt: str, on_bad_line: str = "error") -> ReadStats:
    stats = ReadStats()
    for _ in read_trace(path, fmt, on_bad_line=on_bad_line, stats=stats):  # type: ignore[arg-type]
        pass
    return stats


def _only_config_errors(path: Path, fmt: str, on_bad_line: str = "error") -> str | None:
    try:
        _read_all(path, fmt, on_bad_line)
    except ConfigError as err:
        assert len(err.messages) == 1
        assert ONE_LINE.match(err.messages[0]), err.messages[0]
        assert err.messages[0].startswith(f"{path}:")
        return err.messages[0]
    return None


# Each parser gets the profile's full example count (the fuzz profile: 10,000 per parser).
@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(data=st.binary(max_size=400))
def test_random_bytes_only_config_errors(tmp_path: Path, data: bytes, fmt: str) -> None:
    path = tmp_path / "fuzz"
    path.write_bytes(data)
    _only_config_errors(path, fmt)
    _only_config_errors(path, fmt, "skip")


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(cut=st.integers(0, 2000), tail=st.binary(max_size=8))
def test_truncated_samples_only_config_errors(
    tmp_path: Path, fmt: str, cut: int, tail: bytes
) -> None:
    data = (SAMPLES / SAMPLE_FILES[fmt]).read_bytes()
    path = tmp_path / "cut"
    path.write_bytes(data[: cut % (len(data) + 1)] + tail)
    _only_config_errors(path, fmt)


BAD_VALUES = (
    "abc",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e400",
    "-5",
    "-1e300",
    "9" * 400,
    "0x10",
    "1_000",
    "",
    '"',
    "[]",
    "{}",
    "null",
    "true",
    "\x00",
    "\ud7ff",
)


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(
    line=st.integers(0, 20),
    field=st.integers(0, 20),
    value=st.sampled_from(BAD_VALUES) | st.text(max_size=6),
)
def test_mutated_fields_only_config_errors(
    tmp_path: Path, fmt: str, line: int, field: int, value: str
) -> None:
    lines = (SAMPLES / SAMPLE_FILES[fmt]).read_text(encoding="utf-8").split("\n")
    k = line % len(lines)
    if fmt == "philly":  # replace the n-th JSON value on the line
        parts = re.split(r'("[^"]*")', lines[k])
        values = [i for i, p in enumerate(parts) if p.startswith('"')]
        if values:
            parts[values[field % len(values)]] = value
        lines[k] = "".join(parts)
    else:
        sep = None if fmt == "swf" else ","
        parts = lines[k].split(sep) or [""]
        parts[field % len(parts)] = value
        lines[k] = (" " if fmt == "swf" else ",").join(parts)
    path = tmp_path / "mutated"
    path.write_text("\n".join(lines), encoding="utf-8")
    _only_config_errors(path, fmt)
    _only_config_errors(path, fmt, "skip")


@pytest.mark.parametrize(("fmt", "column"), [("swf", 2), ("helios", 2), ("alibaba", 3)])
def test_a_bad_data_line_is_reported_or_skipped(tmp_path: Path, fmt: str, column: int) -> None:
    lines = (SAMPLES / SAMPLE_FILES[fmt]).read_text(encoding="utf-8").split("\n")
    k = next(i for i, text in enumerate(lines) if text and text[0] not in ";#")
    k += 1  # the first data line after the header (CSV) or the second job (SWF)
    sep = " " if fmt == "swf" else ","
    parts = lines[k].split(sep)
    parts[column] = "nan"  # wait / gpu_num / num_gpu
    lines[k] = sep.join(parts)
    path = tmp_path / "bad"
    path.write_text("\n".join(lines), encoding="utf-8")
    message = _only_config_errors(path, fmt)
    assert message is not None and message.startswith(f"{path}:{k + 1}: ")
    good = _read_all(tmp_path / "bad", fmt, "skip")
    full = _read_all(Path(str(SAMPLES / SAMPLE_FILES[fmt])), fmt)
    assert good.skipped == 1 and good.first_skipped == message
    assert good.jobs + sum(good.dropped.values()) == full.jobs + sum(full.dropped.values()) - 1

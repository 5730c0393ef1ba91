"""Standard Workload Format (Parallel Workloads Archive): reader and writer.

An SWF file is text: header comments start with ``;``, and each other line is one job of 18
whitespace-separated numbers, ``-1`` meaning missing. This module owns the mapping between
those fields and :class:`~clustersim.traces.record.TraceJob` (``docs/traces.md``):

* job number (1) → ``id``; user ID (12) → ``user`` (``-1`` → ``""``);
* submit time (2) → ``submit_s``; wait time (3) → ``start_s = submit + wait``;
  run time (4) → ``run_s`` and ``end_s = start + run``;
* allocated processors (5), else requested processors (8) → ``gpus = ceil(processors ×
  gpus_per_processor)``; a job with neither, or with 0, is dropped and counted;
* status (11) → ``state`` (0 ``FAILED``, 1 ``COMPLETED``, 2 ``PARTIAL``, 3
  ``PARTIAL_COMPLETED``, 4 ``PARTIAL_FAILED``, 5 ``CANCELLED``, -1 ``""``);
* every other field, when present, → ``meta`` as ``swf.<name>`` (written back unchanged);
  a missing allocated-processor count is kept as ``swf.procs = -1`` and written back as -1.

SWF stores whole seconds: the writer rounds times to the nearest second (half to even).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Iterator
from typing import IO

from clustersim.config import ConfigError
from clustersim.traces.record import (
    MAX_GPUS,
    BadLine,
    OnBadLine,
    ReadStats,
    TraceJob,
    bad_line,
    fail,
    format_number,
    lines_of,
    parse_number,
)

__all__ = ["FIELDS", "STATE_BY_STATUS", "read_swf", "swf_status", "write_swf"]

FIELDS: tuple[str, ...] = (
    "job",
    "submit",
    "wait",
    "run",
    "procs",
    "cpu_time",
    "memory",
    "req_procs",
    "req_time",
    "req_memory",
    "status",
    "user",
    "group",
    "executable",
    "queue",
    "partition",
    "preceding_job",
    "think_time",
)
"""The 18 SWF fields in file order (the names used in messages and in ``meta``)."""
STATE_BY_STATUS: dict[int, str] = {
    0: "FAILED",
    1: "COMPLETED",
    2: "PARTIAL",
    3: "PARTIAL_COMPLETED",
    4: "PARTIAL_FAILED",
    5: "CANCELLED",
}
_STATUS_BY_WORD: dict[str, int] = {
    **{state: status for status, state in STATE_BY_STATUS.items()},
    "PASS": 1,
    "SUCCEEDED": 1,
    "NODE_FAIL": 0,
    "TIMEOUT": 0,
    "OUT_OF_MEMORY": 0,
    "KILLED": 5,
}
_META_FIELDS = tuple(i for i in range(18) if i not in (0, 1, 2, 3, 4, 10, 11))
_DIGITS = re.compile(r"[0-9]{1,18}")
_PROCS_KEY = f"swf.{FIELDS[4]}"
"""``meta`` key present (as ``-1``) when an SWF job had no allocated processors (field 5)."""
_EPS = 1e-12  # processors x ratio that is an integer up to rounding stays that integer


def _is_count(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return math.isfinite(value) and value >= 0 and " " not in text


def _field(index: int) -> str:
    return f"{FIELDS[index]} (field {index + 1})"


def swf_status(state: str) -> int:
    """The SWF status code of a state from any format (``-1`` when unknown)."""
    words = state.strip().upper().split()
    return _STATUS_BY_WORD.get(words[0], -1) if words else -1


def read_swf(
    path: str | os.PathLike[str],
    *,
    gpus_per_processor: float = 1.0,
    on_bad_line: OnBadLine = "error",
    stats: ReadStats | None = None,
) -> Iterator[TraceJob]:
    """Stream the jobs of the SWF file at ``path`` (plain or ``.gz``).

    Raises:
        ConfigError: ``path:line: field: message`` for the first bad line (unless skipped).
    """
    if not (math.isfinite(gpus_per_processor) and gpus_per_processor > 0):
        raise ValueError("gpus_per_processor must be a positive number")
    stats = stats if stats is not None else ReadStats()
    stats.path = os.fspath(path)
    for number, text in lines_of(stats.path, stats, on_bad_line):
        stripped = text.strip()
        if not stripped or stripped.startswith(";"):
            continue
        try:
            job = _parse(stripped, number, gpus_per_processor, stats)
        except BadLine as err:
            bad_line(err, stats, on_bad_line)
            continue
        if job is not None:
            stats.jobs += 1
            yield job


def _parse(text: str, line: int, ratio: float, stats: ReadStats) -> TraceJob | None:
    parts = text.split()
    if len(parts) != len(FIELDS):
        fail(line, "line", f"expected {len(FIELDS)} fields, got {len(parts)}")
    values: list[float | None] = []
    for i, part in enumerate(parts):
        value = parse_number(part, line, _field(i))
        if value == -1:
            values.append(None)
        elif value < 0:
            fail(line, _field(i), f"must not be negative (-1 means missing), got {part!r}")
        elif value > 1e13:
            fail(line, _field(i), f"must be at most 1e+13, got {part!r}")
        else:
            values.append(value)
    job_no, submit, wait, run = values[0], values[1], values[2], values[3]
    if job_no is None or not job_no.is_integer():
        fail(line, _field(0), f"expected a job number, got {parts[0]!r}")
    if submit is None:
        fail(line, _field(1), "the submit time is missing")
    procs = values[4] if values[4] is not None else values[7]
    if procs is None:
        stats.drop("no processor count")
        return None
    gpus = math.ceil(procs * ratio * (1 - _EPS))
    if gpus > MAX_GPUS:
        fail(line, _field(4), f"{format_number(procs)} processors is more than {MAX_GPUS} GPUs")
    if gpus == 0:
        stats.drop("no GPUs")
        return None
    status = values[10]
    if status is not None and status not in STATE_BY_STATUS:
        fail(line, _field(10), f"expected -1 or 0-5, got {parts[10]!r}")
    user = values[11]
    if user is not None and not user.is_integer():
        fail(line, _field(11), f"expected a user number, got {parts[11]!r}")
    start = None if wait is None else submit + wait
    end = None if start is None or run is None else start + run
    meta = tuple(
        (f"swf.{FIELDS[i]}", format_number(v)) for i in _META_FIELDS if (v := values[i]) is not None
    )
    if values[4] is None:  # GPUs from the requested count: allocated stays unknown on write
        meta = ((_PROCS_KEY, "-1"), *meta)
    return TraceJob(
        id=format_number(job_no),
        user="" if user is None else format_number(user),
        gpus=gpus,
        submit_s=submit,
        start_s=start,
        end_s=end,
        run_s=run,
        state="" if status is None else STATE_BY_STATUS[int(status)],
        meta=meta,
        line=line,
    )


def write_swf(
    jobs: Iterable[TraceJob],
    out: IO[str],
    *,
    gpus_per_processor: float = 1.0,
    origin_s: float | None = 0.0,
    source: str = "jobs",
) -> int:
    """Write ``jobs`` to ``out`` as SWF; returns the number of jobs written.

    Times are written relative to ``origin_s`` (``None``: the first job's submit time, also
    recorded as the ``UnixStartTime`` header) and rounded to whole seconds. Processors are
    ``ceil(gpus / gpus_per_processor)``. A numeric job id is kept, any other id becomes the
    job's 1-based position; a numeric user is kept, any other user gets a number by first
    appearance. States map to SWF status codes (``COMPLETED``/``Pass``/``Succeeded`` 1,
    ``FAILED``/``NODE_FAIL``/``TIMEOUT``/``Failed`` 0, ``CANCELLED``/``Killed`` 5, else -1).

    Raises:
        ConfigError: a job submitted before ``origin_s`` (``source:line: submit: ...``).
    """
    users: dict[str, int] = {}
    count = 0
    origin = origin_s
    for job in jobs:
        if count == 0:
            if origin is None:
                origin = float(round(job.submit_s))
            _header(out, origin, gpus_per_processor)
        assert origin is not None
        count += 1
        out.write(_line(job, count, origin, gpus_per_processor, users, source))
    if count == 0:
        _header(out, origin or 0.0, gpus_per_processor)
    return count


def _header(out: IO[str], origin: float, ratio: float) -> None:
    out.write("; Version: 2.2\n; Computer: written by clustersim trace convert\n")
    if origin:
        out.write(f"; UnixStartTime: {format_number(origin)}\n")
    out.write(f"; Note: processors = GPUs / {format_number(ratio)} (gpus_per_processor)\n")


def _line(
    job: TraceJob, position: int, origin: float, ratio: float, users: dict[str, int], source: str
) -> str:
    fields = ["-1"] * len(FIELDS)
    submit = round(job.submit_s - origin)
    if submit < 0:
        raise ConfigError(
            [
                f"{source}:{job.line}: submit: job {job.id!r} was submitted before the first "
                "job; SWF needs the jobs in submission order"
            ]
        )
    fields[0] = job.id if _DIGITS.fullmatch(job.id) else str(position)
    fields[1] = str(submit)
    if job.start_s is not None:
        fields[2] = str(max(0, round(job.start_s - origin) - submit))
    if job.run_s is not None:
        fields[3] = str(round(job.run_s))
    if job.get(_PROCS_KEY) != "-1":
        fields[4] = str(math.ceil(job.gpus / ratio * (1 - _EPS)))
    fields[10] = str(swf_status(job.state))
    if job.user:
        if _DIGITS.fullmatch(job.user):
            fields[11] = job.user
        else:
            fields[11] = str(users.setdefault(job.user, len(users) + 1))
    for i in _META_FIELDS:
        value = job.get(f"swf.{FIELDS[i]}")
        if value is not None and _is_count(value):
            fields[i] = value
    return " ".join(fields) + "\n"

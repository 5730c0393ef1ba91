"""Helios / AcmeTrace job CSV (SenseTime Helios, Shanghai AI Lab AcmeTrace): reader and writer.

This module owns the mapping of those job logs (``cluster_log.csv``, ``trace_*.csv``) to
:class:`~clustersim.traces.record.TraceJob` (``docs/traces.md``). Columns by name:

* ``job_id`` → ``id``; ``user`` → ``user``; ``gpu_num`` (or ``gpus``) → ``gpus`` (a job with
  0 GPUs, a CPU job, is dropped and counted);
* ``submit_time``, ``start_time``, ``end_time`` → ``submit_s``, ``start_s``, ``end_s``: plain
  seconds or an ISO date-time (``2020-04-01 00:00:15``, no zone = UTC); start and end may be
  empty;
* ``duration`` → ``run_s`` (empty or absent: ``end − start``);
* ``state`` → ``state`` verbatim (``COMPLETED``, ``FAILED``, ``NODE_FAIL``, ``CANCELLED``,
  ``TIMEOUT``, ...), so failed and node-failed jobs stay recognisable.

Other columns (``cpu_num``, ``node_num``, ``queue``, ...) are ignored. The writer writes the
clustersim CSV, the same columns with times as plain seconds (exact round trip).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator
from typing import IO

from clustersim.traces.csvtable import read_csv_jobs
from clustersim.traces.record import (
    OnBadLine,
    ReadStats,
    TraceJob,
    check_times,
    format_number,
    parse_count,
    parse_seconds,
    parse_time,
)

__all__ = ["COLUMNS", "read_helios", "write_csv"]

COLUMNS: tuple[str, ...] = (
    "job_id",
    "user",
    "gpu_num",
    "state",
    "submit_time",
    "start_time",
    "end_time",
    "duration",
)
"""The columns the writer writes, in order (the reader needs ``job_id``, ``gpu_num``,
``submit_time``)."""
_ALIASES: dict[str, str] = {name: name for name in COLUMNS} | {"gpus": "gpu_num"}
_REQUIRED = ("job_id", "gpu_num", "submit_time")
_MISSING = frozenset({"", "none", "nan", "null"})


def read_helios(
    path: str | os.PathLike[str],
    *,
    on_bad_line: OnBadLine = "error",
    stats: ReadStats | None = None,
) -> Iterator[TraceJob]:
    """Stream the jobs of the Helios/AcmeTrace CSV file at ``path`` (plain or ``.gz``).

    Raises:
        ConfigError: ``path:line: column: message`` for the first bad line (unless skipped),
            or a bad header.
    """
    yield from read_csv_jobs(
        path, stats, on_bad_line, aliases=_ALIASES, required=_REQUIRED, job=_job
    )


def _optional_time(row: dict[str, str], name: str, line: int) -> float | None:
    text = row.get(name, "")
    return None if text.lower() in _MISSING else parse_time(text, line, name)


def _job(row: dict[str, str], line: int) -> TraceJob:
    gpus = parse_count(row["gpu_num"], line, "gpu_num")
    submit = parse_time(row["submit_time"], line, "submit_time")
    start = _optional_time(row, "start_time", line)
    end = _optional_time(row, "end_time", line)
    check_times(line, submit, start, end, ("start_time", "end_time"))
    duration = row.get("duration", "")
    if duration.lower() not in _MISSING:
        run: float | None = parse_seconds(duration, line, "duration")
    else:
        run = None if start is None or end is None else end - start
    return TraceJob(
        id=row["job_id"],
        user=row.get("user", ""),
        gpus=gpus,
        submit_s=submit,
        start_s=start,
        end_s=end,
        run_s=run,
        state=row.get("state", ""),
        line=line,
    )


def _text(value: str) -> str:
    return value.replace("\r", " ").replace("\n", " ")


def _time(value: float | None) -> str:
    return "" if value is None else format_number(value)


def write_csv(jobs: Iterable[TraceJob], out: IO[str]) -> int:
    """Write ``jobs`` to ``out`` as clustersim CSV (:data:`COLUMNS`); returns the job count.

    Times are plain seconds, written exactly; line breaks in text fields become spaces.
    """
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    for job in jobs:
        writer.writerow(
            (
                _text(job.id),
                _text(job.user),
                job.gpus,
                _text(job.state),
                format_number(job.submit_s),
                _time(job.start_s),
                _time(job.end_s),
                _time(job.run_s),
            )
        )
        count += 1
    return count

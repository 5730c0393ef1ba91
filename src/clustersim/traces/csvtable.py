"""Streaming CSV tables with a header row, shared by the Helios and Alibaba readers.

This module owns the CSV rules of the trace formats: UTF-8 text, ``,`` separators, ``"``
quoting (a quoted field may hold commas, not line breaks), blank lines ignored, lines
starting with ``#`` ignored before the header; the first other line is the header. Columns
are found by name (case and surrounding blanks ignored, aliases allowed); unknown columns are
ignored; every row must have as many fields as the header.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator, Mapping

from clustersim.traces.record import (
    BadLine,
    OnBadLine,
    ReadStats,
    TraceJob,
    bad_line,
    fail,
    fatal,
    guarded,
    lines_of,
    read_jobs,
    show,
)

__all__ = ["csv_rows", "read_csv_jobs", "split_csv"]


def split_csv(text: str, line: int) -> list[str]:
    """The fields of one CSV line (quotes allowed), each stripped of surrounding blanks."""
    if '"' not in text:
        return [part.strip() for part in text.split(",")]
    try:
        rows = list(csv.reader([text], strict=True))
    except csv.Error as err:
        fail(line, "line", f"malformed CSV: {err}")
    if len(rows) != 1:
        fail(line, "line", "malformed CSV")
    return [part.strip() for part in rows[0]]


def _header(
    fields: list[str], line: int, aliases: Mapping[str, str], required: tuple[str, ...]
) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, raw in enumerate(fields):
        name = aliases.get(raw.lower())
        if name is None:
            continue
        if name in index:
            fatal(line, "header", f"column {show(raw)} appears twice (as {name!r})")
        index[name] = i
    missing = [name for name in required if name not in index]
    if missing:
        names = ", ".join(repr(name) for name in missing)
        plural = "s" if len(missing) > 1 else ""
        fatal(line, "header", f"missing column{plural} {names}")
    return index


def csv_rows(
    stats: ReadStats,
    on_bad_line: OnBadLine,
    *,
    aliases: Mapping[str, str],
    required: tuple[str, ...],
) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line number, {column: text})`` of each row of the CSV file ``stats.path``.

    ``aliases`` maps each accepted header name (lower case) to its column; the rows hold the
    known columns only. A row with the wrong number of fields goes through the bad-line
    policy; header problems raise ConfigError whatever the policy.
    """
    return guarded(
        _rows(stats, on_bad_line, aliases=aliases, required=required), stats, on_bad_line
    )


def read_csv_jobs(
    path: str | os.PathLike[str],
    stats: ReadStats | None,
    on_bad_line: OnBadLine,
    *,
    aliases: Mapping[str, str],
    required: tuple[str, ...],
    job: Callable[[dict[str, str], int], TraceJob],
) -> Iterator[TraceJob]:
    """Stream the jobs ``job(row, line)`` makes of the rows of the CSV file at ``path``.

    ``stats`` (a new :class:`ReadStats` if None) counts the jobs, the bad lines and the
    jobs of 0 GPUs, which are dropped as ``"no GPUs"``; ``aliases`` and ``required`` as
    for :func:`csv_rows`.
    """
    stats = stats if stats is not None else ReadStats()
    stats.path = os.fspath(path)
    rows = csv_rows(stats, on_bad_line, aliases=aliases, required=required)
    yield from read_jobs(rows, job, stats, on_bad_line)


def _rows(
    stats: ReadStats,
    on_bad_line: OnBadLine,
    *,
    aliases: Mapping[str, str],
    required: tuple[str, ...],
) -> Iterator[tuple[int, dict[str, str]]]:
    index: dict[str, int] | None = None
    width = 0
    header_line = 1
    for number, text in lines_of(stats.path, stats, on_bad_line):
        stripped = text.strip()
        if not stripped or (index is None and stripped.startswith("#")):
            continue
        if index is None:
            try:
                fields = split_csv(text, number)
            except BadLine as err:  # a malformed header cannot be skipped
                fatal(number, "header", err.message)
            index = _header(fields, number, aliases, required)
            width, header_line = len(fields), number
            continue
        try:
            row = _row(text, number, index, width)
        except BadLine as err:
            bad_line(err, stats, on_bad_line)
            continue
        yield number, row
    if index is None:
        expected = ",".join(required)
        fatal(header_line, "header", f"the file is empty (expected a header row with {expected})")


def _row(text: str, number: int, index: dict[str, int], width: int) -> dict[str, str]:
    fields = split_csv(text, number)
    if len(fields) != width:
        fail(number, "line", f"expected {width} fields like the header, got {len(fields)}")
    return {name: fields[i] for name, i in index.items()}

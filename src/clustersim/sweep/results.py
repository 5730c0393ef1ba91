"""Sweep results files: append-as-you-go, resume, and the flat CSV/Parquet tables.

This module owns the on-disk form of a sweep (``docs/sweeps.md``):

* **JSON lines** (``.jsonl``): a header record (``"type": "header"``: format, the resolved
  scenario, grid, replications, seed, versions) and then one point record per line. Each
  finished point is one whole-line ``write`` followed by ``fsync``, so a kill loses at most
  the point being written; a torn last line is dropped and rewritten on the next run. Points
  are appended in the order they finish; when the sweep completes the file is rewritten
  (atomically) in grid order, so the final bytes do not depend on the executor or on
  interruptions.
* **CSV / Parquet**: one flat row per point (below). Beside it, a journal
  ``<out>.journal.jsonl`` in the JSON-lines form above holds the header and makes the table
  resumable; the table is rewritten atomically from the journal. Parquet also carries the
  header in its schema metadata (key ``clustersim.sweep``).

A results file is only ever extended by the same sweep: a different scenario, grid,
replication count, seed or version is refused with one line naming the difference.

Flat row columns: ``index``, ``reps``, ``seed``, ``point.<knob>`` (the value as typed),
``value.<knob>`` (parsed, base units), ``summary.<key>`` (intervals as ``summary.<key>.lo`` and
``.hi``; per-cause mappings as JSON text), ``gpu_seconds.<term>``, ``per_replication`` (JSON).

Size: the header check, the append/fsync protocol, the lock, resume with de-duplication and
the final rewrite are one protocol over one file; split apart, each half would have to know
the other's invariants.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from clustersim.config import ConfigError, Scenario, UsageError, dump_json_scenario
from clustersim.experiment import versions
from clustersim.files import write_atomic

__all__ = [
    "FORMAT",
    "IDENTITY_KEYS",
    "TABLE_REWRITE_S",
    "ResultsFile",
    "flatten",
    "header",
    "journal_path",
    "lock_path",
    "read_results",
    "unflatten",
]

FORMAT = "clustersim-sweep/1"
IDENTITY_KEYS = ("format", "scenario", "grid", "reps", "seed", "versions")
"""Header fields that must match for a re-run to extend an existing results file."""
TABLE_REWRITE_S = 5.0
"""A CSV/Parquet table is rewritten at most this often while a sweep runs (and at the end)."""
SUFFIXES = (".jsonl", ".csv", ".parquet")
_INT = re.compile(r"-?\d+")


def header(
    scenario: Scenario,
    grid: Mapping[str, Sequence[str]],
    reps: int,
    seed: int,
    source: str | None = None,
) -> dict[str, Any]:
    """The header record of a sweep: everything needed to reproduce it."""
    return {
        "type": "header",
        "format": FORMAT,
        "source": source,
        "scenario": dump_json_scenario(scenario),
        "grid": {key: list(values) for key, values in grid.items()},
        "reps": reps,
        "seed": seed,
        "versions": versions(),
    }


def lock_path(out: Path) -> Path:
    """The sidecar lock file of a results file (it holds the sweep's pid)."""
    return out.with_name(f".{out.name}.lock")


def journal_path(out: Path) -> Path:
    """The JSON-lines journal kept beside a CSV or Parquet table."""
    return out.with_name(out.name + ".journal.jsonl")


def _suffix(out: Path) -> str:
    suffix = out.suffix.lower()
    if suffix not in SUFFIXES:
        raise UsageError(
            f"{out}: unsupported results file type {suffix or '(none)'!r}; "
            "use .jsonl, .csv or .parquet"
        )
    return suffix


def _first_difference(old: Any, new: Any, path: str) -> tuple[str, Any, Any] | None:
    """The dotted path and both values of the first difference of two JSON values."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            found = _first_difference(old.get(key), new.get(key), f"{path}.{key}")
            if found:
                return found
        return None
    return None if old == new else (path, old, new)


def _check_same(path: Path, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    for key in IDENTITY_KEYS:
        found = _first_difference(old.get(key), new.get(key), key)
        if found is None:
            continue
        where, was, now = found
        short = all(len(repr(v)) <= 60 for v in (was, now))
        detail = f"{where} was {was!r}, now {now!r}" if short else f"{where} differs"
        raise UsageError(
            f"{path} holds results of a different sweep ({detail}); "
            "use another --out or remove the file to start over"
        )


class ResultsFile:
    """An open, append-only results file of one sweep (JSON lines, or a table + journal).

    ``records`` maps a point's index to its record, for the points already finished.
    """

    def __init__(self, out: Path, log: Path, head: dict[str, Any]) -> None:
        self.out = out
        self.log = log
        self.header = head
        self.records: dict[int, dict[str, Any]] = {}
        self._order: list[int] = []
        self._fd = -1
        self._table_dirty = False
        self._table_at = 0.0
        self._lock_fd = -1
        self._created = False

    @classmethod
    def open(cls, out: Path, head: dict[str, Any]) -> ResultsFile:
        """Open ``out`` for the sweep described by ``head``, resuming it if it exists.

        Raises:
            UsageError: unsupported extension, missing directory, another sweep's file, or
                a table without its journal.
            ConfigError: the file exists but is not a readable sweep results file.
        """
        suffix = _suffix(out)
        if not out.parent.is_dir():
            raise UsageError(f"cannot write {out}: directory {out.parent} does not exist")
        if out.is_dir():
            raise UsageError(f"cannot write {out}: it is a directory")
        if suffix == ".parquet":
            _pyarrow()
        log = out if suffix == ".jsonl" else journal_path(out)
        if suffix != ".jsonl" and out.exists() and not log.exists():
            raise UsageError(
                f"{out} exists but its journal {log.name} does not, so it cannot "
                "be resumed; use another --out or remove the file"
            )
        self = cls(out, log, head)
        try:
            self._lock()
            if log.exists() and log.stat().st_size > 0:
                self._resume()
            else:
                _write_atomic(log, orjson.dumps(head) + b"\n")
                self._created = True
            self._fd = os.open(log, os.O_WRONLY | os.O_APPEND)
        except OSError as exc:
            self.close()
            raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
        except BaseException:
            self.close()
            raise
        return self

    def _lock(self) -> None:
        """Hold an advisory lock on the sidecar :func:`lock_path` while the sweep runs.

        The results file itself is replaced when rewritten, so its inode cannot carry the
        lock; the sidecar is never removed (removing a lock file races with its next taker).
        """
        path = lock_path(self.out)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise UsageError(
                f"{self.out} is in use by another sweep (pid {holder}); wait for it to "
                "finish or use another --out"
            ) from None
        self._lock_fd = fd
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)

    def _resume(self) -> None:
        data = self.log.read_bytes()
        whole = data[: data.rfind(b"\n") + 1]
        if len(whole) < len(data):  # a torn last line: that point is run again
            with self.log.open("r+b") as fh:
                fh.truncate(len(whole))
                os.fsync(fh.fileno())
        head, records = _parse_jsonl(self.log, whole)
        _check_same(self.out, head, self.header)
        for record in records:
            if record["index"] not in self.records:
                self.records[record["index"]] = record
                self._order.append(record["index"])
        if len(records) > len(self.records):  # a point stored twice: keep the first only
            lines = [orjson.dumps(head)] + [orjson.dumps(self.records[k]) for k in self._order]
            _write_atomic(self.log, b"\n".join(lines) + b"\n")
            self._table_dirty = True

    def append(self, record: dict[str, Any]) -> None:
        """Add one finished point: one whole line, written and fsynced before returning."""
        line = orjson.dumps(record) + b"\n"
        view = memoryview(line)
        while view:
            view = view[os.write(self._fd, view) :]
        os.fsync(self._fd)
        self.records[record["index"]] = record
        self._order.append(record["index"])
        self._table_dirty = True
        if time.monotonic() - self._table_at >= TABLE_REWRITE_S:
            self._write_table()

    def finish(self) -> None:
        """The sweep is complete: rewrite the file in grid order, then the table."""
        ordered = sorted(self.records)
        if self._order != ordered:
            lines = [orjson.dumps(self.header)] + [orjson.dumps(self.records[k]) for k in ordered]
            os.close(self._fd)
            self._fd = -1
            _write_atomic(self.log, b"\n".join(lines) + b"\n")
            self._order = ordered
            self._fd = os.open(self.log, os.O_WRONLY | os.O_APPEND)
        self._table_dirty = self._table_dirty or not self.out.exists()
        self._write_table()

    def close(self) -> None:
        """Write the table of the points finished so far (if it changed), close, unlock."""
        try:
            if self._fd >= 0:
                self._write_table()
        finally:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
            if self._lock_fd >= 0:
                os.close(self._lock_fd)  # releases the flock
                self._lock_fd = -1

    def discard_if_empty(self) -> None:
        """Remove the file if this run created it and no point was finished (call after close)."""
        if self._created and not self.records and not self._holds_a_point():
            self.log.unlink(missing_ok=True)
            if self.out != self.log:
                self.out.unlink(missing_ok=True)

    def _holds_a_point(self) -> bool:
        """Whether the file holds a whole point line, recorded or not.

        An interrupt can land after a point's line is written (during its fsync) and before
        :meth:`append` records it; that point is kept, as a resumed sweep reads it.
        """
        try:
            with self.log.open("rb") as fh:
                return fh.read().count(b"\n") >= 2
        except OSError:
            return False

    def _write_table(self) -> None:
        if self.out == self.log or not self._table_dirty:
            return
        records = [self.records[k] for k in sorted(self.records)]
        rows = [flatten(r) for r in records]
        if self.out.suffix.lower() == ".csv":
            data = _csv_bytes(rows)
        else:
            data = _parquet_bytes(rows, self.header)
        _write_atomic(self.out, data)
        self._table_dirty = False
        self._table_at = time.monotonic()


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` durably and atomically (:func:`clustersim.files.write_atomic`)."""
    write_atomic([(path, data)], durable=True)


def _parse_jsonl(path: Path, data: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Header and point records of complete JSON lines (a torn last line is ignored)."""
    lines = data.split(b"\n")
    if data and not data.endswith(b"\n"):
        lines = lines[:-1]
    parsed: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise ConfigError([f"{path}:{number}:1: not a JSON record"]) from None
        kind = value.get("type") if isinstance(value, dict) else None
        if (number == 1) != (kind == "header") or kind not in ("header", "point"):
            raise ConfigError([f"{path}:{number}:1: not a clustersim sweep results file"])
        parsed.append(value)
    if not parsed:
        raise ConfigError([f"{path}:1:1: not a clustersim sweep results file (empty)"])
    if parsed[0].get("format") != FORMAT:
        raise ConfigError([f"{path}:1:1: unknown results format {parsed[0].get('format')!r}"])
    return parsed[0], parsed[1:]


# --- flat rows ----------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    return orjson.dumps(value).decode("utf-8") if isinstance(value, dict | list) else value


def flatten(record: Mapping[str, Any]) -> dict[str, Any]:
    """One point record as a flat row of scalars (mappings and lists as JSON text)."""
    row: dict[str, Any] = {"index": record["index"], "reps": record["reps"], "seed": record["seed"]}
    for key, text in record["point"].items():
        row[f"point.{key}"] = text
    for key, value in record["values"].items():
        row[f"value.{key}"] = _encode(value)
    for key, value in record["summary"].items():
        if key.endswith("_ci95"):
            lo, hi = value if value is not None else (None, None)
            row[f"summary.{key}.lo"], row[f"summary.{key}.hi"] = lo, hi
        else:
            row[f"summary.{key}"] = _encode(value)
    for key, value in record["gpu_seconds"].items():
        row[f"gpu_seconds.{key}"] = value
    row["per_replication"] = _encode(record["per_replication"])
    return row


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        return json.loads(value)
    return value


def unflatten(row: Mapping[str, Any]) -> dict[str, Any]:
    """The point record of a flat row (the inverse of :func:`flatten`)."""
    record: dict[str, Any] = {"type": "point", "index": row["index"]}
    point: dict[str, str] = {}
    values: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    gpu_seconds: dict[str, Any] = {}
    for column, value in row.items():
        part, _, key = column.partition(".")
        if part == "point":
            point[key] = str(value)
        elif part == "value":
            values[key] = _decode(value)
        elif part == "summary" and key.endswith((".lo", ".hi")):
            name = key[:-3]
            pair = summary.get(name) or [None, None]
            pair[0 if key.endswith(".lo") else 1] = value
            summary[name] = pair
        elif part == "summary":
            summary[key] = _decode(value)
        elif part == "gpu_seconds":
            gpu_seconds[key] = value
    for key, value in summary.items():
        if key.endswith("_ci95") and value == [None, None]:
            summary[key] = None
    record.update(
        point=point,
        values=values,
        reps=row["reps"],
        seed=row["seed"],
        summary=summary,
        gpu_seconds=gpu_seconds,
        per_replication=_decode(row["per_replication"]),
    )
    return record


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _uncell(column: str, text: str) -> Any:
    if column.startswith("point."):
        return text
    if text == "":
        return None
    if text in ("true", "false"):
        return text == "true"
    if _INT.fullmatch(text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


def _csv_bytes(rows: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    columns = list(rows[0]) if rows else []
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buf.getvalue().encode("utf-8")


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise UsageError(
            "Parquet needs pyarrow: pip install 'clustersim[sweep]' (or write .jsonl or .csv)"
        ) from None
    return pyarrow


def _parquet_bytes(rows: list[dict[str, Any]], head: Mapping[str, Any]) -> bytes:
    pa = _pyarrow()
    columns = list(rows[0]) if rows else ["index"]
    arrays = {}
    for column in columns:
        cells = [row.get(column) for row in rows]
        try:
            arrays[column] = pa.array(cells)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types: keep it as text
            arrays[column] = pa.array([None if c is None else _cell(c) for c in cells])
    table = pa.table(arrays).replace_schema_metadata({"clustersim.sweep": orjson.dumps(head)})
    sink = pa.BufferOutputStream()
    pa.parquet.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())


def read_results(path: Path) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The header (None if the file has none) and point records of a results file.

    Raises:
        UsageError: a missing file or unsupported extension. ConfigError: unreadable content.
    """
    suffix = _suffix(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    if suffix == ".jsonl":
        first, records = _parse_jsonl(path, path.read_bytes())
        unique = {r["index"]: r for r in reversed(records)}  # the first copy of a point wins
        return first, [unique[k] for k in sorted(unique)]
    journal = journal_path(path)
    head = _parse_jsonl(journal, journal.read_bytes())[0] if journal.is_file() else None
    if suffix == ".csv":
        rows: list[tuple[int, dict[str, Any]]] = []
        try:
            with path.open(newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                for row in reader:
                    if None in row:
                        raise ConfigError(
                            [f"{path}:{reader.line_num}:1: more cells than header columns"]
                        )
                    rows.append((reader.line_num, {c: _uncell(c, v) for c, v in row.items()}))
                columns = reader.fieldnames or []
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ConfigError([f"{path}:1:1: not a CSV sweep table: {exc}"]) from None
        return head, _records(path, columns, rows)
    pa = _pyarrow()
    try:
        table = pa.parquet.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise ConfigError([f"{path}:1:1: not a Parquet file: {exc}"]) from None
    meta = (table.schema.metadata or {}).get(b"clustersim.sweep")
    numbered = [(i + 1, row) for i, row in enumerate(table.to_pylist())]
    return (orjson.loads(meta) if meta else head), _records(path, table.column_names, numbered)


TABLE_COLUMNS = ("index", "reps", "seed", "per_replication")
"""Columns every sweep table has (besides ``point.*``, ``summary.*`` ...)."""


def _records(
    path: Path, columns: Sequence[str], rows: Sequence[tuple[int, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Point records of numbered flat rows; a foreign table is a ConfigError naming the cell."""
    missing = [c for c in TABLE_COLUMNS if c not in columns]
    if missing:
        raise ConfigError(
            [f"{path}:1:1: not a clustersim sweep table (no column {', '.join(missing)})"]
        )
    out = []
    for line, row in rows:
        for column in ("index", "reps", "seed"):
            if not isinstance(row[column], int) or isinstance(row[column], bool):
                raise ConfigError(
                    [f"{path}:{line}:1: {column}: expected an integer, got {row[column]!r:.40}"]
                )
        try:
            out.append(unflatten(row))
        except ValueError as exc:  # a JSON cell that is not JSON
            raise ConfigError([f"{path}:{line}:1: bad cell: {exc}"]) from None
    return out

"""Replay of an empirical fault trace: failures at recorded times on recorded nodes.

A source of ``kind: trace`` reads a CSV file (``path``) with a header row and the columns
``time,component,cause,duration`` (in any order):

* ``time``: when the failure happens, seconds from the start of the run or a human duration
  (``"2h"``, ``"30m"``, ``"1.5d"``, ``"1h30m"``); rows must be sorted by time (ties allowed);
* ``component``: the integer id of the node hit, in ``[0, n_nodes)``;
* ``cause``: a free-text label from the trace (kept for reports; the simulator records the
  source's name as the cause, so per-cause tables group by source);
* ``duration``: the repair time (same units as ``time``); empty means "draw it from the
  source's ``repair`` distribution" (from the source's own stream ``faults.<name>``).

Blank lines and lines starting with ``#`` are ignored. A file named ``*.jsonl`` holds the same
rows as JSON objects, one per line (``{"time": "2h", "component": 3, "cause": "ecc"}``).
Each row then has the effect of a
:class:`~clustersim.faults.poisson.PoissonFaults` failure with the source's ``blast_radius``
landing on that node (a ``node``/``gpu`` row on a node that is already down does nothing; a
``job`` row on an idle node does nothing). Rows past the horizon are never reached.

The file is read when the source is built, so a bad trace fails before the simulation starts,
with one :class:`~clustersim.loader.ConfigError` line ``path:line: column: message`` (exit 65).
Reading is bounded: files over :data:`MAX_TRACE_BYTES` are refused. Docs: ``docs/faults-trace.md``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, NoReturn

import simpy

from clustersim.config import ConfigError, FaultConfig
from clustersim.config.units import parse_duration
from clustersim.faults.base import DurationSampler, World
from clustersim.rng import BlockSampler, Streams
from clustersim.topology import Topology

__all__ = ["COLUMNS", "MAX_TRACE_BYTES", "FaultTrace", "TraceFaults", "read_fault_trace"]

COLUMNS: tuple[str, ...] = ("time", "component", "cause", "duration")
"""The columns a trace must have (in any order), named in its header row."""
MAX_TRACE_BYTES = 50_000_000
"""Largest trace file read (50 MB: some two million short rows, parsed in a few seconds)."""

_INTEGER = re.compile(r"[+-]?[0-9]+")
_SHOW_CHARS = 40
_CACHE_SIZE = 4
_cache: dict[tuple[str, int, bytes], FaultTrace] = {}


@dataclass(frozen=True, slots=True)
class FaultTrace:
    """A parsed trace: parallel tuples, one entry per row, in file (= time) order.

    ``durations`` holds ``nan`` where the row left the duration empty; ``lines`` holds each
    row's 1-based line number in ``path``.
    """

    path: str
    times: tuple[float, ...]
    nodes: tuple[int, ...]
    causes: tuple[str, ...]
    durations: tuple[float, ...]
    lines: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.times)


class _TraceError(Exception):
    """One problem at ``line`` in ``column`` (turned into a ConfigError with the path)."""

    def __init__(self, line: int, column: str, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


def _fail(line: int, column: str, message: str) -> NoReturn:
    raise _TraceError(line, column, message)


def _show(text: str) -> str:
    """``text`` quoted for a message, shortened if long."""
    if len(text) > _SHOW_CHARS:
        return repr(text[:_SHOW_CHARS]) + "..."
    return repr(text)


def _seconds(text: str, line: int, column: str) -> float:
    """A finite, non-negative number of seconds from a plain number or a human duration."""
    if not text:
        _fail(line, column, "empty value (expected seconds or a duration such as '2h')")
    try:
        value = float(text)  # plain seconds, read as parse_duration reads them, but faster
    except ValueError:
        try:
            value = parse_duration(text)
        except (ValueError, TypeError, OverflowError) as err:
            if len(text) > _SHOW_CHARS:
                _fail(line, column, f"cannot parse duration {_show(text)}")
            _fail(line, column, str(err))
    if not math.isfinite(value):
        _fail(line, column, f"must be finite, got {_show(text)}")
    if value < 0:
        _fail(line, column, f"must not be negative, got {_show(text)}")
    return value + 0.0  # -0.0 -> 0.0


def _node(text: str, line: int, n_nodes: int) -> int:
    """A node id in ``[0, n_nodes)``."""
    if text.isascii() and text.isdigit() and len(text) <= 20:
        node = int(text)
        if node < n_nodes:
            return node
    if not _INTEGER.fullmatch(text):
        _fail(line, "component", f"expected an integer node id, got {_show(text)}")
    if len(text) > 20:
        _fail(line, "component", f"node {_show(text)} out of range [0, {n_nodes})")
    node = int(text)
    if not 0 <= node < n_nodes:
        _fail(line, "component", f"node {node} out of range [0, {n_nodes})")
    return node


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_TRACE_BYTES + 1)
    except OSError as err:
        _fail(1, "file", f"cannot read the trace: {err.strerror or err}")
    if len(data) > MAX_TRACE_BYTES:
        _fail(1, "file", f"the trace is larger than the {MAX_TRACE_BYTES // 1_000_000} MB limit")
    return data


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        _fail(line, "file", f"not valid UTF-8 (byte 0x{data[err.start]:02x})")


def _split(text: str, line: int) -> list[str]:
    """The fields of one CSV line (quotes allowed, each field stripped of blanks)."""
    if '"' not in text and "\r" not in text:
        return [field.strip() for field in text.split(",")]
    try:
        rows = list(csv.reader([text], strict=True))
    except csv.Error as err:
        _fail(line, "row", f"malformed CSV: {err}")
    if len(rows) != 1:
        _fail(line, "row", "malformed CSV")
    return [field.strip() for field in rows[0]]


def _header(fields: list[str], line: int) -> dict[str, int]:
    """Column name -> field index, from the header row."""
    expected = ",".join(COLUMNS)
    index: dict[str, int] = {}
    for i, raw in enumerate(fields):
        name = raw.lower()
        if name in index:
            _fail(line, "header", f"column {_show(raw)} appears twice (expected {expected})")
        if name not in COLUMNS:
            _fail(line, "header", f"unknown column {_show(raw)} (expected {expected})")
        index[name] = i
    missing = [c for c in COLUMNS if c not in index]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        plural = "s" if len(missing) > 1 else ""
        _fail(line, "header", f"missing column{plural} {names} (expected {expected})")
    return index


class _Rows:
    """The rows of a trace as they are parsed (either form): parallel lists, in file order."""

    __slots__ = ("causes", "durations", "lines", "nodes", "times")

    def __init__(self) -> None:
        self.times: list[float] = []
        self.nodes: list[int] = []
        self.causes: list[str] = []
        self.durations: list[float] = []
        self.lines: list[int] = []

    def check_order(self, t: float, line: int) -> None:
        """Reject a row at ``line`` whose time ``t`` is before the previous row's."""
        if self.times and t < self.times[-1]:
            last, where = self.times[-1], self.lines[-1]
            _fail(line, "time", f"rows must be sorted by time ({t!r} < {last!r} on line {where})")

    def add(self, line: int, t: float, node: int, cause: str, duration: float) -> None:
        """Append one row (``duration`` ``nan``: draw it)."""
        self.times.append(t)
        self.nodes.append(node)
        self.causes.append(cause)
        self.durations.append(duration)
        self.lines.append(line)

    def trace(self, path: str) -> FaultTrace:
        """The parsed trace of the file at ``path``."""
        return FaultTrace(
            path=path,
            times=tuple(self.times),
            nodes=tuple(self.nodes),
            causes=tuple(self.causes),
            durations=tuple(self.durations),
            lines=tuple(self.lines),
        )


def _parse(text: str, n_nodes: int, path: str) -> FaultTrace:
    rows = _Rows()
    index: dict[str, int] | None = None
    header_line = 1
    width = len(COLUMNS)
    for number, raw in enumerate(text.split("\n"), start=1):
        content = raw.removesuffix("\r")
        stripped = content.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = _split(content, number)
        if index is None:
            index = _header(fields, number)
            header_line = number
            continue
        if len(fields) != width:
            _fail(
                number,
                "row",
                f"expected {width} fields ({','.join(COLUMNS)}), got {len(fields)}",
            )
        t = _seconds(fields[index["time"]], number, "time")
        rows.check_order(t, number)
        node = _node(fields[index["component"]], number, n_nodes)
        duration_text = fields[index["duration"]]
        duration = _seconds(duration_text, number, "duration") if duration_text else math.nan
        rows.add(number, t, node, fields[index["cause"]], duration)
    if index is None:
        _fail(1, "header", f"the trace is empty (expected a header row {','.join(COLUMNS)})")
    if not rows.times:
        _fail(header_line, "trace", "the trace has no rows after its header")
    return rows.trace(path)


def _json_seconds(value: Any, line: int, column: str) -> float:
    """A JSON time or duration: a number of seconds or a duration string."""
    if isinstance(value, str):
        return _seconds(value.strip(), line, column)
    if isinstance(value, bool) or not isinstance(value, int | float):
        _fail(line, column, f"expected seconds or a duration string, got {_show(str(value))}")
    try:
        seconds = float(value)
    except OverflowError:
        seconds = math.inf
    if not math.isfinite(seconds):
        _fail(line, column, f"must be finite, got {_show(str(value))}")
    if seconds < 0:
        _fail(line, column, f"must not be negative, got {_show(str(value))}")
    return seconds + 0.0


def _parse_jsonl(text: str, n_nodes: int, path: str) -> FaultTrace:
    """The JSON-lines form: one object per line with the CSV's four columns as keys.

    ``time`` (required) and ``duration`` (optional, null = draw it) are numbers of seconds or
    duration strings, ``component`` (required) an integer or a string of digits, ``cause``
    (optional) a string. Blank lines and ``#`` lines are ignored, as in the CSV form.
    """
    rows = _Rows()
    for number, raw in enumerate(text.split("\n"), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            record = json.loads(stripped)
        except (ValueError, RecursionError) as err:
            _fail(number, "row", f"not a JSON object: {str(err).splitlines()[0]}")
        if not isinstance(record, dict):
            _fail(number, "row", f"expected a JSON object, got {type(record).__name__}")
        stray = sorted(str(k) for k in record if k not in COLUMNS)
        if stray:
            _fail(number, "row", f"unknown key {_show(stray[0])} (expected {','.join(COLUMNS)})")
        for key in ("time", "component"):
            if key not in record:
                _fail(number, key, f"missing key {key!r}")
        t = _json_seconds(record["time"], number, "time")
        rows.check_order(t, number)
        component = record["component"]
        if isinstance(component, bool) or not isinstance(component, int | str):
            _fail(number, "component", f"expected an integer node id, got {_show(str(component))}")
        node = _node(str(component).strip(), number, n_nodes)
        cause = record.get("cause", "")
        if cause is None:
            cause = ""
        if not isinstance(cause, str):
            _fail(number, "cause", f"expected a string, got {_show(str(cause))}")
        duration_value = record.get("duration")
        duration = (
            math.nan
            if duration_value is None or duration_value == ""
            else _json_seconds(duration_value, number, "duration")
        )
        rows.add(number, t, node, cause.strip(), duration)
    if not rows.times:
        _fail(1, "trace", "the trace has no rows")
    return rows.trace(path)


def read_fault_trace(
    path: str | os.PathLike[str],
    n_nodes: int,
    *,
    base_dir: str | os.PathLike[str] | None = None,
) -> FaultTrace:
    """Read and validate the trace at ``path`` for a cluster of ``n_nodes`` nodes.

    A name ending in ``.jsonl`` is read as JSON lines (one object per row, same fields),
    anything else as CSV.
    A relative ``path`` is taken relative to ``base_dir`` (the scenario file's directory)
    when given, else to the current directory. Parsed traces are cached by content, so the
    replications of one run read the file each time but parse it once.

    Raises:
        ConfigError: one line ``path:line: column: message`` (exit 65) for a missing,
            unreadable, oversized or non-UTF-8 file, a bad header, an empty trace, a line
            with the wrong number of fields, an unparsable, non-finite or negative time or
            duration, a node out of range, or rows out of time order.
    """
    name = os.fspath(path)
    if base_dir is not None and not os.path.isabs(name):
        name = os.path.join(os.fspath(base_dir), name)
    try:
        data = _read_bytes(name)
        key = (name, n_nodes, hashlib.blake2b(data, digest_size=16).digest())
        cached = _cache.get(key)
        if cached is not None:
            return cached
        parse = _parse_jsonl if name.lower().endswith(".jsonl") else _parse
        trace = parse(_decode(data), n_nodes, name)
    except _TraceError as err:
        raise ConfigError([f"{name}:{err.line}: {err.column}: {err.message}"]) from None
    while len(_cache) >= _CACHE_SIZE:
        del _cache[next(iter(_cache))]
    _cache[key] = trace
    return trace


class TraceFaults:
    """Replays a fault trace: each row fails its node (by blast radius) at its time.

    The cause recorded in the event log is the source's ``name``; each row's own label is in
    ``trace.causes``, the label of the row replayed last in :attr:`last_cause`, and the number
    of rows replayed per label in :attr:`replayed`.
    """

    def __init__(
        self,
        name: str,
        cfg: FaultConfig,
        streams: Streams,
        topology: Topology,
        *,
        base_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.name = name
        self.cfg = cfg
        self.topology = topology
        if not cfg.path:
            raise ConfigError([f"faults.{name}.path: kind 'trace' needs a path"])
        self.trace = read_fault_trace(cfg.path, topology.n_nodes, base_dir=base_dir)
        self._sampler = BlockSampler(streams.get(f"faults.{name}"))
        self._repair = DurationSampler(cfg.repair, self._sampler)
        self.last_cause: str | None = None
        self.replayed: dict[str, int] = {}

    def start(self, env: simpy.Environment, world: World) -> None:
        """Start replaying the trace."""
        env.process(self.replay(env, world))

    def replay(self, env: simpy.Environment, world: World) -> Generator[Any, Any, None]:
        """Wait for each row's time, then apply it."""
        times = self.trace.times
        for row, t in enumerate(times):
            if t > env.now:
                yield env.timeout(t - env.now)
            if world.closing:
                return
            self.apply(world, row)

    def apply(self, world: World, row: int) -> None:
        """Row ``row`` of the trace landing on its node: its effect by blast radius."""
        trace = self.trace
        node = trace.nodes[row]
        repair_s = trace.durations[row]
        if math.isnan(repair_s):
            repair_s = self._repair.draw()
        label = trace.causes[row]
        self.last_cause = label
        self.replayed[label] = self.replayed.get(label, 0) + 1
        blast = self.cfg.blast_radius
        topo = self.topology
        if blast == "job":
            world.fail_job_on(node, self.name)
        elif blast in ("node", "gpu"):
            if world.is_up(node):
                world.fail_nodes((node,), self.name, repair_s)
        elif blast == "rack":
            world.fail_nodes(topo.nodes_of_rack(topo.rack_of(node)), self.name, repair_s)
        else:
            world.fail_nodes(topo.nodes_of_pod(topo.pod_of(node)), self.name, repair_s)

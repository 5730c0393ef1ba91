"""The one internal job record of every trace format, and the reading machinery readers share.

A reader turns each job of its format into a :class:`TraceJob` and yields it; it never holds
more than one line (or one JSON object) in memory. This module owns what every reader does
the same way: opening a file (plain or gzip), streaming bounded lines, parsing numbers and
times strictly, and the bad-line policy: with ``on_bad_line="error"`` the first bad line
raises :class:`~clustersim.config.ConfigError` with one line ``file:line: field: message``
(exit 65); with ``"skip"`` the line is counted in :class:`ReadStats` and reading goes on.
Problems with the file itself (unreadable, not gzip, a bad header) are never skipped.
"""

from __future__ import annotations

import datetime as dt
import errno
import gzip
import math
import os
import re
import stat
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Literal, NoReturn, TypeVar, cast

from clustersim.config import ConfigError

__all__ = [
    "MAX_GPUS",
    "MAX_GZIP_BYTES",
    "MAX_LINE_BYTES",
    "MAX_TIME_S",
    "BadLine",
    "OnBadLine",
    "ReadStats",
    "TraceJob",
    "bad_line",
    "check_times",
    "check_trace_file",
    "fail",
    "fatal",
    "format_number",
    "guarded",
    "lines_of",
    "open_trace",
    "parse_count",
    "parse_number",
    "parse_seconds",
    "parse_time",
    "read_jobs",
    "show",
    "text_lines",
]

OnBadLine = Literal["error", "skip"]
MAX_LINE_BYTES = 1 << 20
MAX_GZIP_BYTES = 1 << 30
"""A gzip trace is refused once it decompresses to more than this (1 GiB; docs/traces.md)."""
MAX_GZIP_RATIO = 50
"""... or, past :data:`GZIP_RATIO_FREE_BYTES`, to more than this many times its own size
(real traces compress 3-20 times; a file of blank lines a thousand times)."""
GZIP_RATIO_FREE_BYTES = 16 << 20
"""Longest line (or JSON job object) read (1 MiB); a longer one is a bad line."""
MAX_GPUS = 2**31 - 1
"""Largest GPU count accepted for one job."""
MAX_TIME_S = 1e13
"""Largest time or duration accepted, in seconds (about 317,000 years, past any epoch time)."""

_SHOW_CHARS = 40
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_Item = TypeVar("_Item")


@dataclass(frozen=True, slots=True)
class TraceJob:
    """One job of a workload trace, whatever its format; times in seconds.

    ``submit_s``, ``start_s`` and ``end_s`` are on the trace's own clock (seconds from the
    trace's start for SWF and Alibaba, Unix epoch seconds for Helios and Philly); ``None`` is
    missing. ``run_s`` is the job's run time (what a simulation replays as work). ``state`` is
    the trace's own word for how the job ended (``COMPLETED``, ``NODE_FAIL``, ``Pass``, ...).
    ``meta`` holds format-specific fields as ``(name, text)`` pairs; ``line`` is where the job
    was read (not part of equality).
    """

    id: str
    user: str
    gpus: int
    submit_s: float
    start_s: float | None
    end_s: float | None
    run_s: float | None
    state: str
    meta: tuple[tuple[str, str], ...] = ()
    line: int = field(default=0, compare=False)

    def get(self, key: str) -> str | None:
        """The ``meta`` value named ``key``, or None."""
        for name, value in self.meta:
            if name == key:
                return value
        return None


@dataclass(slots=True)
class ReadStats:
    """What a reader did besides yielding jobs: bad lines skipped, jobs dropped by reason."""

    path: str = ""
    jobs: int = 0
    skipped: int = 0
    first_skipped: str | None = None
    dropped: dict[str, int] = field(default_factory=dict)

    def drop(self, reason: str) -> None:
        """Count one job left out for ``reason`` (e.g. ``"no GPUs"``)."""
        self.dropped[reason] = self.dropped.get(reason, 0) + 1


class BadLine(Exception):
    """One problem at ``line`` in ``field``; ``fatal`` problems cannot be skipped."""

    def __init__(self, line: int, field_name: str, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.line = line
        self.field = field_name
        self.message = message
        self.fatal = fatal

    def where(self, path: str) -> str:
        """The one-line message ``path:line: field: message``."""
        return f"{path}:{self.line}: {self.field}: {self.message}"


def fail(line: int, field_name: str, message: str) -> NoReturn:
    """Raise a (skippable) problem with one line."""
    raise BadLine(line, field_name, message)


def fatal(line: int, field_name: str, message: str) -> NoReturn:
    """Raise a problem with the file that no ``on_bad_line`` setting skips."""
    raise BadLine(line, field_name, message, fatal=True)


def bad_line(err: BadLine, stats: ReadStats, on_bad_line: OnBadLine) -> None:
    """Apply the bad-line policy: raise ConfigError, or count the line as skipped."""
    if err.fatal or on_bad_line == "error":
        raise ConfigError([err.where(stats.path)]) from None
    stats.skipped += 1
    if stats.first_skipped is None:
        stats.first_skipped = err.where(stats.path)


def show(text: str) -> str:
    """``text`` quoted for a message, shortened if long."""
    if len(text) > _SHOW_CHARS:
        return repr(text[:_SHOW_CHARS]) + "..."
    return repr(text)


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)


def check_trace_file(path: str | os.PathLike[str]) -> None:
    """Refuse a trace path that is missing or not a regular file (a device, a FIFO ...).

    Raises:
        ConfigError: ``path:1: file: ...`` saying what the path is.
    """
    name = os.fspath(path)
    try:
        mode = os.stat(name).st_mode
    except OSError as err:
        raise ConfigError([f"{name}:1: file: cannot read: {err.strerror or err}"]) from None
    if not stat.S_ISREG(mode):
        what = next((text for test, text in _KINDS if test(mode)), "not a regular file")
        raise ConfigError([f"{name}:1: file: is {what}, not a trace file"])


class _CappedGzip:
    """A gzip stream that stops with an error past :data:`MAX_GZIP_BYTES` decompressed."""

    def __init__(self, inner: gzip.GzipFile, compressed_bytes: int) -> None:
        ratio_cap = max(GZIP_RATIO_FREE_BYTES, MAX_GZIP_RATIO * compressed_bytes)
        self._cap = min(MAX_GZIP_BYTES, ratio_cap)
        self._inner, self._left = inner, self._cap

    def _count(self, data: bytes) -> bytes:
        self._left -= len(data)
        if self._left < 0:
            raise OSError(
                errno.EFBIG,
                f"decompresses to more than {self._cap:,} bytes (a gzip trace may grow to "
                f"{MAX_GZIP_RATIO} times its size beyond {GZIP_RATIO_FREE_BYTES >> 20} MiB, and "
                f"to {MAX_GZIP_BYTES >> 30} GiB at most); decompress it yourself to read it",
            )
        return data

    def read(self, size: int = -1) -> bytes:
        return self._count(self._inner.read(size if size >= 0 else self._left + 1))

    def readline(self, size: int = -1) -> bytes:
        return self._count(self._inner.readline(size))

    def close(self) -> None:
        self._inner.close()

    def __enter__(self) -> _CappedGzip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_trace(path: str | os.PathLike[str]) -> IO[bytes]:
    """The file at ``path`` as a binary stream, decompressed if its name ends in ``.gz``.

    Only a regular file is opened (never a device or FIFO, which could block or never end);
    a gzip file may decompress to at most :data:`MAX_GZIP_BYTES`, and past
    :data:`GZIP_RATIO_FREE_BYTES` to at most :data:`MAX_GZIP_RATIO` times its size.

    Raises:
        ConfigError: ``path:1: file: ...`` for a missing, unreadable or non-regular file.
    """
    name = os.fspath(path)
    check_trace_file(name)
    try:
        if name.lower().endswith(".gz"):
            size = os.path.getsize(name)
            return cast(IO[bytes], _CappedGzip(gzip.open(name, "rb"), size))
        return open(name, "rb")
    except OSError as err:
        raise ConfigError([f"{name}:1: file: cannot read: {err.strerror or err}"]) from None


def _read_line(stream: IO[bytes], number: int) -> bytes:
    try:
        return stream.readline(MAX_LINE_BYTES + 1)
    except (OSError, EOFError, zlib.error) as err:
        fatal(number, "file", f"cannot read: {_reason(err)}")


def _reason(err: BaseException) -> str:
    if isinstance(err, EOFError):
        return "the compressed file ends early"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err) or type(err).__name__


def text_lines(stream: IO[bytes]) -> Iterator[tuple[int, str | BadLine]]:
    """``(line number, text)`` for each line, without its line break; bounded memory.

    A line over :data:`MAX_LINE_BYTES` or not valid UTF-8 comes as a :class:`BadLine`
    instead of its text (the rest of that line is read and thrown away); a leading BOM is
    dropped. Read errors (including a corrupt gzip stream) raise a fatal BadLine.
    """
    number = 0
    while True:
        number += 1
        data = _read_line(stream, number)
        if not data:
            return
        if len(data) > MAX_LINE_BYTES and not data.endswith(b"\n"):
            while data and not data.endswith(b"\n"):
                data = _read_line(stream, number)
            yield number, BadLine(number, "line", f"longer than {MAX_LINE_BYTES} bytes")
            continue
        data = data.rstrip(b"\n").rstrip(b"\r")
        if number == 1 and data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        try:
            yield number, data.decode("utf-8")
        except UnicodeDecodeError as err:
            yield number, BadLine(number, "line", f"not valid UTF-8 (byte 0x{data[err.start]:02x})")


def lines_of(path: str, stats: ReadStats, on_bad_line: OnBadLine) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of each readable line of the trace at ``path``.

    Unreadable lines (too long, not UTF-8) go through the bad-line policy.
    """
    with open_trace(path) as stream:
        for number, text in guarded(text_lines(stream), stats, on_bad_line):
            if isinstance(text, BadLine):
                bad_line(text, stats, on_bad_line)
                continue
            yield number, text


def guarded(
    items: Iterator[tuple[int, _Item]], stats: ReadStats, on_bad_line: OnBadLine
) -> Iterator[tuple[int, _Item]]:
    """``items`` until they end or raise a :class:`BadLine`, which goes through the policy.

    What the items raise is a problem with the file (a read error, a bad header, broken
    JSON): fatal, so :func:`bad_line` raises ConfigError.
    """
    while True:
        try:
            yield next(items)
        except StopIteration:
            return
        except BadLine as err:  # fatal: bad_line raises
            bad_line(err, stats, on_bad_line)
            return


def read_jobs(
    items: Iterable[tuple[int, _Item]],
    job: Callable[[_Item, int], TraceJob | None],
    stats: ReadStats,
    on_bad_line: OnBadLine,
) -> Iterator[TraceJob]:
    """The jobs ``job(item, line)`` makes of ``(line, item)`` pairs, counted in ``stats``.

    A :class:`BadLine` from ``job`` goes through the bad-line policy; a job of 0 GPUs (or
    ``None``) is dropped as ``"no GPUs"``.
    """
    for line, item in items:
        try:
            made = job(item, line)
        except BadLine as err:
            bad_line(err, stats, on_bad_line)
            continue
        if made is None or made.gpus == 0:
            stats.drop("no GPUs")
            continue
        stats.jobs += 1
        yield made


def parse_number(text: str, line: int, field_name: str) -> float:
    """A finite decimal number (no ``nan``, ``inf``, underscores or hex)."""
    if not _NUMBER.fullmatch(text):
        if not text:
            fail(line, field_name, "empty value (expected a number)")
        fail(line, field_name, f"expected a number, got {show(text)}")
    value = float(text)
    if not math.isfinite(value):
        fail(line, field_name, f"must be finite, got {show(text)}")
    return value + 0.0


def parse_seconds(text: str, line: int, field_name: str) -> float:
    """A time or duration in seconds: finite, in ``[0, MAX_TIME_S]``."""
    value = parse_number(text, line, field_name)
    if value < 0:
        fail(line, field_name, f"must not be negative, got {show(text)}")
    if value > MAX_TIME_S:
        fail(line, field_name, f"must be at most {MAX_TIME_S:.0e} s, got {show(text)}")
    return value


def parse_count(text: str, line: int, field_name: str, maximum: int = MAX_GPUS) -> int:
    """A whole number in ``[0, maximum]`` (``8`` or ``8.0``)."""
    if _INTEGER.fullmatch(text) and len(text) <= 20:
        value = int(text)
    else:
        number = parse_number(text, line, field_name)
        if not number.is_integer():
            fail(line, field_name, f"expected a whole number, got {show(text)}")
        value = int(min(number, 2.0**63))
    if value < 0:
        fail(line, field_name, f"must not be negative, got {show(text)}")
    if value > maximum:
        fail(line, field_name, f"must be at most {maximum}, got {show(text)}")
    return value


def parse_time(text: str, line: int, field_name: str) -> float:
    """Seconds from a plain number or an ISO date-time (``2020-04-01 00:00:15``, naive = UTC)."""
    if _NUMBER.fullmatch(text):
        return parse_seconds(text, line, field_name)
    if not text:
        fail(line, field_name, "empty value (expected a time)")
    try:
        if len(text) > 40:
            raise ValueError
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        fail(line, field_name, f"expected seconds or a date-time, got {show(text)}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    value = moment.timestamp()
    if not 0 <= value <= MAX_TIME_S:
        fail(line, field_name, f"must not be before 1970, got {show(text)}")
    return value


def check_times(
    line: int, submit: float, start: float | None, end: float | None, names: tuple[str, str]
) -> None:
    """Reject a job that ends before it starts (``names``: the start and end fields)."""
    if start is not None and end is not None and end < start:
        fail(line, names[1], f"{format_number(end)} is before the start {format_number(start)}")


def format_number(value: float) -> str:
    """A number as the shortest text that reads back to exactly it (``12``, ``0.5``)."""
    value = float(value)  # an int argument has no is_integer() before Python 3.12
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)

"""Microsoft Philly ``cluster_job_log`` (msr-fiddle/philly-traces): streaming JSON reader.

The log is one JSON array of job objects. This module owns reading it in bounded memory (the
array is decoded one element at a time with :meth:`json.JSONDecoder.raw_decode` over chunks
of the file) and the mapping of a job to :class:`~clustersim.traces.record.TraceJob`
(``docs/traces.md``):

* ``jobid`` → ``id``; ``user`` → ``user``; ``status`` → ``state`` (``Pass``, ``Killed``,
  ``Failed``); ``vc`` and the number of attempts → ``meta``;
* ``submitted_time`` → ``submit_s`` (``"2017-10-03 02:46:26"``, read as UTC, or seconds);
* ``attempts[]``: each has ``start_time``, ``end_time`` (``null``/``"None"`` when missing)
  and ``detail``, a list of machines ``{"ip": ..., "gpus": [...]}``. ``gpus`` = the largest
  number of GPUs over the attempts (a job with none is dropped and counted); ``start_s`` =
  the first attempt's start, ``end_s`` = the last attempt's end, ``run_s`` = the sum of the
  attempts' ``end − start`` (time spent running, retries included).

A job whose fields are wrong can be skipped (``on_bad_line="skip"``); a JSON syntax error
cannot, because the rest of the array cannot be found reliably after it.
"""

from __future__ import annotations

import codecs
import json
import os
from collections.abc import Iterator
from typing import IO, Any, NoReturn

from clustersim.traces.record import (
    MAX_GPUS,
    MAX_LINE_BYTES,
    OnBadLine,
    ReadStats,
    TraceJob,
    check_times,
    fail,
    fatal,
    guarded,
    open_trace,
    parse_time,
    read_jobs,
    show,
)

__all__ = ["read_philly"]

_CHUNK_BYTES = 1 << 16
_WHITESPACE = " \t\n\r"
_MISSING = (None, "None", "")


class _Constant(ValueError):
    """``NaN``/``Infinity`` in the JSON (not JSON, though Python's decoder allows it)."""


def _no_constant(name: str) -> NoReturn:
    raise _Constant(f"{name} is not valid JSON")


class _Stream:
    """The decoded text of the file, read in chunks, with line numbers of positions."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.text = ""
        self.pos = 0
        self.eof = False
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._line = 1  # line number at self._mark
        self._mark = 0

    def more(self) -> bool:
        """Read the next chunk; False at the end of the file."""
        if self.eof:
            return False
        try:
            data = self.raw.read(_CHUNK_BYTES)
            chunk = self._decoder.decode(data, final=not data)
        except UnicodeDecodeError:
            fatal(self.line_at(len(self.text)), "file", "not valid UTF-8")
        except (OSError, EOFError, ValueError) as err:
            fatal(self.line_at(len(self.text)), "file", f"cannot read: {err}")
        if not data:
            self.eof = True
        if self.pos > _CHUNK_BYTES:  # drop what is decoded (keeping line numbers right)
            cut = self.pos
            self.line_at(cut)
            self.text = self.text[cut:]
            self._mark -= cut
            self.pos = 0
        self.text += chunk
        return bool(data)

    def line_at(self, pos: int) -> int:
        """The 1-based line of text position ``pos`` (positions must not go backwards)."""
        if pos > self._mark:
            self._line += self.text.count("\n", self._mark, pos)
            self._mark = pos
        return self._line

    def skip_space(self) -> str:
        """The next non-blank character (``""`` at the end), without consuming it."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.more():
                return ""


def _elements(stream: _Stream) -> Iterator[tuple[int, Any]]:
    """``(line, value)`` of each element of the top-level JSON array."""
    decoder = json.JSONDecoder(parse_constant=_no_constant)
    if stream.skip_space() != "[":
        fatal(stream.line_at(stream.pos), "file", "expected a JSON array of jobs ('[')")
    stream.pos += 1
    first = True
    while True:
        char = stream.skip_space()
        if char == "]":
            stream.pos += 1
            if stream.skip_space():
                fatal(stream.line_at(stream.pos), "file", "unexpected data after the array")
            return
        if not first:
            if char != ",":
                where = stream.line_at(stream.pos)
                message = "expected ',' or ']' after a job"
                fatal(where, "file", message if char else "the file ends before the array's ']'")
            stream.pos += 1
            stream.skip_space()
        first = False
        line = stream.line_at(stream.pos)
        value = _decode_one(decoder, stream, line)
        yield line, value


def _decode_one(decoder: json.JSONDecoder, stream: _Stream, line: int) -> Any:
    """Decode the value at ``stream.pos`` (reading more as needed) and move past it."""
    while True:
        start = stream.pos  # re-read: reading more may move the text
        try:
            value, stream.pos = decoder.raw_decode(stream.text, start)
            return value
        except _Constant as err:
            fatal(line, "file", str(err))
        except RecursionError:
            fatal(line, "file", "a job is nested too deeply")
        except ValueError as err:
            if len(stream.text) - start > MAX_LINE_BYTES:
                fatal(line, "file", f"a job is longer than {MAX_LINE_BYTES} bytes")
            if stream.more():
                continue
            pos = getattr(err, "pos", start)
            message = getattr(err, "msg", str(err))
            if pos >= len(stream.text):
                message = "the file ends inside a job (truncated?)"
            fatal(stream.line_at(max(pos, start)), "file", f"invalid JSON: {message}")


def read_philly(
    path: str | os.PathLike[str],
    *,
    on_bad_line: OnBadLine = "error",
    stats: ReadStats | None = None,
) -> Iterator[TraceJob]:
    """Stream the jobs of the Philly ``cluster_job_log`` at ``path`` (plain or ``.gz``).

    Raises:
        ConfigError: ``path:line: field: message`` for the first bad job (the line where it
            starts; unless skipped) or any JSON syntax error.
    """
    stats = stats if stats is not None else ReadStats()
    stats.path = os.fspath(path)
    with open_trace(stats.path) as raw:
        elements = guarded(_elements(_Stream(raw)), stats, on_bad_line)
        yield from read_jobs(elements, _job, stats, on_bad_line)


def _text(job: dict[str, Any], key: str, line: int, *, required: bool = True) -> str:
    value = job.get(key)
    if value is None and not required:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        fail(line, key, f"expected a string, got {_kind(value)}")
    return str(value)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null or missing)"
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return names.get(type(value), "a number")


def _moment(value: Any, line: int, key: str) -> float | None:
    if value in _MISSING:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        fail(line, key, f"expected a time, got {_kind(value)}")
    text = value if isinstance(value, str) else repr(value)
    return parse_time(text, line, key)


def _job(value: Any, line: int) -> TraceJob | None:
    if not isinstance(value, dict):
        fail(line, "job", f"expected a job object, got {_kind(value)}")
    job_id = _text(value, "jobid", line)
    submit = _moment(value.get("submitted_time"), line, "submitted_time")
    if submit is None:
        fail(line, "submitted_time", "missing")
    attempts = value.get("attempts", [])
    if not isinstance(attempts, list):
        fail(line, "attempts", f"expected a list, got {_kind(attempts)}")
    gpus, run, first, last = 0, 0.0, None, None
    for i, attempt in enumerate(attempts):
        key = f"attempts[{i}]"
        if not isinstance(attempt, dict):
            fail(line, key, f"expected an object, got {_kind(attempt)}")
        begin = _moment(attempt.get("start_time"), line, f"{key}.start_time")
        end = _moment(attempt.get("end_time"), line, f"{key}.end_time")
        check_times(line, submit, begin, end, (f"{key}.start_time", f"{key}.end_time"))
        if i == 0:
            first = begin
        last = end
        if begin is not None and end is not None:
            run += end - begin
        gpus = max(gpus, _attempt_gpus(attempt.get("detail", []), line, key))
    if gpus == 0:
        return None
    return TraceJob(
        id=job_id,
        user=_text(value, "user", line, required=False),
        gpus=gpus,
        submit_s=submit,
        start_s=first,
        end_s=last if first is not None else None,
        run_s=run if first is not None and last is not None else None,
        state=_text(value, "status", line, required=False),
        meta=_meta(len(attempts), _text(value, "vc", line, required=False)),
        line=line,
    )


def _meta(attempts: int, vc: str) -> tuple[tuple[str, str], ...]:
    return (("attempts", str(attempts)), ("vc", vc)) if vc else (("attempts", str(attempts)),)


def _attempt_gpus(detail: Any, line: int, key: str) -> int:
    if not isinstance(detail, list):
        fail(line, f"{key}.detail", f"expected a list of machines, got {_kind(detail)}")
    total = 0
    for j, machine in enumerate(detail):
        where = f"{key}.detail[{j}].gpus"
        if not isinstance(machine, dict):
            fail(line, f"{key}.detail[{j}]", f"expected an object, got {_kind(machine)}")
        gpus = machine.get("gpus", [])
        if not isinstance(gpus, list):
            fail(line, where, f"expected a list of GPU names, got {_kind(gpus)} {show(str(gpus))}")
        total += len(gpus)
    if total > MAX_GPUS:
        fail(line, f"{key}.detail", f"more than {MAX_GPUS} GPUs")
    return total

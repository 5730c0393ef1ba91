"""The trace formats by name: which reader and writer each has, and telling them apart.

This module owns the format names used by the scenario (``workload.trace.format``) and the
CLI (``--format``, ``--from``, ``--to``), detection from a file's name and first bytes, and
:func:`read_trace`, the one entry point that dispatches to a format's reader.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Literal

from clustersim.traces.alibaba import read_alibaba
from clustersim.traces.helios import read_helios, write_csv
from clustersim.traces.philly import read_philly
from clustersim.traces.record import (
    OnBadLine,
    ReadStats,
    TraceJob,
    check_trace_file,
    open_trace,
)
from clustersim.traces.swf import read_swf, write_swf

__all__ = [
    "EPOCH_FORMATS",
    "FORMATS",
    "WRITE_FORMATS",
    "TraceFormat",
    "detect_format",
    "read_trace",
    "write_trace",
]

TraceFormat = Literal["swf", "helios", "philly", "alibaba"]
FORMATS: tuple[TraceFormat, ...] = ("swf", "helios", "philly", "alibaba")
"""The formats that can be read."""
WRITE_FORMATS: tuple[str, ...] = ("swf", "csv")
"""The formats ``trace convert`` writes (``csv`` is the Helios-style clustersim CSV)."""
EPOCH_FORMATS = frozenset({"helios", "philly"})
"""Formats whose times are usually Unix epoch seconds rather than seconds from the start."""
_BY_EXTENSION: dict[str, TraceFormat] = {".swf": "swf", ".json": "philly"}
_SNIFF_BYTES = 1 << 16
_Reader = Callable[..., Iterator[TraceJob]]
_READERS: dict[str, _Reader] = {
    "swf": read_swf,
    "helios": read_helios,
    "philly": read_philly,
    "alibaba": read_alibaba,
}


def detect_format(path: str | os.PathLike[str]) -> TraceFormat | None:
    """The format of the file at ``path`` from its extension, else its first bytes.

    ``.swf`` is SWF and ``.json`` Philly (a trailing ``.gz`` is ignored); a ``.csv`` file, or
    one with any other name, is told apart by its first line: ``;`` or 18 numbers is SWF, a
    ``[`` is Philly, a CSV header naming ``gpu_milli`` is Alibaba and one naming ``gpu_num``
    or ``job_id`` is Helios. None when the file says nothing recognisable (or cannot be read).

    Raises:
        ConfigError: the path is missing or not a regular file (a directory, a device ...).
    """
    check_trace_file(path)
    name = os.fspath(path).lower().removesuffix(".gz")
    for extension, fmt in _BY_EXTENSION.items():
        if name.endswith(extension):
            return fmt
    try:
        with open_trace(path) as stream:
            head = stream.read(_SNIFF_BYTES)
    except Exception:  # unreadable or corrupt: the reader reports it properly
        return None
    text = head.decode("utf-8", "replace").lstrip("\ufeff")
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        return _sniff(stripped)
    return None


def _sniff(line: str) -> TraceFormat | None:
    if line.startswith(";"):
        return "swf"
    if line.startswith("["):
        return "philly"
    parts = line.split()
    if len(parts) == 18 and all(p.lstrip("-").replace(".", "", 1).isdigit() for p in parts):
        return "swf"
    header = {part.strip().strip('"').lower() for part in line.split(",")}
    if "gpu_milli" in header:
        return "alibaba"
    if header & {"gpu_num", "job_id"}:
        return "helios"
    return None


def read_trace(
    path: str | os.PathLike[str],
    fmt: str,
    *,
    on_bad_line: OnBadLine = "error",
    stats: ReadStats | None = None,
    gpus_per_processor: float = 1.0,
) -> Iterator[TraceJob]:
    """Stream the jobs of the trace at ``path`` in format ``fmt`` (one of :data:`FORMATS`).

    ``gpus_per_processor`` applies to SWF only. Raises ``KeyError`` for an unknown format
    name (callers validate it first) and ConfigError for bad data.
    """
    reader = _READERS[fmt]
    if fmt == "swf":
        return reader(
            path, gpus_per_processor=gpus_per_processor, on_bad_line=on_bad_line, stats=stats
        )
    return reader(path, on_bad_line=on_bad_line, stats=stats)


def write_trace(
    jobs: Iterable[TraceJob],
    out: IO[str],
    fmt: str,
    *,
    gpus_per_processor: float = 1.0,
    origin_s: float | None = 0.0,
    source: str = "jobs",
) -> int:
    """Write ``jobs`` to ``out`` in ``fmt`` (one of :data:`WRITE_FORMATS`); the job count.

    ``gpus_per_processor``, ``origin_s`` and ``source`` apply to SWF only
    (:func:`~clustersim.traces.swf.write_swf`).
    """
    if fmt == "swf":
        return write_swf(
            jobs, out, gpus_per_processor=gpus_per_processor, origin_s=origin_s, source=source
        )
    return write_csv(jobs, out)

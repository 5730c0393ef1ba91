"""Alibaba ``openb`` pod CSV (cluster-trace-gpu-v2023): reader.

This module owns the mapping of the pod list (``openb_pod_list_*.csv``) to
:class:`~clustersim.traces.record.TraceJob` (``docs/traces.md``). Columns by name:

* ``name`` → ``id`` (there is no user: ``user`` is ``""``);
* ``num_gpu`` and ``gpu_milli`` (the share of each GPU, in thousandths) → whole GPUs by
  the rule **each GPU share is rounded up to a whole GPU**: ``gpus = num_gpu ×
  ceil(gpu_milli / 1000)``, so a 220-milli GPU-sharing pod holds 1 GPU and an 8 × 1000 pod
  8; a pod with 0 GPUs (a CPU pod) is dropped and counted;
* ``creation_time`` → ``submit_s``; ``scheduled_time`` → ``start_s`` (empty: never ran);
  ``deletion_time`` → ``end_s`` (only for a pod that was scheduled);
  ``run_s = deletion − scheduled``; all in seconds from the trace's start;
* ``pod_phase`` → ``state`` (``Succeeded``, ``Running``, ``Pending``, ``Failed``);
  ``gpu_milli``, ``qos``, ``gpu_spec`` → ``meta``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from clustersim.traces.csvtable import read_csv_jobs
from clustersim.traces.record import (
    OnBadLine,
    ReadStats,
    TraceJob,
    check_times,
    fail,
    parse_count,
    parse_seconds,
)

__all__ = ["MILLI_PER_GPU", "read_alibaba", "whole_gpus"]

MILLI_PER_GPU = 1000
"""A ``gpu_milli`` of 1000 is one whole GPU."""
_COLUMNS = (
    "name",
    "num_gpu",
    "gpu_milli",
    "gpu_spec",
    "qos",
    "pod_phase",
    "creation_time",
    "deletion_time",
    "scheduled_time",
)
_ALIASES = {name: name for name in _COLUMNS}
_REQUIRED = ("name", "num_gpu", "gpu_milli", "creation_time")


def whole_gpus(num_gpu: int, gpu_milli: int) -> int:
    """Whole GPUs a pod holds: each of its ``num_gpu`` shares rounded up to a whole GPU."""
    return num_gpu * -(-gpu_milli // MILLI_PER_GPU)


def read_alibaba(
    path: str | os.PathLike[str],
    *,
    on_bad_line: OnBadLine = "error",
    stats: ReadStats | None = None,
) -> Iterator[TraceJob]:
    """Stream the GPU pods of the openb pod CSV file at ``path`` (plain or ``.gz``).

    Raises:
        ConfigError: ``path:line: column: message`` for the first bad line (unless skipped),
            or a bad header.
    """
    yield from read_csv_jobs(
        path, stats, on_bad_line, aliases=_ALIASES, required=_REQUIRED, job=_job
    )


def _job(row: dict[str, str], line: int) -> TraceJob:
    num_gpu = parse_count(row["num_gpu"], line, "num_gpu")
    milli = parse_count(row["gpu_milli"], line, "gpu_milli")
    if milli > MILLI_PER_GPU:
        fail(line, "gpu_milli", f"must be at most {MILLI_PER_GPU} (one whole GPU), got {milli}")
    gpus = whole_gpus(num_gpu, milli)  # <= num_gpu <= MAX_GPUS
    submit = parse_seconds(row["creation_time"], line, "creation_time")
    scheduled = row.get("scheduled_time", "")
    deleted = row.get("deletion_time", "")
    start = parse_seconds(scheduled, line, "scheduled_time") if scheduled else None
    end = None
    if deleted:
        deletion = parse_seconds(deleted, line, "deletion_time")
        end = deletion if start is not None else None
    check_times(line, submit, start, end, ("scheduled_time", "deletion_time"))
    meta = tuple(
        (name, row[name]) for name in ("gpu_milli", "qos", "gpu_spec") if row.get(name, "")
    )
    return TraceJob(
        id=row["name"],
        user="",
        gpus=gpus,
        submit_s=submit,
        start_s=start,
        end_s=end,
        run_s=None if start is None or end is None else end - start,
        state=row.get("pod_phase", ""),
        meta=meta,
        line=line,
    )

"""A trace as a scenario's workload: trace jobs turned into simulated job records.

This module owns the rules of ``workload.trace`` (``docs/traces.md``): which trace jobs are
replayed (a known run time > 0 and at least one GPU; submitted at or after ``start``; the
first ``max_jobs``) and how their times and sizes are scaled. The trace's clock starts at
its first job's submission (in file order); a job submitted before that (an unsorted file)
counts as submitted with it. A replayed job keeps the trace's user, and its group where the
format has one (SWF field 13, Philly ``vc``).
"""

from __future__ import annotations

import math

from clustersim.config import TraceWorkloadConfig
from clustersim.traces.formats import detect_format, read_trace
from clustersim.traces.record import ReadStats, TraceJob

__all__ = ["TraceReplay", "replay_jobs"]

_EPS = 1e-12


class TraceReplay:
    """The jobs of one ``workload.trace`` section, with what was left out and why."""

    def __init__(self, cfg: TraceWorkloadConfig) -> None:
        self.cfg = cfg
        self.stats = ReadStats()
        self.left_out: dict[str, int] = {}

    def _leave_out(self, reason: str) -> None:
        self.left_out[reason] = self.left_out.get(reason, 0) + 1

    def format(self) -> str:
        """The trace's format: the configured one, else detected from the file."""
        from clustersim.config import ConfigError

        if self.cfg.format is not None:
            return self.cfg.format
        fmt = detect_format(self.cfg.path)
        if fmt is None:
            raise ConfigError(
                [
                    f"{self.cfg.path}:1: file: cannot tell the trace format "
                    "(set workload.trace.format: swf, helios, philly or alibaba)"
                ]
            )
        return fmt

    def jobs(self) -> list[tuple[float, str, int, float, int, float, float | None]]:
        """``(submit_s, name, gpus, work_s, priority, checkpoint_bytes, requested_s)`` per job.

        ``requested_s`` is the trace's requested run time (SWF field 9) scaled like the work,
        or None where the trace has none. The jobs' users and groups, in the same order, are
        :attr:`owners` afterwards.
        """
        cfg = self.cfg
        self.owners: list[tuple[str, str]] = []
        out: list[tuple[float, str, int, float, int, float, float | None]] = []
        origin: float | None = 0.0 if cfg.origin == "trace" else None
        jobs = read_trace(
            cfg.path,
            self.format(),
            on_bad_line=cfg.on_bad_line,
            stats=self.stats,
            gpus_per_processor=cfg.gpus_per_processor,
        )
        for job in jobs:
            if origin is None:
                origin = job.submit_s
            record = self._record(job, max(0.0, job.submit_s - origin))
            if record is None:
                continue
            out.append(record)
            self.owners.append((job.user, _group(job)))
            if cfg.max_jobs is not None and len(out) >= cfg.max_jobs:
                break
        return out

    def _record(
        self, job: TraceJob, since_first_s: float
    ) -> tuple[float, str, int, float, int, float, float | None] | None:
        cfg = self.cfg
        if since_first_s < cfg.start:
            self._leave_out("before start")
            return None
        if job.run_s is None:
            self._leave_out("no run time")
            return None
        work = job.run_s * cfg.time_scale
        if not work > 0:
            self._leave_out("zero run time")
            return None
        gpus = max(1, math.ceil(job.gpus * cfg.gpu_scale * (1 - _EPS)))
        submit = (since_first_s - cfg.start) * cfg.time_scale
        size = cfg.checkpoint_bytes_per_gpu * gpus
        return (submit, job.id, gpus, work, cfg.priority, size, _requested(job, cfg.time_scale))


def _requested(job: TraceJob, time_scale: float) -> float | None:
    """The job's requested run time (SWF field 9, ``-1`` when unknown), scaled; else None."""
    text = job.get("swf.req_time")
    if text is None:
        return None
    value = float(text)
    return value * time_scale if value > 0 else None


def _group(job: TraceJob) -> str:
    """The job's group: SWF field 13 (``swf.group``) or Philly's virtual cluster, else ``""``."""
    return job.get("swf.group") or job.get("vc") or ""


def replay_jobs(
    cfg: TraceWorkloadConfig, offset: int
) -> tuple[
    list[tuple[float, int, str, int, float, int, float]],
    dict[int, float],
    dict[int, tuple[str, str]],
]:
    """The trace's jobs as ``build_workload``'s raw rows, their requested run times and owners.

    Rows are numbered (``order``) from ``offset``; requested run times are keyed by ``order``
    and present only where the trace gives one; owners are ``(user, group)`` by ``order``,
    present where either is known.
    """
    replay = TraceReplay(cfg)
    rows = replay.jobs()
    requested = {offset + i: row[6] for i, row in enumerate(rows) if row[6] is not None}
    owners = {offset + i: owner for i, owner in enumerate(replay.owners) if any(owner)}
    return (
        [
            (submit, offset + i, name, gpus, work, prio, size)
            for i, (submit, name, gpus, work, prio, size, _) in enumerate(rows)
        ],
        requested,
        owners,
    )

"""What ``clustersim trace info`` reports about a trace, accumulated in constant memory.

:class:`TraceSummary` owns the running totals of a stream of jobs: job count, GPU-hours
(``gpus × run_s``, over the jobs whose run time is known), a job-size histogram by powers of
two, the time span and the count of each state. Distinct users and states are tracked up to
:data:`MAX_DISTINCT` each, so a hostile file cannot make it grow without bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clustersim.traces.record import ReadStats, TraceJob

__all__ = ["MAX_DISTINCT", "TraceSummary", "size_bucket"]

MAX_DISTINCT = 100_000
"""Most distinct users (and states) counted; past it the count is a lower bound."""
_MAX_STATES = 64


def size_bucket(gpus: int) -> int:
    """The power of two a job of ``gpus`` GPUs is counted under: the least ``2**k >= gpus``."""
    return 1 << max(gpus - 1, 0).bit_length()


@dataclass(slots=True)
class TraceSummary:
    """Running totals over the jobs of one trace (add jobs with :meth:`add`)."""

    path: str
    format: str
    jobs: int = 0
    jobs_with_run: int = 0
    gpu_hours: float = 0.0
    max_gpus: int = 0
    sizes: dict[int, int] = field(default_factory=dict)
    states: dict[str, int] = field(default_factory=dict)
    first_submit_s: float | None = None
    last_submit_s: float | None = None
    last_end_s: float | None = None
    _users: set[str] = field(default_factory=set)
    users_capped: bool = False

    def add(self, job: TraceJob) -> None:
        """Count one job."""
        self.jobs += 1
        if job.run_s is not None:
            self.jobs_with_run += 1
            self.gpu_hours += job.gpus * job.run_s / 3600.0
        self.max_gpus = max(self.max_gpus, job.gpus)
        bucket = size_bucket(job.gpus)
        self.sizes[bucket] = self.sizes.get(bucket, 0) + 1
        state = job.state or "(none)"
        if state in self.states or len(self.states) < _MAX_STATES:
            self.states[state] = self.states.get(state, 0) + 1
        else:
            self.states["(other)"] = self.states.get("(other)", 0) + 1
        if self.first_submit_s is None or job.submit_s < self.first_submit_s:
            self.first_submit_s = job.submit_s
        if self.last_submit_s is None or job.submit_s > self.last_submit_s:
            self.last_submit_s = job.submit_s
        end = job.end_s
        if end is None and job.start_s is not None and job.run_s is not None:
            end = job.start_s + job.run_s
        if end is not None and (self.last_end_s is None or end > self.last_end_s):
            self.last_end_s = end
        if job.user and job.user not in self._users:
            if len(self._users) < MAX_DISTINCT:
                self._users.add(job.user)
            else:
                self.users_capped = True

    @property
    def users(self) -> int:
        """Distinct non-empty users seen (at most :data:`MAX_DISTINCT`)."""
        return len(self._users)

    @property
    def span_s(self) -> float:
        """Seconds from the first submission to the last end (or last submission)."""
        if self.first_submit_s is None or self.last_submit_s is None:
            return 0.0
        last = max(self.last_submit_s, self.last_end_s or self.last_submit_s)
        return last - self.first_submit_s

    def to_dict(self, stats: ReadStats | None = None) -> dict[str, Any]:
        """The summary as plain JSON-ready data (with the reader's skip/drop counts)."""
        out: dict[str, Any] = {
            "path": self.path,
            "format": self.format,
            "jobs": self.jobs,
            "jobs_with_run_time": self.jobs_with_run,
            "gpu_hours": self.gpu_hours,
            "max_gpus": self.max_gpus,
            "users": self.users,
            "users_capped": self.users_capped,
            "first_submit_s": self.first_submit_s,
            "last_submit_s": self.last_submit_s,
            "last_end_s": self.last_end_s,
            "span_s": self.span_s,
            "sizes": {str(k): self.sizes[k] for k in sorted(self.sizes)},
            "states": dict(sorted(self.states.items(), key=lambda kv: (-kv[1], kv[0]))),
        }
        if stats is not None:
            out["skipped_lines"] = stats.skipped
            out["first_skipped"] = stats.first_skipped
            out["dropped"] = dict(sorted(stats.dropped.items()))
        return out

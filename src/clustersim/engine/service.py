"""Each job's attained service since its last promotion, exact at any instant (Tiresias).

:class:`Service` owns one :class:`~clustersim.views.Attained` record per job in the system
(queued or holding an allocation). A job attains service at the rate of the GPUs it asked
for (``Job.gpus``) for as long as it holds an allocation (placed to released: starting,
running, checkpointing, recovering, draining), so between a placement and a release its
service is ``service_gpu_s + gpus * (t - since_s)``, a straight line: the record changes only
when the job is placed, released or promoted, and a policy extrapolates it to any time
(including when it will cross a threshold) without an event per step. ``executed_s`` is the
time held, on the same terms. A promotion (a :class:`~clustersim.views.Promote` decision)
resets both to zero.

The simulation feeds it from each job's phase changes (:meth:`Service.phase_changed`,
chained to ``Job.on_phase``) only while a policy that reads service runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from clustersim.job import Job, JobPhase
from clustersim.views import Attained

from .usage import HOLDING

__all__ = ["Service"]


class Service:
    """Attained GPU-seconds and time held since the last promotion, per job in the system."""

    def __init__(self) -> None:
        self.records: dict[int, Attained] = {}
        """Jobs queued or holding an allocation -> their service as of their ``since_s``."""

    def phase_changed(self, job: Job, now_s: float) -> None:
        """Follow a job's phase: placed -> attaining; queued -> banked; finished -> gone."""
        record = self.records.get(job.id)
        if job.phase in HOLDING:
            if record is None or not record.holding:
                service, executed = _banked(record, now_s)
                self.records[job.id] = Attained(service, executed, now_s, job.gpus, True)
        elif job.phase is JobPhase.QUEUED:
            service, executed = _banked(record, now_s)
            self.records[job.id] = Attained(service, executed, now_s, job.gpus, False)
        else:
            self.records.pop(job.id, None)

    def promote(self, job_id: int) -> None:
        """A queued job starved and goes back to the top queue: its service starts over."""
        record = self.records.get(job_id)
        if record is not None and not record.holding:
            self.records[job_id] = Attained(0.0, 0.0, record.since_s, record.gpus, False)

    def at(self) -> Mapping[int, Attained]:
        """Every job's record, as a read-only copy (it does not change under a policy)."""
        return MappingProxyType(dict(self.records))


def _banked(record: Attained | None, now_s: float) -> tuple[float, float]:
    """Service and time held up to ``now_s`` (a job holding nodes attains until now)."""
    if record is None:
        return 0.0, 0.0
    if not record.holding:
        return record.service_gpu_s, record.executed_s
    return record.service_at(now_s), record.executed_s + (now_s - record.since_s)

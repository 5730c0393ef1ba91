"""The engine's attained service per job (``clustersim.engine.service``)."""

from __future__ import annotations

from clustersim.engine.service import Service
from clustersim.job import Job, JobPhase
from clustersim.views import Attained


def job(gpus: int = 4) -> Job:
    nan = float("nan")
    return Job(7, "j", gpus, 1, gpus, 100.0, 0.0, 0, 0.0, nan, 0.0, 0.0, 0.0, 0.0, nan)


def move(service: Service, j: Job, phase: JobPhase, now: float) -> None:
    j.phase = phase
    service.phase_changed(j, now)


def test_service_is_gpus_times_time_held_across_placements() -> None:
    s, j = Service(), job(gpus=4)
    move(s, j, JobPhase.QUEUED, 0.0)
    assert s.at()[7] == Attained(0.0, 0.0, 0.0, 4, False)
    move(s, j, JobPhase.STARTING, 10.0)
    move(s, j, JobPhase.RUNNING, 12.0)  # still the same placement: nothing changes
    assert s.at()[7] == Attained(0.0, 0.0, 10.0, 4, True)
    move(s, j, JobPhase.DRAINING, 30.0)
    move(s, j, JobPhase.QUEUED, 35.0)  # preempted: 25 s held, 100 GPU-s
    assert s.at()[7] == Attained(100.0, 25.0, 35.0, 4, False)
    assert s.at()[7].service_at(1e6) == 100.0  # queued: attains nothing
    move(s, j, JobPhase.STARTING, 50.0)
    assert s.at()[7] == Attained(100.0, 25.0, 50.0, 4, True)
    assert s.at()[7].service_at(60.0) == 140.0
    move(s, j, JobPhase.FINISHED, 60.0)
    assert 7 not in s.at()


def test_promotion_resets_a_queued_job_only() -> None:
    s, j = Service(), job(gpus=2)
    move(s, j, JobPhase.QUEUED, 0.0)
    move(s, j, JobPhase.STARTING, 0.0)
    s.promote(7)  # holding: no effect
    assert s.at()[7].holding
    move(s, j, JobPhase.QUEUED, 10.0)
    s.promote(7)
    assert s.at()[7] == Attained(0.0, 0.0, 10.0, 2, False)


def test_the_view_is_a_snapshot() -> None:
    s, j = Service(), job()
    move(s, j, JobPhase.QUEUED, 0.0)
    snapshot = s.at()
    move(s, j, JobPhase.STARTING, 5.0)
    assert not snapshot[7].holding

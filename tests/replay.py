"""Replay a small workload through the engine with every cost and fault off.

The scheduling tests (regressions and the reference suite) describe workloads as
``(submit_s, runtime_s, nodes)`` triples on a cluster of one-GPU nodes, as SWF traces do, and
compare the start time of every job. With no faults, no checkpoints and zero start-up cost, a
job runs for exactly its runtime, so the start times are the policy's decisions alone.

A preempted job writes a checkpoint at once (no stall) and restarts at no cost, so
preemption loses no work: :func:`placements` gives every start and preemption of each job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from clustersim.config import Scenario
from clustersim.engine import Simulation
from clustersim.events import JobPreempted, JobStarted

__all__ = ["placements", "replay_scenario", "start_times"]


Workload = Sequence[tuple[float, float, int]] | Sequence[tuple[float, float, int, float]]
"""``(submit_s, runtime_s, nodes)``, or with a fourth element, the job's runtime estimate."""


def _spec(i: int, job: tuple[float, ...], owner: tuple[str, str] | None) -> dict[str, object]:
    spec: dict[str, object] = {"name": f"j{i}", "gpus": job[2], "work": job[1], "submit": job[0]}
    if len(job) > 3:
        spec["estimate"] = job[3]
    if owner is not None:
        spec["user"], spec["group"] = owner
    return spec


def replay_scenario(
    jobs: Workload,
    nodes: int,
    policy: str,
    *,
    owners: Sequence[tuple[str, str]] | None = None,
    scheduler: Mapping[str, Any] | None = None,
) -> Scenario:
    """A scenario of ``nodes`` one-GPU nodes (one rack) running ``jobs`` with no costs.

    Jobs given with an estimate are scheduled on it (``scheduler.estimates.model:
    requested``); the others on their exact runtime. ``owners`` gives each job's (user,
    group); ``scheduler`` adds settings to the ``scheduler`` section.
    """
    return Scenario.model_validate(
        {
            "cluster": {
                "gpus_per_node": 1,
                "nodes_per_rack": nodes,
                "racks_per_pod": 1,
                "pods": 1,
                "oversubscription": 1,
            },
            "workload": {
                "jobs": [
                    _spec(i, job, owners[i] if owners is not None else None)
                    for i, job in enumerate(jobs)
                ]
            },
            "checkpoint": {"policy": "none", "stall": 0},
            "restart": {"detection": 0, "init": 0, "init_per_gpu": 0, "load": 0},
            "scheduler": {
                "policy": policy,
                "estimates": {"model": "requested"},
                "preempt_checkpoint": True,
                **(scheduler or {}),
            },
            "run": {"horizon": 1e9},
        }
    )


def _run(jobs: Workload, nodes: int, policy: str, **options: Any) -> Simulation:
    sim = Simulation(replay_scenario(jobs, nodes, policy, **options), replication=0, seed=0)
    sim.run(None)
    return sim


def start_times(jobs: Workload, nodes: int, policy: str, **options: Any) -> list[float]:
    """First start time of each job, in input order, as the engine simulates it."""
    sim = _run(jobs, nodes, policy, **options)
    by_name = {job.name: job.first_start_s for job in sim.jobs}
    return [by_name[f"j{i}"] for i in range(len(jobs))]


def placements(
    jobs: Workload, nodes: int, policy: str, **options: Any
) -> list[tuple[list[float], list[float]]]:
    """Every start and every preemption time of each job, in input order."""
    sim = _run(jobs, nodes, policy, **options)
    index = {job.id: int(job.name[1:]) for job in sim.jobs}
    out: list[tuple[list[float], list[float]]] = [([], []) for _ in jobs]
    for event in sim.log:
        if isinstance(event, JobStarted):
            out[index[event.job]][0].append(event.t)
        elif isinstance(event, JobPreempted):
            out[index[event.job]][1].append(event.t)
    return out

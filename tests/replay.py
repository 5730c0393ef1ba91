"""Replay a small workload through the engine with every cost and fault off.

The scheduling tests (regressions and the reference suite) describe workloads as
``(submit_s, runtime_s, nodes)`` triples on a cluster of one-GPU nodes, as SWF traces do, and
compare the start time of every job. With no faults, no checkpoints and zero start-up cost, a
job runs for exactly its runtime, so the start times are the policy's decisions alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from clustersim.config import Scenario
from clustersim.engine import Simulation

__all__ = ["replay_scenario", "start_times"]


Workload = Sequence[tuple[float, float, int]] | Sequence[tuple[float, float, int, float]]
"""``(submit_s, runtime_s, nodes)``, or with a fourth element, the job's runtime estimate."""


def _spec(i: int, job: tuple[float, ...]) -> dict[str, object]:
    spec: dict[str, object] = {"name": f"j{i}", "gpus": job[2], "work": job[1], "submit": job[0]}
    if len(job) > 3:
        spec["estimate"] = job[3]
    return spec


def replay_scenario(jobs: Workload, nodes: int, policy: str) -> Scenario:
    """A scenario of ``nodes`` one-GPU nodes (one rack) running ``jobs`` with no costs.

    Jobs given with an estimate are scheduled on it (``scheduler.estimates.model:
    requested``); the others on their exact runtime.
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
            "workload": {"jobs": [_spec(i, job) for i, job in enumerate(jobs)]},
            "checkpoint": {"policy": "none"},
            "restart": {"detection": 0, "init": 0, "init_per_gpu": 0, "load": 0},
            "scheduler": {"policy": policy, "estimates": {"model": "requested"}},
            "run": {"horizon": 1e9},
        }
    )


def start_times(jobs: Workload, nodes: int, policy: str) -> list[float]:
    """First start time of each job, in input order, as the engine simulates it."""
    sim = Simulation(replay_scenario(jobs, nodes, policy), replication=0, seed=0)
    sim.run(None)
    by_name = {job.name: job.first_start_s for job in sim.jobs}
    return [by_name[f"j{i}"] for i in range(len(jobs))]

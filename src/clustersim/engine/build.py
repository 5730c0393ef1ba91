"""Building the world from a scenario: per-cause facts and jobs with their derived costs.

:class:`Causes` owns the facts about each fault cause that the rest of the engine asks for
(detection time, planned or not, category, and the per-node rate of job-killing faults that
the checkpoint-interval policies model). :func:`make_jobs` turns workload records into
:class:`~clustersim.job.Job` objects with their checkpoint stall, interval, start-up and load
times, computed once per (size, checkpoint size) shape, and the account fair share charges
them to (their user or group, ``scheduler.fair_share.by``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from clustersim.analysis import analytic
from clustersim.checkpoint import interval_for
from clustersim.cohorts import FLEET_CAUSES
from clustersim.config import Scenario
from clustersim.config.network import default_exposed_comm
from clustersim.job import Job
from clustersim.workload import JobRecord

__all__ = ["Causes", "JobShape", "make_jobs", "unplaceable"]

JobShape = tuple[float, float, float, float, float, float, float | None]
"""Stall, persist, MTBF, interval, load, init and peer-load times of a job shape."""


class Causes:
    """Per-cause facts: detection time, planned, category, and the job-killing node rate."""

    def __init__(self, scenario: Scenario) -> None:
        gpn = scenario.cluster.gpus_per_node
        nodes_per_rack = scenario.cluster.nodes_per_rack
        faults = scenario.faults
        # Per-node rate of the faults that kill jobs (the interval policies' job-MTBF model).
        self.job_rate_per_node = sum(f.node_rate(gpn) for f in faults.values() if f.kills_jobs)
        self.job_rate_per_node += sum(
            (f.rate or 0.0) / nodes_per_rack
            for f in faults.values()
            if f.kind == "switch" and f.level == "rack" and f.homing == "single"
        )
        self.planned = {name for name, f in faults.items() if f.is_planned}
        self.default_detection_s = scenario.restart.detection
        self.detection: dict[str, float] = {}
        for name, f in faults.items():
            if f.detection is not None:
                self.detection[name] = f.detection
            elif f.is_planned:
                self.detection[name] = 0.0
            elif f.kind == "flap":
                self.detection[name] = f.timeout  # the collective times out first
            else:
                self.detection[name] = self.default_detection_s
        self.categories = {name: f.category for name, f in faults.items()}
        if scenario.fleet is not None and scenario.fleet.has_events:
            for name in FLEET_CAUSES:  # drains for retirements and refresh swaps
                self.planned.add(name)
                self.detection[name] = 0.0
                self.categories[name] = "Planned"

    def detection_s(self, cause: str) -> float:
        """How long ``cause`` takes to detect (planned causes: none)."""
        return self.detection.get(cause, self.default_detection_s)

    def is_planned(self, cause: str) -> bool:
        """Whether ``cause`` is planned maintenance (drained gracefully)."""
        return cause in self.planned


def make_jobs(
    scenario: Scenario, records: Iterable[JobRecord], job_rate_per_node: float
) -> list[Job]:
    """One :class:`Job` per workload record, with the costs of its shape."""
    gpn = scenario.cluster.gpus_per_node
    share = scenario.cluster.sharing == "gpu"
    shapes: dict[tuple[int, int, float], JobShape] = {}
    by_group = scenario.scheduler.fair_share.by == "group"
    comm = scenario.network.exposed_comm
    jobs: list[Job] = []
    for rec in records:
        nodes = math.ceil(rec.gpus / gpn)
        # Under GPU sharing a job smaller than a node holds its own GPUs on a shared node.
        slot = rec.gpus if share and rec.gpus < gpn else 0
        held = slot or nodes * gpn
        key = (nodes, held, rec.checkpoint_bytes)
        derived = shapes.get(key)
        if derived is None:  # generated workloads repeat a few (size, checkpoint) shapes
            derived = shapes[key] = job_shape(
                scenario, nodes, held, rec.checkpoint_bytes, job_rate_per_node
            )
        stall, persist, mtbf, interval, load, init, peer_load = derived
        job = Job(
            rec.id,
            rec.name,
            rec.gpus,
            nodes,
            held,
            rec.work_s,
            rec.submit_s,
            rec.priority,
            rec.checkpoint_bytes,
            interval,
            stall,
            persist,
            init,
            load,
            mtbf,
        )
        job.slot_gpus = slot
        if peer_load is not None:
            job.peer_load_s = peer_load
            job.peer_copy_ok = True
        if rec.estimate_s is not None:
            job.estimate_s = rec.estimate_s
        job.user, job.group = rec.user, rec.group
        job.account = rec.group if by_group else rec.user
        job.exposed_comm = (
            rec.exposed_comm
            if rec.exposed_comm is not None
            else comm
            if comm is not None
            else default_exposed_comm(rec.gpus)
        )
        job.traffic, job.replica_gpus = rec.traffic, rec.replica_gpus
        jobs.append(job)
    return jobs


def job_shape(
    scenario: Scenario, nodes: int, gpus: int, checkpoint_bytes: float, job_rate_per_node: float
) -> JobShape:
    """Stall, persist, MTBF, interval, load, init and peer-load times of a job shape.

    ``gpus`` is what the job holds: its nodes' GPUs, or its slot's on a shared node.
    """
    sc = scenario
    ck = sc.checkpoint
    write_bw = sc.storage.write_bandwidth
    if ck.stall is not None:
        stall, persist = ck.stall, 0.0
    elif ck.mode == "sync":
        stall, persist = analytic.checkpoint_time(checkpoint_bytes, write_bw), 0.0
    else:
        stall = analytic.checkpoint_time(checkpoint_bytes, gpus * ck.copy_bandwidth_per_gpu)
        persist = analytic.checkpoint_time(checkpoint_bytes, write_bw)
    mtbf = analytic.job_mtbf(nodes, job_rate_per_node)
    interval = interval_for(ck.policy, ck.interval, stall, mtbf)
    load = (
        sc.restart.load
        if sc.restart.load is not None
        else analytic.checkpoint_time(checkpoint_bytes, sc.storage.read_bandwidth)
    )
    init = sc.restart.init + sc.restart.init_per_gpu * gpus
    peer_load = (
        analytic.checkpoint_time(checkpoint_bytes, gpus * ck.copy_bandwidth_per_gpu)
        if ck.in_memory
        else None
    )
    return stall, persist, mtbf, interval, load, init, peer_load


def unplaceable(jobs: Iterable[Job], n_nodes: int, spare_nodes: int) -> dict[str, list[str]]:
    """The jobs no placement can ever serve, by reason, with their names (in job order).

    A job needs its nodes all at once; it can never start if it is larger than the cluster,
    or larger than what is left beside the hot-spare pool (spares only replace failed nodes).
    """
    cluster_reason = f"larger than the cluster ({n_nodes:,} nodes)"
    spare_reason = (
        f"larger than the {n_nodes - spare_nodes:,} nodes left beside {spare_nodes:,} hot spares"
    )
    out: dict[str, list[str]] = {}
    for job in jobs:
        if job.nodes > n_nodes:
            out.setdefault(cluster_reason, []).append(job.name)
        elif job.nodes > n_nodes - spare_nodes:
            out.setdefault(spare_reason, []).append(job.name)
    return out

"""Named benchmark sizes: each is a function returning a validated :class:`Scenario`.

Every configuration runs to a fixed horizon (``run.stop_when_done: false``), so the simulated
time is exactly what the name says, and every generated workload is sized so that the offered
load stays below ~85 % of the cluster (see :func:`offered_load`), so queues stay bounded and
the cost measured is the simulator's, not an ever-growing backlog's.

Topology: the Meta-24k preset has racks of 2 nodes and pods of 192 racks (3,072 GPUs). Power-of-
two clusters (2k ... 131k GPUs) cannot be cut into 192-rack pods, so the synthetic sizes keep
racks of 2 nodes of 8 GPUs and use pods of 128 racks (2,048 GPUs): 1 pod at 2k GPUs, 8 pods at
16k, 16 at 32k and 64 at 131k.

Fault rates are the Llama 3 paper's (``../shared/data/llama3_interruptions.csv``), grouped by
blast radius as in the ``meta-24k-shared`` preset: node-scope hardware (321 of 419), job-scope
software (63 of 419) and rack-scope network (35 of 419) per 110,592 node-days.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from clustersim.config import Scenario, load_scenario

__all__ = [
    "CONFIGS",
    "QUICK",
    "SCALE_GPUS",
    "SCALE_JOBS",
    "BenchConfig",
    "describe",
    "offered_load",
]

DAY_S = 86400.0
GPUS_PER_NODE = 8
NODES_PER_RACK = 2
RACKS_PER_POD = 128
GPUS_PER_POD = GPUS_PER_NODE * NODES_PER_RACK * RACKS_PER_POD

LLAMA3_FAULTS: dict[str, Any] = {
    "gpu-host-hardware": {
        "rate": "321/110592 node-days",
        "blast_radius": "node",
        "repair": {"distribution": "lognormal", "mean": "12h", "cv": 1.0},
    },
    "software": {"rate": "63/110592 node-days", "blast_radius": "job"},
    "network-switch-cable": {
        "rate": "35/110592 node-days",
        "blast_radius": "rack",
        "repair": {"distribution": "lognormal", "mean": "4h", "cv": 1.0},
    },
}

# Every fault kind but storage (storage faults switch on per-checkpoint contention, a different
# cost model): Llama 3's causes plus the rest of the taxonomy at field-like rates.
ALL_FAULTS: dict[str, Any] = {
    **LLAMA3_FAULTS,
    "sdc": {"kind": "sdc", "rate": "6/110592 node-days", "detection_delay": "2h",
            "repair": {"mean": "12h"}},
    "maintenance": {"kind": "maintenance", "every": "1.1489361702d", "batch_nodes": 1024,
                    "duration": {"distribution": "fixed", "mean": "10m"}},
    "tor-dual-homed": {"kind": "switch", "rate": "0.051/100 switch-months", "homing": "dual",
                       "repair": {"mean": "4h"}},
    "link-flap": {"kind": "flap", "rate": "20/1000 node-days", "timeout": "30s",
                  "duration": {"distribution": "lognormal", "mean": "5s", "cv": 1.0}},
    "straggler": {"kind": "straggler", "rate": "1/1000 node-days", "speed": 0.5,
                  "evict_after": "30m", "duration": {"mean": "6h"}, "repair": {"mean": "8h"}},
}  # fmt: skip
LEMONS: dict[str, Any] = {"fraction": 0.012, "multiplier": 10,
                          "quarantine": {"failures": 3, "window": "7d"}}  # fmt: skip

RESTART: dict[str, Any] = {"detection": "120s", "init": "60s", "init_per_gpu": "8.6ms"}

# hpcsim-like day: mostly single-node, short jobs (the shape of the Philly/Helios traces).
MIX_DAY: list[dict[str, Any]] = [
    {"name": "single", "weight": 0.80, "gpus": [8], "work_median": "20m", "work_sigma": 1.5,
     "work_max": "1d", "model_params": 1e9},
    {"name": "multi", "weight": 0.18, "gpus": [16, 32, 64, 128], "work_median": "40m",
     "work_sigma": 1.2, "work_max": "1d", "model_params": 8e9},
    {"name": "large", "weight": 0.02, "gpus": [256, 512, 1024], "work_median": "90m",
     "work_sigma": 1.0, "work_max": "1d", "model_params": 70e9},
]  # fmt: skip

# Shared research cluster (the meta-24k-shared shape, largest job 1,024 GPUs so that the same
# mix fits every size from 2k GPUs up); ~1 job per GPU per 30 days is ~70 % load.
MIX_SHARED: list[dict[str, Any]] = [
    {"name": "small", "weight": 0.75, "gpus": [8], "work_median": "2h", "work_sigma": 1.2,
     "work_max": "7d", "model_params": 1e9},
    {"name": "medium", "weight": 0.22, "gpus": [16, 32, 64, 128], "work_median": "6h",
     "work_sigma": 1.0, "work_max": "7d", "model_params": 8e9},
    {"name": "large", "weight": 0.03, "gpus": [256, 512, 1024], "work_median": "12h",
     "work_sigma": 1.0, "work_max": "7d", "model_params": 70e9},
]  # fmt: skip

# A year of a 131k-GPU fleet: the meta-24k-shared preset's classes.
MIX_YEAR: list[dict[str, Any]] = [
    {"name": "small", "weight": 0.70, "gpus": [8], "work_median": "2h", "work_sigma": 1.2,
     "work_max": "7d", "model_params": 1e9},
    {"name": "medium", "weight": 0.25, "gpus": [16, 32, 64, 128], "work_median": "8h",
     "work_sigma": 1.0, "work_max": "7d", "model_params": 8e9},
    {"name": "large", "weight": 0.05, "gpus": [256, 512, 1024, 2048, 4096],
     "work_median": "24h", "work_sigma": 1.0, "work_max": "14d", "model_params": 70e9},
]  # fmt: skip

JOBS_PER_GPU_PER_30D = 1.0
SCALE_JOBS_PER_DAY = 1000
SCALE_JOBS_GPUS = 32768


def synthetic(
    name: str,
    *,
    gpus: int,
    days: float,
    jobs: int,
    classes: list[dict[str, Any]],
    explicit: list[dict[str, Any]] | None = None,
    description: str = "",
    faults: dict[str, Any] | None = None,
    lemons: dict[str, Any] | None = None,
    racks_per_pod: int = RACKS_PER_POD,
) -> Scenario:
    """A Meta-24k-like cluster of ``gpus`` GPUs with a generated workload over ``days``."""
    pod_gpus = GPUS_PER_NODE * NODES_PER_RACK * racks_per_pod
    if gpus % pod_gpus:
        raise ValueError(f"{gpus} GPUs is not a whole number of {pod_gpus}-GPU pods")
    nodes = gpus // GPUS_PER_NODE
    return Scenario.model_validate(
        {
            "name": name,
            "description": description,
            "cluster": {
                "gpus_per_node": GPUS_PER_NODE,
                "nodes_per_rack": NODES_PER_RACK,
                "racks_per_pod": racks_per_pod,
                "pods": gpus // pod_gpus,
                "oversubscription": 7,
                "spare_nodes": max(1, nodes // 128),
            },
            "storage": {"write_bandwidth": "2TB/s", "read_bandwidth": "2TB/s"},
            "workload": {
                "jobs": explicit or [],
                "generator": {"jobs": jobs, "window": days * DAY_S, "classes": classes},
            },
            "checkpoint": {"policy": "daly"},
            "restart": RESTART,
            "faults": LLAMA3_FAULTS if faults is None else faults,
            "lemons": lemons,
            "scheduler": {"policy": "easy-backfill"},
            "run": {"seed": 0, "horizon": days * DAY_S, "stop_when_done": False},
        }
    )


def llama3() -> Scenario:
    """The ``llama3-405b`` preset: one 16,384-GPU job for 54 days, every Table 5 cause."""
    return load_scenario("llama3-405b", ["run.stop_when_done=false"])


def meta24k_month() -> Scenario:
    """The ``meta-24k-shared`` preset: 24,576 GPUs, 30 days, ~3,000 jobs, EASY backfill."""
    return load_scenario("meta-24k-shared", ["run.stop_when_done=false"])


def hpcsim_day() -> Scenario:
    """16,384 GPUs, one simulated day, 5,800 mostly small jobs (the hpcsim comparison)."""
    return synthetic(
        "hpcsim-day",
        gpus=16384,
        days=1,
        jobs=5800,
        classes=MIX_DAY,
        description="hpcsim's day: 2,048 nodes of 8 GPUs, 5,800 jobs, EASY backfill.",
    )


def year_131k() -> Scenario:
    """131,072 GPUs for 365 days: 240,000 generated jobs plus two long pre-training runs."""
    pretrain = [
        {"name": "pretrain-32k", "gpus": 32768, "work": "90d", "model_params": 405e9,
         "priority": 10},
        {"name": "pretrain-16k", "gpus": 16384, "work": "60d", "submit": "120d",
         "model_params": 70e9, "priority": 10},
    ]  # fmt: skip
    return synthetic(
        "year-131k",
        gpus=131072,
        days=365,
        jobs=240_000,
        classes=MIX_YEAR,
        explicit=pretrain,
        faults=ALL_FAULTS,
        lemons=LEMONS,
        description="A year of a 131k-GPU fleet: every fault kind but storage, lemons on.",
    )


def fleet_350k_year() -> Scenario:
    """350,000 GPUs (43,750 nodes) for 365 days: 640,000 jobs and four >=16k-GPU runs.

    Meta's H100 fleet passed 340,000 within 2024 (issue 22). Pods are 125 racks (2,000 GPUs)
    so that 43,750 nodes make whole pods (175); every fault kind but storage, lemons on; the
    job count scales ``year-131k``'s 240,000 by the GPU count, so the offered load matches.
    """
    pretrain = [
        {"name": "pretrain-32k", "gpus": 32768, "work": "90d", "model_params": 405e9,
         "priority": 10},
        {"name": "pretrain-24k", "gpus": 24576, "work": "60d", "submit": "60d",
         "model_params": 405e9, "priority": 10},
        {"name": "pretrain-16k-a", "gpus": 16384, "work": "60d", "submit": "120d",
         "model_params": 70e9, "priority": 10},
        {"name": "pretrain-16k-b", "gpus": 16384, "work": "45d", "submit": "240d",
         "model_params": 70e9, "priority": 10},
    ]  # fmt: skip
    return synthetic(
        "fleet-350k-year",
        gpus=350_000,
        days=365,
        jobs=640_000,
        classes=MIX_YEAR,
        explicit=pretrain,
        faults=ALL_FAULTS,
        lemons=LEMONS,
        racks_per_pod=125,
        description="A year of a 350k-GPU fleet: 640,000 jobs, every fault kind but storage, "
        "lemons on.",
    )


def meta24k_contention() -> Scenario:
    """``meta-24k-shared`` for 30 days with shared-storage contention on (checkpoint by
    checkpoint bandwidth sharing: the slow path issue 22 names)."""
    return load_scenario("meta-24k-shared", ["run.stop_when_done=false", "storage.contention=true"])


def scale_gpus(gpus: int) -> Callable[[], Scenario]:
    """Scaling in cluster size: 30 days, one job per GPU per 30 days (constant load)."""

    def build() -> Scenario:
        return synthetic(
            f"scale-gpus-{gpus // 1024}k",
            gpus=gpus,
            days=30,
            jobs=round(gpus * JOBS_PER_GPU_PER_30D),
            classes=MIX_SHARED,
            description=f"{gpus:,} GPUs, 30 days, {gpus:,} jobs.",
        )

    return build


def scale_jobs(jobs: int) -> Callable[[], Scenario]:
    """Scaling in job count: 32k GPUs, 1,000 jobs a day, so the horizon grows with the jobs."""

    def build() -> Scenario:
        return synthetic(
            f"scale-jobs-{jobs // 1000}k",
            gpus=SCALE_JOBS_GPUS,
            days=jobs / SCALE_JOBS_PER_DAY,
            jobs=jobs,
            classes=MIX_SHARED,
            description=f"{SCALE_JOBS_GPUS:,} GPUs, {jobs:,} jobs at 1,000 a day.",
        )

    return build


@dataclass(frozen=True, slots=True)
class BenchConfig:
    """A named benchmark size: how to build it and which series it belongs to."""

    name: str
    build: Callable[[], Scenario]
    series: str = ""


def build(name: str, days: float = 0.0) -> Scenario:
    """Configuration ``name``'s scenario, run to ``days`` days instead of its horizon if > 0."""
    scenario = CONFIGS[name].build()
    if days <= 0:
        return scenario
    run = scenario.run.model_copy(update={"horizon": days * DAY_S})
    return scenario.model_copy(update={"run": run})


SCALE_GPUS = ("scale-gpus-2k", "scale-gpus-8k", "scale-gpus-32k", "scale-gpus-131k")
SCALE_JOBS = ("scale-jobs-10k", "scale-jobs-50k", "scale-jobs-100k", "scale-jobs-400k")

CONFIGS: dict[str, BenchConfig] = {
    c.name: c
    for c in (
        BenchConfig("llama3", llama3),
        BenchConfig("meta24k-month", meta24k_month),
        BenchConfig("hpcsim-day", hpcsim_day),
        BenchConfig("year-131k", year_131k),
        BenchConfig("fleet-350k-year", fleet_350k_year),
        BenchConfig("meta24k-contention", meta24k_contention),
        *(BenchConfig(n, scale_gpus(g), "gpus") for n, g in zip(
            SCALE_GPUS, (2048, 8192, 32768, 131072), strict=True)),
        *(BenchConfig(n, scale_jobs(j), "jobs") for n, j in zip(
            SCALE_JOBS, (10_000, 50_000, 100_000, 400_000), strict=True)),
    )
}  # fmt: skip

QUICK = ("llama3", "meta24k-month", "hpcsim-day")


def _mean_work_s(cls: Any) -> float:
    """Mean of min(lognormal(ln median, sigma), work_max): the class's expected work."""
    median, sigma, cap = cls.work_median, cls.work_sigma, cls.work_max
    mean = median * math.exp(sigma**2 / 2)
    if cap is None:
        return mean
    if sigma == 0:
        return min(median, cap)
    z = (math.log(cap) - math.log(median)) / sigma
    below = 0.5 * math.erfc(-(z - sigma) / math.sqrt(2))  # Phi(z - sigma)
    above = 0.5 * math.erfc(z / math.sqrt(2))  # 1 - Phi(z)
    return mean * below + cap * above


def offered_load(scenario: Scenario) -> float:
    """Expected GPU-seconds of work offered over the horizon ÷ the cluster's GPU-seconds.

    Jobs hold whole nodes, so GPUs are rounded up to nodes; explicit jobs count only the work
    that fits before the horizon. Failures add recovery and redone work on top of this.
    """
    gpn = scenario.cluster.gpus_per_node
    horizon = scenario.run.horizon

    def held(gpus: int) -> int:
        return math.ceil(gpus / gpn) * gpn

    offered = sum(
        held(j.gpus) * min(j.work, max(0.0, horizon - j.submit)) * j.count
        for j in scenario.workload.jobs
    )
    gen = scenario.workload.generator
    if gen is not None:
        total_w = sum(c.weight for c in gen.classes)
        per_job = sum(
            c.weight / total_w * sum(held(g) for g in c.gpus) / len(c.gpus) * _mean_work_s(c)
            for c in gen.classes
        )
        offered += gen.jobs * per_job * min(1.0, horizon / gen.window)
    return offered / (scenario.cluster.n_gpus * horizon)


def describe(scenario: Scenario) -> dict[str, Any]:
    """The size of a scenario in the units the report plots against."""
    gen = scenario.workload.generator
    jobs = sum(j.count for j in scenario.workload.jobs) + (gen.jobs if gen else 0)
    return {
        "gpus": scenario.cluster.n_gpus,
        "nodes": scenario.cluster.n_nodes,
        "jobs": jobs,
        "days": scenario.run.horizon / DAY_S,
        "fault_sources": len(scenario.faults),
        "scheduler": scenario.scheduler.policy,
        "offered_load": round(offered_load(scenario), 4),
    }

"""The workload: turns the scenario's job specs and generator into concrete job records.

Explicit specs come first, then generated jobs (Poisson arrivals over the window, class drawn
by weight, size uniform over the class's list, lognormal work with the given median). Jobs are
numbered in submission order (ties keep spec order). The generator draws only from the
``workload.arrivals`` and ``workload.jobs`` streams (a calibrated shape from
``workload.synthetic``).

Each job also gets the runtime estimate that ``scheduler.estimates`` models (what a user
would have asked for): ``None`` when it is the exact failure-free work; the ``f-model``
draws from the ``workload.estimates`` stream, one uniform per job in submission order.

Each job has a user and a group (``""`` when unknown), which fair share charges: a job
spec's own, a trace's (SWF fields 12 and 13, Helios and Philly ``user``, Philly ``vc`` as the
group), or for generated jobs one draw per job from the ``workload.users`` stream
(``workload.generator.users``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from operator import itemgetter

import numpy as np

from clustersim.config import EstimateConfig, Scenario, UsersConfig, WorkloadConfig
from clustersim.frozen import quick_init
from clustersim.rng import Streams
from clustersim.traces.workload import replay_jobs

__all__ = ["JobRecord", "build_workload"]


@quick_init
@dataclass(frozen=True, slots=True)
class JobRecord:
    """One job to submit: what it asks for and what its checkpoint weighs."""

    id: int
    name: str
    gpus: int
    work_s: float
    submit_s: float
    priority: int
    checkpoint_bytes: float
    estimate_s: float | None = None
    """The user's runtime estimate; None when it is the exact work (``estimates: exact``)."""
    user: str = ""
    group: str = ""
    exposed_comm: float | None = None
    """The job spec's exposed-communication fraction; None: the network section's default."""
    traffic: str = ""
    """The job spec's traffic model; empty: the network section's."""
    replica_gpus: int = 0
    """The job spec's model-replica size in GPUs; 0: the network section's."""


def build_workload(scenario: Scenario, streams: Streams) -> list[JobRecord]:
    """All jobs of the scenario, sorted by submission time and numbered from 0."""
    bytes_per_param = scenario.checkpoint.bytes_per_param
    raw: list[tuple[float, int, str, int, float, int, float]] = []
    requested: dict[int, float] = {}  # input order -> the job's own estimate, if it has one
    owners: dict[int, tuple[str, str]] = {}  # input order -> (user, group), where known
    comm: dict[int, float] = {}  # input order -> the job's own exposed_comm, if it has one
    shape: dict[int, tuple[str, int]] = {}  # input order -> its own traffic, replica GPUs
    for spec in scenario.workload.jobs:
        if spec.checkpoint_bytes is not None:
            size = spec.checkpoint_bytes
        elif spec.model_params is not None:
            size = spec.model_params * bytes_per_param
        else:
            size = 0.0
        for k in range(spec.count):
            name = spec.name if spec.count == 1 else f"{spec.name}-{k}"
            if spec.estimate is not None:
                requested[len(raw)] = spec.estimate
            if spec.user is not None or spec.group is not None:
                owners[len(raw)] = (spec.user or "", spec.group or "")
            if spec.exposed_comm is not None:
                comm[len(raw)] = spec.exposed_comm
            if spec.traffic is not None or spec.replica_gpus is not None:
                shape[len(raw)] = (spec.traffic or "", spec.replica_gpus or 0)
            raw.append((spec.submit, len(raw), name, spec.gpus, spec.work, spec.priority, size))
    generated = _generate(scenario.workload, streams, bytes_per_param, offset=len(raw))
    gen_cfg = scenario.workload.generator
    if gen_cfg is not None and gen_cfg.users is not None:
        owners.update(_draw_users(gen_cfg.users, streams, offset=len(raw), n=len(generated)))
    raw.extend(generated)
    if scenario.workload.trace is not None:
        rows, trace_requested, trace_owners = replay_jobs(scenario.workload.trace, offset=len(raw))
        raw.extend(rows)
        requested.update(trace_requested)
        owners.update(trace_owners)
    raw.sort(key=itemgetter(0, 1))  # submission time, then declaration order
    estimates = _estimates(scenario.scheduler.estimates, raw, requested, streams)
    return [
        JobRecord(
            i,
            name,
            gpus,
            work,
            submit,
            prio,
            size,
            estimate,
            *owners.get(order, ("", "")),
            exposed_comm=comm.get(order),
            traffic=shape.get(order, ("", 0))[0],
            replica_gpus=shape.get(order, ("", 0))[1],
        )
        for i, ((submit, order, name, gpus, work, prio, size), estimate) in enumerate(
            zip(raw, estimates, strict=True)
        )
    ]


def _draw_users(
    cfg: UsersConfig, streams: Streams, offset: int, n: int
) -> dict[int, tuple[str, str]]:
    """The (user, group) of ``n`` generated jobs numbered from ``offset``, in arrival order.

    One draw per job from the ``workload.users`` stream: user k with probability proportional
    to ``(k + 1) ** -skew``; user k's group is ``g<k mod groups>`` (``""`` without groups).
    """
    if n == 0:
        return {}
    weights = np.arange(1, cfg.count + 1, dtype=float) ** -cfg.skew
    picks = streams.get("workload.users").choice(cfg.count, size=n, p=weights / weights.sum())
    groups = cfg.groups
    return {
        offset + i: (f"u{k}", f"g{k % groups}" if groups is not None else "")
        for i, k in enumerate(int(p) for p in picks)
    }


def _estimates(
    cfg: EstimateConfig,
    raw: list[tuple[float, int, str, int, float, int, float]],
    requested: dict[int, float],
    streams: Streams,
) -> list[float | None]:
    """Each job's runtime estimate under the configured model (None: exact)."""
    if cfg.model == "exact":
        return [None] * len(raw)
    if cfg.model == "requested":
        return [requested.get(order) for _, order, *_ in raw]
    if cfg.model == "factor":
        return [work * cfg.factor for _, _, _, _, work, _, _ in raw]
    draws = streams.get("workload.estimates").uniform(1.0, cfg.f, size=len(raw))
    return [work * float(u) for (_, _, _, _, work, _, _), u in zip(raw, draws, strict=True)]


def _generate(
    workload: WorkloadConfig, streams: Streams, bytes_per_param: float, offset: int
) -> list[tuple[float, int, str, int, float, int, float]]:
    gen_cfg = workload.generator
    if gen_cfg is None:
        return []
    if gen_cfg.shape is not None:  # a calibrated shape: its own module and stream
        from clustersim.traces.synthetic import generate

        return generate(gen_cfg, streams, bytes_per_param, offset)
    arrivals = streams.get("workload.arrivals")
    draws = streams.get("workload.jobs")
    n = gen_cfg.jobs
    submit = np.sort(arrivals.random(n)) * gen_cfg.window
    weights = np.array([c.weight for c in gen_cfg.classes], dtype=float)
    cls_idx = draws.choice(len(gen_cfg.classes), size=n, p=weights / weights.sum())
    size_u = draws.random(n)
    work_z = draws.standard_normal(n)
    out: list[tuple[float, int, str, int, float, int, float]] = []
    for i in range(n):
        cls = gen_cfg.classes[int(cls_idx[i])]
        gpus = cls.gpus[min(int(size_u[i] * len(cls.gpus)), len(cls.gpus) - 1)]
        work = cls.work_median * math.exp(cls.work_sigma * float(work_z[i]))
        if cls.work_max is not None:
            work = min(work, cls.work_max)
        out.append(
            (
                float(submit[i]),
                offset + i,
                f"{cls.name}-{i}",
                gpus,
                work,
                cls.priority,
                cls.model_params * bytes_per_param,
            )
        )
    return out

"""Metrics: pure functions over the event log plus the engine's node-state integrals.

Definitions (DESIGN §5, documented field by field in ``docs/results.md``):

* GPU-seconds identity: total = useful + checkpoint + recovery + lost + slowdown + idle + down,
  where the first five are *allocated* GPU-seconds derived from the job records of the log
  (:class:`~clustersim.events.RunEnded`, :class:`~clustersim.events.RecoveryEnded`) and idle/down
  come from the time-weighted node-state integrals. The allocated integral is also measured
  independently, and the two must agree (INV-2).
* Job ETTR = useful compute time / wall time from its first placement (start-up included) to
  finish (or to the end of the run); ``ettr_submit`` measures from submission. The
  scenario's ETTR aggregates jobs weighted by GPUs held: sum of useful GPU-seconds / sum of
  GPUs x wall time from first placement.
* Goodput = useful GPU-seconds / (all GPUs x simulated time).
* Energy: with a ``power`` section, GPU-seconds by state priced by the hardware profile
  (:class:`clustersim.power.energy.EnergyModel`) and the power series of the run
  (``RunMetrics.power``); without one, the flat ``cost.mwh_per_gpu_year``.
* With expansions or retirements (docs/fleet.md) the total is over the GPUs in service, and
  ``gpu_seconds.out_of_service`` holds the rest.

Size: one module (just over 500 lines) because :func:`measure` is one pure fold of one
:class:`Finished` view into the whole result; the tally and the helpers below only serve it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from clustersim.config import Scenario
from clustersim.events import (
    Event,
    JobInterrupted,
    NodeFailed,
    NodesMaintained,
    RecoveryEnded,
    RunEnded,
)
from clustersim.frozen import quick_init
from clustersim.job import Job, JobPhase
from clustersim.network_metrics import NetworkStats, network_summary, utilisation_section
from clustersim.power.cohorts import CohortEnergy
from clustersim.power.facility import FacilityStats, drawn_energy, power_results
from clustersim.power.steps import StepFunction
from clustersim.topology import Topology

__all__ = [
    "GPU_SECONDS_TERMS",
    "Finished",
    "JobRow",
    "LogTally",
    "NetworkStats",
    "RunMetrics",
    "measure",
    "t_quantile_975",
    "tally_log",
]

GPU_SECONDS_TERMS = ("useful", "checkpoint", "recovery", "lost", "slowdown", "idle", "down")
"""The parts of the GPU-seconds identity; they sum to ``total``."""

SECONDS_PER_YEAR = 365 * 86400.0
IDENTITY_RTOL = 1e-9


@quick_init
@dataclass(frozen=True, slots=True)
class JobRow:
    """Per-job results."""

    id: int
    name: str
    gpus: int
    gpus_held: int
    priority: int
    submit_s: float
    first_start_s: float | None
    finish_s: float | None
    work_s: float
    progress_s: float
    finished: bool
    ettr: float | None
    ettr_submit: float | None
    jct_s: float | None
    queue_wait_s: float | None
    interruptions: int
    restarts: int
    preemptions: int
    checkpoints: int
    interval_s: float | None
    stall_s: float
    lost_work_s: float
    recovery_s: float
    racks: int
    pods: int
    network_share: float | None = None
    """Time-weighted mean bottleneck share while running (None: no network model, or never
    ran; 1 for a job that crossed no shared link)."""


@dataclass(slots=True)
class RunMetrics:
    """Everything measured in one replication."""

    summary: dict[str, Any]
    gpu_seconds: dict[str, float]
    recovery_gpu_seconds: dict[str, float]
    causes: dict[str, dict[str, Any]]
    jobs: list[JobRow] = field(default_factory=list)
    timeseries: dict[str, list[float]] = field(default_factory=dict)
    unplaceable: dict[str, list[str]] = field(default_factory=dict)
    """Names of the jobs that can never be placed, by reason."""
    power: dict[str, Any] = field(default_factory=dict)
    """Facility power and energy (empty without a ``power`` section; docs/results.md)."""
    periods: list[dict[str, Any]] = field(default_factory=list)
    """Per-period rows (empty without ``run.period``; docs/ageing.md)."""
    network: dict[str, Any] = field(default_factory=dict)
    """The aggregation layer's utilisation as an exact step function (empty without a
    network model; docs/network.md)."""
    accounts: int = 0
    """How many accounts (users or groups, ``scheduler.fair_share.by``) the jobs belong to."""


def _none_if_nan(x: float) -> float | None:
    return None if math.isnan(x) else x


_TALLIED = frozenset({RunEnded, RecoveryEnded, JobInterrupted, NodeFailed, NodesMaintained})


class LogTally:
    """The job-record sums of an event log, folded one record at a time.

    The engine feeds every record to its tally as it writes it (:meth:`add`), so a run that
    does not keep its log in memory still measures exactly what a fold over the full log
    gives (:func:`tally_log`; the property tests check both agree). Owns only the sums.
    """

    def __init__(self) -> None:
        self.records = 0
        self.useful = self.ckpt = self.lost = self.recovery = self.slow = 0.0
        self.rec_split = dict.fromkeys(("detect", "wait", "init", "load"), 0.0)
        self.per_job_work: dict[int, float] = defaultdict(float)
        self.per_job_lost: dict[int, float] = defaultdict(float)
        self.per_job_ckpts: dict[int, int] = defaultdict(int)
        self.per_job_rec: dict[int, float] = defaultdict(float)
        self.per_job_useful_gpu: dict[int, float] = defaultdict(float)
        self.interrupts: dict[str, int] = defaultdict(int)
        self.planned_interrupts = 0
        self.lost_by_cause: dict[str, float] = defaultdict(float)
        self.rec_by_cause: dict[str, float] = defaultdict(float)
        self.rec_wall: dict[str, list[float]] = defaultdict(list)
        self.node_failures: dict[str, int] = defaultdict(int)

    def add(self, ev: Event) -> None:
        """Fold one record into the sums."""
        self.records += 1
        if type(ev) not in _TALLIED:  # most records (node repairs, starts...) add nothing
            return
        if isinstance(ev, RunEnded):
            good = (ev.work_s - ev.lost_s) * ev.gpus
            self.useful += good
            self.ckpt += ev.stall_s * ev.gpus
            self.lost += ev.lost_s * ev.gpus
            self.slow += ev.slow_s * ev.gpus
            self.per_job_work[ev.job] += ev.work_s - ev.lost_s
            self.per_job_lost[ev.job] += ev.lost_s
            self.per_job_ckpts[ev.job] += ev.checkpoints
            self.per_job_useful_gpu[ev.job] += good
            if ev.lost_s > 0:
                self.lost_by_cause[ev.cause] += ev.lost_s * ev.gpus
        elif isinstance(ev, RecoveryEnded):
            self.recovery += ev.gpu_s
            split = self.rec_split
            split["detect"] += ev.detect_gpu_s
            split["wait"] += ev.wait_gpu_s
            split["init"] += ev.init_gpu_s
            split["load"] += ev.load_gpu_s
            self.rec_by_cause[ev.cause] += ev.gpu_s
            self.per_job_rec[ev.job] += ev.duration_s
            if ev.reason == "resumed":
                self.rec_wall[ev.cause].append(ev.duration_s)
        elif isinstance(ev, JobInterrupted):
            self.interrupts[ev.cause] += 1
            self.planned_interrupts += ev.planned
        elif isinstance(ev, NodeFailed):
            self.node_failures[ev.cause] += 1
        elif isinstance(ev, NodesMaintained):
            self.node_failures[ev.cause] += len(ev.nodes)


def tally_log(log: Iterable[Event]) -> LogTally:
    """Fold a whole event log into a :class:`LogTally`."""
    tally = LogTally()
    for ev in log:
        tally.add(ev)
    return tally


class Finished(Protocol):
    """What :func:`measure` reads of a finished simulation (the engine's ``Simulation``)."""

    scenario: Scenario
    topology: Topology
    gpus_per_node: int
    end_s: float
    jobs: list[Job]
    unplaceable: dict[str, list[str]]

    @property
    def tally(self) -> LogTally:
        """The running fold of every record written."""
        ...

    @property
    def node_s(self) -> dict[str, float]:
        """Node-second integrals: idle, down, allocated, out of service."""
        ...

    @property
    def series(self) -> dict[str, list[float]]:
        """The binned time series of GPUs by state."""
        ...

    @property
    def quarantined(self) -> set[int]:
        """Nodes retired by quarantine."""
        ...

    @property
    def network_stats(self) -> NetworkStats | None:
        """The network's integrals (None without a network model)."""
        ...

    @property
    def categories(self) -> dict[str, str]:
        """Each cause's category."""
        ...

    @property
    def planned_causes(self) -> set[str]:
        """The planned causes."""
        ...

    @property
    def down_node_s(self) -> dict[str, float]:
        """Node-seconds in maintenance and quarantined (parts of the ``down`` integral)."""
        ...

    @property
    def power_steps(self) -> StepFunction | None:
        """Facility power over the run (None without a ``power`` section)."""
        ...

    @property
    def facility_stats(self) -> FacilityStats | None:
        """The facility's integrals (None without a ``facility`` section)."""
        ...

    @property
    def power_cohorts(self) -> CohortEnergy | None:
        """Per-cohort GPU-seconds and profiles (None without ``fleet.cohorts[].power``)."""
        ...


def measure(sim: Finished, tally: LogTally | None = None) -> RunMetrics:
    """Derive every metric of a finished simulation from its log and integrals.

    ``tally`` defaults to the engine's running tally of every record it wrote (the log
    itself may not have been kept); pass ``tally_log(sim.log)`` to re-derive it.
    """
    t = sim.tally if tally is None else tally
    gpn = sim.gpus_per_node
    end = sim.end_s
    total = sim.topology.n_gpus * end - sim.node_s.get("out", 0.0) * gpn  # in service
    useful, ckpt, lost, recovery, slow = t.useful, t.ckpt, t.lost, t.recovery, t.slow
    rec_split = dict(t.rec_split)
    per_job_work, per_job_lost = t.per_job_work, t.per_job_lost
    per_job_ckpts, per_job_rec = t.per_job_ckpts, t.per_job_rec
    per_job_useful_gpu = t.per_job_useful_gpu
    interrupts, planned_interrupts = t.interrupts, t.planned_interrupts
    lost_by_cause, rec_by_cause, rec_wall = t.lost_by_cause, t.rec_by_cause, t.rec_wall
    node_failures = t.node_failures
    # Free GPUs of shared nodes (GPU sharing) are idle, though their node is allocated.
    slack = sim.node_s.get("slack_gpu", 0.0)
    idle = sim.node_s["idle"] * gpn + slack
    down = sim.node_s["down"] * gpn
    allocated_measured = sim.node_s["allocated"] * gpn - slack
    gpu_seconds = {
        "total": total,
        "useful": useful,
        "checkpoint": ckpt,
        "recovery": recovery,
        "lost": lost,
        "slowdown": slow,
        "idle": idle,
        "down": down,
        "allocated": useful + ckpt + recovery + lost + slow,
        "allocated_measured": allocated_measured,
        **({"out_of_service": sim.node_s["out"] * gpn} if sim.scenario.fleet_changes_size else {}),
    }
    cost = sim.scenario.cost
    mwh_per_gpu_s = cost.mwh_per_gpu_year / SECONDS_PER_YEAR
    wasted = ckpt + recovery + lost + slow
    energy = drawn_energy(sim.scenario)

    def wasted_mwh(lost_gpu_s: float, recovery_gpu_s: float, slowdown_gpu_s: float = 0.0) -> float:
        if energy is None:
            return (lost_gpu_s + recovery_gpu_s + slowdown_gpu_s) * mwh_per_gpu_s
        return energy.cause_mwh(lost_gpu_s, recovery_gpu_s, slowdown_gpu_s)

    # Jobs whose submission time lies beyond the end of the run were never submitted.
    rows = [
        _job_row(sim, j, per_job_work, per_job_lost, per_job_ckpts, per_job_rec)
        for j in sim.jobs
        if j.phase is not JobPhase.PENDING
    ]
    started = [r for r in rows if r.first_start_s is not None]
    wall_gpu = sum(
        r.gpus_held * ((r.finish_s if r.finish_s is not None else end) - (r.first_start_s or 0.0))
        for r in started
    )
    ettr = sum(per_job_useful_gpu[r.id] for r in started) / wall_gpu if wall_gpu > 0 else math.nan
    wall_requested = sum(
        r.gpus * ((r.finish_s if r.finish_s is not None else end) - (r.first_start_s or 0.0))
        for r in started
    )
    n_int = sum(interrupts.values())
    all_causes = sorted(
        set(interrupts) | set(node_failures) | set(lost_by_cause) | set(rec_by_cause)
    )
    categories = sim.categories
    planned = sim.planned_causes
    causes = {
        c: {
            "category": categories.get(c, "") or ("Planned" if c in planned else ""),
            "planned": c in planned,
            "interruptions": interrupts.get(c, 0),
            "share": interrupts.get(c, 0) / n_int if n_int else 0.0,
            "node_failures": node_failures.get(c, 0),
            "lost_work_gpu_h": lost_by_cause.get(c, 0.0) / 3600,
            "recovery_gpu_h": rec_by_cause.get(c, 0.0) / 3600,
            "lost_gpu_h": (lost_by_cause.get(c, 0.0) + rec_by_cause.get(c, 0.0)) / 3600,
            "energy_wasted_mwh": wasted_mwh(lost_by_cause.get(c, 0.0), rec_by_cause.get(c, 0.0)),
            "cost_wasted_usd": (lost_by_cause.get(c, 0.0) + rec_by_cause.get(c, 0.0))
            / 3600
            * cost.usd_per_gpu_hour,
            "mean_recovery_s": (sum(rec_wall[c]) / len(rec_wall[c])) if rec_wall.get(c) else 0.0,
        }
        for c in all_causes
    }
    finished = [r for r in rows if r.finished]
    summary: dict[str, Any] = {
        "ettr": ettr,
        "goodput": useful / total if total > 0 else math.nan,
        "utilisation": allocated_measured / total if total > 0 else math.nan,
        "utilisation_computing": (useful + lost + slow) / total if total > 0 else math.nan,
        "gpus_held_per_requested": wall_gpu / wall_requested if wall_requested > 0 else math.nan,
        "interruptions_total": n_int,
        "interruptions_unexpected": n_int - planned_interrupts,
        "interruptions_planned": planned_interrupts,
        "interruptions_by_cause": {c: interrupts[c] for c in sorted(interrupts)},
        "node_failures_total": sum(node_failures.values()),
        "lost_gpu_hours_by_cause": {c: causes[c]["lost_gpu_h"] for c in all_causes},
        "gpu_hours_wasted": wasted / 3600,
        "energy_wasted_mwh": wasted * mwh_per_gpu_s,
        "energy_total_mwh": total * mwh_per_gpu_s,
        "cost_wasted_usd": wasted / 3600 * cost.usd_per_gpu_hour,
        "mean_gpus_down": down / end if end > 0 else 0.0,
        "gpu_hours_slowdown": slow / 3600,
        "nodes_quarantined": len(sim.quarantined),
        "jobs_submitted": len(rows),
        "jobs_unplaceable": sum(len(names) for names in sim.unplaceable.values()),
        "jobs_started": len(started),
        "jobs_finished": len(finished),
        "mean_jct_s": _mean([r.jct_s for r in finished]),
        "mean_queue_wait_s": _mean([r.queue_wait_s for r in started]),
        "sim_time_s": end,
        "events": t.records,
    }
    net = sim.network_stats
    if net is not None:
        network_summary(summary, causes, net, slow, wasted_mwh, cost.usd_per_gpu_hour)
    power: dict[str, Any] = {}
    if energy is not None and (steps := sim.power_steps) is not None:
        power = power_results(
            sim.scenario, energy, gpu_seconds, sim.down_node_s, steps, sim.series["t_s"],
            stats=sim.facility_stats, summary=summary, causes=causes,
            cohorts=sim.power_cohorts,
        )  # fmt: skip
    network: dict[str, Any] = {}
    if net is not None:
        network = utilisation_section(net, sim.series["t_s"], end)
    return RunMetrics(
        summary,
        gpu_seconds,
        rec_split,
        causes,
        rows,
        sim.series,
        dict(sim.unplaceable),
        power,
        network=network,
        accounts=len({job.account for job in sim.jobs}),
    )


def _mean(values: list[float | None]) -> float | None:
    xs = [v for v in values if v is not None]
    return sum(xs) / len(xs) if xs else None


def _job_row(
    sim: Finished,
    job: Any,
    work: dict[int, float],
    lost: dict[int, float],
    ckpts: dict[int, int],
    rec: dict[int, float],
) -> JobRow:
    end = sim.end_s
    first = _none_if_nan(job.first_placed_s)
    finish = _none_if_nan(job.finish_s)
    done = finish is not None
    ettr = ettr_submit = None
    if first is not None:
        stop = finish if finish is not None else end
        wall = stop - first
        ettr = work[job.id] / wall if wall > 0 else None
        wall_submit = stop - job.submit_s
        ettr_submit = work[job.id] / wall_submit if wall_submit > 0 else None
    return JobRow(
        id=job.id,
        name=job.name,
        gpus=job.gpus,
        gpus_held=job.gpus_held,
        priority=job.priority,
        submit_s=job.submit_s,
        first_start_s=first,
        finish_s=finish,
        work_s=job.work_s,
        progress_s=work[job.id],
        finished=done,
        ettr=ettr,
        ettr_submit=ettr_submit,
        jct_s=(finish - job.submit_s) if done else None,
        queue_wait_s=_none_if_nan(job.first_placed_s - job.submit_s),
        interruptions=job.interruptions,
        restarts=job.restarts,
        preemptions=job.preemptions,
        checkpoints=ckpts[job.id],
        interval_s=job.interval_s if math.isfinite(job.interval_s) else None,
        stall_s=job.stall_s,
        lost_work_s=lost[job.id],
        recovery_s=rec[job.id],
        racks=job.racks,
        pods=job.pods,
        network_share=None if sim.network_stats is None else sim.network_stats.mean_share(job.id),
    )


# Two-sided 95 % Student t quantiles for 1..30 degrees of freedom.
_T975 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)


def t_quantile_975(df: int) -> float:
    """The 97.5 % quantile of Student's t with ``df`` degrees of freedom (normal past 30)."""
    if df < 1:
        return math.inf
    if df <= len(_T975):
        return _T975[df - 1]
    return 1.959964 + 2.4 / df

"""A vectorised Monte Carlo of one checkpointed job: numpy over replications, no SimPy.

It answers single-job questions fast (10,000 replications of a 54-day, 16,384-GPU job in
seconds) and cross-checks the DES. The semantics are the DES's (DESIGN §3) for one job whose
replacements are always at hand: exponential failures hitting the job at rate 1/M whatever
it is doing; a failure while training loses the work since the last completed checkpoint
(the whole segment if it hits a checkpoint write); recovery = detection + requeue + init +
checkpoint load (no load before the first checkpoint) and restarts when a failure hits it; the
first start costs init only. Exponential gaps are memoryless, so every replication simply
draws a fresh gap at each step; all replications step in lockstep.

Detection time is drawn per failure from the causes' mix (each cause with its own detection,
weighted by its rate). Planned maintenance (``kind: maintenance``, whole-cluster rollouts)
is a second Poisson stream: a running job writes a checkpoint (stall + persist) and loses
nothing; then it waits out the window and restarts with no detection delay.

Not modelled here (use the DES): waiting for repairs, rack-scope faults that grow with the
racks a job spans, many jobs, preemption, ``failure_during_recovery: ignore``, slowdowns,
SDC, storage contention and rolling maintenance batches. Two simplifications against the DES,
both far below its Monte Carlo error at Llama 3 scale: a failure during a maintenance
checkpoint write is ignored, and failures still reach the job while it waits for the window
to end (in the DES it holds no nodes then).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np

from clustersim.budget import (
    DEFAULT_MAX_EVENTS,
    DEFAULT_MAX_MEMORY,
    MC_CHUNK_REPS,
    MIN_ETTR,
    check_mc_budget,
)
from clustersim.config import Scenario
from clustersim.rng import Streams

if TYPE_CHECKING:
    from clustersim.engine import Simulation
    from clustersim.job import Job

__all__ = ["MCResult", "SingleJobModel", "expected_steps", "simulate"]

_RECOVERING = 0
_RUNNING = 1


@dataclass(frozen=True, slots=True)
class SingleJobModel:
    """The parameters of one job as the DES would derive them (seconds)."""

    work_s: float
    interval_s: float
    stall_s: float
    mtbf_s: float
    detection_s: float
    requeue_s: float
    init_s: float
    load_s: float
    persist_s: float = 0.0
    horizon_s: float = math.inf
    detection_mix: tuple[tuple[float, float], ...] = ()
    """``(probability, detection_s)`` per cause; empty means ``detection_s`` for all."""
    maintenance_every_s: float = math.inf
    maintenance_s: float = 0.0

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> SingleJobModel:
        """The model of a single-job scenario, with the DES's own derived job parameters."""
        from clustersim.engine import Simulation

        if scenario.restart.failure_during_recovery != "restart":
            raise ValueError("the Monte Carlo path models failure_during_recovery: restart only")
        other = sorted(
            name
            for name, f in scenario.faults.items()
            if f.kind not in ("poisson", "maintenance")
            or (f.kind == "maintenance" and f.batch_nodes not in (None, scenario.cluster.n_nodes))
            or (
                f.kind == "maintenance"
                and f.duration is not None
                and f.duration.distribution != "fixed"
            )
            or (f.kind == "poisson" and f.distribution == "weibull" and f.shape != 1.0)
        )
        if other:
            raise ValueError(
                "the Monte Carlo path models exponential poisson faults and whole-cluster "
                f"fixed-length maintenance only; not: {', '.join(other)}"
            )
        maintenance = [f for f in scenario.faults.values() if f.kind == "maintenance"]
        if len(maintenance) > 1:
            raise ValueError("the Monte Carlo path models at most one maintenance source")
        sim = Simulation(scenario)
        if len(sim.jobs) != 1:
            raise ValueError(f"the Monte Carlo path needs exactly one job, got {len(sim.jobs)}")
        every, window = math.inf, 0.0
        if maintenance:
            m = maintenance[0]
            assert m.every is not None
            every = m.every
            from clustersim.faults.maintenance import DEFAULT_DURATION

            window = (m.duration or DEFAULT_DURATION).mean
        return cls.from_job(
            scenario, sim, sim.jobs[0], maintenance_every_s=every, maintenance_s=window
        )

    @classmethod
    def from_job(
        cls,
        scenario: Scenario,
        sim: Simulation,
        job: Job,
        *,
        maintenance_every_s: float = math.inf,
        maintenance_s: float = 0.0,
    ) -> SingleJobModel:
        """The model of ``job`` of ``sim`` (built from ``scenario``), unchecked.

        The DES's own derived job parameters, the detection mix of the job-killing fault
        sources (weighted by their node rates) and the given maintenance stream.
        """
        gpn = scenario.cluster.gpus_per_node
        weights = {name: f.node_rate(gpn) for name, f in scenario.faults.items() if f.kills_jobs}
        total = sum(weights.values())
        mix = tuple(
            (w / total, sim.detection_s(name)) for name, w in sorted(weights.items()) if w > 0
        )
        return cls(
            work_s=job.work_s,
            interval_s=job.interval_s,
            stall_s=job.stall_s,
            mtbf_s=job.mtbf_s,
            detection_s=scenario.restart.detection,
            requeue_s=scenario.restart.requeue,
            init_s=job.init_s,
            load_s=job.load_s,
            persist_s=job.persist_s,
            horizon_s=scenario.run.horizon - job.submit_s,
            detection_mix=mix,
            maintenance_every_s=maintenance_every_s,
            maintenance_s=maintenance_s,
        )


@dataclass(frozen=True, slots=True)
class MCResult:
    """Per-replication outcomes (arrays of length ``reps``)."""

    wall_s: np.ndarray
    progress_s: np.ndarray
    interruptions: np.ndarray
    lost_s: np.ndarray
    finished: np.ndarray

    @property
    def ettr(self) -> np.ndarray:
        """Useful compute / wall time, per replication."""
        out: np.ndarray = self.progress_s / self.wall_s
        return out

    def mean_ci(self, values: np.ndarray) -> tuple[float, float, float]:
        """Mean and a normal-approximation 95 % confidence interval."""
        mean = float(values.mean())
        half = 1.959964 * float(values.std(ddof=1)) / math.sqrt(len(values))
        return mean, mean - half, mean + half


def expected_steps(model: SingleJobModel) -> float:
    """An upper estimate of the lockstep steps one replication takes (its "events").

    Two steps (a recovery and a run) per disturbance, over the horizon or the time the job
    would take at an ETTR of :data:`~clustersim.budget.MIN_ETTR`, whichever is shorter.
    """
    rate = 1.0 / model.mtbf_s + 1.0 / model.maintenance_every_s
    span = min(model.horizon_s, (model.work_s + model.init_s) / MIN_ETTR)
    return 2.0 * (1.0 + span * rate) if math.isfinite(span * rate) else math.inf


def simulate(
    model: SingleJobModel,
    reps: int,
    seed: int = 0,
    *,
    max_events: float = DEFAULT_MAX_EVENTS,
    max_memory: float = DEFAULT_MAX_MEMORY,
    chunk_reps: int = MC_CHUNK_REPS,
) -> MCResult:
    """Simulate ``reps`` independent replications of the job.

    Refused up front (:class:`~clustersim.budget.BudgetExceeded`) over ``max_events`` steps
    or ``max_memory`` bytes, like ``run``. Replications are stepped in chunks of
    ``chunk_reps``, so the working set stays bounded; chunk ``k`` draws from stream
    ``mc.single_job`` (``k = 0``) or ``mc.single_job.k``, so a run of at most ``chunk_reps``
    replications is exactly the unchunked one, and the first ``chunk_reps`` replications of
    a longer run are those of the shorter.
    """
    if reps < 2:
        raise ValueError("reps must be at least 2")
    if chunk_reps < 1:
        raise ValueError("chunk_reps must be at least 1")
    check_mc_budget(
        reps,
        expected_steps(model),
        min(reps, chunk_reps),
        max_events=max_events,
        max_memory=max_memory,
    )
    streams = Streams(seed)
    parts = [
        _simulate_chunk(
            model,
            min(chunk_reps, reps - start),
            streams.get("mc.single_job" if start == 0 else f"mc.single_job.{start // chunk_reps}"),
        )
        for start in range(0, reps, chunk_reps)
    ]
    if len(parts) == 1:
        return parts[0]
    return MCResult(
        *(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(MCResult))
    )


def _simulate_chunk(model: SingleJobModel, reps: int, rng: np.random.Generator) -> MCResult:
    """``reps`` replications stepped in lockstep, drawing from ``rng``."""
    tau, stall, persist = model.interval_s, model.stall_s, model.persist_s
    period = tau + stall
    t = np.zeros(reps)
    committed = np.zeros(reps)
    lost = np.zeros(reps)
    progress_at_end = np.zeros(reps)
    hits = np.zeros(reps, dtype=np.int64)
    phase = np.full(reps, _RECOVERING)
    startup = np.ones(reps, dtype=bool)
    active = np.ones(reps, dtype=bool)
    finished = np.zeros(reps, dtype=bool)
    horizon = model.horizon_s
    detect = np.full(reps, model.detection_s)  # detection of the recovery under way
    window = np.zeros(reps)  # maintenance window the recovery waits out
    mix_p = np.array([p for p, _ in model.detection_mix]) if model.detection_mix else None
    mix_d = np.array([d for _, d in model.detection_mix]) if model.detection_mix else None
    maint = math.isfinite(model.maintenance_every_s)
    while active.any():
        idx = np.flatnonzero(active)
        gap = (
            rng.exponential(model.mtbf_s, size=len(idx))
            if math.isfinite(model.mtbf_s)
            else (np.full(len(idx), np.inf))
        )
        planned = np.zeros(len(idx), dtype=bool)
        if maint:
            m_gap = rng.exponential(model.maintenance_every_s, size=len(idx))
            planned = m_gap < gap
            gap = np.minimum(gap, m_gap)
        det_draw = (
            mix_d[
                np.minimum(np.searchsorted(np.cumsum(mix_p), rng.random(len(idx))), len(mix_d) - 1)
            ]
            if mix_p is not None and mix_d is not None
            else np.full(len(idx), model.detection_s)
        )
        rec = phase[idx] == _RECOVERING
        # --- recovering (or starting): needs the whole restart without a disturbance
        r_idx, r_gap, r_planned = idx[rec], gap[rec], planned[rec]
        load = np.where(committed[r_idx] > 0, model.load_s, 0.0)
        full = detect[r_idx] + model.requeue_s + window[r_idx] + model.init_s
        need = np.where(startup[r_idx], model.init_s, full) + load
        step = np.minimum(r_gap, need)
        over = t[r_idx] + step >= horizon
        failed = (r_gap < need) & ~over
        t[r_idx] = np.where(over, horizon, t[r_idx] + step)
        progress_at_end[r_idx[over]] = committed[r_idx[over]]
        active[r_idx[over]] = False
        hits[r_idx[failed]] += 1
        startup[r_idx[failed]] = False
        f_rec = r_idx[failed]
        detect[f_rec] = np.where(r_planned[failed], 0.0, det_draw[rec][failed])
        window[f_rec] = np.where(r_planned[failed], model.maintenance_s, 0.0)
        resumed = r_idx[~failed & ~over]
        phase[resumed] = _RUNNING
        # --- running: finish, fail, or reach the horizon
        u_idx, u_gap = idx[~rec], gap[~rec]
        rem = model.work_s - committed[u_idx]
        n_ckpt = _checkpoints(rem, tau)
        finish = rem + n_ckpt * stall
        horizon_left = horizon - t[u_idx]
        end = np.minimum(np.minimum(u_gap, finish), horizon_left)
        done = (finish <= u_gap) & (finish <= horizon_left)
        cut = ~done & (horizon_left <= u_gap)
        fail = ~done & ~cut
        work_done, completed = _epoch(end, rem, n_ckpt, tau, stall, period, persist)
        t[u_idx] += end
        # finished
        fin = u_idx[done]
        progress_at_end[fin] = model.work_s
        finished[fin] = True
        active[fin] = False
        # horizon: work so far counts, nothing is lost
        cut_idx = u_idx[cut]
        progress_at_end[cut_idx] = committed[cut_idx] + work_done[cut]
        active[cut_idx] = False
        # failed: roll back to the last completed checkpoint; planned maintenance first
        # writes a checkpoint (stall + persist) and keeps everything
        u_planned = planned[~rec][fail]
        f_idx = u_idx[fail]
        kept = np.where(u_planned, work_done[fail], completed[fail] * tau)
        drain = np.where(
            u_planned & (work_done[fail] > completed[fail] * tau), stall + persist, 0.0
        )
        t[f_idx] += drain
        lost[f_idx] += work_done[fail] - kept
        committed[f_idx] += kept
        hits[f_idx] += 1
        startup[f_idx] = False
        phase[f_idx] = _RECOVERING
        detect[f_idx] = np.where(u_planned, 0.0, det_draw[~rec][fail])
        window[f_idx] = np.where(u_planned, model.maintenance_s, 0.0)
    return MCResult(t, progress_at_end, hits, lost, finished)


def _checkpoints(remaining: np.ndarray, tau: float) -> np.ndarray:
    if not math.isfinite(tau):
        return np.zeros_like(remaining)
    out: np.ndarray = np.maximum(0.0, np.ceil(remaining / tau) - 1)
    return out


def _epoch(
    elapsed: np.ndarray,
    remaining: np.ndarray,
    n_ckpt: np.ndarray,
    tau: float,
    stall: float,
    period: float,
    persist: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Work done and checkpoints completed ``elapsed`` into an epoch.

    This is :func:`clustersim.checkpoint.epoch_state`, vectorised.
    """
    if not math.isfinite(tau):
        return np.minimum(elapsed, remaining), np.zeros_like(elapsed)
    k = np.minimum(np.floor(elapsed / period), n_ckpt)
    within = elapsed - k * period
    work = np.minimum(k * tau + np.minimum(within, tau), remaining)
    if persist > 0:
        done = np.where(elapsed >= persist, np.floor((elapsed - persist) / period), 0.0)
    else:
        done = k
    return work, np.minimum(done, n_ckpt)

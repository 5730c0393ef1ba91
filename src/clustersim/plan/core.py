"""The building blocks of ``clustersim plan``: the fast path, DES points, budget, knob context.

This module owns what one scale's search (:mod:`clustersim.plan.search`) is made of: the
single-job model of a scenario and its exact, first-order and Monte Carlo ETTR (the fast
path), DES replications of a point and their summary, the DES budget, and :class:`_Scale`,
one scale's scenario, knob grids, prices and evaluated points. The stages themselves are
described in :mod:`clustersim.plan`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar

import numpy as np

from clustersim import experiment
from clustersim.analysis import analytic, mc
from clustersim.analysis.validate import ratio_estimate
from clustersim.budget import check_budget
from clustersim.config import Scenario
from clustersim.config.power import effective_power
from clustersim.experiment import UNIT_RANGE, ci95
from clustersim.plan.knobs import (
    HOURS_PER_MONTH,
    KNOBS,
    KnobRequest,
    apply_knobs,
    base_value,
    default_price,
    format_value,
    knob_cost,
    knob_grid,
)
from clustersim.power.energy import EnergyModel

__all__ = [
    "PlanOptions",
    "SerialExecutor",
    "des_point",
    "des_reps",
    "fast_model",
    "never_starts",
    "summarise",
]

T = TypeVar("T")
INTERVAL = "checkpoint.interval"
SPARES = "cluster.spare_nodes"
MC_MARGIN = 0.05
"""Combinations whose exact-model ETTR is within this of the target get a Monte Carlo check."""
MC_MAX_POINTS = 48
CONFIRM = 3
"""DES confirmation stops after this many configurations meet the target."""
ROUND = 2
"""Points submitted to the executor at once; fixed, so results do not depend on workers."""
RATE_DES_STEPS = 3
MAX_REPS_FACTOR = 4
"""A point whose DES mean meets the target but whose CI does not gets up to 4x ``reps``."""
RATE_STEP = 0.85


class SerialExecutor(Executor):
    """An executor that runs each task at once in the calling process (the default)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Run ``fn(*args, **kwargs)`` now; return a finished future."""
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # re-raised by future.result(), as a pool would
            future.set_exception(exc)
        return future


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """What to plan for: target, knobs, DES budget, seed and prices."""

    target: float
    knobs: tuple[KnobRequest, ...]
    budget: int
    seed: int = 0
    reps: int = 4
    scales: tuple[int, ...] = ()
    prices: dict[str, float] = field(default_factory=dict)
    mc_reps: int = 400


# --- fast path -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecoveryUnexposedModel(mc.SingleJobModel):
    """A single-job model whose restarts ignore failures (``failure_during_recovery: ignore``).

    The class is the mark: :func:`analytic_ettr` uses
    :func:`analytic.exact_ettr_recovery_unexposed` for it, and ``dataclasses.replace`` keeps it.
    """


def fast_model(scenario: Scenario) -> tuple[mc.SingleJobModel, str | None]:
    """The single-job model of ``scenario``'s largest job, and why MC refuses it (or None).

    Where :meth:`mc.SingleJobModel.from_scenario` refuses (fault kinds beyond exponential
    poisson and whole-cluster maintenance, several jobs), the model is still built from the
    DES's own derived job parameters, without maintenance, for the exact formula alone.
    """
    try:
        return mc.SingleJobModel.from_scenario(scenario), None
    except ValueError as exc:
        reason = str(exc)
    from clustersim.engine import Simulation

    sim = Simulation(scenario)
    job = max(sim.jobs, key=lambda j: (j.gpus, -j.id))
    model = mc.SingleJobModel.from_job(scenario, sim, job)
    if scenario.restart.failure_during_recovery == "ignore":
        model = RecoveryUnexposedModel(**{f.name: getattr(model, f.name) for f in fields(model)})
    return model, reason


def never_starts(scenario: Scenario) -> str | None:
    """Why a job of ``scenario`` can never start, or None when every job can.

    A job needs whole nodes outside the hot-spare pool, and must be submitted before the
    horizon; otherwise its DES replications simulate nothing (no ETTR, no days).
    """
    cl = scenario.cluster
    usable = cl.n_nodes - cl.spare_nodes
    for spec in scenario.workload.jobs:
        nodes = math.ceil(spec.gpus / cl.gpus_per_node)
        if nodes > usable:
            spares = (
                f" ({cl.spare_nodes} of its {cl.n_nodes} are hot spares)" if cl.spare_nodes else ""
            )
            return (
                f"job {spec.name!r} can never start: it needs {nodes} nodes ({spec.gpus} GPUs) "
                f"but the cluster runs jobs on {usable} nodes{spares}"
            )
        if spec.submit >= scenario.run.horizon:
            return (
                f"job {spec.name!r} can never start: it is submitted at {spec.submit:g} s, "
                f"not before the horizon ({scenario.run.horizon:g} s)"
            )
    return None


def restart_s(model: mc.SingleJobModel) -> float:
    """Mean restart after a failure: detection (cause mix) + requeue + init + load."""
    det = sum(p * d for p, d in model.detection_mix) if model.detection_mix else model.detection_s
    return det + model.requeue_s + model.init_s + model.load_s


def maintenance_factor(model: mc.SingleJobModel) -> float:
    """Share of wall time left by planned maintenance drains (checkpoint, window, restart)."""
    if not math.isfinite(model.maintenance_every_s):
        return 1.0
    drain = model.stall_s + model.persist_s + model.maintenance_s + model.init_s
    return max(0.0, 1.0 - (drain + model.requeue_s + model.load_s) / model.maintenance_every_s)


def analytic_ettr(model: mc.SingleJobModel, interval_s: float) -> float:
    """Exact-model ETTR at ``interval_s``, derated by the time planned maintenance takes."""
    if not math.isfinite(interval_s):
        return 0.0
    formula = (
        analytic.exact_ettr_recovery_unexposed
        if isinstance(model, RecoveryUnexposedModel)
        else analytic.exact_ettr
    )
    ettr = formula(interval_s, model.stall_s, restart_s(model), model.mtbf_s)
    return ettr * maintenance_factor(model)


def first_order_ettr(model: mc.SingleJobModel, interval_s: float) -> float:
    """The first-order (hand-calculation) ETTR at ``interval_s``, derated the same way."""
    if not math.isfinite(interval_s):
        return 0.0
    ettr = analytic.first_order_ettr(interval_s, model.stall_s, restart_s(model), model.mtbf_s)
    return ettr * maintenance_factor(model)


def best_interval(model: mc.SingleJobModel, grid: tuple[float, ...]) -> float:
    """The grid interval with the highest exact-model ETTR (the first on ties)."""
    return max(grid, key=lambda tau: (analytic_ettr(model, tau), -tau))


def mc_ettr(model: mc.SingleJobModel, reps: int, seed: int) -> dict[str, float]:
    """Monte Carlo ETTR (ratio of sums) with its 95 % interval."""
    res = mc.simulate(model, reps, seed)
    est = ratio_estimate(res.progress_s, res.wall_s)
    return {"ettr": est.mean, "low": est.low, "high": est.high}


# --- DES -------------------------------------------------------------------------------


def des_reps(scenario: Scenario, start: int, reps: int, seed: int) -> list[dict[str, float]]:
    """Run DES replications ``start .. start+reps-1`` of ``seed``; one raw record each.

    Replication ``i`` draws from the named streams of ``(seed, i)`` whatever the knob
    settings (common random numbers), so a point can be extended later by running the next
    indices. A module-level function, so a process pool or Dask can pickle it.
    """
    check_budget(scenario, reps)
    resolved = scenario.model_copy(
        update={"run": scenario.run.model_copy(update={"seed": seed, "replications": reps})}
    )
    out: list[dict[str, float]] = []
    for i in range(start, start + reps):
        metrics, _ = experiment.run_replication(resolved, i, seed, keep_log=False)
        s = metrics.summary
        out.append(
            {
                "replication": float(i),
                "ettr": math.nan if s["ettr"] is None else float(s["ettr"]),
                "days": float(s["sim_time_s"]) / 86400.0,
                "interruptions": float(s["interruptions_total"]),
                "gpu_hours_wasted": float(s["gpu_hours_wasted"]),
                "energy_wasted_mwh": float(s["energy_wasted_mwh"]),
                "cost_wasted_usd": float(s["cost_wasted_usd"]),
                "wait_gpu_h": metrics.recovery_gpu_seconds["wait"] / 3600.0,
            }
        )
    return out


def summarise(records: list[dict[str, float]]) -> dict[str, Any]:
    """A DES point's summary from its replications' raw records (:func:`des_reps`).

    ETTR is the mean over replications with its 95 % interval (logit scale, inside (0, 1); as
    ``summary.ettr`` of ``clustersim run``); the waste rates are totals over the replications'
    simulated days.
    """
    ettrs = [r["ettr"] for r in records]
    days = sum(r["days"] for r in records) or math.nan  # no simulated time: rates unknown
    valid = [e for e in ettrs if not math.isnan(e)]
    return {
        "ettr": sum(valid) / len(valid) if valid else None,
        "ettr_ci95": ci95(valid, UNIT_RANGE),
        "ettr_per_replication": [None if math.isnan(e) else e for e in ettrs],
        "replications": len(records),
        "interruptions_per_day": sum(r["interruptions"] for r in records) / days,
        "gpu_hours_lost_per_day": sum(r["gpu_hours_wasted"] for r in records) / days,
        "mwh_wasted_per_month": sum(r["energy_wasted_mwh"] for r in records) * 30.0 / days,
        "usd_wasted_per_month": sum(r["cost_wasted_usd"] for r in records) * 30.0 / days,
        "wait_gpu_hours_per_day": sum(r["wait_gpu_h"] for r in records) / days,
    }


def des_point(scenario: Scenario, reps: int, seed: int) -> dict[str, Any]:
    """Run replications ``0 .. reps-1`` and summarise them (:func:`summarise`)."""
    return summarise(des_reps(scenario, 0, reps, seed))


@dataclass(slots=True)
class _Budget:
    """DES replications: the total, this scale's limit, and how many are spent."""

    total: int
    reps: int
    used: int = 0
    progress: Callable[[float, float], None] | None = None
    limit: int = 0

    def room(self, points: int) -> bool:
        """Whether ``points`` more DES points fit in this scale's share."""
        return self.used + points * self.reps <= min(self.limit, self.total)

    def can(self) -> bool:
        """Whether one more DES point fits."""
        return self.room(1)

    def spend(self) -> None:
        self.used += self.reps
        if self.progress is not None:
            self.progress(float(self.used), float(self.total))


@dataclass(slots=True)
class _Scale:
    """One scale's scenario, knob grids, prices and evaluated points."""

    scenario: Scenario
    options: PlanOptions
    executor: Executor
    budget: _Budget
    grids: dict[str, tuple[float, ...]]
    base: dict[str, float]
    prices: dict[str, float]
    model: mc.SingleJobModel
    mc_reason: str | None
    gpus_held: int
    des: dict[tuple[tuple[str, float], ...], dict[str, Any]] = field(default_factory=dict)
    order: list[tuple[tuple[str, float], ...]] = field(default_factory=list)

    def cost(self, values: dict[str, float]) -> float:
        return sum(
            knob_cost(KNOBS[p], v, self.base[p], self.prices[p])
            for p, v in values.items()
            if p in self.grids
        )

    def run_des(self, points: list[tuple[Scenario, dict[str, Any]]]) -> None:
        """Confirm ``points`` (scenario, row) with the DES, in order, as far as the budget goes."""
        reps, seed = self.options.reps, self.options.seed
        todo: list[tuple[Future[list[dict[str, float]]], Scenario, dict[str, Any]]] = []
        for scenario, row in points:
            if not self.budget.room(len(todo) + 1):
                break
            todo.append((self.executor.submit(des_reps, scenario, 0, reps, seed), scenario, row))
        for fut, scenario, row in todo:
            row["_records"] = fut.result()
            row["_scenario"] = scenario
            row["des"] = summarise(row["_records"])
            self.budget.spend()
            key = _key(row["values"])
            self.des[key] = row
            self.order.append(key)

    def extend(self, row: dict[str, Any]) -> None:
        """Add replications to a point whose mean meets the target but whose CI does not yet.

        Up to :data:`MAX_REPS_FACTOR` times ``reps`` in all, while the budget lasts; the new
        replications are the next indices, so the common random numbers stay common.
        """
        reps, seed, target = self.options.reps, self.options.seed, self.options.target
        while (
            row["des"]["ettr"] is not None
            and row["des"]["ettr"] >= target
            and not _meets(row, target)
            and len(row["_records"]) + reps <= MAX_REPS_FACTOR * reps
            and self.budget.can()
        ):
            start = len(row["_records"])
            fut = self.executor.submit(des_reps, row["_scenario"], start, reps, seed)
            row["_records"] = row["_records"] + fut.result()
            row["des"] = summarise(row["_records"])
            self.budget.spend()

    def des_once(self, scenarios: list[Scenario]) -> list[dict[str, Any] | None]:
        """DES summaries of ``scenarios`` outside the knob table (None past the budget)."""
        futures: list[Future[dict[str, Any]]] = []
        for scenario in scenarios:
            if not self.budget.room(len(futures) + 1):
                break
            seed = self.options.seed
            futures.append(self.executor.submit(des_point, scenario, self.options.reps, seed))
        out: list[dict[str, Any] | None] = []
        for fut in futures:
            out.append(fut.result())
            self.budget.spend()
        return out + [None] * (len(scenarios) - len(out))


def _key(values: dict[str, float]) -> tuple[tuple[str, float], ...]:
    return tuple(sorted(values.items()))


def _meets(row: dict[str, Any], target: float) -> bool:
    des = row.get("des")
    if not des or des["ettr_ci95"] is None:
        return False
    return bool(des["ettr_ci95"][0] >= target)


def _batches(items: list[T], size: int) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _context(
    scenario: Scenario, options: PlanOptions, executor: Executor, budget: _Budget
) -> _Scale:
    model, reason = fast_model(scenario)
    gpn = scenario.cluster.gpus_per_node
    job_gpus = max(j.gpus for j in scenario.workload.jobs) if scenario.workload.jobs else gpn
    job_nodes = math.ceil(job_gpus / gpn)
    gpus_held = job_nodes * gpn
    n_nodes = scenario.cluster.n_nodes
    optimum = (
        analytic.exact_optimal_interval(model.stall_s, model.mtbf_s)
        if model.stall_s > 0 and math.isfinite(model.mtbf_s)
        else scenario.checkpoint.interval
    )
    grids = {
        r.knob.path: knob_grid(r, optimum_s=optimum, n_nodes=n_nodes, job_nodes=job_nodes)
        for r in options.knobs
    }
    base = {r.knob.path: base_value(r.knob, scenario, gpus_held) for r in options.knobs}
    prices = {
        r.knob.path: options.prices.get(r.knob.path, default_price(r.knob, scenario))
        for r in options.knobs
    }
    return _Scale(
        scenario, options, executor, budget, grids, base, prices, model, reason, gpus_held
    )


def combos(ctx: _Scale) -> list[dict[str, float]]:
    """Every combination of the priced knobs' grid values (interval and spares excluded)."""
    paths = sorted(p for p in ctx.grids if p not in (INTERVAL, SPARES))
    return [
        dict(zip(paths, vs, strict=True))
        for vs in itertools.product(*(ctx.grids[p] for p in paths))
    ]


def screen_row(ctx: _Scale, values: dict[str, float]) -> dict[str, Any]:
    """A combination on the exact model, with its best grid interval (if interval is a knob)."""
    sc = apply_knobs(ctx.scenario, values)
    model, _ = fast_model(sc)
    out = dict(values)
    if INTERVAL in ctx.grids:
        tau = best_interval(model, ctx.grids[INTERVAL])
        out[INTERVAL] = tau
        model = replace(model, interval_s=tau)
    return {
        "values": out,
        "analytic_ettr": analytic_ettr(model, model.interval_s),
        "interval_s": model.interval_s,
        "model": model,
    }


def display(ctx: _Scale, values: dict[str, float]) -> dict[str, str]:
    """Knob values in display units."""
    return {p: format_value(KNOBS[p], v) for p, v in sorted(values.items())}


def fast_waste(ctx: _Scale, ettr: float) -> dict[str, float]:
    """Waste implied by a fast-path ETTR: (1 − ETTR) of the job's GPUs, per day and month.

    Energy is the flat ``cost.mwh_per_gpu_year`` per GPU-hour, or with a ``power`` section
    the profile's facility watts of a computing GPU (docs/planning.md, "Limits").
    """
    sc = ctx.scenario
    per_day = (1.0 - ettr) * ctx.gpus_held * 24.0
    mwh = per_day * 30.0 * sc.cost.mwh_per_gpu_year / (365.0 * 24.0)
    if sc.power is not None:
        drawn = EnergyModel(effective_power(sc.power, sc.facility), sc.cluster.gpus_per_node)
        mwh = per_day * 30.0 * drawn.w_per_gpu["computing"] / 1e6
    return {
        "gpu_hours_lost_per_day": per_day,
        "mwh_wasted_per_month": mwh,
        "usd_wasted_per_month": per_day * 30.0 * sc.cost.usd_per_gpu_hour,
    }


def month_value(ctx: _Scale) -> float:
    """US dollars per month that one whole unit of ETTR is worth (the job's GPU-hours)."""
    return ctx.gpus_held * HOURS_PER_MONTH * ctx.scenario.cost.usd_per_gpu_hour


def rate_ettr(ctx: _Scale, scenario: Scenario, use_mc: bool) -> float:
    """Fast-path ETTR of ``scenario`` (exact model, or MC where allowed and asked for)."""
    model, reason = fast_model(scenario)
    if INTERVAL in ctx.grids:
        tau = (
            analytic.exact_optimal_interval(model.stall_s, model.mtbf_s)
            if model.stall_s > 0 and math.isfinite(model.mtbf_s)
            else model.interval_s
        )
        model = replace(model, interval_s=tau)
    if use_mc and reason is None:
        return mc_ettr(model, ctx.options.mc_reps, ctx.options.seed)["ettr"]
    return analytic_ettr(model, model.interval_s)


def exact_policy(scenario: Scenario) -> Scenario:
    """``scenario`` with the exact-optimum interval policy (the interval follows the MTBF)."""
    ck = scenario.checkpoint.model_copy(update={"policy": "exact"})
    return scenario.model_copy(update={"checkpoint": ck})


def float_list(values: tuple[float, ...]) -> list[float]:
    """Plain floats for JSON."""
    return [float(v) for v in np.asarray(values, dtype=float)]

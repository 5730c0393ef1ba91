"""The per-scale search of ``clustersim plan``: screen, DES walk, rate reduction, sensitivity.

:func:`plan_scale` owns the order of the work for one scale (package docstring of
:mod:`clustersim.plan`) and returns that scale's JSON object; the fast-path and DES building
blocks, the budget and the knob context live in :mod:`clustersim.plan.core`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from clustersim.analysis import analytic
from clustersim.experiment import ci95
from clustersim.plan.core import (
    CONFIRM,
    INTERVAL,
    MC_MARGIN,
    MC_MAX_POINTS,
    RATE_DES_STEPS,
    RATE_STEP,
    ROUND,
    SPARES,
    _key,
    _meets,
    _Scale,
    analytic_ettr,
    combos,
    display,
    exact_policy,
    fast_model,
    fast_waste,
    first_order_ettr,
    float_list,
    mc_ettr,
    month_value,
    rate_ettr,
    restart_s,
    screen_row,
)
from clustersim.plan.knobs import BASE_UNITS, INTERVAL_RATIO, KNOBS, apply_knobs, scale_rates

__all__ = ["plan_scale"]

SCREEN_ROWS = 10
WAIT_SHARE = 1e-3
"""A failed candidate whose job waited for replacements less than this share of its GPU-hours
is not retried with more spares."""
RATE_ITERATIONS = 16
RATE_REFINE = 2
"""DES bisection steps between the last multiplier that missed and the first that met."""


def plan_scale(ctx: _Scale) -> dict[str, Any]:
    """Plan one scale; return its JSON object (see docs/planning.md)."""
    target = ctx.options.target
    base = _base(ctx)
    rows = _screen(ctx)
    spare_levels: tuple[float | None, ...] = ctx.grids.get(SPARES) or (None,)
    formula = min(
        (r for r in rows if r["analytic_ettr"] >= target),
        key=lambda r: (r["cost"], -r["analytic_ettr"], r["index"]),
        default=None,
    )
    frontier = _fast_frontier(rows)
    cands = []
    for r in rows:
        if r["fast_ettr"] < target or r["index"] not in frontier:
            continue
        for s in spare_levels:
            values = dict(r["values"]) if s is None else {**r["values"], SPARES: s}
            cands.append((ctx.cost(values), -r["fast_ettr"], r["index"], s or 0.0, values, r))
    cands.sort(key=lambda c: c[:4])
    if formula is not None:  # the formula's own pick is confirmed first, to show the gap
        first = [c for c in cands if c[5] is formula][:1]
        cands = first + [c for c in cands if c not in first]
    _walk(ctx, [(c[4], c[5]) for c in cands])
    des_rows = [ctx.des[k] for k in ctx.order]
    rec = min(
        (r for r in des_rows if _meets(r, target)),
        key=lambda r: (r["cost_usd_month"], -r["des"]["ettr"]),
        default=None,
    )
    best = max(rows, key=lambda r: (r["fast_ettr"], -r["cost"], -r["index"]))
    best_values = dict(best["values"])
    if SPARES in ctx.grids:
        best_values[SPARES] = ctx.grids[SPARES][-1]
    rate = None
    if rec is None:
        if _key(best_values) not in ctx.des:
            ctx.run_des(
                [(apply_knobs(ctx.scenario, best_values), _des_row(ctx, best_values, best))]
            )
        rate = _rate_reduction(ctx, best_values)
    anchor = rec if rec is not None else ctx.des.get(_key(best_values))
    anchor_values = anchor["values"] if anchor is not None else best_values
    base["des"] = ctx.des_once([ctx.scenario])[0]
    sensitivity = _sensitivity(ctx, anchor_values)
    des_rows = [ctx.des[k] for k in ctx.order]
    _pareto(des_rows)
    for r in des_rows:
        r["meets"] = _meets(r, target)
    status = (
        "met"
        if rec is not None
        else ("unreachable" if best["fast_ettr"] < target else "not confirmed")
    )
    cfg = ctx.scenario.cluster
    return {
        "scenario": ctx.scenario.name,
        "gpus": ctx.gpus_held,
        "job_nodes": ctx.gpus_held // cfg.gpus_per_node,
        "cluster_nodes": cfg.n_nodes,
        "spare_nodes": cfg.spare_nodes,
        "fast_path": "mc" if ctx.mc_reason is None else "analytic",
        "mc_refused": ctx.mc_reason,
        "base": base,
        "grids": {p: float_list(v) for p, v in sorted(ctx.grids.items())},
        "status": status,
        "reachable_fast": best["fast_ettr"] >= target,
        "screen": [_screen_out(ctx, r) for r in _screen_top(rows, target)],
        "formula_pick": _screen_out(ctx, formula) if formula is not None else None,
        "best_fast": _screen_out(ctx, best),
        "des_points": sorted(
            (_des_out(r) for r in des_rows), key=lambda r: (r["cost_usd_month"], r["display"])
        ),
        "recommendation": _des_out(rec) if rec is not None else None,
        "interval": _interval(ctx, anchor_values),
        "sensitivity": sensitivity,
        "rate_reduction": rate,
        "des_replications": sum(r["des"]["replications"] for r in des_rows)
        + sum(p["des"]["replications"] for p in (rate or {}).get("des", []))
        + (base["des"]["replications"] if base["des"] else 0)
        + sum(r["des_runs"] for r in sensitivity),
    }


def _screen(ctx: _Scale) -> list[dict[str, Any]]:
    target = ctx.options.target
    rows = [screen_row(ctx, c) for c in combos(ctx)]
    for i, r in enumerate(rows):
        r["index"] = i
        r["cost"] = ctx.cost(r["values"])
        r["mc"] = None
    if ctx.mc_reason is None:
        near = sorted(
            (r for r in rows if r["analytic_ettr"] >= target - MC_MARGIN),
            key=lambda r: (r["cost"], -r["analytic_ettr"], r["index"]),
        )
        if not near:
            near = sorted(rows, key=lambda r: (-r["analytic_ettr"], r["cost"], r["index"]))[:8]
        for r in near[:MC_MAX_POINTS]:
            r["mc"] = mc_ettr(r["model"], ctx.options.mc_reps, ctx.options.seed)
    for r in rows:
        r["fast_ettr"] = r["mc"]["ettr"] if r["mc"] is not None else r["analytic_ettr"]
    return rows


def _fast_frontier(rows: list[dict[str, Any]]) -> set[int]:
    """Combinations no other beats on the fast path (cost no higher and ETTR no lower)."""
    keep: set[int] = set()
    best = -math.inf
    for r in sorted(rows, key=lambda r: (r["cost"], -r["fast_ettr"], r["index"])):
        if r["fast_ettr"] > best:
            keep.add(r["index"])
            best = r["fast_ettr"]
    return keep


def _screen_top(rows: list[dict[str, Any]], target: float) -> list[dict[str, Any]]:
    ok = sorted(
        (r for r in rows if r["fast_ettr"] >= target), key=lambda r: (r["cost"], r["index"])
    )
    rest = sorted(
        (r for r in rows if r["fast_ettr"] < target), key=lambda r: (-r["fast_ettr"], r["index"])
    )
    return (ok + rest)[:SCREEN_ROWS]


def _screen_out(ctx: _Scale, r: dict[str, Any]) -> dict[str, Any]:
    return {
        "values": r["values"],
        "display": display(ctx, r["values"]),
        "cost_usd_month": r["cost"],
        "analytic_ettr": r["analytic_ettr"],
        "mc": r["mc"],
        **fast_waste(ctx, r["fast_ettr"]),
    }


def _des_row(ctx: _Scale, values: dict[str, float], screen: dict[str, Any]) -> dict[str, Any]:
    return {
        "values": values,
        "display": display(ctx, values),
        "cost_usd_month": ctx.cost(values),
        "analytic_ettr": screen["analytic_ettr"],
        "mc": screen["mc"],
        "combo": screen["index"],
    }


def _des_out(r: dict[str, Any]) -> dict[str, Any]:
    des = r["des"]
    return {
        "values": r["values"],
        "display": r["display"],
        "cost_usd_month": r["cost_usd_month"],
        "analytic_ettr": r["analytic_ettr"],
        "mc": r["mc"],
        "des": des,
        "gap_des_minus_formula": des["ettr"] - r["analytic_ettr"],
        "meets": r.get("meets", False),
        "pareto": r.get("pareto", False),
    }


def _walk(ctx: _Scale, cands: list[tuple[dict[str, float], dict[str, Any]]]) -> None:
    """Confirm candidates cheapest first; spares are assumed to help monotonically."""
    target = ctx.options.target
    met_at: dict[int, float] = {}
    failed_at: dict[int, float] = {}
    pending = list(cands)
    while (
        pending and ctx.budget.can() and sum(_meets(r, target) for r in ctx.des.values()) < CONFIRM
    ):
        batch: list[tuple[dict[str, float], dict[str, Any]]] = []
        deferred: list[tuple[dict[str, float], dict[str, Any]]] = []
        while pending and len(batch) < ROUND:
            values, screen = pending.pop(0)
            s, combo = values.get(SPARES, 0.0), screen["index"]
            if _key(values) in ctx.des or s >= met_at.get(combo, math.inf):
                continue
            if s <= failed_at.get(combo, -math.inf):
                continue
            if any(other["index"] == combo for _, other in batch):
                deferred.append((values, screen))  # one spare level per combination per round
                continue
            batch.append((values, screen))
        pending = deferred + pending
        points = [(apply_knobs(ctx.scenario, v), _des_row(ctx, v, sc)) for v, sc in batch]
        ctx.run_des(points)
        for values, _ in batch:
            if _key(values) in ctx.des:
                ctx.extend(ctx.des[_key(values)])
        for values, screen in batch:
            row = ctx.des.get(_key(values))
            if row is None:
                return  # the budget ran out mid-batch
            s, combo = values.get(SPARES, 0.0), screen["index"]
            if _meets(row, target):
                met_at[combo] = min(s, met_at.get(combo, math.inf))
            elif row["des"]["wait_gpu_hours_per_day"] < WAIT_SHARE * ctx.gpus_held * 24.0:
                failed_at[combo] = math.inf  # it never waited for a replacement: spares won't help
            else:
                failed_at[combo] = max(s, failed_at.get(combo, -math.inf))


def _pareto(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        c, e = r["cost_usd_month"], r["des"]["ettr"]
        r["pareto"] = not any(
            (o["cost_usd_month"] <= c and o["des"]["ettr"] >= e)
            and (o["cost_usd_month"] < c or o["des"]["ettr"] > e)
            for o in rows
        )


def _base(ctx: _Scale) -> dict[str, Any]:
    m = ctx.model
    out: dict[str, Any] = {
        "mtbf_s": m.mtbf_s,
        "stall_s": m.stall_s,
        "restart_s": restart_s(m),
        "interval_s": m.interval_s,
        "policy": ctx.scenario.checkpoint.policy,
        "analytic_ettr": analytic_ettr(m, m.interval_s),
        "mc": mc_ettr(m, ctx.options.mc_reps, ctx.options.seed) if ctx.mc_reason is None else None,
    }
    return out


def _interval(ctx: _Scale, values: dict[str, float]) -> dict[str, Any]:
    model, _ = fast_model(apply_knobs(ctx.scenario, values))
    c, m = model.stall_s, model.mtbf_s
    usable = c > 0 and math.isfinite(m)
    exact = analytic.exact_optimal_interval(c, m) if usable else None
    return {
        "recommended_s": model.interval_s,
        "from_grid": INTERVAL in ctx.grids,
        "grid_ratio": INTERVAL_RATIO,
        "exact_s": exact,
        "young_s": analytic.young_interval(c, m) if usable else None,
        "daly_s": analytic.daly_interval(c, m) if usable else None,
        "ratio_to_exact": model.interval_s / exact if exact else None,
        "stall_s": c,
        "mtbf_s": m,
        "restart_s": restart_s(model),
        "exact_ettr": analytic_ettr(model, model.interval_s),
        "first_order_ettr": first_order_ettr(model, model.interval_s),
    }


def _neighbour(grid: tuple[float, ...], value: float, step: int) -> float | None:
    i = min(range(len(grid)), key=lambda j: abs(grid[j] - value))
    j = i + step
    return grid[j] if 0 <= j < len(grid) else None


def _sensitivity(ctx: _Scale, values: dict[str, float]) -> list[dict[str, Any]]:
    """ETTR gained per unit of each knob around ``values``: exact model, and DES paired.

    Each knob moves one grid step in the direction that should raise ETTR (the other way at
    the grid's end; the interval both ways), the interval re-optimised on the exact model. The
    DES difference is paired: replication ``i`` of both points sees the same failures.
    """
    core = {p: v for p, v in values.items() if p not in (INTERVAL, SPARES)}
    here = screen_row(ctx, core)
    model = here["model"]
    tau0 = values.get(INTERVAL, model.interval_s)
    e0 = analytic_ettr(model, tau0)
    moves: list[tuple[str, float, float, dict[str, float], float | None]] = []
    for path in sorted(ctx.grids):
        grid = ctx.grids[path]
        if path == INTERVAL:
            for step in (-1, 1):
                tau = tau0 * INTERVAL_RATIO**step
                delta = analytic_ettr(model, tau) - e0
                moves.append((path, tau0, tau, {**values, INTERVAL: tau}, delta))
            continue
        step = 1 if KNOBS[path].better == "up" else -1
        other = _neighbour(grid, values[path], step)
        if other is None:
            other = _neighbour(grid, values[path], -step)
        if other is None:
            continue
        if path == SPARES:
            moves.append((path, values[path], other, {**values, SPARES: other}, None))
            continue
        moved = screen_row(ctx, {**core, path: other})
        new = {**values, path: other}
        if INTERVAL in ctx.grids:
            new[INTERVAL] = moved["values"][INTERVAL]
        moves.append((path, values[path], other, new, moved["analytic_ettr"] - e0))
    anchor = ctx.des.get(_key(values))
    des: list[dict[str, Any] | None] = [None] * len(moves)
    runs = [0] * len(moves)
    if anchor is not None:
        todo = [i for i, m in enumerate(moves) if _key(m[3]) not in ctx.des]
        for i, m in enumerate(moves):
            if _key(m[3]) in ctx.des:
                des[i] = ctx.des[_key(m[3])]["des"]
        fresh = ctx.des_once([apply_knobs(ctx.scenario, moves[i][3]) for i in todo])
        for i, d in zip(todo, fresh, strict=True):
            des[i] = d
            runs[i] = d["replications"] if d else 0
    worth = month_value(ctx)
    out = []
    for (path, frm, to, _, fast_delta), d, n in zip(moves, des, runs, strict=True):
        dcost = ctx.cost({path: to}) - ctx.cost({path: frm})
        row = _sens_row(path, frm, to, fast_delta, dcost, worth)
        row["des_runs"] = n
        if d is not None and anchor is not None:
            a = np.array(anchor["des"]["ettr_per_replication"], dtype=float)
            b = np.array(d["ettr_per_replication"], dtype=float)
            n_common = min(len(a), len(b))  # replication i is common to both points
            diff = b[:n_common] - a[:n_common]
            row["des_delta_ettr"] = float(diff.mean())
            row["des_delta_ci95"] = ci95(list(diff), (-1.0, 1.0))  # a difference of ratios
        out.append(row)
    return out


def _sens_row(
    path: str, frm: float, to: float, delta: float | None, dcost: float, worth: float
) -> dict[str, Any]:
    knob = KNOBS[path]
    units = abs(to - frm) / knob.scale
    value = None if delta is None else delta * worth
    return {
        "knob": path,
        "from": frm,
        "to": to,
        "unit": BASE_UNITS[knob.unit],
        "display_unit": knob.unit,
        "delta_ettr": delta,
        "ettr_per_unit": delta / units if units and delta is not None else None,
        "cost_usd_month": dcost,
        "value_usd_month": value,
        "payback": value / dcost if dcost > 0 and value is not None else None,
        "des_delta_ettr": None,
        "des_delta_ci95": None,
    }


def _rate_reduction(ctx: _Scale, values: dict[str, float]) -> dict[str, Any]:
    """The failure-rate multiplier that would reach the target at ``values``."""
    target = ctx.options.target
    core = {p: v for p, v in values.items() if p != INTERVAL}
    sc = apply_knobs(ctx.scenario, core)
    if INTERVAL in ctx.grids:
        sc = exact_policy(sc)
    out: dict[str, Any] = {"values": values, "display": display(ctx, values)}
    for name, use_mc in (("analytic", False), ("mc", True)):
        if use_mc and ctx.mc_reason is not None:
            out["multiplier_mc"] = None
            continue
        out[f"multiplier_{name}"] = _bisect(ctx, sc, use_mc, target)
    m = out["multiplier_mc"] if out.get("multiplier_mc") is not None else out["multiplier_analytic"]
    out["multiplier_fast"] = m
    out["reduction_pct_fast"] = None if m is None else 100.0 * (1.0 - m)
    out["des"] = []
    out["multiplier_des"] = None
    if m is None:
        return out
    miss: float | None = None
    for k in range(RATE_DES_STEPS + 1):
        mult = m * RATE_STEP**k
        if not ctx.budget.can():
            break
        if not _rate_point(ctx, sc, mult, out):
            miss = mult
            continue
        break
    met = out["multiplier_des"]
    if met is not None and miss is not None:  # refine between the last miss and the first meet
        lo, hi = met, miss
        for _ in range(RATE_REFINE):
            mid = math.sqrt(lo * hi)
            if not ctx.budget.can():
                break
            if _rate_point(ctx, sc, mid, out):
                lo = mid
            else:
                hi = mid
        out["multiplier_des"] = lo
    out["des"].sort(key=lambda r: -r["multiplier"])
    return out


def _rate_point(ctx: _Scale, sc: Any, mult: float, out: dict[str, Any]) -> bool:
    """DES at failure rates x ``mult``; record it in ``out``; whether it met the target."""
    d = ctx.des_once([scale_rates(sc, mult)])[0]
    if d is None:
        return False
    row = {"multiplier": mult, "des": d}
    row["meets"] = _meets(row, ctx.options.target)
    out["des"].append(row)
    if row["meets"] and (out["multiplier_des"] is None or mult > out["multiplier_des"]):
        out["multiplier_des"] = mult
    return bool(row["meets"])


def _bisect(ctx: _Scale, sc: Any, use_mc: bool, target: float) -> float | None:
    if rate_ettr(ctx, sc, use_mc) >= target:
        return 1.0
    lo, hi = 1e-3, 1.0
    if rate_ettr(ctx, scale_rates(sc, lo), use_mc) < target:
        return None
    for _ in range(RATE_ITERATIONS):
        mid = math.sqrt(lo * hi)
        if rate_ettr(ctx, scale_rates(sc, mid), use_mc) >= target:
            lo = mid
        else:
            hi = mid
    return lo

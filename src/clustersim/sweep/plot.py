"""Figures of sweep results: a metric against a knob, with 95 % bands and optimum markers.

Owns the drawing of ``clustersim plot`` (matplotlib, the ``plot`` extra, imported only when a
figure is drawn) and the closed-form optimum intervals it marks: for a sweep over
``checkpoint.interval``, the Young, Daly and exact-optimal intervals of the scenario's first
job, from its checkpoint stall and its MTBF exactly as the engine derives them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from clustersim.analysis import analytic
from clustersim.config import UsageError, load_scenario_text
from clustersim.output.plots import PlotUnavailable, save_figure

__all__ = ["INTERVAL_KNOB", "lookup", "optimum_intervals", "sweep_png"]

INTERVAL_KNOB = "checkpoint.interval"
_MARKERS = (
    ("young", "Young", "--", "#DD8452"),
    ("daly", "Daly", ":", "#55A868"),
    ("exact", "exact optimum", "-.", "#C44E52"),
)


def lookup(record: Mapping[str, Any], key: str) -> Any:
    """A knob's parsed value (``checkpoint.interval``) or a dotted field (``summary.ettr``)."""
    if key in record["values"]:
        return record["values"][key]
    node: Any = record
    for seg in key.split("."):
        if not isinstance(node, Mapping) or seg not in node:
            return None
        node = node[seg]
    return node


def optimum_intervals(
    scenario_json: Mapping[str, Any], point: Mapping[str, str]
) -> dict[str, float]:
    """Young, Daly and exact-optimal intervals (s) of the first job at a point (may be empty).

    ``point`` holds the other knobs of the series (they can change the stall or the MTBF).
    Empty if the job cannot fail or its checkpoints cost nothing.
    """
    from clustersim.engine import Simulation
    from clustersim.sweep.grid import point_scenario

    text = orjson.dumps(scenario_json).decode("utf-8")
    scenario = point_scenario(load_scenario_text(text, "header.scenario", "json"), point)
    jobs = Simulation(scenario, replication=0, seed=0).jobs
    if not jobs:
        return {}
    stall, mtbf = jobs[0].stall_s, jobs[0].mtbf_s
    if stall <= 0 or not math.isfinite(mtbf):
        return {}
    return {
        "young": analytic.young_interval(stall, mtbf),
        "daly": analytic.daly_interval(stall, mtbf),
        "exact": analytic.exact_optimal_interval(stall, mtbf),
    }


def _series(
    records: Sequence[Mapping[str, Any]], x: str, hue: str | None
) -> dict[str, list[Mapping[str, Any]]]:
    """Records grouped into lines: one per combination of the knobs other than ``x``."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for rec in records:
        others = [f"{k}={v}" for k, v in rec["point"].items() if k != x and k != hue]
        label = ", ".join(([f"{hue}={rec['point'][hue]}"] if hue else []) + others)
        groups.setdefault(label, []).append(rec)
    return groups


def sweep_png(
    header: Mapping[str, Any] | None,
    records: Sequence[Mapping[str, Any]],
    x: str,
    y: str,
    hue: str | None = None,
    fmt: str = "png",
) -> bytes:
    """``y`` against ``x``, one line per ``hue`` value (and other knob), as ``fmt`` bytes.

    The band is the 95 % interval stored beside ``y`` (``summary.ettr`` →
    ``summary.ettr_ci95``). The x ticks are the grid values as typed. For an interval sweep
    with a known scenario, the optimum intervals are drawn as vertical lines.

    Raises:
        UsageError: ``x``, ``y`` or ``hue`` not in the records. PlotUnavailable: no matplotlib.
    """
    if not records:
        raise UsageError("plot: the results file holds no finished point")
    knobs = list(records[0]["point"])
    if x not in knobs:
        raise UsageError(f"plot: --x {x} is not a grid knob (knobs: {', '.join(knobs)})")
    if hue is not None and hue not in knobs:
        raise UsageError(f"plot: --hue {hue} is not a grid knob (knobs: {', '.join(knobs)})")
    if not any(isinstance(lookup(r, y), int | float) for r in records):
        raise UsageError(f"plot: --y {y} is not a number in the records (e.g. summary.ettr)")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise PlotUnavailable("plots need matplotlib: pip install 'clustersim[plot]'") from None
    fig, ax = plt.subplots(figsize=(8, 4.8))
    position, numeric = _positions(records, x)
    ticks: dict[float, str] = {}
    marked: set[tuple[str, float]] = set()
    for label, group in _series(records, x, hue).items():
        rows = sorted(group, key=lambda r: position[r["point"][x]])
        xs = [position[r["point"][x]] for r in rows]
        ys = [_num(lookup(r, y)) for r in rows]
        ticks.update({position[r["point"][x]]: r["point"][x] for r in rows})
        (line,) = ax.plot(xs, ys, marker="o", label=label or None)
        cis = [lookup(r, f"{y}_ci95") for r in rows]
        if any(cis):
            lo = [c[0] if c else math.nan for c in cis]
            hi = [c[1] if c else math.nan for c in cis]
            ax.fill_between(xs, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
        if x == INTERVAL_KNOB and header is not None and rows:
            others = {k: v for k, v in rows[0]["point"].items() if k != x}
            for key, name, style, color in _MARKERS:
                value = optimum_intervals(header["scenario"], others).get(key)
                if value is not None and (key, round(value, 6)) not in marked:
                    marked.add((key, round(value, 6)))
                    ax.axvline(
                        value,
                        color=color,
                        linestyle=style,
                        linewidth=1,
                        label=f"{name} {value:,.0f} s",
                    )
    if numeric and min(ticks) > 0 and max(ticks) / min(ticks) > 20:
        ax.set_xscale("log")
    ax.set_xticks(list(ticks), list(ticks.values()))
    ax.minorticks_off()
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if header is not None:
        name = header.get("scenario", {}).get("name", "")
        ax.set_title(
            f"{name}: {y} vs {x}\n{header['reps']} replications per point, seed "
            f"{header['seed']}; band: 95 % CI",
            fontsize="medium",
        )
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")
    fig.tight_layout()
    data = save_figure(fig, fmt)
    plt.close(fig)
    return data


def _positions(records: Sequence[Mapping[str, Any]], x: str) -> tuple[dict[str, float], bool]:
    """Where each value of ``x`` (as typed) goes, and whether the axis is numeric.

    Numeric: every parsed value is a number, placed at itself. Otherwise categorical (e.g.
    ``checkpoint.policy``): 0, 1, 2, ... in grid order.
    """
    texts = list(dict.fromkeys(r["point"][x] for r in records))
    parsed = {r["point"][x]: lookup(r, x) for r in records}
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in parsed.values()):
        return {text: float(parsed[text]) for text in texts}, True
    return {text: float(i) for i, text in enumerate(texts)}, False


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else math.nan

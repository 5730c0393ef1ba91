"""Write ``bench/REPORT.md`` and its PNG plots (``bench/plots/``) from a ``run.py`` result file.

Plots (matplotlib, Agg backend): wall time against GPUs and against jobs (the two scaling
series), wall time against simulated days (the interval samples of every run, so runs cut off
at the time limit show how far they got), memory per configuration, and model SimPy events/s
against the raw-SimPy rate measured in the same run. Log-log plots carry a dashed line of
slope 1 through the smallest point: a series that bends above it grows faster than linearly.

If ``bench/NOTES.md`` exists it is appended verbatim (hand-written analysis of the profile).

Usage::

    uv run --extra bench python bench/report.py bench/results/latest.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from run import TARGETS as ISSUE_22_TARGETS  # the runner's table: for files that predate it

BENCH_DIR = Path(__file__).resolve().parent
DAY_S = 86400.0


# ----------------------------------------------------------------------------- numbers
def ok(c: dict[str, Any]) -> bool:
    """The configuration ran to its horizon."""
    return c.get("status") == "ok"


def wall_of(c: dict[str, Any]) -> float | None:
    """Best wall time, or the time limit (a lower bound) for a run that was cut off."""
    if ok(c):
        return float(c["wall_s"])
    if c.get("status") == "timeout":
        return float(c.get("reached_wall_s") or c.get("timeout_s") or math.nan)
    return None


def loglog_slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Least-squares slope of log y on log x (None with fewer than two points)."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    if sxx == 0:
        return None
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx


def extrapolate(c: dict[str, Any]) -> dict[str, float] | None:
    """For a cut-off run: power-law fit of wall vs simulated time over the later half of the
    samples, extended to the horizon. A rough guide, not a measurement."""
    trace = [t for t in c.get("trace", []) if t[0] > 0 and t[1] > 0]
    if len(trace) < 6:
        return None
    half = trace[len(trace) // 2 :]
    p = loglog_slope([t[1] for t in half], [t[0] for t in half])
    if p is None:
        return None
    wall, now = half[-1][0], half[-1][1]
    horizon = c["size"]["days"] * DAY_S
    return {"exponent": p, "estimated_wall_s": wall * (horizon / now) ** p}


def fmt(x: Any, spec: str = ",.3f") -> str:
    """Format a number, or a dash."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return format(x, spec)


# ----------------------------------------------------------------------------- plots
def _series(configs: dict[str, Any], series: str) -> list[dict[str, Any]]:
    return [c for c in configs.values() if c.get("series") == series and wall_of(c)]


def _linear_reference(ax: Any, xs: list[float], ys: list[float]) -> None:
    if not xs:
        return
    x0, y0 = xs[0], ys[0]
    x1 = max(xs)
    ax.plot([x0, x1], [y0, y0 * x1 / x0], "k--", lw=1, label="linear (slope 1)")


def plot_scaling(configs: dict[str, Any], series: str, key: str, label: str, path: Path) -> None:
    """Wall time against a size (GPUs or jobs), log-log; cut-off runs drawn as lower bounds."""
    rows = sorted(_series(configs, series), key=lambda c: c["size"][key])
    fig, ax = plt.subplots(figsize=(6, 4.2))
    done = [c for c in rows if ok(c)]
    cut = [c for c in rows if not ok(c)]
    xs = [c["size"][key] for c in done]
    ax.plot(xs, [c["wall_s"] for c in done], "o-", label="wall (best of k)")
    ax.plot(xs, [c["run_s"] for c in done], "s:", ms=4, label="run only")
    if cut:
        ax.plot(
            [c["size"][key] for c in cut],
            [wall_of(c) for c in cut],
            "^",
            color="C3",
            ms=9,
            label="cut off at time limit (lower bound)",
        )
    _linear_reference(ax, xs, [c["wall_s"] for c in done])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(label)
    ax.set_ylabel("wall time (s)")
    ax.set_title(f"Wall time vs {label.split(' (')[0]}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_days(configs: dict[str, Any], path: Path) -> None:
    """Wall time against simulated days, from each run's once-a-second samples."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ref_drawn = False
    for i, c in enumerate(configs.values()):
        trace = [t for t in c.get("trace", []) if t[0] > 0 and t[1] > 0]
        if len(trace) < 3:
            continue
        days = [t[1] / DAY_S for t in trace]
        walls = [t[0] for t in trace]
        style = "-" if ok(c) else "--"
        ax.plot(
            days, walls, style, color=f"C{i % 10}", label=c["name"] + ("" if ok(c) else " (cut)")
        )
        if not ref_drawn:
            ref_drawn = True
            ax.plot([], [], "k:", lw=1, label="slope 1 references")
        ax.plot([days[0], days[-1]], [walls[0], walls[0] * days[-1] / days[0]], "k:", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("simulated days")
    ax.set_ylabel("wall time so far (s)")
    ax.set_title("Wall time vs simulated days (first repetition, runs > 3 s)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_memory(configs: dict[str, Any], path: Path, targets_mb: dict[str, float]) -> None:
    """Peak RSS per configuration, with the interpreter's baseline and the targets (MiB, by
    the configuration they apply to)."""
    rows = [c for c in configs.values() if c.get("peak_rss_mb")]
    fig, ax = plt.subplots(figsize=(6.4, 0.35 * len(rows) + 1.5))
    names = [c["name"] + ("" if ok(c) else " (cut)") for c in rows]
    ax.barh(names, [c["peak_rss_mb"] for c in rows], color="C0", label="peak RSS")
    ax.barh(names, [c.get("rss_before_mb", 0) for c in rows], color="C7", label="after imports")
    for (name, mb), color in zip(targets_mb.items(), ("C3", "C1"), strict=False):
        ax.axvline(mb, color=color, ls="--", label=f"{name} target {mb:,.0f} MiB")
    ax.invert_yaxis()
    ax.set_xlabel("MiB")
    ax.set_title("Peak resident memory per configuration (fresh process each)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_rates(configs: dict[str, Any], path: Path, target_ratio: float) -> None:
    """Model SimPy events/s against the raw-SimPy rate from the same process."""
    rows = [c for c in configs.values() if c.get("simpy_events_per_s")]
    fig, ax = plt.subplots(figsize=(6.4, 0.35 * len(rows) + 1.5))
    names = [c["name"] + ("" if ok(c) else " (cut)") for c in rows]
    ax.barh(names, [c["simpy_events_per_s"] for c in rows], color="C0", label="model")
    raw = [c["raw_simpy_events_per_s"] for c in rows]
    ax.scatter(raw, names, marker="|", s=200, color="k", label="raw SimPy (same process)")
    ax.scatter(
        [r * target_ratio for r in raw],
        names,
        marker="|",
        s=200,
        color="C3",
        label=f"target ({target_ratio} x raw)",
    )
    ax.set_xscale("log")
    ax.set_xlim(left=1e3)
    ax.invert_yaxis()
    ax.set_xlabel("SimPy events processed per second of run time")
    ax.set_title("Engine throughput vs raw SimPy")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------- markdown
def raw_simpy_text(data: dict[str, Any], st: dict[str, Any]) -> str:
    """How the bare-SimPy reference of the engine ratio was measured, as the file shows it."""
    sliced = [c for c in data["configs"].values() if c.get("raw_simpy_events_per_s_slices")]
    if not sliced:  # result files before session 10: one measurement before the model
        return (
            f"Raw SimPy = one process yielding {st['raw_events']:,} bare `env.timeout` events, "
            f"best of {st['repeat']}, timed in the same process just before the model"
        )
    slices = len(sliced[0]["raw_simpy_events_per_s_slices"])
    return (
        f"Raw SimPy = bare `env.timeout` events yielded by one SimPy process, in the "
        f"configuration's own Python process: {st['raw_events']:,} in {slices // 2} slices just "
        f"before the model and as many just after it; the median of the {slices} slices' rates "
        f"is the reference"
    )


def machine_text(m: dict[str, Any]) -> str:
    """One paragraph on the machine."""
    load = m.get("load_average_at_start")
    load_text = f"; load average at start {load[0]:.2f}" if load else ""
    return (
        f"{m.get('cpu_model') or m.get('machine')} — {m.get('cpu_usable')} usable of "
        f"{m.get('cpu_count')} CPUs, {fmt(m.get('memory_gb'), '.1f')} GB RAM, "
        f"{m.get('platform')}; {m.get('python_implementation')} {m.get('python')}, "
        f"numpy {m.get('numpy')}, SimPy {m.get('simpy')}, clustersim {m.get('clustersim')}"
        f"{load_text}."
    )


def code_text(data: dict[str, Any]) -> list[str]:
    """Which product code was measured; a warning if the run mixed versions."""
    codes = sorted({c["code"] for c in data["configs"].values() if c.get("code")})
    start, end = data.get("code_at_start"), data.get("code_at_end")
    if not codes and not start:
        return []
    text = f"**Code:** product sources fingerprint `{start or codes[0]}`"
    if len(codes) > 1 or (end and end != start):
        text += (
            f" — **warning: the product changed during the run** (fingerprints "
            f"{', '.join(f'`{c}`' for c in codes)}; end `{end}`); rows are not all comparable."
        )
    return [text + ".", ""]


def targets_of(data: dict[str, Any]) -> dict[str, float]:
    """The targets a result file was run against, completed with issue 22's."""
    return {**ISSUE_22_TARGETS, **data.get("targets", {})}


def event_exponents(configs: dict[str, Any]) -> dict[str, tuple[float | None, float | None, int]]:
    """Per scaling series: log-log slopes of run time (wall, then CPU) on SimPy events, and
    the number of finished points. CPU time is the steadier one on a shared machine."""
    out: dict[str, tuple[float | None, float | None, int]] = {}
    for series in ("gpus", "jobs"):
        done = [c for c in _series(configs, series) if ok(c)]
        if done:
            events = [c["simpy_events"] for c in done]
            wall = loglog_slope(events, [c["run_s"] for c in done])
            cpu = None
            if all(c.get("run_cpu_s") for c in done):
                cpu = loglog_slope(events, [c["run_cpu_s"] for c in done])
            out[series] = (wall, cpu, len(done))
    return out


def _ab_entry(ab: dict[str, Any] | None, config: str) -> tuple[str, dict[str, Any]] | None:
    """The before/after entry of ``config`` in an ``ab.py`` file: full horizon first."""
    results = (ab or {}).get("results", {})
    if config in results:
        return config, results[config]
    partial = sorted(k for k in results if k.startswith(config + "@") and "/" not in k)
    return (partial[0], results[partial[0]]) if partial else None


def _ab_text(e: dict[str, Any]) -> str:
    horizon = f" ({e['days']:g} days)" if e.get("days") else ""
    return (
        f"{e['before_cpu_s']:.1f} s CPU → {e['after_cpu_s']:.1f} s CPU{horizon}, "
        f"×{e['speedup']:.2f} (same run, `ab.py`)"
    )


def targets_table(
    data: dict[str, Any],
    baseline: dict[str, Any] | None = None,
    ab: dict[str, Any] | None = None,
) -> list[str]:
    """Issue 22's targets, met or not, with the measured figure and the figure before.

    *before* is the same figure in ``baseline`` (an earlier ``run.py`` result file) where it
    has the configuration, or the same-run before/after CPU times of ``ab`` (``ab.py``).
    """
    cfg, tg = data["configs"], targets_of(data)
    base = (baseline or {}).get("configs", {})
    base_name = (baseline or {}).get("_path", "baseline")
    lines = ["| target | before | measured | met? |", "|---|---|---|---|"]

    def row(what: str, before: str, measured: str, met: bool | None) -> None:
        mark = "–" if met is None else ("yes" if met else "**no**")
        lines.append(f"| {what} | {before} | {measured} | {mark} |")

    def base_fig(name: str, key: str, spec: str, unit: str) -> str:
        c = base.get(name)
        if c and ok(c) and c.get(key) is not None:
            return f"{format(c[key], spec)}{unit} (`{base_name}`)"
        return "–"

    llama = cfg.get("llama3")
    if llama and ok(llama):
        row(
            f"`llama3` wall < {tg['llama3_wall_s']} s (earlier target)",
            base_fig("llama3", "wall_s", ".3f", " s"),
            f"{llama['wall_s']:.3f} s best of {llama['repeat']} "
            f"(first run {llama['wall_first_s']:.3f} s)",
            llama["wall_s"] < tg["llama3_wall_s"],
        )
    for name, wall_key, rss_key, rss_label in (
        ("fleet-350k-year", "fleet_350k_wall_s", "fleet_350k_rss_mb", "2 GB = 1,907 MiB"),
        ("year-131k", "year_131k_wall_s", "year_131k_rss_mb", None),
    ):
        c = cfg.get(name)
        entry = _ab_entry(ab, name)
        before_wall = base_fig(name, "wall_s", ".1f", " s wall")
        if before_wall == "–" and entry:
            before_wall = (
                f"{entry[1]['before_cpu_s']:.1f} s CPU"
                + (f" for {entry[1]['days']:g} days" if entry[1].get("days") else "")
                + " (`ab.py`)"
            )
        before_rss = base_fig(name, "peak_rss_mb", ",.0f", " MiB")
        if before_rss == "–" and entry:
            before_rss = (
                f"{entry[1]['before_peak_rss_mb']:,.0f} MiB"
                + (f" for {entry[1]['days']:g} days" if entry[1].get("days") else "")
                + " (`ab.py`)"
            )
        rss_text = rss_label or f"{tg[rss_key]:,.0f} MiB"
        if not c:
            row(f"`{name}` wall < {tg[wall_key]:.0f} s", before_wall, "not run", None)
            continue
        if ok(c):
            row(
                f"`{name}` wall < {tg[wall_key]:.0f} s",
                before_wall,
                f"{c['wall_s']:.1f} s wall ({fmt(c.get('run_cpu_s'), '.1f')} s CPU in run)",
                c["wall_s"] < tg[wall_key],
            )
        elif c.get("status") == "timeout":
            est = extrapolate(c)
            est_text = f"; extrapolated full run ≈ {est['estimated_wall_s']:,.0f} s" if est else ""
            row(
                f"`{name}` wall < {tg[wall_key]:.0f} s",
                before_wall,
                f"did not finish: day {c.get('reached_sim_days', 0):.1f} of "
                f"{c['size']['days']:g} after {c.get('reached_wall_s', 0):.0f} s{est_text}",
                False,
            )
        else:
            row(f"`{name}` wall < {tg[wall_key]:.0f} s", before_wall, "error", False)
        rss = c.get("peak_rss_mb")
        if rss:
            partial = "" if ok(c) else " (at the cut-off)"
            row(
                f"`{name}` peak RSS < {rss_text}",
                before_rss,
                f"{rss:,.0f} MiB{partial}",
                rss < tg[rss_key] if ok(c) else None,
            )
    contention = _ab_entry(ab, "meta24k-contention")
    if contention and contention[1].get("days") is None:
        e = contention[1]
        counted = (ab or {}).get("results", {}).get("meta24k-contention/instructions")
        instructions = (
            f"; ×{1 / counted['ratio']:.2f} in instructions (valgrind; the verdict reads CPU time)"
            if counted and counted.get("ratio")
            else ""
        )
        row(
            f"`meta24k-contention` time halved (×{tg['contention_speedup']:g} against the "
            "`--ab` file's before code)",
            f"{e['before_cpu_s']:.2f} s CPU ({e.get('before_commit') or 'before'})",
            _ab_text(contention[1]) + instructions,
            e["speedup"] >= tg["contention_speedup"],
        )
    else:
        row(
            "`meta24k-contention` time halved",
            "–",
            "no full-horizon same-run before/after in this report (`--ab`)",
            None,
        )
    for c in cfg.values():
        if not c.get("engine_ratio"):
            continue
        b = base.get(c["name"])
        row(
            f"engine ratio ≥ {tg['engine_ratio']}: `{c['name']}`",
            f"{b['engine_ratio']:.4f} (`{base_name}`)" if b and b.get("engine_ratio") else "–",
            f"{c['engine_ratio']:.4f}"
            + (f" (CPU time: {c['engine_ratio_cpu']:.4f})" if c.get("engine_ratio_cpu") else "")
            + ("" if ok(c) else " (cut off)"),
            c["engine_ratio"] >= tg["engine_ratio"],
        )
    base_exp = event_exponents(base) if base else {}
    for series, (wall_p, cpu_p, n) in event_exponents(cfg).items():
        b = base_exp.get(series)
        judged = cpu_p if cpu_p is not None else wall_p
        row(
            f"cost linear in events: run time ∝ SimPy events^p, p ≤ "
            f"{tg['event_exponent_max']:g} ({series} series; judged on CPU time)",
            f"p = {fmt(b[0], '.2f')} wall, {fmt(b[1], '.2f')} CPU (`{base_name}`)" if b else "–",
            f"p = {fmt(wall_p, '.2f')} wall, {fmt(cpu_p, '.2f')} CPU ({n} finished points)",
            None if judged is None else judged <= tg["event_exponent_max"],
        )
    return lines


def ab_table(ab: dict[str, Any]) -> list[str]:
    """Same-run before/after CPU seconds of ``.run()`` from an ``ab.py`` result file."""
    lines = [
        "| config | horizon | before CPU s | after CPU s | after ÷ before | speed-up "
        "| SimPy events before / after | model records before / after | pairs |",
        "|---|---|---:|---:|---:|---:|---|---|---:|",
    ]
    for e in ab.get("results", {}).values():
        if "before_cpu_s" not in e:
            continue  # an instruction count (instructions_table)
        same_ev = "identical" if e["before_events"] == e["after_events"] else "differ"
        horizon = f"{e['days']:g} d" if e.get("days") else "full"
        lines.append(
            f"| `{e['config']}` | {horizon} | "
            f"{e['before_cpu_s']:.2f} | {e['after_cpu_s']:.2f} | {e['ratio']:.3f} | "
            f"×{e['speedup']:.2f} | {e['before_events']:,} / {e['after_events']:,} ({same_ev}) | "
            f"{fmt(e.get('before_records'), ',d')} / {fmt(e.get('after_records'), ',d')} | "
            f"{e['repeat']} |"
        )
    return lines


def instructions_table(ab: dict[str, Any]) -> list[str]:
    """Same-run instructions of ``.run()`` (``ab.py --instructions``), if the file has any."""
    rows = [e for e in ab.get("results", {}).values() if "before_cpu_s" not in e]
    if not rows:
        return []
    lines = [
        "Instructions executed by `.run()` (`ab.py --instructions`: valgrind, a run to the "
        "horizon minus one to ~0 s; independent of the machine's load):",
        "",
        "| config | horizon | before | after | after ÷ before |",
        "|---|---|---:|---:|---:|",
    ]
    for e in rows:
        horizon = f"{e['days']:g} d" if e.get("days") else "full"
        lines.append(
            f"| `{e['config']}` | {horizon} | {e['before']['run']:,} | {e['after']['run']:,} "
            f"| {e['ratio']:.3f} |"
        )
    return [*lines, ""]


def results_table(configs: dict[str, Any]) -> list[str]:
    """Every configuration's size and measurements."""
    head = (
        "| config | GPUs | jobs | days | load | wall s (best) | run s | run CPU s | first s "
        "| model events | SimPy events | SimPy ev/s | raw ev/s | ratio | ratio (CPU) "
        "| peak RSS MiB | finished | queued at end |"
    )
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for c in configs.values():
        s = c.get("size", {})
        if ok(c):
            cells = [
                fmt(c["wall_s"]),
                fmt(c["run_s"]),
                fmt(c.get("run_cpu_s")),
                fmt(c["wall_first_s"]),
                fmt(c["model_events"], ",d"),
                fmt(c["simpy_events"], ",d"),
                fmt(c["simpy_events_per_s"], ",.0f"),
                fmt(c["raw_simpy_events_per_s"], ",.0f"),
                fmt(c["engine_ratio"], ".4f"),
                fmt(c.get("engine_ratio_cpu"), ".4f"),
                fmt(c["peak_rss_mb"], ",.0f"),
                fmt(c.get("jobs_finished"), ",d"),
                fmt(c.get("jobs_queued_at_end"), ",d"),
            ]
        elif c.get("status") == "timeout":
            cells = [
                f"> {fmt(c.get('reached_wall_s'), ',.0f')} (cut at day "
                f"{fmt(c.get('reached_sim_days'), '.1f')})",
                "–",
                fmt(c.get("reached_cpu_s"), ",.0f"),
                "–",
                fmt(c.get("reached_model_events"), ",d") + " so far",
                fmt(c.get("reached_simpy_events"), ",d") + " so far",
                fmt(c.get("simpy_events_per_s"), ",.0f"),
                fmt(c.get("raw_simpy_events_per_s"), ",.0f"),
                fmt(c.get("engine_ratio"), ".4f"),
                "–",
                fmt(c.get("peak_rss_mb"), ",.0f"),
                "–",
                "–",
            ]
        else:
            cells = ["error: " + str(c.get("error"))[:60]] + ["–"] * 12
        lines.append(
            f"| `{c['name']}` | {fmt(s.get('gpus'), ',d')} | {fmt(s.get('jobs'), ',d')} | "
            f"{fmt(s.get('days'), 'g')} | {fmt(s.get('offered_load'), '.2f')} | "
            + " | ".join(cells)
            + " |"
        )
    return lines


def scaling_text(configs: dict[str, Any]) -> list[str]:
    """Fitted log-log slopes of the scaling series and cost per event."""
    out = []
    for series, key, label in (("gpus", "gpus", "GPUs"), ("jobs", "jobs", "jobs")):
        done = sorted((c for c in _series(configs, series) if ok(c)), key=lambda c: c["size"][key])
        if not done:
            continue
        slope = loglog_slope([c["size"][key] for c in done], [c["run_s"] for c in done])
        ev_slope = loglog_slope([c["simpy_events"] for c in done], [c["run_s"] for c in done])
        per_event = ", ".join(
            f"{c['name']} {1e6 * c['run_s'] / c['simpy_events']:,.0f} µs"
            + (
                f" ({1e6 * c['run_cpu_s'] / c['simpy_events']:,.1f} µs CPU)"
                if c.get("run_cpu_s")
                else ""
            )
            for c in done
        )
        cut = [c["name"] for c in _series(configs, series) if not ok(c)]
        out.append(
            f"- **vs {label}** ({len(done)} finished points): run time ∝ {label}^"
            f"{fmt(slope, '.2f')}, ∝ SimPy events^{fmt(ev_slope, '.2f')} (1.00 would be linear). "
            f"Run time per SimPy event: {per_event}."
            + (f" Cut off at the time limit: {', '.join(cut)}." if cut else "")
        )
    for c in configs.values():
        if c.get("status") == "timeout":
            est = extrapolate(c)
            if est:
                out.append(
                    f"- `{c['name']}` was cut off at {c.get('reached_wall_s', 0):,.0f} s on "
                    f"simulated day {c.get('reached_sim_days', 0):.1f} of "
                    f"{c['size']['days']:g}; over the later half of its samples wall time grew "
                    f"as (simulated time)^{est['exponent']:.2f}, which extrapolates to ≈ "
                    f"{est['estimated_wall_s']:,.0f} s for the full horizon (rough)."
                )
    return out


def profile_tables(profiles: dict[str, Any]) -> list[str]:
    """Top functions by cumulative and by self time, per profiled configuration."""
    out: list[str] = []
    for name, prof in profiles.items():
        if "by_cumulative" not in prof:
            out.append(f"Profile of `{name}` failed: {prof.get('error')}")
            continue
        out += [
            f"### `{name}` under cProfile ({prof['profiled_wall_s']:.2f} s with profiling; "
            f"{prof['model_events']:,} model / {prof['simpy_events']:,} SimPy events)",
            "",
        ]
        for key, title in (("by_cumulative", "cumulative"), ("by_self", "self")):
            out += [
                f"Top {len(prof[key])} by {title} time:",
                "",
                "| function | calls | self s | cumulative s |",
                "|---|---:|---:|---:|",
            ]
            out += [
                f"| `{r['function']}` | {r['calls']} | "
                f"{r['tottime_s']:.3f} | {r['cumtime_s']:.3f} |"
                for r in prof[key]
            ]
            out.append("")
        out.append(
            "SimPy's `step` cumulative time counts nested calls more than once (recursion), "
            "so it can exceed the run's wall time."
        )
        out.append("")
    return out


def ab_section(ab: dict[str, Any] | None) -> list[str]:
    """The *Same-run before/after* section from an ``ab.py`` file (nothing without one)."""
    if not ab or not ab.get("results"):
        return []
    first = next((e for e in ab["results"].values() if "before_cpu_s" in e), {})
    return [
        "## Same-run before/after",
        "",
        f"`bench/ab.py`: each configuration alternately with the code at "
        f"`{first.get('before_root')}` (commit {first.get('before_commit')}) and at "
        f"`{first.get('after_root')}` (commit {first.get('after_commit')}), each run in a fresh "
        "process; best CPU seconds of `.run()` of each side. Both sides import "
        "`clustersim.scheduler` and `clustersim.faults` from the running venv's editable "
        "install (the after code; see `ab.py`).",
        "",
        *ab_table(ab),
        "",
        *instructions_table(ab),
    ]


def write_report(
    data: dict[str, Any],
    out: Path,
    plots: Path,
    notes: Path | None,
    baseline: dict[str, Any] | None = None,
    ab: dict[str, Any] | None = None,
) -> None:
    """Render plots and the markdown report (targets against ``baseline`` and ``ab``)."""
    plots.mkdir(parents=True, exist_ok=True)
    cfg = data["configs"]
    rel = plots.relative_to(out.parent) if plots.is_relative_to(out.parent) else plots
    figures: list[tuple[str, str]] = []
    if _series(cfg, "gpus"):
        plot_scaling(
            cfg, "gpus", "gpus", "GPUs (30 days, 1 job per GPU)", plots / "wall_vs_gpus.png"
        )
        figures.append(("Wall time vs GPUs", "wall_vs_gpus.png"))
    if _series(cfg, "jobs"):
        plot_scaling(
            cfg, "jobs", "jobs", "jobs (32k GPUs, 1,000 jobs/day)", plots / "wall_vs_jobs.png"
        )
        figures.append(("Wall time vs jobs", "wall_vs_jobs.png"))
    if any(len(c.get("trace", [])) >= 3 for c in cfg.values()):
        plot_days(cfg, plots / "wall_vs_days.png")
        figures.append(("Wall time vs simulated days", "wall_vs_days.png"))
    tg = targets_of(data)
    plot_memory(
        cfg,
        plots / "memory.png",
        {"year-131k": tg["year_131k_rss_mb"], "fleet-350k-year": tg["fleet_350k_rss_mb"]},
    )
    figures.append(("Peak memory", "memory.png"))
    plot_rates(cfg, plots / "events_per_s.png", tg["engine_ratio"])
    figures.append(("Events/s vs raw SimPy", "events_per_s.png"))

    st = data["settings"]
    source = data.get("_path", "latest.json")
    lines = [
        "# clustersim benchmark report",
        "",
        f"Generated by `bench/report.py` from a `bench/run.py` result file ({data.get('date')}).",
        "",
        f"**Machine:** {machine_text(data['machine'])}",
        "",
        *code_text(data),
        f"**Method:** every configuration runs in a fresh Python process; wall = "
        f"`Simulation(...)` + `.run()`, best of {st['repeat']} (runs longer than "
        f"{st.get('max_repeat_s', 60):.0f} s are not repeated); *run* = `.run()` alone; "
        f"*first* = the first repetition (cold caches). {raw_simpy_text(data, st)}; "
        f"ratio = model SimPy events/s ÷ raw SimPy events/s. Model events = records in the "
        f"event log; SimPy events = events SimPy processed. Peak RSS = `getrusage` max RSS "
        f"of the configuration's process. Runs are cut off after {st['timeout_s']:.0f} s; a "
        f"cut-off run reports how far it got.",
        "",
        "## Targets",
        "",
        *targets_table(data, baseline, ab),
        "",
        *ab_section(ab),
        "## Results",
        "",
        *results_table(cfg),
        "",
        "*load* = offered work ÷ cluster GPU-time over the horizon (before failure overheads).",
        "",
        "## Scaling",
        "",
        *scaling_text(cfg),
        "",
    ]
    for title, name in figures:
        lines += [f"![{title}]({rel.as_posix()}/{name})", ""]
    profiles = data.get("profiles") or {}
    if profiles:
        lines += ["## Profiles", "", *profile_tables(profiles)]
    if notes is not None and notes.exists():
        lines += [notes.read_text().rstrip(), ""]
    lines += [
        "## Reproduce",
        "",
        "```",
        "uv sync --extra bench",
        f"uv run python bench/run.py --all --repeat {st['repeat']} --timeout "
        f"{st['timeout_s']:.0f}"
        + "".join(f" --profile {name}" for name in profiles)
        + f" --out {source}",
        f"uv run --extra bench python bench/report.py bench/results/{source}"
        + (f" --baseline bench/results/{baseline['_path']}" if baseline else "")
        + (f" --ab bench/results/{ab['_path']}" if ab else ""),
        "```",
        "",
    ]
    out.write_text("\n".join(lines))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default=str(BENCH_DIR / "results" / "latest.json"))
    parser.add_argument("--out", default=str(BENCH_DIR / "REPORT.md"))
    parser.add_argument("--plots", default=str(BENCH_DIR / "plots"))
    parser.add_argument(
        "--notes", default=str(BENCH_DIR / "NOTES.md"), help="appended if it exists"
    )
    parser.add_argument(
        "--baseline",
        help="an earlier run.py result file: the targets table's *before* column",
    )
    parser.add_argument("--ab", help="an ab.py result file: same-run before/after CPU times")
    args = parser.parse_args(argv)
    data = json.loads(Path(args.results).read_text())
    data["_path"] = Path(args.results).name
    baseline = ab = None
    if args.baseline:
        baseline = json.loads(Path(args.baseline).read_text())
        baseline["_path"] = Path(args.baseline).name
    if args.ab:
        ab = json.loads(Path(args.ab).read_text())
        ab["_path"] = Path(args.ab).name
    out = Path(args.out).resolve()
    write_report(data, out, Path(args.plots).resolve(), Path(args.notes), baseline, ab)
    sys.stderr.write(f"wrote {out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Rendering results for people: rich tables for the terminal.

This and the CLI are the only modules that know about the terminal.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, TextIO

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.table import Table
from rich.text import Text

from clustersim.power.energy import aggregate_power

if TYPE_CHECKING:
    from clustersim.analysis.validate import CaseResult
    from clustersim.experiment import RunResult

__all__ = [
    "FEW_REPLICATIONS",
    "few_replications",
    "fmt_duration",
    "render_result",
    "render_validation",
    "table_width",
]

MAX_JOB_ROWS = 12
FEW_REPLICATIONS = 5
FILE_WIDTH = 200
"""Console width for tables written to a file or pipe when ``COLUMNS`` is not set."""
"""Below this many replications a table says its intervals are rough (t has few d.o.f.)."""


def fmt_duration(seconds: float | None) -> str:
    """Seconds as a compact human duration (``"54.0 d"``, ``"12.3 h"``, ``"5.4 min"``)."""
    if seconds is None:
        return "-"
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


def table_width(stdout: TextIO) -> int | None:
    """Width for a results console: the terminal's (or ``COLUMNS``); a file or pipe gets 200.

    ``None`` lets rich measure the terminal; a file without ``COLUMNS`` gets wide lines so
    that a table's cells are not wrapped for a width nobody will look at it in.
    """
    if "COLUMNS" in os.environ or stdout.isatty():
        return None
    return FILE_WIDTH


def few_replications(reps: int) -> str:
    """``"; only N replications: rough intervals"`` below :data:`FEW_REPLICATIONS`, else ``""``."""
    return f"; only {reps} replications: rough intervals" if 1 < reps < FEW_REPLICATIONS else ""


def _ci(summary: dict[str, Any], key: str, fmt: str) -> str:
    value = summary.get(key)
    if value is None:
        return "-"
    text = format(value, fmt)
    ci = summary.get(f"{key}_ci95")
    if ci:
        text += f"  [{format(ci[0], fmt)}, {format(ci[1], fmt)}]"
    return text


def render_result(result: RunResult) -> Group:
    """The summary, GPU-hours and per-cause tables of a run."""
    sc = result.scenario
    s = result.summary
    reps = s["replications"]
    title = f"clustersim · {sc.name} · seed {result.seed}" + (
        f" · {reps} replications (mean, 95 % CI{few_replications(reps)})" if reps > 1 else ""
    )
    rows: list[tuple[str, str]] = [
        (
            "jobs",
            f"{s['jobs_finished']:,.0f} finished of {s['jobs_submitted']:,.0f} "
            f"submitted ({s['jobs_started']:,.0f} started)",
        ),
        (
            "interruptions",
            _ci(s, "interruptions_total", ",.1f" if reps > 1 else ",.0f")
            + f"  ({s['interruptions_unexpected']:,.1f} unexpected, "
            f"{s['interruptions_planned']:,.1f} planned)".replace(".0 ", " ").replace(".0,", ","),
        ),
        ("ETTR", _ci(s, "ettr", ".4f")),
        ("goodput", _ci(s, "goodput", ".4f")),
        (
            "utilisation",
            f"{s['utilisation']:.4f} GPUs allocated, {s['utilisation_computing']:.4f} computing",
        ),
    ]
    held = s["gpus_held_per_requested"]
    if held > 1.0 + 1e-9:
        rows.append(
            (
                "GPUs held / asked",
                f"{held:.3f}  (sub-node jobs hold whole nodes; see cluster.sharing)",
            )
        )
    rows.append(("GPUs down (mean)", f"{s['mean_gpus_down']:,.1f}"))
    rows.append(
        (
            "energy wasted",
            _ci(s, "energy_wasted_mwh", ",.1f") + f" MWh  (${s['cost_wasted_usd']:,.0f})",
        )
    )
    if result.replications[0].power:
        rows.extend(_power_rows(result))
    width = max(len(label) for label, _ in rows)
    cluster = (
        f"{sc.cluster.n_gpus:,} GPUs ({sc.cluster.n_nodes:,} nodes, "
        f"{sc.cluster.spare_nodes} hot spares)"
    )
    # The simulated row is a grid of its own: the wall time's width must not change the
    # padding of the other rows (their bytes are the same for one seed, INV-9).
    top = _rows(width, [("cluster", cluster)], title)
    timing = _rows(width, [("simulated", fmt_duration(s["sim_time_s"]) + _speed(result))])
    head = _rows(width, rows)
    parts: list[Any] = [top, timing, head, _gpu_hours_table(result), _CauseTable(result)]
    if result.replications[0].periods:
        from clustersim.output.periods import periods_table

        parts.append(periods_table(result))
    jobs = result.replications[0].jobs
    if jobs:
        parts.append(_jobs_table(result))
    return Group(*parts)


def _rows(width: int, rows: list[tuple[str, str]], title: str | None = None) -> Table:
    """Label and value rows without borders, labels ``width`` wide, so stacked grids align."""
    table = Table(title=title, show_header=False, title_justify="left", box=None, padding=(0, 2))
    table.add_column(style="bold", width=width)
    table.add_column()
    for label, value in rows:
        table.add_row(label, value)
    return table


def _speed(result: RunResult) -> str:
    """`` in 0.21 s (9.51 M× real time, 28.7 k events/s)``: how long the run took.

    Wall time is the one part of the summary that differs between two runs of one seed.
    """
    stats = result.run
    if stats is None:
        return ""
    reps = len(result.replications)
    wall = f"{stats.wall_s:.2f} s" if stats.wall_s < 1 else fmt_duration(stats.wall_s)
    text = f" in {wall}"
    if stats.sim_s_per_wall_s is not None and stats.events_per_s is not None:
        text += f" ({_big(stats.sim_s_per_wall_s)}× real time, {_big(stats.events_per_s)} events/s)"
    return (f" × {reps} replications" if reps > 1 else "") + text


def _big(x: float) -> str:
    """``9.51 M``, ``28.7 k``, ``512``: three significant digits and an SI prefix."""
    for prefix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= scale:
            return f"{x / scale:.3g} {prefix}"
    return f"{x:.3g}"


def _power_rows(result: RunResult) -> list[tuple[str, str]]:
    """Mean and peak facility power, energy by state, and the swings (docs/power.md)."""
    p = aggregate_power([m.power for m in result.replications])
    by_state = "  ".join(
        f"{state} {mwh:,.0f}" for state, mwh in p["energy_mwh_by_state"].items() if mwh
    )
    sw = p["swings"]
    text = (
        f"{sw['count']:,} over {sw['threshold_mw']:g} MW within {sw['window_s']:g} s "
        f"({sw['per_day']:,.1f}/day; {sw['over_10mw']:,} over 10 MW)"
    )
    if sw["count"]:
        text += (
            f"; largest drop {sw['largest_drop_mw']:,.1f} MW, rise "
            f"+{sw['largest_rise_mw']:,.1f} MW; steepest {sw['max_ramp_mw_per_s']:,.1f} MW/s"
        )
    return [
        (
            "facility power",
            f"mean {p['mean_mw']:,.1f} MW, peak {p['peak_mw']:,.1f} MW  "
            f"({p['profile']}, PUE {p['pue']:g})",
        ),
        ("energy (MWh)", f"{p['energy_total_mwh']:,.0f}:  {by_state}"),
        *_cohort_rows(p.get("cohorts")),
        ("power swings", text + (" (replication 0)" if len(result.replications) > 1 else "")),
        *_facility_rows(p.get("facility")),
    ]


def _cohort_rows(cohorts: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Energy by cohort, each with its profile (only with ``fleet.cohorts[].power``)."""
    if not cohorts:
        return []
    text = "  ".join(
        f"{name} {row['energy_total_mwh']:,.0f} ({row['profile']})" for name, row in cohorts.items()
    )
    return [("by cohort (MWh)", text)]


def _facility_rows(f: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The cap's time and lost throughput, the ramps' and the floor's energy."""
    if not f:
        return []
    rows: list[tuple[str, str]] = []
    if "power_cap_mw" in f:
        lost = (
            f"{f['cap_held_gpu_hours']:,.0f} GPU-h held in the queue"
            if f["cap_policy"] == "hold"
            else f"{f['cap_slowdown_gpu_hours']:,.0f} GPU-h slowdown (GPUs down to"
            f" {f['lowest_gpu_w']:,.0f} W)"
        )
        rows.append(
            (
                f"power cap ({f['cap_policy']})",
                f"{f['power_cap_mw']:,.1f} MW: at the cap {f['time_at_cap_s'] / 3600:,.1f} h"
                f" ({f['time_at_cap_share']:.1%}), over it {f['time_over_cap_s']:,.0f} s;"
                f" lost {lost}",
            )
        )
    if "ramp_limit_mw_per_s" in f:
        rows.append(
            (
                "ramp limit",
                f"{f['ramp_limit_mw_per_s']:g} MW/s: {f['ramps']:,.0f} ramps,"
                f" {f['ramp_wait_s']:,.0f} s waited, filler {f['ramp_energy_mwh']:,.1f} MWh",
            )
        )
    if "stall_floor" in f:
        rows.append(
            (
                "stall floor",
                f"{f['stall_floor']:.0%} of computing watts during {f['floor_during']}:"
                f" {f['floor_energy_mwh']:,.1f} MWh",
            )
        )
    return rows


def _gpu_hours_table(result: RunResult) -> Table:
    gs = result.gpu_seconds
    rec = result.recovery_gpu_seconds
    total = gs["total"] or 1.0
    t = Table(title="GPU-hours (identity: the rows sum to total)", title_justify="left")
    t.add_column("category")
    t.add_column("GPU-h", justify="right")
    t.add_column("share", justify="right")
    rows = [
        ("useful compute", gs["useful"]),
        ("checkpoint stalls", gs["checkpoint"]),
        ("recovery", gs["recovery"]),
        ("  detection + requeue", rec["detect"]),
        ("  waiting for nodes", rec["wait"]),
        ("  init", rec["init"]),
        ("  checkpoint load", rec["load"]),
        ("redone work (lost)", gs["lost"]),
        ("slowdowns", gs["slowdown"]),
        ("idle", gs["idle"]),
        ("down (in repair)", gs["down"]),
        ("total", gs["total"]),
    ]
    for name, value in rows:
        style = "dim" if name.startswith("  ") else ("bold" if name == "total" else "")
        t.add_row(Text(name, style=style), f"{value / 3600:,.0f}", f"{value / total:.2%}")
    return t


class _CauseTable:
    """Renders :func:`_cause_table` at the width the console offers."""

    def __init__(self, result: RunResult) -> None:
        self.result = result

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield _cause_table(self.result, options.max_width)


def _cause_table(result: RunResult, console_width: int = 80) -> Table:
    """Table 5 of the Llama 3 paper, extended: hits, share, category and what each cost.

    Lost GPU-h per cause is redone work plus recovery; the total row equals the summary's
    interruptions and its redone + recovery GPU-hours (checkpoint stalls and slowdowns are
    not charged to a cause).
    """
    causes = result.causes
    cost = result.scenario.cost
    usd_per_gpu_h = cost.usd_per_gpu_hour
    t = Table(
        title="Interruptions by cause (GPU-h lost = redone work + recovery; mean recovery)",
        title_justify="left",
        show_footer=True,
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    total_hits = sum(c["interruptions"] for c in causes.values())
    total_lost = sum(c["lost_gpu_h"] for c in causes.values())
    total_mwh = sum(c["energy_wasted_mwh"] for c in causes.values())
    rows = sorted(causes.items(), key=lambda kv: (-kv[1]["interruptions"], kv[0]))
    cells = [
        (
            name,
            str(c.get("category", "")),
            f"{c['interruptions']:,.1f}".removesuffix(".0"),
            f"{c['share']:.1%}",
            f"{c['lost_gpu_h']:,.0f}",
            _short_duration(c["mean_recovery_s"]) if c["mean_recovery_s"] else "-",
            f"{c['energy_wasted_mwh']:,.1f}",
            f"{c['lost_gpu_h'] * usd_per_gpu_h:,.0f}",
        )
        for name, c in rows
    ]
    footer = (
        "total",
        "",
        f"{total_hits:,.1f}".removesuffix(".0"),
        "100%" if total_hits else "-",
        f"{total_lost:,.0f}",
        "",
        f"{total_mwh:,.1f}",
        f"{total_lost * usd_per_gpu_h:,.0f}",
    )
    headers = ("cause", "category", "hits", "%", "GPU-h", "recov", "MWh", "$")
    for i, header in enumerate(headers):
        width = max([len(header) if i > 1 else 0, len(footer[i])] + [len(r[i]) for r in cells])
        if i == 0:
            longest = max([len(footer[0])] + [len(r[0]) for r in cells])
            room = max(19, console_width - 61)  # the other columns need about 61 characters
            t.add_column(
                header,
                footer[i],
                no_wrap=True,
                min_width=10,
                max_width=min(longest, room),
                overflow="ellipsis",
            )
        elif i == 1:
            t.add_column(header, no_wrap=True, max_width=8, overflow="ellipsis", style="dim")
        else:
            t.add_column(header, footer[i], justify="right", no_wrap=True, min_width=width)
    for row in cells:
        t.add_row(*row)
    return t


def _short_duration(seconds: float) -> str:
    """``"45s"``, ``"5.5m"``, ``"2.1h"``, ``"3.0d"``: durations in at most five characters."""
    for unit, scale in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if seconds >= scale:
            return (
                f"{seconds / scale:.1f}{unit}"
                if seconds < 10 * scale
                else f"{seconds / scale:.0f}{unit}"
            )
    return f"{seconds:.0f}s"


def _jobs_table(result: RunResult) -> Table:
    jobs = sorted(result.replications[0].jobs, key=lambda j: (-j.gpus, j.id))
    shown = jobs[:MAX_JOB_ROWS]
    more = len(jobs) - len(shown)
    title = "Jobs (replication 0" + (f"; largest {len(shown)} of {len(jobs)})" if more else ")")
    t = Table(title=title, title_justify="left")
    for col in ("job", "GPUs", "work", "done", "ETTR", "hits", "ckpt every", "lost"):
        t.add_column(col, justify="left" if col == "job" else "right", no_wrap=True)
    for j in shown:
        t.add_row(
            j.name,
            f"{j.gpus:,}",
            fmt_duration(j.work_s),
            f"{j.progress_s / j.work_s:.1%}",
            f"{j.ettr:.4f}" if j.ettr is not None else "-",
            str(j.interruptions),
            fmt_duration(j.interval_s),
            fmt_duration(j.lost_work_s),
        )
    return t


def render_validation(results: list[CaseResult]) -> Group:
    """One table per validation case, then the verdict."""
    from clustersim.analysis.validate import fmt_estimate

    parts: list[Any] = []
    for case in results:
        inputs = ", ".join(f"{k}: {v}" for k, v in case.inputs.items())
        t = Table(title=f"{case.title}\n[dim]{case.name} · {inputs}[/dim]", title_justify="left")
        for col in ("quantity", "formula", "DES (95 % CI)", "MC (95 % CI)", "published", "status"):
            t.add_column(col, justify="left" if col in ("quantity", "status") else "right")
        for r in case.rows:
            style = {"PASS": "green", "FAIL": "bold red", "INFO": "cyan"}[r.status]
            quantity = r.quantity + (f"\n[dim]{r.note}[/dim]" if r.note else "")
            t.add_row(
                quantity,
                "" if r.formula is None else f"{r.formula:.4g}",
                fmt_estimate(r.des),
                fmt_estimate(r.mc),
                "" if r.published is None else f"{r.published:g}",
                Text(r.status, style=style),
            )
        parts.append(t)
    passed = sum(c.passed for c in results)
    verdict = "green" if passed == len(results) else "bold red"
    parts.append(Text(f"{passed} of {len(results)} cases passed", style=verdict))
    return Group(*parts)

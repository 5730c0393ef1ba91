"""Rendering a ``clustersim plan`` result: markdown (``--out``) and rich tables (stdout).

Both renderings come from the same list of titled tables built by :func:`tables`, so the
markdown in docs/planning.md and the terminal show the same numbers. Pure functions of the
result dict; nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clustersim.plan.knobs import KNOBS, format_value

__all__ = ["Section", "render", "sections", "to_markdown"]


@dataclass(slots=True)
class Section:
    """A heading, lines of prose, and an optional table (header row + body rows)."""

    title: str
    level: int = 3
    lines: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


def _f(x: Any, digits: int = 4) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _ci(des: dict[str, Any] | None) -> str:
    if not des:
        return "–"
    ci = des.get("ettr_ci95")
    if ci is None:
        return f"{des['ettr']:.4f}"
    return f"{des['ettr']:.4f} [{ci[0]:.4f}, {ci[1]:.4f}]"


def _settings(point: dict[str, Any]) -> str:
    """A point's knob settings, comma-separated (`` `knob` = value `` each)."""
    return ", ".join(f"`{k}` = {v}" for k, v in point["display"].items())


def _money(x: float | None) -> str:
    return "–" if x is None else f"${x:,.0f}"


def _mc(mc: dict[str, Any] | None) -> str:
    return "–" if not mc else f"{mc['ettr']:.4f}"


def _knob_cols(result: dict[str, Any]) -> list[str]:
    return sorted(result["cost_model"])


def _minutes(s: float | None) -> str:
    return "–" if s is None else f"{s / 60:.2f} min ({s:.0f} s)"


def sections(result: dict[str, Any]) -> list[Section]:
    """The report as sections, in order."""
    target = result["target"]["value"]
    knobs = _knob_cols(result)
    out = [
        Section(
            f"Plan for {result['scenario']}: ETTR >= {target:g}",
            level=2,
            lines=[
                f"Seed {result['seed']}; DES budget {result['budget']} replications, "
                f"{result['reps_per_point']} per point, {result['des_replications']} used; "
                f"Monte Carlo {result['mc_replications_per_point']} replications per point. "
                f"A configuration meets the target when its {result['meets_rule']}.",
                "Cost model (US dollars per 30-day month): "
                + "; ".join(
                    f"`{k}` {v['kind']}, ${v['usd_per_unit_month']:,.0f} per {v['unit']}"
                    for k, v in sorted(result["cost_model"].items())
                ),
            ],
        )
    ]
    if len(result["scales"]) > 1:
        out.append(_scales_table(result))
    for s in result["scales"]:
        out.extend(_scale_sections(s, knobs, target))
    return out


def _scales_table(result: dict[str, Any]) -> Section:
    sec = Section(
        "Across scales",
        header=[
            "GPUs",
            "status",
            "recommended",
            "DES ETTR",
            "exact optimum interval",
            "rate multiplier needed (fast / DES)",
        ],
    )
    for s in result["scales"]:
        rec = s["recommendation"]
        rate = s["rate_reduction"]
        sec.rows.append(
            [
                f"{s['gpus']:,}",
                s["status"],
                ", ".join(f"{k.split('.')[-1]} {v}" for k, v in rec["display"].items())
                if rec
                else "–",
                _ci(rec["des"]) if rec else "–",
                _minutes(s["interval"]["exact_s"]),
                "–"
                if rate is None
                else f"x{_f(rate['multiplier_fast'], 3)} / x{_f(rate['multiplier_des'], 3)}",
            ]
        )
    return sec


def _scale_sections(s: dict[str, Any], knobs: list[str], target: float) -> list[Section]:
    b = s["base"]
    head = Section(
        f"{s['scenario']}: {s['gpus']:,} GPUs ({s['job_nodes']:,} of {s['cluster_nodes']:,} "
        f"nodes, {s['spare_nodes']} spares)",
        lines=[
            f"Status: **{s['status']}**. Fast path: {s['fast_path']}"
            + (f" (MC refused: {s['mc_refused']})" if s["mc_refused"] else "")
            + ".",
            f"As given: job MTBF {b['mtbf_s'] / 3600:.3f} h, "
            f"checkpoint stall {b['stall_s']:.2f} s, "
            f"mean restart {b['restart_s']:.0f} s, {b['policy']} interval "
            f"{b['interval_s']:.0f} s; exact-model ETTR {_f(b['analytic_ettr'])}, "
            f"MC {_mc(b['mc'])}, DES {_ci(b['des'])}"
            + (
                f" (waiting for replacements {b['des']['wait_gpu_hours_per_day']:,.1f} GPU-h/day)."
                if b["des"]
                else "."
            ),
        ],
    )
    rec = s["recommendation"]
    if rec is not None:
        head.lines.append(
            "Recommendation (cheapest DES-confirmed): "
            + _settings(rec)
            + f" -> DES ETTR {_ci(rec['des'])}, {_money(rec['cost_usd_month'])} per month."
        )
    fp = s["formula_pick"]
    if fp is not None:
        head.lines.append(
            "The exact formula's cheapest pick: "
            + _settings(fp)
            + f" (formula ETTR {_f(fp['analytic_ettr'])})."
        )
    else:
        head.lines.append(
            f"The exact formula says no setting in the knobs' ranges reaches {target:g}; its best "
            f"is {_f(s['best_fast']['analytic_ettr'])}."
        )
    table = Section(
        "Configurations confirmed with the DES (Pareto: no other is cheaper and better)",
        level=4,
        header=[
            *(k.split(".")[-1] for k in knobs),
            "$/month",
            "formula",
            "MC",
            "DES ETTR [95 % CI]",
            "DES − formula",
            "GPU-h lost/day",
            "MWh wasted/month",
            "$ wasted/month",
            "wait GPU-h/day",
            "meets",
            "Pareto",
        ],
    )
    for r in s["des_points"]:
        d = r["des"]
        table.rows.append(
            [
                *(r["display"].get(k, "–") for k in knobs),
                _money(r["cost_usd_month"]),
                _f(r["analytic_ettr"]),
                _mc(r["mc"]),
                _ci(d),
                f"{r['gap_des_minus_formula']:+.4f}",
                f"{d['gpu_hours_lost_per_day']:,.0f}",
                f"{d['mwh_wasted_per_month']:,.1f}",
                _money(d["usd_wasted_per_month"]),
                f"{d['wait_gpu_hours_per_day']:,.1f}",
                "yes" if r["meets"] else "no",
                "*" if r["pareto"] else "",
            ]
        )
    iv = s["interval"]
    interval = Section(
        "Checkpoint interval",
        level=4,
        header=["recommended", "exact optimum (Lambert W)", "Young", "Daly", "recommended / exact"],
        rows=[
            [
                _minutes(iv["recommended_s"]),
                _minutes(iv["exact_s"]),
                _minutes(iv["young_s"]),
                _minutes(iv["daly_s"]),
                _f(iv["ratio_to_exact"], 3),
            ]
        ],
        lines=[
            f"At stall C = {iv['stall_s']:.2f} s, job MTBF M = {iv['mtbf_s'] / 3600:.3f} h and "
            f"mean restart R = {iv['restart_s']:.0f} s the recommended interval gives ETTR "
            f"{_f(iv['exact_ettr'])} on the exact model, {_f(iv['first_order_ettr'])} on the "
            "first-order waste model (the hand calculation, same maintenance derating); "
            + (
                f"the grid's resolution is a factor {iv['grid_ratio']:.3f}."
                if iv["from_grid"]
                else "the interval is the scenario's policy (not a knob)."
            )
        ],
    )
    sens = Section(
        "Sensitivity around the recommendation (ETTR per unit; value at the job's GPU-hours)",
        level=4,
        header=[
            "knob",
            "from",
            "to",
            "ΔETTR formula",
            "ΔETTR DES, paired [95 % CI]",
            "ΔETTR per unit (formula)",
            "Δcost $/month",
            "value $/month",
            "value / cost",
        ],
    )
    for r in s["sensitivity"]:
        unit, knob = r["display_unit"], KNOBS[r["knob"]]
        ci = r["des_delta_ci95"]
        des = (
            "–"
            if r["des_delta_ettr"] is None
            else f"{r['des_delta_ettr']:+.4f}"
            + ("" if ci is None else f" [{ci[0]:+.4f}, {ci[1]:+.4f}]")
        )
        sens.rows.append(
            [
                r["knob"],
                format_value(knob, r["from"]),
                format_value(knob, r["to"]),
                "–" if r["delta_ettr"] is None else f"{r['delta_ettr']:+.4f}",
                des,
                "–" if r["ettr_per_unit"] is None else f"{r['ettr_per_unit']:+.5f} per {unit}",
                _money(r["cost_usd_month"]),
                _money(r["value_usd_month"]),
                _f(r["payback"], 2),
            ]
        )
    out = [head, table, interval, sens]
    rate = s["rate_reduction"]
    if rate is not None:
        rs = Section(
            "Failure-rate reduction needed",
            level=4,
            lines=[
                "At "
                + _settings(rate)
                + f": every unplanned failure rate x{_f(rate['multiplier_analytic'], 3)} "
                f"(exact formula), x{_f(rate['multiplier_mc'], 3)} (Monte Carlo) reaches "
                f"{target:g}; DES-confirmed: "
                + (
                    f"x{rate['multiplier_des']:.3f}."
                    if rate["multiplier_des"]
                    else "not within the budget."
                )
            ],
            header=["rate multiplier", "DES ETTR [95 % CI]", "GPU-h lost/day", "meets"],
            rows=[
                [
                    f"x{p['multiplier']:.3f}",
                    _ci(p["des"]),
                    f"{p['des']['gpu_hours_lost_per_day']:,.0f}",
                    "yes" if p["meets"] else "no",
                ]
                for p in rate["des"]
            ],
        )
        out.append(rs)
    screen = Section(
        "Fast-path screen (cheapest that meet the target on the fast path, then the closest)",
        level=4,
        header=[
            *(k.split(".")[-1] for k in knobs if k != "cluster.spare_nodes"),
            "$/month (no spares)",
            "formula",
            "MC",
        ],
        rows=[
            [
                *(r["display"].get(k, "–") for k in knobs if k != "cluster.spare_nodes"),
                _money(r["cost_usd_month"]),
                _f(r["analytic_ettr"]),
                _mc(r["mc"]),
            ]
            for r in s["screen"]
        ],
    )
    out.append(screen)
    return out


def to_markdown(result: dict[str, Any]) -> str:
    """The report as markdown (``clustersim plan --out plan.md``)."""
    parts: list[str] = []
    for sec in sections(result):
        parts.append(f"{'#' * sec.level} {sec.title}\n")
        for line in sec.lines:
            parts.append(f"{line}\n")
        if sec.header:
            parts.append("| " + " | ".join(sec.header) + " |")
            parts.append("|" + "---|" * len(sec.header))
            for row in sec.rows:
                parts.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
            parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def render(result: dict[str, Any]) -> Any:
    """The report as a rich renderable (headings, prose and tables)."""
    from rich.console import Group
    from rich.markdown import Markdown
    from rich.table import Table

    items: list[Any] = []
    for sec in sections(result):
        items.append(Markdown(f"{'#' * sec.level} {sec.title}"))
        for line in sec.lines:
            items.append(Markdown(line))
        if sec.header:
            table = Table(show_lines=False)
            for head in sec.header:  # fit the console: wrap at spaces, fold what cannot wrap
                table.add_column(head, overflow="fold")
            for row in sec.rows:
                table.add_row(*row)
            items.append(table)
    return Group(*items)

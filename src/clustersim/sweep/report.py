"""The table of a sweep for people: one row per point, mean ± 95 % CI and paired differences.

Owns how a sweep's records look on a terminal (``clustersim sweep`` and
:class:`~clustersim.sweep.result.SweepResult` in a console or notebook): a rich table, built,
never printed here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.table import Table

from clustersim.output.terminal import few_replications

__all__ = ["delta", "pm", "sweep_table"]


def sweep_table(
    name: str,
    grid: Mapping[str, Sequence[str]],
    reps: int,
    seed: int,
    records: Sequence[Mapping[str, Any]],
    diffs: Sequence[Mapping[str, Any]],
) -> Table:
    """One row per point: its knobs, mean ± 95 % CI of the headline metrics, Δ ETTR paired."""
    table = Table(
        title=f"clustersim sweep · {name} · {len(records)} points × {reps} replications · "
        f"seed {seed} (mean ± 95 % CI{few_replications(reps)}; Δ paired vs the baseline)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for key in grid:
        table.add_column(key, overflow="fold")
    for column in ("ETTR", "Δ ETTR", "goodput", "interruptions", "GPU-h wasted"):
        # "0.6741 ± 0.1959" wraps after the mean at a narrow width rather than losing the ±
        table.add_column(column, justify="right", overflow="fold")
    for rec, diff in zip(records, diffs, strict=True):
        s = rec["summary"]
        table.add_row(
            *[rec["point"][key] for key in grid],
            pm(s.get("ettr"), s.get("ettr_ci95"), ".4f"),
            delta(diff["ettr"], rec["point"] == diff["vs"]),
            pm(s.get("goodput"), s.get("goodput_ci95"), ".4f"),
            pm(s.get("interruptions_total"), s.get("interruptions_total_ci95"), ".1f"),
            pm(s.get("gpu_hours_wasted"), s.get("gpu_hours_wasted_ci95"), ",.0f"),
        )
    return table


def pm(mean: float | None, ci: Sequence[float] | None, fmt: str) -> str:
    """``mean ± half-width`` (``+up −down`` when the interval is asymmetric), ``-`` if none."""
    if mean is None:
        return "-"
    if not ci:
        return format(mean, fmt)
    up, down = ci[1] - mean, mean - ci[0]
    plain = fmt.lstrip("+")
    if abs(up - down) > 0.05 * max(up, down):  # a range-respecting interval is asymmetric
        return f"{format(mean, fmt)} +{format(up, plain)} −{format(down, plain)}"
    return f"{format(mean, fmt)} ± {format((ci[1] - ci[0]) / 2, plain)}"


def delta(diff: Mapping[str, Any] | None, is_baseline: bool) -> str:
    """A paired difference as :func:`pm` shows it, or ``baseline`` for the reference point."""
    if is_baseline:
        return "baseline"
    if diff is None or diff["mean"] is None:
        return "-"
    return pm(diff["mean"], diff["ci95"], "+.4f")

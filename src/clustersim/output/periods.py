"""The per-period table and figure of a long run (``run.period``; docs/ageing.md).

Owns how the ``periods`` rows of replication 0 look in the terminal (one compact rich table:
failure rate per 1,000 node-days in total and per cohort, interruptions, GPUs in repair,
goodput, ETTR and nodes quarantined; with fleet changes also GPUs in service, energy and
nodes replaced) and as a figure (``--plot``, matplotlib optional; docs/fleet.md).
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

from clustersim.experiment import RunResult
from clustersim.output.plots import PlotUnavailable, save_figure

__all__ = ["periods_png", "periods_table"]

DAY_S = 86400.0


def periods_table(result: RunResult) -> Table:
    """One row per period: failure rates (total and by cohort), repairs, goodput, ETTR."""
    rows: list[dict[str, Any]] = result.replications[0].periods
    cohorts = list(rows[0]["by_cohort"]) if rows else []
    table = Table(
        title="per period (replication 0): failures per 1,000 node-days (all, by cohort);"
        " hits = job interruptions; in repair = mean GPUs; quar. = nodes quarantined so far",
        title_justify="left",
        box=None,
        padding=(0, 1),
    )
    table.add_column("day", justify="right")
    table.add_column("all", justify="right")
    if len(cohorts) > 1:
        for name in cohorts:
            table.add_column(name, justify="right")
    changes = bool(rows) and "gpus_in_service" in rows[0]
    labels = ["hits", "in repair", "goodput", "ETTR", "quar."]
    if changes:
        labels += ["in service", "MWh", "replaced"]
    for label in labels:
        table.add_column(label, justify="right")
    for row in rows:
        cells = [f"{row['start_s'] / DAY_S:,.0f}", f"{row['failures_per_1000_node_days']:.2f}"]
        if len(cohorts) > 1:
            cells += [f"{row['by_cohort'][name]:.2f}" for name in cohorts]
        ettr = row["ettr"]
        cells += [
            f"{row['interruptions']:,}",
            f"{row['gpus_in_repair']:,.1f}",
            f"{row['goodput']:.4f}",
            "-" if ettr is None else f"{ettr:.4f}",
            f"{row['quarantined_total']:,}",
        ]
        if changes:
            cells += [
                f"{row['gpus_in_service']:,.0f}",
                f"{row['energy_mwh']:,.0f}",
                f"{row['replaced']:,}",
            ]
        table.add_row(*cells)
    return table


def periods_png(result: RunResult, fmt: str = "png") -> bytes:
    """Failure rate per period (total and by cohort), GPUs in repair and goodput.

    With fleet changes, a fourth panel: GPUs in service and energy per period.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise PlotUnavailable("plots need matplotlib: pip install 'clustersim[plot]'") from None
    rows = result.replications[0].periods
    # One step per period, closed by the last period's end.
    days = [r["start_s"] / DAY_S for r in rows] + [(rows[-1]["start_s"] / DAY_S) + rows[-1]["days"]]
    rows = [*rows, rows[-1]]
    changes = "gpus_in_service" in rows[0]
    n_panels = 4 if changes else 3
    fig, axes = plt.subplots(n_panels, 1, figsize=(9, 2.7 * n_panels), sharex=True)
    ax_rate, ax_repair, ax_good = axes[:3]
    ax_rate.step(
        days,
        [r["failures_per_1000_node_days"] for r in rows],
        where="post",
        label="all",
        color="black",
    )
    for name in rows[0]["by_cohort"] if len(rows[0]["by_cohort"]) > 1 else []:
        ax_rate.step(days, [r["by_cohort"][name] for r in rows], where="post", label=name)
    ax_rate.set_ylabel("failures / 1,000 node-days")
    ax_rate.legend(loc="upper left", fontsize="small", ncols=4)
    ax_rate.set_title(f"{result.scenario.name}: per period (seed {result.seed}, replication 0)")
    ax_repair.step(days, [r["gpus_in_repair"] for r in rows], where="post", color="tab:red")
    ax_repair.set_ylabel("GPUs in repair (mean)")
    ax_quar = ax_repair.twinx()
    ax_quar.step(days, [r["quarantined_total"] for r in rows], where="post", color="tab:gray")
    ax_quar.set_ylabel("nodes quarantined (so far)", color="tab:gray")
    ax_good.step(days, [r["goodput"] for r in rows], where="post", label="goodput")
    ax_good.step(days, [r["ettr"] or 0.0 for r in rows], where="post", label="ETTR")
    ax_good.set_ylabel("fraction")
    ax_good.legend(loc="lower left", fontsize="small")
    if changes:
        ax_fleet = axes[3]
        ax_fleet.step(days, [r["gpus_in_service"] for r in rows], where="post", color="tab:green")
        ax_fleet.set_ylabel("GPUs in service (mean)", color="tab:green")
        ax_mwh = ax_fleet.twinx()
        ax_mwh.step(days, [r["energy_mwh"] for r in rows], where="post", color="tab:orange")
        ax_mwh.set_ylabel("MWh per period", color="tab:orange")
    axes[-1].set_xlabel("simulated days (period start)")
    fig.tight_layout()
    data = save_figure(fig, fmt)
    plt.close(fig)
    return data

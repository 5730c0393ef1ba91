"""The per-period table and figure of a long run (``run.period``; docs/ageing.md).

Owns how the ``periods`` rows of replication 0 look in the terminal (one compact rich table:
failure rate per 1,000 node-days in total and per cohort, interruptions, GPUs in repair,
goodput, ETTR and nodes quarantined) and as a figure (``--plot``, matplotlib optional).
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
    for label in ("hits", "in repair", "goodput", "ETTR", "quar."):
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
        table.add_row(*cells)
    return table


def periods_png(result: RunResult, fmt: str = "png") -> bytes:
    """Failure rate per period (total and by cohort), GPUs in repair and goodput."""
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
    fig, (ax_rate, ax_repair, ax_good) = plt.subplots(3, 1, figsize=(9, 8), sharex=True)
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
    ax_good.step(days, [r["goodput"] for r in rows], where="post", label="goodput")
    ax_good.step(days, [r["ettr"] or 0.0 for r in rows], where="post", label="ETTR")
    ax_good.set_ylabel("fraction")
    ax_good.set_xlabel("simulated days (period start)")
    ax_good.legend(loc="lower left", fontsize="small")
    fig.tight_layout()
    data = save_figure(fig, fmt)
    plt.close(fig)
    return data

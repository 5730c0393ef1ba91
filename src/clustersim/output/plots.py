"""PNG figures of a run (matplotlib, an optional extra: ``pip install 'clustersim[plot]'``).

Owns the drawing only; the data come from :class:`~clustersim.experiment.RunResult` and the
caller writes the bytes.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clustersim.config import UsageError

if TYPE_CHECKING:
    from clustersim.experiment import RunResult

__all__ = ["FIGURE_FORMATS", "PlotUnavailable", "figure_format", "save_figure", "timeseries_png"]

FIGURE_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
"""Figure file types by suffix; a plot is written in the format its name says."""
_NO_DATES = {"png": {"Software": None}, "svg": {"Date": None}, "pdf": {"CreationDate": None}}

_LAYERS = (
    ("gpus_allocated", "allocated", "#4C72B0"),
    ("gpus_free", "free", "#DDDDDD"),
    ("gpus_spare", "hot spare", "#55A868"),
    ("gpus_in_repair", "in repair", "#C44E52"),
    ("gpus_maintenance", "maintenance", "#DD8452"),
    ("gpus_quarantined", "quarantined", "#8172B3"),
)


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed."""


def figure_format(path: Path) -> str:
    """The figure format of ``path`` from its suffix (png, svg, pdf).

    Raises:
        UsageError: any other suffix (so ``x.svg`` never holds PNG bytes).
    """
    fmt = FIGURE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(
            f"{path}: unsupported figure type {path.suffix or '(none)'!r}; use .png, .svg or .pdf"
        )
    return fmt


def save_figure(fig: Any, fmt: str = "png", dpi: int = 110) -> bytes:
    """``fig`` as bytes in ``fmt``, without a creation date (same run, same bytes)."""
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi, metadata=_NO_DATES[fmt])
    return buf.getvalue()


def _power_panel(ax: Any, days: list[float], power: dict[str, Any]) -> None:
    """Facility MW: each bin's mean and range, the exact series' peak, the facility's cap."""
    ax.fill_between(
        days,
        power["power_mw_min"],
        power["power_mw_max"],
        step="post",
        color="#C44E52",
        alpha=0.25,
        linewidth=0,
        label="range within bin",
    )
    ax.step(days, power["power_mw"], where="post", color="#C44E52", label="mean over bin")
    ax.axhline(power["peak_mw"], color="#C44E52", linestyle=":", linewidth=1, label="peak")
    cap = power.get("facility", {}).get("power_cap_mw")
    if cap is not None:
        ax.axhline(cap, color="black", linestyle="--", linewidth=1, label=f"cap {cap:g} MW")
    ax.set_ylabel("facility MW")
    ax.set_ylim(bottom=0)
    sw = power["swings"]
    ax.legend(
        loc="lower left",
        fontsize="small",
        ncols=3,
        title=f"{sw['count']:,} swings > {sw['threshold_mw']:g} MW in {sw['window_s']:g} s; "
        f"largest {sw['largest_drop_mw']:,.1f} / +{sw['largest_rise_mw']:,.1f} MW",
        title_fontsize="small",
    )


def _network_panel(ax: Any, network: dict[str, Any]) -> None:
    """Mean utilisation of the pods' uplinks into the aggregation layer (exact steps)."""
    days = [t / 86400 for t in network.get("t_s", [])]
    ax.fill_between(
        days,
        network.get("utilisation_min", []),
        network.get("utilisation_max", []),
        step="post",
        color="#4C72B0",
        alpha=0.25,
        label="range in bin",
    )
    ax.step(days, network.get("utilisation", []), where="post", color="#4C72B0", label="mean")
    ax.legend(loc="upper right", fontsize="small")
    ax.set_ylabel("agg. uplink\nutilisation")
    ax.set_ylim(0, 1.05)


def timeseries_png(result: RunResult, fmt: str = "png") -> bytes:
    """A stacked area chart of GPUs by state over time (replication 0) as ``fmt`` bytes.

    Each point is the mean over one of the run's 500 time bins, so short windows (a 10-minute
    maintenance) show as their share of the bin. With a ``power`` section a top panel shows
    facility MW (bin means, and the exact series' peak).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise PlotUnavailable("plots need matplotlib: pip install 'clustersim[plot]'") from None
    series = result.replications[0].timeseries
    days = [t / 86400 for t in series["t_s"]]
    power = result.replications[0].power
    network = result.replications[0].network
    top = [panel for panel, on in (("power", power), ("network", network)) if on]
    fig, axes = plt.subplots(
        len(top) + 2,
        1,
        figsize=(9, 6 + 2 * len(top)),
        sharex=True,
        gridspec_kw={"height_ratios": [1.2] * len(top) + [2, 1]},
    )
    ax, ax_down = axes[-2], axes[-1]
    if power:
        _power_panel(axes[0], days, power)
    if network:
        _network_panel(axes[len(top) - 1], network)
    ax.stackplot(
        days,
        *[series[key] for key, _, _ in _LAYERS],
        labels=[label for _, label, _ in _LAYERS],
        colors=[color for _, _, color in _LAYERS],
        step="post",
    )
    ax.set_ylabel("GPUs")
    axes[0].set_title(
        f"{result.scenario.name}: GPUs by state (seed {result.seed}, replication 0)"
        if not power
        else f"{result.scenario.name}: facility power and GPUs by state "
        f"(seed {result.seed}, replication 0)"
    )
    ax.legend(loc="lower left", fontsize="small", ncols=3)
    for key, label, color in _LAYERS[2:]:
        ax_down.step(days, series[key], where="post", label=label, color=color)
    ax_down.set_yscale("symlog", linthresh=max(8.0, result.scenario.cluster.gpus_per_node))
    ax_down.set_ylabel("GPUs (symlog)")
    ax_down.set_xlabel("simulated days")
    ax_down.legend(loc="upper left", fontsize="small", ncols=4)
    fig.tight_layout()
    data = save_figure(fig, fmt)
    plt.close(fig)
    return data

"""The network's metrics: its share of the slowdown term by cause, and the utilisation series.

Pure functions over what the network component integrated (:class:`NetworkStats`), called by
:func:`clustersim.metrics.measure` when ``network.model`` is on (docs/network.md#metrics).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from clustersim.power.steps import StepFunction

__all__ = [
    "NetworkStats",
    "charge_slowdown",
    "network_summary",
    "residual",
    "utilisation_section",
]


class NetworkStats(Protocol):
    """What :func:`measure` reads of the network component (docs/network.md)."""

    lost_gpu_s: dict[str, float]
    utilisation_s: float
    utilisation_series: tuple[list[float], list[float]]

    def mean_share(self, job_id: int) -> float | None: ...  # noqa: D102


def utilisation_section(net: NetworkStats, bin_starts: list[float], end: float) -> dict[str, Any]:
    """The aggregation layer's utilisation step function, binned exactly like the power's.

    Each bin of the recorder's grid gets the exact time average and the lowest and highest
    level held in it; the peak and the number of steps come from the exact series.
    """
    times, values = net.utilisation_series
    steps = StepFunction(np.asarray(times, dtype=np.float64), np.asarray(values), end)
    peak, peak_t = steps.peak()
    out: dict[str, Any] = {"steps": len(times), "peak": peak, "peak_t_s": peak_t}
    if bin_starts and end > 0:
        edges = np.asarray([*bin_starts, end], dtype=np.float64)
        low, high = steps.bin_extremes(edges)
        out["t_s"] = list(bin_starts)
        out["utilisation"] = steps.bin_means(edges).tolist()
        out["utilisation_min"] = low.tolist()
        out["utilisation_max"] = high.tolist()
    return out


def residual(whole: float, attributed: float) -> float:
    """``whole − attributed``, 0 where they differ by rounding only (never −2e-10 GPU-h)."""
    rest = whole - attributed
    return 0.0 if abs(rest) <= 1e-9 * max(abs(whole), abs(attributed)) else rest


def charge_slowdown(
    summary: dict[str, Any],
    causes: dict[str, dict[str, Any]],
    cause: str,
    category: str,
    gpu_h: float,
    usd_per_gpu_hour: float,
    mwh: float | None = None,
) -> None:
    """Charge ``gpu_h`` GPU-hours of slowdown to ``cause`` (a new unplanned row if needed).

    Its ``slowdown_gpu_h``; its ``lost_gpu_h`` and ``cost_wasted_usd`` grow by it, and its
    ``energy_wasted_mwh`` by ``mwh`` when given; ``lost_gpu_hours_by_cause`` follows.
    """
    template = {**dict.fromkeys(next(iter(causes.values()), {}), 0.0), "interruptions": 0}
    row = causes.setdefault(cause, {**template, "category": category, "planned": False})
    row["slowdown_gpu_h"] = gpu_h
    row["lost_gpu_h"] = row.get("lost_gpu_h", 0.0) + gpu_h
    if mwh is not None:
        row["energy_wasted_mwh"] = row.get("energy_wasted_mwh", 0.0) + mwh
    row["cost_wasted_usd"] = row.get("cost_wasted_usd", 0.0) + gpu_h * usd_per_gpu_hour
    summary["lost_gpu_hours_by_cause"] = {c: causes[c]["lost_gpu_h"] for c in sorted(causes)}


def network_summary(
    summary: dict[str, Any],
    causes: dict[str, dict[str, Any]],
    net: NetworkStats,
    slow: float,
    wasted_mwh: Callable[[float, float, float], float],
    usd_per_gpu_hour: float,
) -> None:
    """The network's part of the slowdown term by cause (also in ``causes``), utilisation.

    A cause's slowdown is priced like its other waste: ``wasted_mwh(lost, recovery,
    slowdown)`` (GPU-seconds → facility MWh) and ``usd_per_gpu_hour``.
    """
    by_cause = {c: net.lost_gpu_s[c] / 3600 for c in sorted(net.lost_gpu_s)}
    summary["network_slowdown_gpu_hours_by_cause"] = by_cause
    summary["network_slowdown_gpu_hours"] = sum(by_cause.values())
    summary["other_slowdown_gpu_hours"] = residual(slow / 3600, sum(by_cause.values()))
    end = summary["sim_time_s"]
    summary["network_link_utilisation"] = net.utilisation_s / end if end > 0 else 0.0
    for c, gpu_h in by_cause.items():
        mwh = wasted_mwh(0.0, 0.0, gpu_h * 3600)
        charge_slowdown(summary, causes, c, "Network", gpu_h, usd_per_gpu_hour, mwh)

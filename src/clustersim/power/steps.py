"""Facility power as an exact step function: its integral, bins, peak and swings.

:class:`StepFunction` is a value assembled once at the end of a run from the power meter's
deltas (:mod:`clustersim.engine.power`): watts on ``[t_s[i], t_s[i+1])``, the last level
until ``end_s``. Everything here is a pure function of it: energy, mean and peak, the time
average over each bin of the run's time series, and :func:`find_swings`, the changes of more
than a threshold within a window (docs/power.md states the definition).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["BIG_SWING_W", "J_PER_MWH", "StepFunction", "Swings", "find_swings", "swing_summary"]

J_PER_MWH = 3.6e9
"""Joules per megawatt-hour."""
_HISTOGRAM_STEPS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0)
"""Lower edges of the swing histogram's bins, in multiples of the threshold (last: open)."""
BIG_SWING_W = 10e6
"""Swings counted separately as ``over_10mw`` (the size the Llama 3 paper reports)."""


@dataclass(frozen=True, slots=True)
class StepFunction:
    """Watts ``watts[i]`` from ``t_s[i]`` to ``t_s[i+1]`` (the last one until ``end_s``).

    ``t_s`` is strictly increasing and starts at 0; consecutive levels may be equal.
    """

    t_s: NDArray[np.float64]
    watts: NDArray[np.float64]
    end_s: float

    @classmethod
    def from_deltas(
        cls, times: NDArray[np.float64], deltas: NDArray[np.float64], end_s: float, scale: float
    ) -> StepFunction:
        """Sum the ``deltas`` (watts) by time and accumulate them; every level × ``scale``.

        Deltas at the same instant are netted first, so that the order in which components
        reported simultaneous changes never shows as a transient level.
        """
        order = np.argsort(times, kind="stable")
        t, d = times[order], deltas[order]
        first = np.flatnonzero(np.diff(t, prepend=-np.inf))  # each instant's first delta
        uniq = t[first]
        net = np.add.reduceat(d, first) if len(d) else d
        levels = np.cumsum(net) * scale
        if not len(uniq) or uniq[0] > 0.0:
            uniq = np.concatenate(([0.0], uniq))
            levels = np.concatenate(([0.0], levels))
        return cls(uniq, levels, end_s)

    def _widths(self) -> NDArray[np.float64]:
        return np.diff(np.append(self.t_s, max(self.end_s, float(self.t_s[-1]))))

    def energy_j(self) -> float:
        """The integral over the run, in joules."""
        return float(np.sum(self.watts * self._widths()))

    def mean_w(self) -> float:
        """Time-average watts over the run (0 for a run of no time)."""
        return self.energy_j() / self.end_s if self.end_s > 0 else 0.0

    def peak(self) -> tuple[float, float]:
        """The highest level held for a positive time, and when it was first reached."""
        held = self._widths() > 0
        if not held.any():
            return 0.0, 0.0
        levels = np.where(held, self.watts, -np.inf)
        i = int(np.argmax(levels))
        return float(self.watts[i]), float(self.t_s[i])

    def bin_means(self, edges: NDArray[np.float64]) -> NDArray[np.float64]:
        """Time-average watts over each bin ``[edges[k], edges[k+1])``: exact integrals."""
        widths = self._widths()
        cum = np.concatenate(([0.0], np.cumsum(self.watts * widths)))
        i = np.searchsorted(self.t_s, edges, side="right") - 1
        at = cum[i] + self.watts[i] * (edges - self.t_s[i])
        span = np.diff(edges)
        means = np.divide(np.diff(at), span, out=np.zeros_like(span), where=span > 0)
        # A bin inside one step holds its level: exactly that level (the difference of two
        # large integrals over a sliver of a bin can be off by more than the level changes).
        within = (i[:-1] == i[1:]) & (span > 0)
        means[within] = self.watts[i[:-1][within]]
        return means

    def bin_extremes(
        self, edges: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The lowest and highest level held within each bin ``[edges[k], edges[k+1])``."""
        live = self.t_s < edges[-1]  # a level reached only at the end is never held
        t, w = self.t_s[live], self.watts[live]
        first = np.searchsorted(t, edges[:-1], side="right") - 1  # the level entering bin k
        last = np.searchsorted(t, edges[1:], side="left") - 1  # the last one set inside it
        low = np.minimum(np.minimum.reduceat(w, first), w[last])
        high = np.maximum(np.maximum.reduceat(w, first), w[last])
        return low, high


@dataclass(frozen=True, slots=True)
class Swings:
    """Swings in time order, as three arrays.

    Swing ``k`` changes power by ``delta_w[k]`` watts from ``t_s[k]`` over
    ``duration_s[k]`` seconds (0 for a single step).
    """

    t_s: NDArray[np.float64]
    delta_w: NDArray[np.float64]
    duration_s: NDArray[np.float64]


def find_swings(steps: StepFunction, threshold_w: float, window_s: float) -> Swings:
    """Every change of power by more than ``threshold_w`` within ``window_s``.

    The steps (level changes after t = 0) are cut into monotone runs: a run ends where the
    direction changes or the next step is more than ``window_s`` away. In each run whose
    steps add up to more than the threshold, the largest change between two of its steps at
    most ``window_s`` apart is one swing (so a long ramp counts once, at its steepest window).
    """
    t = steps.t_s[1:]
    d = np.diff(steps.watts)
    moved = d != 0
    t, d = t[moved], d[moved]
    if not len(d):
        empty = np.zeros(0)
        return Swings(empty, empty, empty)
    sign = np.sign(d)
    new_run = np.ones(len(d), dtype=bool)
    new_run[1:] = (sign[1:] != sign[:-1]) | (np.diff(t) > window_s)
    starts = np.flatnonzero(new_run)
    ends = np.append(starts[1:], len(d))
    total = np.add.reduceat(d, starts)
    span = t[ends - 1] - t[starts]
    big = np.abs(total) > threshold_w
    whole = big & (span <= window_s)  # the whole run fits in the window: it is the swing
    at, delta, duration = [t[starts[whole]]], [total[whole]], [span[whole]]
    for a, b in zip(starts[big & ~whole], ends[big & ~whole], strict=True):
        found = _largest_in_window(t[a:b].tolist(), d[a:b].tolist(), window_s)
        if abs(found[1]) > threshold_w:
            at.append(np.array([found[0]]))
            delta.append(np.array([found[1]]))
            duration.append(np.array([found[2]]))
    t_all = np.concatenate(at)
    order = np.argsort(t_all, kind="stable")
    return Swings(t_all[order], np.concatenate(delta)[order], np.concatenate(duration)[order])


def _largest_in_window(
    t: list[float], d: list[float], window_s: float
) -> tuple[float, float, float]:
    """The largest sum of consecutive steps spanning at most ``window_s`` (two pointers).

    Returns its start time, its sum and its span.
    """
    best, best_i, best_j = 0.0, 0, 0
    acc, i = 0.0, 0
    for j, step in enumerate(d):
        acc += step
        while t[j] - t[i] > window_s:
            acc -= d[i]
            i += 1
        if abs(acc) > abs(best):
            best, best_i, best_j = acc, i, j
    return t[best_i], best, t[best_j] - t[best_i]


def swing_summary(
    swings: Swings, threshold_w: float, window_s: float, min_window_s: float, end_s: float
) -> dict[str, object]:
    """Counts, the largest drop and rise, the steepest ramps and a histogram, in MW and s.

    A swing's ramp is its change over its duration, or over ``min_window_s`` if it was
    faster (a single step takes no time in the model). Ties go to the earliest swing.
    """
    delta = swings.delta_w
    n = len(delta)
    drops, rises = delta < 0, delta > 0
    edges = np.array([threshold_w * k for k in _HISTOGRAM_STEPS])
    ramps = np.abs(delta) / np.maximum(swings.duration_s, min_window_s)
    low = int(np.argmin(delta)) if drops.any() else None
    high = int(np.argmax(delta)) if rises.any() else None
    steep = int(np.argmax(ramps)) if n else None
    days = end_s / 86400.0
    return {
        "threshold_mw": threshold_w / 1e6,
        "window_s": window_s,
        "min_window_s": min_window_s,
        "count": n,
        "drops": int(drops.sum()),
        "rises": int(rises.sum()),
        "per_day": n / days if days > 0 else math.nan,
        "over_10mw": int((np.abs(delta) > BIG_SWING_W).sum()),
        "largest_drop_mw": float(delta[low]) / 1e6 if low is not None else 0.0,
        "largest_drop_t_s": float(swings.t_s[low]) if low is not None else None,
        "largest_rise_mw": float(delta[high]) / 1e6 if high is not None else 0.0,
        "largest_rise_t_s": float(swings.t_s[high]) if high is not None else None,
        "max_ramp_mw_per_s": float(ramps[steep]) / 1e6 if steep is not None else 0.0,
        "max_ramp_t_s": float(swings.t_s[steep]) if steep is not None else None,
        "max_rise_ramp_mw_per_s": float(np.max(ramps[rises])) / 1e6 if rises.any() else 0.0,
        "histogram": {
            "edges_mw": (edges / 1e6).tolist(),
            "drops": _histogram(-delta[drops], edges),
            "rises": _histogram(delta[rises], edges),
        },
    }


def _histogram(sizes: NDArray[np.float64], edges: NDArray[np.float64]) -> list[int]:
    """Counts per bin ``[edges[k], edges[k+1])``, the last bin open above."""
    k = np.clip(np.searchsorted(edges, sizes, side="right") - 1, 0, len(edges) - 1)
    return [int(c) for c in np.bincount(k, minlength=len(edges))]

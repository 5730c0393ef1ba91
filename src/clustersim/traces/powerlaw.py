"""The power-law process (Weibull NHPP, Crow-AMSAA) fitted to failure ages of a cohort.

Owns the statistic that checks ``hazard:`` against failure logs: ``N`` components, observed
from age ``a0`` to age ``b`` with minimal repair, fail as a non-homogeneous Poisson process
with cumulative hazard ``(a / scale) ** shape`` per component. Given the ages ``a_i`` of the
``n`` failures, the maximum-likelihood shape solves

    n / k + Σ ln a_i − n (b^k ln b − a0^k ln a0) / (b^k − a0^k) = 0,

closed form at ``a0 = 0``: ``k̂ = n / Σ ln(b / a_i)``; then ``scale = b_eff / (n / N) ** (1/k)``
from ``N (b^k − a0^k) / scale^k = n``. The 95 % interval of the shape uses ``2 n k / k̂ ~
χ²(2n)`` at ``a0 = 0`` (Crow 1974), and the profile likelihood's observed information (a
Wald interval) for a cohort already aged at the start, whose failures say less about k.
A renewal fit (``clustersim trace fit``) answers another question: it assumes every node is
new at the window's start and renewed at each failure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from clustersim.traces.fit import chi2_quantile

__all__ = ["PowerLawFit", "fit_power_law"]

Z_975 = 1.959963984540054
"""The standard normal's 97.5 % quantile (two-sided 95 % intervals)."""


@dataclass(frozen=True, slots=True)
class PowerLawFit:
    """A fitted power-law process: shape, scale (seconds) and the shape's 95 % interval."""

    shape: float
    scale_s: float
    shape_ci95: tuple[float, float]
    failures: int
    components: int


def fit_power_law(ages: Any, components: int, start_age: float, end_age: float) -> PowerLawFit:
    """Fit ``(a / scale) ** shape`` to the failure ``ages`` (seconds) of ``components``.

    The components were watched from ``start_age`` to ``end_age`` under minimal repair.

    Raises:
        ValueError: fewer than two failures, or ages outside the window.
    """
    a = np.asarray(ages, dtype=float)
    n = int(a.size)
    if n < 2:
        raise ValueError("a power-law fit needs at least two failures")
    if a.min() <= start_age or a.max() > end_age or start_age < 0:
        raise ValueError("failure ages must lie in (start_age, end_age]")
    sum_log = float(np.log(a).sum())
    log_b = math.log(end_age)
    if start_age == 0:
        k = n / (n * log_b - sum_log)
    else:
        log_a0 = math.log(start_age)

        def score(k: float) -> float:
            # b^k and a0^k relative to b^k, so that large shapes do not overflow.
            r = math.exp(k * (log_a0 - log_b))
            weighted = (log_b - r * log_a0) / (1.0 - r)
            return n / k + sum_log - n * weighted

        lo, hi = 1e-3, 1.0
        while score(hi) > 0 and hi < 1e3:
            lo, hi = hi, hi * 2
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if score(mid) > 0:
                lo = mid
            else:
                hi = mid
        k = 0.5 * (lo + hi)
    span = end_age**k - start_age**k
    scale = (components * span / n) ** (1.0 / k)
    if start_age == 0:
        low = k * chi2_quantile(0.025, 2 * n) / (2 * n)
        high = k * chi2_quantile(0.975, 2 * n) / (2 * n)
    else:
        # Wald interval from the profile likelihood's observed information: the left
        # truncation at a0 takes away n (ln r)^2 r^k / (1 - r^k)^2 of the n / k^2 (r = a0 / b).
        r_k = (start_age / end_age) ** k
        info = n / k**2 - n * math.log(start_age / end_age) ** 2 * r_k / (1.0 - r_k) ** 2
        half = Z_975 / math.sqrt(info)
        low, high = k - half, k + half
    return PowerLawFit(k, scale, (low, high), n, components)

"""Expected failures of ageing fleets: Weibull cumulative hazards and the renewal function.

The references of the fleet validation case (``clustersim validate``, docs/fleet.md), pure
functions of floats in seconds:

* :func:`weibull_cumulative`: ``Λ(x) = (x/λ)^k``, the expected failures of one component
  over its first ``x`` seconds of age when a repair keeps its age (minimal repair: a
  non-homogeneous Poisson process in age);
* :func:`weibull_renewal_function`: ``M(t)``, the expected failures over ``[0, t]`` when each
  failure replaces the component by a new one (a renewal process). It solves the renewal
  equation ``M(t) = F(t) + ∫₀ᵗ M(t − x) dF(x)`` (Cox, *Renewal Theory*, 1962, §4.1) on a
  uniform grid: ``M_i = F_i + Σ_{j=1..i} M_{i−j} (F_j − F_{j−1})``, whose error is of the
  order of one grid step's probability mass.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["weibull_cumulative", "weibull_renewal_function"]


def weibull_cumulative(age_s: float, shape: float, scale_s: float) -> float:
    """``(age/scale)^shape`` for a non-negative age (0 before it)."""
    return float((max(age_s, 0.0) / scale_s) ** shape)


def weibull_renewal_function(
    t_s: float, shape: float, scale_s: float, *, steps: int = 4000
) -> float:
    """Expected renewals over ``[0, t_s]`` of a Weibull(``shape``, ``scale_s``) renewal process."""
    if t_s <= 0:
        return 0.0
    grid = np.linspace(0.0, t_s, steps + 1)
    cdf = -np.expm1(-((grid / scale_s) ** shape))
    mass = np.diff(cdf)  # P(lifetime in (t_{j-1}, t_j]), j = 1..steps
    m = np.zeros(steps + 1)
    for i in range(1, steps + 1):
        # Σ_{j=1..i} M_{i-j} mass_j: M at i-1, i-2, ..., 0 against mass_1 .. mass_i.
        m[i] = cdf[i] + float(np.dot(m[i - 1 :: -1], mass[:i]))
    return float(m[-1]) if math.isfinite(m[-1]) else math.inf

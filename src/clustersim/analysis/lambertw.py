"""The principal branch of the Lambert W function, for the exact optimal checkpoint interval.

No SciPy: an initial guess from a series (Corless et al., "On the Lambert W function",
Advances in Computational Mathematics 5, 1996) refined by Halley's iteration. Used by
:func:`clustersim.analysis.analytic.exact_optimal_interval`, which re-exports it.
"""

from __future__ import annotations

import math

__all__ = ["lambert_w0"]

# 1/e as the nearest double (which is slightly *above* the true 1/e) and the remainder
# 1/e - _INV_E_HI, so that x + 1/e can be formed without cancellation near the branch point.
_INV_E_HI = 0.36787944117144233
_INV_E_LO = -1.2428753672788363e-17


def _w0_initial(x: float, q: float) -> float:
    """Return an initial guess for ``W₀(x)``; ``q = x + 1/e`` is formed without cancellation."""
    if x < -0.25:
        # Branch-point series in p = √(2(ex + 1)) (Corless et al. 1996).
        p = math.sqrt(2.0 * math.e * q)
        return -1.0 + p * (
            1.0
            + p
            * (
                -1.0 / 3.0
                + p
                * (11.0 / 72.0 + p * (-43.0 / 540.0 + p * (769.0 / 17280.0 - p * 221.0 / 8505.0)))
            )
        )
    if x <= math.e:
        # Winitzki's approximation, good to a few per cent on [-0.25, e].
        lx = math.log1p(x)
        return lx * (1.0 - math.log1p(lx) / (2.0 + lx))
    # Asymptotic expansion for large x (Corless et al. 1996).
    l1 = math.log(x)
    l2 = math.log(l1)
    return l1 - l2 + l2 / l1 + l2 * (l2 - 2.0) / (2.0 * l1 * l1)


def lambert_w0(x: float) -> float:
    """Principal branch ``W₀`` of the Lambert W function, the solution of ``w·eʷ = x``.

    Implementation (no SciPy): an initial guess from the branch-point series near ``−1/e``,
    Winitzki's approximation on ``[−0.25, e]`` or the asymptotic series above ``e``
    (Corless et al. 1996), refined by Halley's iteration written as
    ``t = w − x·e^{−w}``, ``w ← w − t / ((w + 1) − (w + 2)·t / (2w + 2))`` (no overflow for
    large ``x``) until the step is below ~1e-16 relative. Very close to the branch point
    (``p = √(2(ex+1)) < 1e-3``) the six-term series is already exact to double precision and
    is returned directly, because Halley's step is singular at ``w = −1``.

    Args:
        x: Argument, ``x >= −1/e``. The double nearest ``−1/e`` (−0.36787944117144233, which
            lies a hair below the true value) is accepted and gives ``−1``.

    Returns:
        ``W₀(x)``, in ``[−1, ∞)``.

    Raises:
        ValueError: If ``x`` is NaN or below ``−1/e``.
    """
    x = float(x)
    if math.isnan(x):
        raise ValueError("lambert_w0: x must be a number, got NaN")
    if x < -_INV_E_HI:
        raise ValueError(f"lambert_w0: x must be >= -1/e (≈ -0.36787944117144233), got {x}")
    if x == 0.0:
        return 0.0
    if math.isinf(x):
        return math.inf
    q = max(0.0, (x + _INV_E_HI) + _INV_E_LO)  # x + 1/e, exact to ~1e-33 near the branch
    if q == 0.0:
        return -1.0
    if 2.0 * math.e * q < 1e-6:  # p < 1e-3: series error O(p^7) < 1e-21
        return _w0_initial(x, q)
    w = _w0_initial(x, q)
    for _ in range(64):
        t = w - x * math.exp(-w)
        wp1 = w + 1.0
        step = t / (wp1 - (w + 2.0) * t / (2.0 * wp1))
        w -= step
        if abs(step) <= 4e-16 * max(1.0, abs(w)):
            break
    return w

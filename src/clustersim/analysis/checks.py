"""Argument checks shared by the closed forms: one clear ``ValueError`` per bad input."""

from __future__ import annotations

import math

__all__ = ["check", "check_nodes", "check_probability"]


def check(
    name: str,
    value: float,
    *,
    positive: bool = False,
    allow_inf: bool = False,
) -> float:
    """Return ``value`` as a float after checking it is a usable non-negative number.

    Args:
        name: Parameter name used in the error message.
        value: The value to check.
        positive: Require ``value > 0`` instead of ``value >= 0``.
        allow_inf: Accept ``+inf``.

    Returns:
        ``float(value)``.

    Raises:
        ValueError: If the value is NaN, negative, zero when ``positive``, or infinite when
            not ``allow_inf``.
    """
    v = float(value)
    if math.isnan(v):
        raise ValueError(f"{name} must be a number, got NaN")
    if math.isinf(v) and not (allow_inf and v > 0):
        raise ValueError(f"{name} must be finite, got {v}")
    if positive and v <= 0:
        raise ValueError(f"{name} must be > 0, got {v}")
    if v < 0:
        raise ValueError(f"{name} must be >= 0, got {v}")
    return v


def check_nodes(n_nodes: int) -> int:
    """Return ``n_nodes`` after checking it is a positive integer.

    Raises:
        ValueError: If ``n_nodes`` is not an integer >= 1.
    """
    if isinstance(n_nodes, bool) or int(n_nodes) != n_nodes:
        raise ValueError(f"n_nodes must be an integer, got {n_nodes!r}")
    n = int(n_nodes)
    if n < 1:
        raise ValueError(f"n_nodes must be >= 1, got {n}")
    return n


def check_probability(probability: float) -> float:
    """Return ``probability`` after checking it lies strictly between 0 and 1.

    Raises:
        ValueError: If ``probability`` is not in the open interval (0, 1).
    """
    p = float(probability)
    if not 0.0 < p < 1.0:
        raise ValueError(f"probability must be in (0, 1), got {p}")
    return p

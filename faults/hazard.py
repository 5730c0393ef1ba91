"""Age-dependent hazards: the bathtub curve and exact sampling by inverting its integral.

:class:`Bathtub` owns the arithmetic of one component's hazard as a function of its age
``a`` (seconds since install, or since its last renewal):

    Λ(a) = m · (c·a + Σ_i (a / λ_i) ** k_i)

a constant rate ``c`` plus Weibull terms (shape ``k_i`` below 1 for infant mortality, above 1
for wear-out), scaled by ``m`` (GPUs per node for a per-GPU rate, times a lemon node's
factor). The next failure after age ``a0`` of a process with cumulative hazard Λ is the age
``a1`` with ``Λ(a1) − Λ(a0) = E``, ``E`` a standard exponential (``−ln u``): this is exact
for a non-homogeneous Poisson process (minimal repair) and, started from age 0, for a renewal
process. A single term is inverted in closed form; a sum by a safeguarded Newton iteration on
the monotone Λ, bracketed and falling back to bisection, to float precision. Nothing is
stepped in time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from clustersim.config import FaultConfig, HazardConfig

__all__ = ["Bathtub", "bathtub_for"]

_MAX_ITER = 200


class Bathtub:
    """The cumulative hazard of one component class (a rate plus Weibull terms) and its inverse."""

    __slots__ = ("_closed", "multiplier", "rate", "terms")

    def __init__(
        self, rate: float, terms: Sequence[tuple[float, float]], multiplier: float = 1.0
    ) -> None:
        """``rate`` per second; ``terms`` as ``(shape, scale_s)``; all scaled by ``multiplier``."""
        if rate < 0 or multiplier < 0:
            raise ValueError("rate and multiplier must not be negative")
        self.rate = rate
        self.terms = tuple((float(k), float(s)) for k, s in terms)
        self.multiplier = multiplier
        active = (rate > 0) + len(self.terms)
        self._closed = active == 1

    def scaled(self, factor: float) -> Bathtub:
        """The same curve with every term multiplied by ``factor`` (a lemon node's)."""
        return Bathtub(self.rate, self.terms, self.multiplier * factor)

    @property
    def is_zero(self) -> bool:
        """Whether the hazard is zero at every age (no failure ever)."""
        return self.multiplier == 0 or (self.rate == 0 and not self.terms)

    def cumulative(self, age: float) -> float:
        """Λ(age): the expected failures of a component from age 0 to ``age``."""
        if age <= 0:
            return 0.0
        total = self.rate * age
        for k, scale in self.terms:
            total += (age / scale) ** k
        return self.multiplier * total

    def hazard(self, age: float) -> float:
        """λ(age) = dΛ/da, the failure rate at ``age`` (infinite at 0 with an infant term)."""
        total = self.rate
        for k, scale in self.terms:
            if age <= 0:
                total += math.inf if k < 1 else (1.0 / scale if k == 1 else 0.0)
            else:
                total += k / scale * (age / scale) ** (k - 1)
        return self.multiplier * total

    def next_age(self, age: float, e: float) -> float:
        """The age of the next failure after ``age``, given a standard exponential ``e``."""
        return self.invert(self.cumulative(age) + e, age)

    def invert(self, target: float, lo: float = 0.0) -> float:
        """The age ``a >= lo`` with ``Λ(a) = target`` (``inf`` if the hazard is zero)."""
        if self.is_zero:
            return math.inf
        if target <= 0:
            return max(lo, 0.0)
        t = target / self.multiplier
        if self._closed:
            if self.rate > 0:
                guess = t / self.rate
            else:
                k, scale = self.terms[0]
                guess = scale * t ** (1.0 / k)
            return max(guess, lo)
        return self._solve(target, max(lo, 0.0))

    def _solve(self, target: float, lo: float) -> float:
        """Newton on the monotone Λ, kept inside a shrinking bracket (bisection as fallback)."""
        # A first guess from the term that dominates at the solution: each term alone reaches
        # the target at its own age; the sum reaches it no later than the earliest of them.
        t = target / self.multiplier
        candidates = [t / self.rate] if self.rate > 0 else []
        candidates += [scale * t ** (1.0 / k) for k, scale in self.terms]
        hi = max(min(candidates), lo)
        if self.cumulative(hi) < target:  # only when lo is already past the guess
            step = max(hi, 1.0)
            while self.cumulative(hi) < target:
                lo, hi = hi, hi + step
                step *= 2.0
        x = hi
        for _ in range(_MAX_ITER):
            f = self.cumulative(x) - target
            if f == 0.0:
                return x
            if f > 0:
                hi = x
            else:
                lo = x
            if hi - lo <= 4 * math.ulp(hi):
                break
            slope = self.hazard(x)
            nxt = x - f / slope if slope > 0 and math.isfinite(slope) else math.nan
            x = nxt if lo < nxt < hi else lo + (hi - lo) / 2
        return hi


def bathtub_for(cfg: FaultConfig, hazard: HazardConfig | None, gpus_per_node: int) -> Bathtub:
    """The per-node :class:`Bathtub` of a source: its ``rate`` plus ``hazard``'s terms.

    A per-GPU source's terms count per GPU, so a node's curve is ``gpus_per_node`` times one
    GPU's (its GPUs age together and any of them takes the node down).
    """
    terms: list[tuple[float, float]] = []
    if hazard is not None:
        terms = [(t.shape, t.scale) for t in (hazard.infant, hazard.wearout) if t is not None]
    per_gpu = cfg.component == "gpu"
    return Bathtub(cfg.rate or 0.0, terms, float(gpus_per_node) if per_gpu else 1.0)

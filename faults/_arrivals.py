"""Arrival processes shared by the window-type sources (maintenance, storage)."""

from __future__ import annotations

from clustersim.rng import BlockSampler

__all__ = ["WindowClock"]


class WindowClock:
    """Gaps between windows: Poisson with mean ``every``, or periodic with a random phase."""

    __slots__ = ("_every", "_first", "_periodic", "_sampler")

    def __init__(self, every_s: float, periodic: bool, sampler: BlockSampler) -> None:
        self._every = every_s
        self._periodic = periodic
        self._sampler = sampler
        self._first = True

    def next_gap(self) -> float:
        """Seconds until the next window starts."""
        if not self._periodic:
            return self._every * self._sampler.exponential()
        if self._first:
            self._first = False
            return self._every * self._sampler.uniform()
        return self._every

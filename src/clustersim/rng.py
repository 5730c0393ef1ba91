"""Named, seeded random streams: the only way randomness enters a simulation.

Each replication has one root :class:`numpy.random.SeedSequence` built from ``(seed,
replication)``; every consumer asks for a child stream by name (``"faults.node"``,
``"workload.arrivals"``), keyed by ``zlib.crc32(name)`` so that the key is stable across
processes and Python versions (never ``hash()``). Adding a new stream never changes the draws
of an existing one, and the same replication index gets the same draws at every grid point
(common random numbers).
"""

from __future__ import annotations

import math
import zlib

import numpy as np

__all__ = ["BlockSampler", "Streams"]


class Streams:
    """The named random streams of one replication."""

    __slots__ = ("_cache", "replication", "seed")

    def __init__(self, seed: int, replication: int = 0) -> None:
        if seed < 0 or replication < 0:
            raise ValueError("seed and replication must be non-negative")
        self.seed = seed
        self.replication = replication
        self._cache: dict[str, np.random.Generator] = {}

    def get(self, name: str) -> np.random.Generator:
        """The generator of stream ``name`` (created on first use, then shared)."""
        gen = self._cache.get(name)
        if gen is None:
            key = zlib.crc32(name.encode("utf-8"))
            seq = np.random.SeedSequence(self.seed, spawn_key=(self.replication, key))
            gen = np.random.Generator(np.random.PCG64(seq))
            self._cache[name] = gen
        return gen


class BlockSampler:
    """Draws standard exponentials and uniforms from one generator in numpy blocks.

    Drawing one variate at a time through numpy costs microseconds per call; fault sources
    draw thousands, so they take them from pre-drawn blocks. The sequence of values is a
    deterministic function of the generator's state.
    """

    __slots__ = ("_exp", "_exp_i", "_gen", "_size", "_uni", "_uni_i")

    def __init__(self, gen: np.random.Generator, block: int = 1024) -> None:
        self._gen = gen
        self._size = block
        self._exp: list[float] = []
        self._exp_i = 0
        self._uni: list[float] = []
        self._uni_i = 0

    def exponential(self) -> float:
        """One standard exponential variate (mean 1)."""
        if self._exp_i >= len(self._exp):
            self._exp = self._gen.standard_exponential(self._size).tolist()
            self._exp_i = 0
        value = self._exp[self._exp_i]
        self._exp_i += 1
        return float(value)

    def uniform(self) -> float:
        """One uniform variate on [0, 1)."""
        if self._uni_i >= len(self._uni):
            self._uni = self._gen.random(self._size).tolist()
            self._uni_i = 0
        value = self._uni[self._uni_i]
        self._uni_i += 1
        return float(value)

    def normal(self) -> float:
        """One standard normal variate (Box-Muller on two uniforms, so blocks stay simple)."""
        u1 = 1.0 - self.uniform()
        u2 = self.uniform()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)

    def integer(self, n: int) -> int:
        """One uniform integer in [0, n)."""
        return min(int(self.uniform() * n), n - 1)

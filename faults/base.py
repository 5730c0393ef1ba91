"""The contract between fault sources and the engine, and shared repair-time sampling."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import simpy

from clustersim.config import RepairConfig
from clustersim.rng import BlockSampler
from clustersim.topology import Topology

__all__ = ["FaultSource", "RepairSampler", "World"]


class World(Protocol):
    """What a fault source may do to the simulated cluster (the engine implements it)."""

    topology: Topology
    closing: bool

    def is_up(self, node: int) -> bool:
        """Whether ``node`` is in service (not down for repair)."""
        ...

    def fail_nodes(self, nodes: Sequence[int], cause: str, repair_s: float) -> None:
        """Take ``nodes`` down for ``repair_s``; jobs on them are interrupted once each."""
        ...

    def fail_job_on(self, node: int, cause: str) -> None:
        """Kill the job running on ``node`` (if any) without taking hardware down."""
        ...


class FaultSource(Protocol):
    """A source of faults: started once, then drives its own process."""

    name: str

    def start(self, env: simpy.Environment, world: World) -> None:
        """Launch the source's process(es) in ``env`` against ``world``."""
        ...


class RepairSampler:
    """Draws repair times (seconds) from a :class:`RepairConfig` using a block sampler."""

    __slots__ = ("_cfg", "_mu", "_sampler", "_sigma")

    def __init__(self, cfg: RepairConfig, sampler: BlockSampler) -> None:
        self._cfg = cfg
        self._sampler = sampler
        self._sigma = math.sqrt(math.log1p(cfg.cv**2))
        self._mu = math.log(cfg.mean) - self._sigma**2 / 2

    def draw(self) -> float:
        """One repair time; always consumes the same number of variates per call."""
        e = self._sampler.exponential()
        z = self._sampler.normal()
        if self._cfg.distribution == "exponential":
            return self._cfg.mean * e
        if self._cfg.distribution == "lognormal":
            return math.exp(self._mu + self._sigma * z)
        return self._cfg.mean

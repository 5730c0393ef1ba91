"""Shared-storage outages and degradations of the checkpoint store.

A window starts every ``every`` on average (Poisson, or ``arrivals: periodic``) and lasts a
draw from ``duration``; during it the store's write bandwidth is ``bandwidth_factor`` of
nominal (0: an outage, every checkpoint write waits). Overlapping windows take the lowest
factor. Any storage source turns on storage contention (checkpoints simulated one by one).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from clustersim.config import DurationConfig, FaultConfig
from clustersim.faults._arrivals import WindowClock
from clustersim.faults.base import DurationSampler, World
from clustersim.rng import BlockSampler, Streams
from clustersim.topology import Topology

__all__ = ["StorageWindows"]

DEFAULT_DURATION = DurationConfig(distribution="lognormal", mean=1800.0, cv=1.0)
"""A storage incident lasts 30 min on average unless configured (our assumption)."""


class StorageWindows:
    """Outage or degraded-bandwidth windows of the shared checkpoint store."""

    def __init__(self, name: str, cfg: FaultConfig, streams: Streams, topology: Topology) -> None:
        assert cfg.every is not None
        self.name = name
        self.cfg = cfg
        self._sampler = BlockSampler(streams.get(f"faults.{name}"))
        self._clock = WindowClock(cfg.every, cfg.arrivals == "periodic", self._sampler)
        self._duration = DurationSampler(cfg.duration or DEFAULT_DURATION, self._sampler)

    def start(self, env: simpy.Environment, world: World) -> None:
        """Start the windows."""
        env.process(self.windows(env, world))

    def windows(self, env: simpy.Environment, world: World) -> Generator[Any, Any, None]:
        """Process: wait for the next window and open it."""
        while True:
            yield env.timeout(self._clock.next_gap())
            length = self._duration.draw()
            if world.closing:
                return
            world.storage_window(self.cfg.bandwidth_factor, self.name, length)

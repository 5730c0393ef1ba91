"""Stragglers (fail-slow nodes): one slow node slows its whole gang.

A node turns slow at ``rate`` (per node, lemon-weighted when lemons are configured) for a
draw from ``duration``, running at ``speed`` of full speed (default 0.5). Every job holding
it runs at the speed of its slowest node. With ``evict_after`` set, a node still slow after
that long is detected and evicted: it goes to repair and its job recovers on a replacement.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from clustersim.config import DurationConfig, FaultConfig
from clustersim.faults.base import DurationSampler, RatedSource, World
from clustersim.rng import Streams
from clustersim.topology import Topology

__all__ = ["Stragglers"]

DEFAULT_DURATION = DurationConfig(distribution="lognormal", mean=6 * 3600.0, cv=1.0)
"""A fail-slow episode lasts 6 h on average unless configured (our assumption)."""


class Stragglers(RatedSource):
    """Fail-slow nodes, optionally detected and evicted."""

    def __init__(self, name: str, cfg: FaultConfig, streams: Streams, topology: Topology) -> None:
        super().__init__(name, cfg, streams, topology)
        self._duration = DurationSampler(cfg.duration or DEFAULT_DURATION, self._sampler)
        self._repair = DurationSampler(cfg.repair, self._sampler)
        self.speed = 0.5 if cfg.speed is None else cfg.speed

    def events(self, env: simpy.Environment, world: World) -> Generator[Any, Any, None]:
        """Process: the superposed stream of fail-slow episodes."""
        sampler = self._sampler
        picker = world.node_picker(self.cfg.lemons)
        while True:
            yield env.timeout(sampler.exponential() / self.total_rate)
            node = picker.pick(sampler)
            length = self._duration.draw()
            repair_s = self._repair.draw()
            if world.closing:
                return
            if not world.is_up(node):
                continue
            token = world.slow("node", (node,), self.speed, self.name, length)
            evict = self.cfg.evict_after
            if evict is not None and evict < length:
                timer = env.timeout(evict)
                timer.callbacks.append(self._evictor(world, node, token, repair_s))

    def _evictor(self, world: World, node: int, token: int, repair_s: float) -> Any:
        def evict(_: simpy.Event) -> None:
            if world.closing or not world.is_slowed(token):
                return
            world.unslow(token)
            if world.is_up(node):
                world.fail_nodes((node,), self.name, repair_s)

        return evict

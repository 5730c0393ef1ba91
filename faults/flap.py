"""Network link flaps: a node's link goes away for a short while.

Each node's link flaps at ``rate`` (per node); a flap lasts a draw from ``duration``. If the
flap outlasts the collective ``timeout`` (NCCL over InfiniBand retries for about 30 s,
``../shared/data/recovery_times.csv``) the job on the node is killed (detected after the
timeout); otherwise the job only stalls: its gang runs at ``speed`` (default 0, a full stall
while the collective retries) for the flap's length. With ``network.model: fair-share`` a
short flap is a capacity drop instead: the flapping link is one of the node's
``gpus_per_node`` NIC rails, so the node's network link keeps ``1 - 1/gpus_per_node`` of its
capacity for the flap's length, and the job on it slows by how much its share drops
(docs/network.md). Alibaba HPN reports 5k-60k link flaps
per day cluster-wide (``../shared/data/published_rates.csv``), almost all of them short.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from clustersim.config import DurationConfig, FaultConfig
from clustersim.faults.base import DurationSampler, RatedSource, World
from clustersim.rng import Streams
from clustersim.topology import Topology

__all__ = ["LinkFlaps"]

DEFAULT_DURATION = DurationConfig(distribution="lognormal", mean=5.0, cv=3.0)
"""Flap lengths: lognormal, mean 5 s, heavy tail (our assumption; most flaps are short)."""


class LinkFlaps(RatedSource):
    """Short link outages: a stall if shorter than the collective timeout, else a job kill."""

    def __init__(self, name: str, cfg: FaultConfig, streams: Streams, topology: Topology) -> None:
        super().__init__(name, cfg, streams, topology)
        self._duration = DurationSampler(cfg.duration or DEFAULT_DURATION, self._sampler)
        self.speed = 0.0 if cfg.speed is None else cfg.speed
        self._rail = 1.0 / topology.gpus_per_node

    def events(self, env: simpy.Environment, world: World) -> Generator[Any, Any, None]:
        """Process: the superposed stream of flaps over all nodes."""
        sampler = self._sampler
        n = self.topology.n_nodes
        while True:
            yield env.timeout(sampler.exponential() / self.total_rate)
            node = sampler.integer(n)
            length = self._duration.draw()
            if world.closing:
                return
            if length > self.cfg.timeout:
                world.fail_job_on(node, self.name)
            elif world.cut_node(node, self._rail, self.name, length):
                continue
            elif world.owner_of(node) != -1 and world.is_up(node):  # a job's or shared
                world.slow("node", (node,), self.speed, self.name, length)

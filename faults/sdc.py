"""Silent data corruption: found late, so a job rolls back past checkpoints it trusted.

A node corrupts data at ``rate`` (per node, lemon-weighted when lemons are configured). The
corruption is noticed ``detection_delay`` later (loss spikes, checksum or
cross-replica checks); then the node goes to repair and the job that held it at corruption
time rolls back to its last checkpoint completed *before* the corruption, losing everything
since, including work it had already checkpointed. Corruption on an idle node is found the
same way and only costs the repair.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from clustersim.config import FaultConfig
from clustersim.faults.base import DurationSampler, RatedSource, World
from clustersim.rng import Streams
from clustersim.topology import Topology

__all__ = ["SilentCorruption"]


class SilentCorruption(RatedSource):
    """Silent data corruption found after a detection delay."""

    def __init__(self, name: str, cfg: FaultConfig, streams: Streams, topology: Topology) -> None:
        super().__init__(name, cfg, streams, topology)
        self._repair = DurationSampler(cfg.repair, self._sampler)

    def events(self, env: simpy.Environment, world: World) -> Generator[Any, Any, None]:
        """Process: the superposed stream of corruptions."""
        sampler = self._sampler
        picker = world.node_picker(self.cfg.lemons)
        while True:
            yield env.timeout(sampler.exponential() / self.total_rate)
            node = picker.pick(sampler)
            repair_s = self._repair.draw()
            if world.closing:
                return
            if world.is_up(node):
                world.corrupt(node, self.name, self.cfg.detection_delay, repair_s)

"""Switch failures: a ToR (``level: rack``) or an aggregation/pod switch (``level: pod``).

A ToR fails at ``rate`` per switch (Alibaba HPN: 0.051 % of ToRs per month,
``../shared/data/published_rates.csv``). Single-homed racks lose the network: every node of
the rack is out until the switch is repaired, and every job with a node there is
interrupted. Dual-homed racks keep running on the other ToR at reduced bandwidth: jobs with a
node in the rack run at ``speed`` (default 0.5) until the repair; with ``network.model:
fair-share`` the rack's uplink instead keeps ``speed`` of its capacity (half: Alibaba HPN's
dual-ToR design), and only the jobs whose traffic crosses it slow, by how much their share
drops. A pod-level failure degrades
the pod's uplinks: jobs spanning more than one pod with a node in it run at ``speed``; with
``network.model: fair-share`` it instead removes ``1 / network.planes`` of the pod's uplink
capacity, and the jobs crossing it slow by how much their share drops (docs/network.md).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from clustersim.config import FaultConfig
from clustersim.faults.base import DurationSampler, RatedSource, World
from clustersim.rng import Streams
from clustersim.topology import Topology

__all__ = ["SwitchFaults"]


class SwitchFaults(RatedSource):
    """ToR or pod-switch failures with single- or dual-homed racks."""

    def __init__(self, name: str, cfg: FaultConfig, streams: Streams, topology: Topology) -> None:
        super().__init__(name, cfg, streams, topology)
        self._repair = DurationSampler(cfg.repair, self._sampler)
        self.speed = 0.5 if cfg.speed is None else cfg.speed

    @property
    def n_switches(self) -> int:
        """Switches of the configured level."""
        return self.topology.n_racks if self.cfg.level == "rack" else self.topology.pods

    def _total_rate(self) -> float:
        return (self.cfg.rate or 0.0) * self.n_switches

    def events(self, env: simpy.Environment, world: World) -> Generator[Any, Any, None]:
        """Process: the superposed stream over all switches of the level."""
        sampler = self._sampler
        while True:
            yield env.timeout(sampler.exponential() / self.total_rate)
            switch = sampler.integer(self.n_switches)
            repair_s = self._repair.draw()
            if world.closing:
                return
            self.apply(world, switch, repair_s)

    def apply(self, world: World, switch: int, repair_s: float) -> None:
        """One switch failure and its effect."""
        if self.cfg.level == "pod":
            if not world.cut_uplink(switch, self.name, repair_s):
                world.slow("pod", (switch,), self.speed, self.name, repair_s)
        elif self.cfg.homing == "dual":
            # One of the rack's two ToRs is gone: the other carries on at its own capacity.
            if not world.cut_rack(switch, 1.0 - self.speed, self.name, repair_s):
                world.slow("rack", (switch,), self.speed, self.name, repair_s)
        else:
            world.fail_nodes(self.topology.nodes_of_rack(switch), self.name, repair_s)

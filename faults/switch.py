"""Switch failures: a ToR (``level: rack``) or an aggregation/pod switch (``level: pod``).

A ToR fails at ``rate`` per switch (Alibaba HPN: 0.051 % of ToRs per month,
``../shared/data/published_rates.csv``). Single-homed racks lose the network: every node of
the rack is out until the switch is repaired, and every job with a node there is
interrupted. Dual-homed racks have two ToRs, each failing at ``rate``, so twice the failures
of a single-homed rack; with one down the rack keeps running on the other at reduced
bandwidth: jobs with a node in the rack run at ``speed`` (default 0.5) until the repair; with
``network.model: fair-share`` the rack's uplink instead keeps ``speed`` of its capacity (half:
Alibaba HPN's dual-ToR design), and only the jobs whose traffic crosses it slow, by how much
their share drops. With both down at once the rack is off the network, as a single-homed
rack is, until the first of the two is repaired. With ``evict_after``, a dual-homed rack whose
ToR is still down after that long is cordoned: its nodes leave service (the jobs on them
recover on replacements elsewhere) until the ToR is repaired. A pod-level failure degrades
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
        self.dual = cfg.level == "rack" and cfg.homing == "dual"
        super().__init__(name, cfg, streams, topology)  # reads n_switches
        self._repair = DurationSampler(cfg.repair, self._sampler)
        self.speed = 0.5 if cfg.speed is None else cfg.speed
        self._back_at: dict[int, float] = {}
        """A dual-homed rack's failed ToRs: switch -> when it is repaired."""

    @property
    def n_switches(self) -> int:
        """Switches of the configured level: two ToRs per dual-homed rack (``2 rack + side``)."""
        if self.cfg.level == "pod":
            return self.topology.pods
        return self.topology.n_racks * (2 if self.dual else 1)

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
            self.apply(world, switch, repair_s, env)

    def apply(
        self, world: World, switch: int, repair_s: float, env: simpy.Environment | None = None
    ) -> None:
        """One switch failure and its effect (``env``: the clock, needed by dual homing)."""
        if self.cfg.level == "pod":
            if not world.cut_uplink(switch, self.name, repair_s):
                world.slow("pod", (switch,), self.speed, self.name, repair_s)
        elif self.dual:
            assert env is not None, "a dual-homed ToR failure needs the clock"
            self._dual(world, switch, repair_s, env)
        else:
            world.fail_nodes(self.topology.nodes_of_rack(switch), self.name, repair_s)

    def _cordon(self, world: World, switch: int, env: simpy.Environment) -> Any:
        """At ``evict_after``: the rack of ``switch`` leaves service until its ToR is back."""

        def cordon(_: simpy.Event) -> None:
            left = self._back_at.get(switch, -1.0) - env.now
            if world.closing or left <= 0:
                return
            world.fail_nodes(self.topology.nodes_of_rack(switch // 2), self.name, left)

        return cordon

    def _dual(self, world: World, switch: int, repair_s: float, env: simpy.Environment) -> None:
        """One ToR of rack ``switch // 2`` fails; a ToR already down does not fail again."""
        back, now = self._back_at, env.now
        if back.get(switch, -1.0) > now:
            return
        back[switch] = now + repair_s
        evict = self.cfg.evict_after
        if evict is not None and evict < repair_s:
            env.timeout(evict).callbacks.append(self._cordon(world, switch, env))
        rack = switch // 2
        # The other ToR carries on at its own capacity.
        if not world.cut_rack(rack, 1.0 - self.speed, self.name, repair_s):
            world.slow("rack", (rack,), self.speed, self.name, repair_s)
        other = back.get(switch ^ 1, -1.0)
        if other > now:  # both down: the rack is off the network until either is back
            world.fail_nodes(
                self.topology.nodes_of_rack(rack), self.name, min(repair_s, other - now)
            )

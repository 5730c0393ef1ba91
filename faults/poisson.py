"""Poisson faults on nodes: one superposed stream for the whole cluster.

Every node fails independently at ``rate``; the superposition is one Poisson stream of rate
``rate x n_nodes`` with the node drawn uniformly. The blast radius decides the effect:

* ``node``: the node goes down for repair. A draw on a node that is already down is
  discarded (thinning), so each node that is up sees exactly ``rate``.
* ``rack``: the rack's switch fails (``rate x nodes_per_rack`` per rack) and takes down
  whatever is up in the rack, all repaired together.
* ``job``: the job on the node is killed; no hardware is lost. A draw on an idle node does
  nothing.

Each event draws the same variates (gap, node, repair time) whatever its effect, which keeps
streams aligned across scenarios (common random numbers).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from clustersim.config import FaultConfig
from clustersim.faults.base import RepairSampler, World
from clustersim.rng import BlockSampler, Streams
from clustersim.topology import Topology

__all__ = ["PoissonFaults"]


class PoissonFaults:
    """A named Poisson fault source with a blast radius and a repair-time distribution."""

    def __init__(self, name: str, cfg: FaultConfig, streams: Streams, topology: Topology) -> None:
        self.name = name
        self.cfg = cfg
        self.topology = topology
        self.total_rate = cfg.rate * topology.n_nodes
        self._sampler = BlockSampler(streams.get(f"faults.{name}"))
        self._repair = RepairSampler(cfg.repair, self._sampler)

    def start(self, env: simpy.Environment, world: World) -> None:
        """Start injecting faults (nothing happens at a zero rate)."""
        if self.total_rate > 0:
            env.process(self.inject_failures(env, world))

    def inject_failures(self, env: simpy.Environment, world: World) -> Generator[Any, Any, None]:
        """The source's process: wait for the next fault, apply it, repeat."""
        sampler = self._sampler
        n_nodes = self.topology.n_nodes
        blast = self.cfg.blast_radius
        while True:
            yield env.timeout(sampler.exponential() / self.total_rate)
            node = sampler.integer(n_nodes)
            repair_s = self._repair.draw()
            if world.closing:
                return
            if blast == "job":
                world.fail_job_on(node, self.name)
            elif blast == "node":
                if world.is_up(node):
                    world.fail_nodes((node,), self.name, repair_s)
            else:
                rack = self.topology.rack_of(node)
                world.fail_nodes(self.topology.nodes_of_rack(rack), self.name, repair_s)

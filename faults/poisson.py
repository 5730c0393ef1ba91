"""Hardware and software faults by cause: a rate per component and a blast radius.

Every node (or GPU, ``per: gpu``) fails independently at ``rate``. Times between failures are
exponential by default: the superposition is then one Poisson stream of rate
``rate x n_components`` with the node drawn uniformly (or lemon-weighted). With
``distribution: weibull`` each node has its own renewal process with shape ``shape`` and the
same mean, kept as per-node next-failure times in a heap (k < 1: infant mortality, clustered
failures; k > 1: wear-out). With a ``hazard`` the rate depends on each node's age since its
cohort was installed (a bathtub; ``faults/ageing.py``, docs/ageing.md).

The blast radius decides the effect:

* ``gpu`` / ``node``: the node goes down for repair (a GPU failure takes its node out of the
  gang). A draw on a node that is already down is discarded (thinning).
* ``rack`` / ``pod``: everything up in the node's rack (pod) goes down, repaired together.
* ``job``: the job on the node is killed; no hardware is lost. A draw on an idle node does
  nothing.

``correlated.share`` of node failures take ``correlated.nodes`` consecutive nodes at once (a
rack or PSU domain). Each event draws the same variates whatever its effect, which keeps
streams aligned across scenarios that differ only in rates, effects or repair times (common
random numbers).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Generator
from typing import Any

import simpy

from clustersim.config import FaultConfig
from clustersim.faults.ageing import inject_aged, is_aged
from clustersim.faults.base import DurationSampler, NodePicker, RatedSource, World
from clustersim.rng import Streams
from clustersim.topology import Topology

__all__ = ["PoissonFaults"]


class PoissonFaults(RatedSource):
    """A named fault cause with a rate per node or GPU, a blast radius and a repair time."""

    def __init__(self, name: str, cfg: FaultConfig, streams: Streams, topology: Topology) -> None:
        super().__init__(name, cfg, streams, topology)
        self.node_rate = cfg.node_rate(topology.gpus_per_node)
        self._repair = DurationSampler(cfg.repair, self._sampler)

    def start(self, env: simpy.Environment, world: World) -> None:
        """Start injecting faults (nothing happens at a zero rate)."""
        aged = is_aged(self.name, self.cfg, world)
        if self.total_rate <= 0 and not aged:
            return
        lemon_prone = self.cfg.lemons and self.cfg.blast_radius in ("gpu", "node")
        picker = world.node_picker(lemon_prone)
        if aged:  # age-dependent hazard: faults/ageing.py
            env.process(
                inject_aged(
                    env,
                    world,
                    name=self.name,
                    cfg=self.cfg,
                    sampler=self._sampler,
                    picker=picker,
                    apply=self.apply,
                )
            )
        elif self.cfg.distribution == "weibull" and self.cfg.shape != 1.0:
            env.process(self.inject_renewals(env, world, picker))
        else:
            env.process(self.inject_failures(env, world, picker))

    def inject_failures(
        self, env: simpy.Environment, world: World, picker: NodePicker
    ) -> Generator[Any, Any, None]:
        """The superposed exponential stream: wait, pick a node, apply, repeat."""
        sampler = self._sampler
        while True:
            yield env.timeout(sampler.exponential() / self.total_rate)
            node = picker.pick(sampler)
            if world.closing:
                return
            self.apply(world, node)

    def inject_renewals(
        self, env: simpy.Environment, world: World, picker: NodePicker
    ) -> Generator[Any, Any, None]:
        """Weibull renewal per node: a heap of each node's next failure time."""
        sampler = self._sampler
        k = self.cfg.shape
        mean = 1.0 / self.node_rate
        scale = mean / math.gamma(1.0 + 1.0 / k)
        n = self.topology.n_nodes
        factors = [picker.rate_factor(i) for i in range(n)]
        scales = [scale / f ** (1.0 / k) if f != 1.0 else scale for f in factors]

        def gap(node: int) -> float:
            # Weibull by inversion of a standard exponential: scale * E^(1/k).
            return float(scales[node] * sampler.exponential() ** (1.0 / k))

        heap = [(gap(i), i) for i in range(n)]
        heapq.heapify(heap)
        while True:
            t, node = heap[0]
            if t > env.now:
                yield env.timeout(t - env.now)
            if world.closing:
                return
            heapq.heapreplace(heap, (t + gap(node), node))
            self.apply(world, node)

    def apply(self, world: World, node: int) -> None:
        """One failure landing on ``node``: its effect by blast radius."""
        repair_s = self._repair.draw()
        corr = self.cfg.correlated
        correlated = self._sampler.uniform() if corr is not None else 1.0
        blast = self.cfg.blast_radius
        topo = self.topology
        if blast == "job":
            world.fail_job_on(node, self.name)
        elif blast in ("node", "gpu"):
            if corr is not None and correlated < corr.share:
                first = (node // corr.nodes) * corr.nodes
                nodes = range(first, min(first + corr.nodes, topo.n_nodes))
                world.fail_nodes(nodes, self.name, repair_s)
            elif world.is_up(node):
                world.fail_nodes((node,), self.name, repair_s)
        elif blast == "rack":
            world.fail_nodes(topo.nodes_of_rack(topo.rack_of(node)), self.name, repair_s)
        else:
            world.fail_nodes(topo.nodes_of_pod(topo.pod_of(node)), self.name, repair_s)

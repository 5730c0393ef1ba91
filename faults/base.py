"""The contract between fault sources and the engine, and what sources share.

A fault source owns one cause: its arrival process, the components it hits and what a hit
does. It acts on the world only through :class:`World` (implemented by the engine). Shared
here: :class:`DurationSampler` (repair times, flap lengths, windows) and :class:`NodePicker`
(which node a failure lands on, weighted towards lemon nodes when they are configured).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Sequence
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt
import simpy

from clustersim.cohorts import Cohorts
from clustersim.config import FaultConfig, RepairConfig
from clustersim.rng import BlockSampler, Streams
from clustersim.topology import Topology

__all__ = [
    "DurationSampler",
    "FaultSource",
    "NodePicker",
    "RatedSource",
    "RepairSampler",
    "World",
]


class NodePicker:
    """Draws a node uniformly, or with lemon nodes ``multiplier`` times as likely.

    The weights are normalised so a source's cluster-wide rate is unchanged: lemons fail at
    ``multiplier`` times the rate of the other nodes, and the average node at the configured
    rate. Without lemons one uniform picks a node exactly as ``BlockSampler.integer`` does.
    """

    __slots__ = ("_lemon_set", "_lemon_weight", "_lemons", "_mult", "_n", "_others", "weights")

    def __init__(self, n_nodes: int, lemons: npt.NDArray[np.int64], multiplier: float) -> None:
        self._n = n_nodes
        self._lemons = lemons.tolist()
        self._lemon_set = frozenset(self._lemons)
        self._mult = multiplier
        self._lemon_weight = multiplier * len(self._lemons)
        if self._lemons:
            mask = np.ones(n_nodes, dtype=bool)
            mask[lemons] = False
            self._others = np.flatnonzero(mask).tolist()
        else:
            self._others = []
        self.weights = self._lemon_weight + (n_nodes - len(self._lemons))

    def rate_factor(self, node: int) -> float:
        """The node's rate relative to the configured per-node rate."""
        if not self._lemons:
            return 1.0
        base = self._n / self.weights
        return base * (self._mult if node in self._lemon_set else 1.0)

    def pick(self, sampler: BlockSampler) -> int:
        """One node (consumes one uniform)."""
        if not self._lemons:
            return sampler.integer(self._n)
        u = sampler.uniform() * self.weights
        if u < self._lemon_weight:
            return int(self._lemons[min(int(u / self._mult), len(self._lemons) - 1)])
        i = min(int(u - self._lemon_weight), len(self._others) - 1)
        return int(self._others[i])


class World(Protocol):
    """What a fault source may do to the simulated cluster (the engine implements it)."""

    topology: Topology
    closing: bool
    cohorts: Cohorts
    """Which cohort each node belongs to, and when it was installed (ages, hazards)."""

    def is_up(self, node: int) -> bool:
        """Whether ``node`` is in service (not down for repair)."""
        ...

    def owner_of(self, node: int) -> int:
        """The id of the job holding ``node``, -2 for a node shared by sub-node jobs, or -1."""
        ...

    def node_picker(self, lemon_prone: bool) -> NodePicker:
        """How to draw the node a failure lands on."""
        ...

    def fail_nodes(self, nodes: Sequence[int], cause: str, repair_s: float) -> None:
        """Take ``nodes`` down for ``repair_s``; jobs on them are interrupted once each."""
        ...

    def fail_job_on(self, node: int, cause: str) -> None:
        """Kill the job running on ``node`` (if any) without taking hardware down."""
        ...

    def maintain(self, nodes: Sequence[int], cause: str, duration_s: float) -> None:
        """Planned maintenance of ``nodes``: running jobs checkpoint first, then hand over."""
        ...

    def slow(
        self,
        scope: Literal["node", "rack", "pod"],
        ids: Sequence[int],
        factor: float,
        cause: str,
        duration_s: float,
    ) -> int:
        """Slow ``scope`` ``ids`` to ``factor`` of full speed for ``duration_s``; a token."""
        ...

    def unslow(self, token: int) -> None:
        """End a slowdown early."""
        ...

    def cut_uplink(self, pod: int, cause: str, duration_s: float) -> bool:
        """Remove one aggregation plane of ``pod``'s uplink for ``duration_s``.

        Returns False (and does nothing) when no network model is on.
        """
        ...

    def cut_rack(self, rack: int, fraction: float, cause: str, duration_s: float) -> bool:
        """Remove ``fraction`` of ``rack``'s uplink (ToR) capacity for ``duration_s``.

        Returns False (and does nothing) when no network model is on.
        """
        ...

    def cut_node(self, node: int, fraction: float, cause: str, duration_s: float) -> bool:
        """Remove ``fraction`` of ``node``'s NIC capacity for ``duration_s`` (a flapping rail).

        Returns False (and does nothing) when no network model is on.
        """
        ...

    def is_slowed(self, token: int) -> bool:
        """Whether a slowdown is still in effect."""
        ...

    def corrupt(self, node: int, cause: str, delay_s: float, repair_s: float) -> None:
        """Silent data corruption on ``node``, detected ``delay_s`` later."""
        ...

    def storage_window(self, factor: float, cause: str, duration_s: float) -> None:
        """Scale the shared store's bandwidth to ``factor`` for ``duration_s``."""
        ...

    def watch_renewals(self, callback: Callable[[Sequence[int], float], None]) -> bool:
        """Call ``callback(nodes, t)`` whenever a refresh replaces ``nodes`` (age 0 at ``t``).

        Returns whether it can ever be called (False without ``fleet.refresh``). Only
        age-dependent sources need it.
        """
        ...


class FaultSource(Protocol):
    """A source of faults: started once, then drives its own process."""

    name: str

    def start(self, env: simpy.Environment, world: World) -> None:
        """Launch the source's process(es) in ``env`` against ``world``."""
        ...


class RatedSource:
    """Base of the sources driven by one superposed Poisson stream at a rate per component.

    Owns what they share: the source's name, config and topology, its stream
    ``faults.<name>`` and the stream's total rate (per-node rate x nodes unless a subclass
    counts other components). :meth:`start` runs :meth:`events` unless the rate is zero.
    """

    def __init__(self, name: str, cfg: FaultConfig, streams: Streams, topology: Topology) -> None:
        self.name = name
        self.cfg = cfg
        self.topology = topology
        self.total_rate = self._total_rate()
        self._sampler = BlockSampler(streams.get(f"faults.{name}"))

    def _total_rate(self) -> float:
        return self.cfg.node_rate(self.topology.gpus_per_node) * self.topology.n_nodes

    def start(self, env: simpy.Environment, world: World) -> None:
        """Start the source's process (nothing happens at a zero rate)."""
        if self.total_rate > 0:
            env.process(self.events(env, world))

    def events(self, env: simpy.Environment, world: World) -> Generator[Any, Any, None]:
        """The source's process."""
        raise NotImplementedError


class DurationSampler:
    """Draws durations (seconds) from a :class:`RepairConfig` using a block sampler."""

    __slots__ = ("_cfg", "_mu", "_sampler", "_sigma")

    def __init__(self, cfg: RepairConfig, sampler: BlockSampler) -> None:
        self._cfg = cfg
        self._sampler = sampler
        self._sigma = math.sqrt(math.log1p(cfg.cv**2))
        self._mu = math.log(cfg.mean) - self._sigma**2 / 2

    def draw(self) -> float:
        """One duration; always consumes the same number of variates per call."""
        e = self._sampler.exponential()
        z = self._sampler.normal()
        if self._cfg.distribution == "exponential":
            return self._cfg.mean * e
        if self._cfg.distribution == "lognormal":
            return math.exp(self._mu + self._sigma * z)
        return self._cfg.mean


RepairSampler = DurationSampler

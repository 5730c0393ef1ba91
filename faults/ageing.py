"""Failure arrivals of a source whose hazard depends on each node's age.

:func:`inject_aged` is the process a ``kind: poisson`` source runs when it has a ``hazard``
(or a cohort overrides it): every node has its own next failure time, kept in a heap, drawn
exactly from its cohort's :class:`~clustersim.faults.hazard.Bathtub` at the node's age
(time since its cohort's install, or since its last failure of this source under
``repair: renew``). A node's age is calendar age: it keeps ageing while down for repair. A
failure drawn for a node that is already down is discarded by the source's effect, as for
every other source (its next failure is still drawn from its age, so minimal repair stays
exact for the process of arrivals). The draws come from the source's own stream.

Fleet changes (docs/fleet.md): a node of a cohort installed later (an expansion) has its
first failure drawn from age 0 at its install time; a node stops drawing once its next
failure would fall at or after its cohort's retirement; a refresh that replaces a node
(``World.watch_renewals``) restarts its age and redraws its next failure at once (an entry
of the heap carries the node's replacement generation, so the old draw is skipped).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Generator, Sequence
from typing import Any

import simpy

from clustersim.config import FaultConfig
from clustersim.faults.base import NodePicker, World
from clustersim.faults.hazard import Bathtub, bathtub_for
from clustersim.rng import BlockSampler

__all__ = ["inject_aged", "is_aged"]


def is_aged(name: str, cfg: FaultConfig, world: World) -> bool:
    """Whether source ``name`` has an age-dependent hazard (its own or a cohort's override)."""
    return cfg.hazard is not None or any(name in h for h in world.cohorts.hazards)


def inject_aged(
    env: simpy.Environment,
    world: World,
    *,
    name: str,
    cfg: FaultConfig,
    sampler: BlockSampler,
    picker: NodePicker,
    apply: Callable[[World, int], None],
) -> Generator[Any, Any, None]:
    """Process: each node's next failure from its age-dependent hazard; apply, redraw, repeat."""
    cohorts = world.cohorts
    gpn = world.topology.gpus_per_node
    curves: dict[tuple[int, float], Bathtub] = {}
    renew: list[bool] = []
    for c in range(len(cohorts.names)):
        hazard = cohorts.hazard(c, name, cfg.hazard)
        curves[c, 1.0] = bathtub_for(cfg, hazard, gpn)
        renew.append(hazard is not None and hazard.repair == "renew")
    node_curve: list[Bathtub] = []
    node_renew: list[bool] = []
    born: list[float] = []
    retire: list[float] = []
    heap: list[tuple[float, int, int]] = []
    for c, (first, count) in enumerate(zip(cohorts.first, cohorts.counts, strict=True)):
        for node in range(first, first + count):
            factor = picker.rate_factor(node)
            curve = curves.get((c, factor))
            if curve is None:
                curve = curves[c, factor] = curves[c, 1.0].scaled(factor)
            node_curve.append(curve)
            node_renew.append(renew[c])
            born.append(cohorts.install_s[c])
            retire.append(cohorts.retire_at(c))
            age = max(0.0, env.now - born[node])  # an expansion starts at age 0
            t = born[node] + curve.next_age(age, sampler.exponential())
            heap.append((t, node, 0))
    heapq.heapify(heap)
    generation = [0] * len(born)
    # With refresh, a replacement may bring a node's next failure before the one waited for:
    # the wait is then cut short by ``wake`` (without refresh the plain timeout is used).
    waiting: list[Any] = [math.inf, None]  # until when, and the event that ends the wait early

    def renewed(nodes: Sequence[int], t: float) -> None:
        """Replaced ``nodes`` are new at ``t``: their next failure is drawn from age 0."""
        for node in nodes:
            born[node] = t
            generation[node] += 1
            nxt = t + node_curve[node].next_age(0.0, sampler.exponential())
            if nxt < retire[node]:
                heapq.heappush(heap, (nxt, node, generation[node]))
                if nxt < waiting[0] and waiting[1] is not None and not waiting[1].triggered:
                    waiting[1].succeed()

    refresh = world.watch_renewals(renewed)
    while heap and heap[0][0] != float("inf"):
        t, node, gen = heap[0]
        if gen != generation[node] or t >= retire[node]:
            heapq.heappop(heap)  # drawn before the node was replaced, or after it retired
            continue
        if t > env.now:
            if not refresh:
                yield env.timeout(t - env.now)
            else:
                wake = env.event()
                waiting[0], waiting[1] = t, wake
                yield env.timeout(t - env.now) | wake
                waiting[0], waiting[1] = math.inf, None
                if heap[0][:2] != (t, node) or gen != generation[node]:
                    continue  # a replacement changed what comes next
        if world.closing:
            return
        if node_renew[node]:
            born[node] = t
        age = t - born[node]
        heapq.heapreplace(
            heap, (born[node] + node_curve[node].next_age(age, sampler.exponential()), node, gen)
        )
        apply(world, node)

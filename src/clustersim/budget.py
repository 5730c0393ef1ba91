"""Resource guard: refuse, before building anything, a scenario too big to simulate.

The estimate is an upper bound from the configuration alone: events from job lifecycles and
from every fault source's expected failures over the horizon (when the run stops once the
work is done, over the time the jobs would take one after another at an ETTR of 0.1),
memory from per-node arrays, per-job state and the event log. A scenario over ``run.max_events`` or
``run.max_memory`` is refused with the estimate in a one-line message (raise the limits
with ``--set run.max_events=...`` when the machine can take it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from clustersim.config import FaultConfig, RunConfig, Scenario
from clustersim.errors import ResourceError

__all__ = ["BudgetExceeded", "Estimate", "check_budget", "check_mc_budget", "estimate"]

EVENTS_PER_JOB = 8
EVENTS_PER_FAULT = 3
"""Per incident: the job interrupted, a replacement taken, a recovery (measured 2-3)."""
EVENTS_PER_NODE_DOWN = 2
"""Per node an incident takes down (its blast radius): failed, then repaired."""
BYTES_PER_NODE = 256
"""Measured 100-170 B per node (tracemalloc peak, RSS) on clusters of 3k-30k nodes."""
BYTES_PER_JOB = 2_000
BYTES_FIXED = 256 << 10
"""Per replication whatever its size: the engine's components and the metrics (measured ~110 kB)."""
BYTES_PER_EVENT = 160
MIN_ETTR = 0.1
DEFAULT_MAX_EVENTS = RunConfig.model_fields["max_events"].default
DEFAULT_MAX_MEMORY = RunConfig.model_fields["max_memory"].default
MC_CHUNK_REPS = 1 << 16
"""Monte Carlo replications stepped together (a working set of a few tens of MB)."""
MC_RESULT_BYTES_PER_REP = 33
"""The five per-replication result arrays: four 8-byte numbers and a flag."""
MC_WORK_BYTES_PER_REP = 600
"""State and per-step temporaries of a replication in the chunk being stepped."""


class BudgetExceeded(ResourceError):
    """The scenario would exceed the run's event or memory budget (bad data: exit 65)."""


@dataclass(frozen=True, slots=True)
class Estimate:
    """Upper-bound cost of one replication."""

    events: float
    memory_bytes: float
    jobs: int
    fault_events: float


def estimate(scenario: Scenario) -> Estimate:
    """Estimate events and memory of one replication from the configuration alone."""
    nodes = scenario.cluster.n_nodes
    workload = scenario.workload
    jobs = sum(spec.count for spec in workload.jobs)
    work = sum(spec.count * spec.work for spec in workload.jobs)
    last_submit = max((spec.submit for spec in workload.jobs), default=0.0)
    gen = workload.generator
    if gen is not None:
        jobs += gen.jobs
        total_weight = sum(c.weight for c in gen.classes)
        work += gen.jobs * sum(
            c.weight
            / total_weight
            * min(c.work_median * math.exp(c.work_sigma**2 / 2), c.work_max or math.inf)
            for c in gen.classes
        )
        last_submit = max(last_submit, gen.window)
    horizon = scenario.run.horizon
    if scenario.run.stop_when_done:
        # Even run one after another at an ETTR of 0.1, the jobs are done by then.
        horizon = min(horizon, last_submit + work / MIN_ETTR)
    faults = sum(_fault_events(scenario, f, horizon) for f in scenario.faults.values())
    downs = sum(_node_downs(scenario, f, horizon) for f in scenario.faults.values())
    events = EVENTS_PER_JOB * jobs + EVENTS_PER_FAULT * faults + EVENTS_PER_NODE_DOWN * downs + 100
    memory = BYTES_FIXED + BYTES_PER_NODE * nodes + BYTES_PER_JOB * jobs + BYTES_PER_EVENT * events
    return Estimate(events, memory, jobs, faults)


def _fault_events(scenario: Scenario, f: FaultConfig, horizon: float) -> float:
    """Expected number of events a fault source generates over ``horizon``."""
    cluster = scenario.cluster
    if f.kind == "switch":
        switches = cluster.pods if f.level == "pod" else cluster.racks_per_pod * cluster.pods
        return (f.rate or 0.0) * switches * horizon
    if f.every is not None:
        batches = (
            1
            if f.kind == "storage"
            else math.ceil(cluster.n_nodes / (f.batch_nodes or cluster.n_nodes))
        )
        return horizon / f.every * batches
    return f.node_rate(cluster.gpus_per_node) * cluster.n_nodes * horizon


def _blast_nodes(scenario: Scenario, f: FaultConfig) -> int:
    """How many nodes one incident of ``f`` takes down (an upper bound)."""
    cluster = scenario.cluster
    pod = cluster.nodes_per_rack * cluster.racks_per_pod
    if f.kind == "switch":
        return cluster.nodes_per_rack if f.level == "rack" else pod
    if f.kind == "maintenance":
        return f.batch_nodes or cluster.n_nodes
    if f.kind == "storage":
        return 0
    radius = getattr(f, "blast_radius", "node")
    if radius == "rack":
        return cluster.nodes_per_rack
    if radius == "pod":
        return pod
    if radius == "job":  # the largest job's nodes, or the whole cluster for a generator
        gpn = cluster.gpus_per_node
        sizes = [-(-spec.gpus // gpn) for spec in scenario.workload.jobs]
        generated = scenario.workload.generator is not None or scenario.workload.trace is not None
        return cluster.n_nodes if generated or not sizes else max(sizes)
    return 1


def _node_downs(scenario: Scenario, f: FaultConfig, horizon: float) -> float:
    """Expected node outages of ``f``: incidents times blast radius, capped by repairs.

    A node that is down cannot go down again before it is repaired, so no source takes more
    than ``n_nodes * horizon / repair`` outages (the cap matters for rack and pod radii).
    """
    downs = _fault_events(scenario, f, horizon) * min(
        _blast_nodes(scenario, f), scenario.cluster.n_nodes
    )
    repair = f.repair.mean if f.kind not in ("maintenance", "storage") else math.inf
    if f.kind == "maintenance" and f.duration is not None:
        repair = f.duration.mean
    if math.isfinite(repair) and repair > 0:
        downs = min(downs, scenario.cluster.n_nodes * (horizon / repair + 1))
    return downs


def check_budget(scenario: Scenario, replications: int = 1) -> Estimate:
    """Raise :class:`BudgetExceeded` if the run would exceed its budget.

    Memory is checked per replication, events over all ``replications`` together.
    """
    est = estimate(scenario)
    run = scenario.run
    if est.events * replications > run.max_events or est.memory_bytes > run.max_memory:
        raise BudgetExceeded(
            f"{scenario.name}: too big to simulate: about {est.events:.3g} events "
            f"per replication x {replications:,} and {est.memory_bytes / 1e9:.3g} GB "
            f"({est.jobs:,} jobs, "
            f"{est.fault_events:.3g} failures over the horizon) exceed run.max_events="
            f"{run.max_events:.3g} / run.max_memory={run.max_memory / 1e9:.3g} GB; "
            "shrink the scenario or raise the limits with --set"
        )
    return est


def check_mc_budget(
    reps: int,
    steps_per_rep: float,
    chunk_reps: int,
    *,
    max_events: float = DEFAULT_MAX_EVENTS,
    max_memory: float = DEFAULT_MAX_MEMORY,
) -> None:
    """Raise :class:`BudgetExceeded` if a vectorised Monte Carlo would exceed its budget.

    The result arrays grow with ``reps``; the working set with the ``chunk_reps`` stepped
    together. Steps (one per replication per disturbance phase) count as events.
    """
    memory = MC_RESULT_BYTES_PER_REP * reps + MC_WORK_BYTES_PER_REP * chunk_reps
    steps = steps_per_rep * reps
    if steps > max_events or memory > max_memory:
        raise BudgetExceeded(
            f"Monte Carlo of {reps:,} replications too big: about {steps:.3g} steps and "
            f"{memory / 1e9:.3g} GB exceed run.max_events={max_events:.3g} / "
            f"run.max_memory={max_memory / 1e9:.3g} GB; use fewer replications or raise "
            "the limits with --set"
        )

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
EVENTS_PER_FAULT = 5
"""Per incident, at most: the job interrupted, its epoch ended, a replacement taken, its
recovery ended and a new epoch begun (a fleet whose every failure hits one big job measures 5;
a lightly loaded cluster 2-3)."""
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
    sources = scenario.faults.items()
    faults = sum(_fault_events(scenario, name, f, horizon) for name, f in sources)
    downs = sum(_node_downs(scenario, name, f, horizon) for name, f in sources)
    events = EVENTS_PER_JOB * jobs + EVENTS_PER_FAULT * faults + EVENTS_PER_NODE_DOWN * downs + 100
    memory = BYTES_FIXED + BYTES_PER_NODE * nodes + BYTES_PER_JOB * jobs + BYTES_PER_EVENT * events
    return Estimate(events, memory, jobs, faults)


def _fault_events(scenario: Scenario, name: str, f: FaultConfig, horizon: float) -> float:
    """Expected number of events a fault source generates over ``horizon``."""
    cluster = scenario.cluster
    if f.kind == "poisson" and (
        f.hazard is not None or (scenario.fleet is not None and _overridden(scenario, name))
    ):
        return _aged_events(scenario, name, f, horizon)
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
    # Lemons share out the same failures unequally (their mean rate is the configured one).
    return f.node_rate(cluster.gpus_per_node) * cluster.n_nodes * horizon


def _overridden(scenario: Scenario, name: str) -> bool:
    """Whether a cohort gives source ``name`` a hazard of its own."""
    assert scenario.fleet is not None
    return any(name in c.hazards for c in scenario.fleet.cohorts)


def _aged_events(scenario: Scenario, name: str, f: FaultConfig, horizon: float) -> float:
    """Expected failures of an age-dependent source over ``horizon``, cohort by cohort.

    Each node of a cohort is in service from its install (or the run's start) to its
    retirement (or the horizon); its expected failures there are its cumulative hazard over
    those ages (exact under minimal repair; an upper bound under ``renew`` for a rising
    hazard). A renewed infant term restarts at its highest hazard, so it adds Lorden's bound
    on a renewal count, ``t / mean + E[X^2] / mean^2``, per component. Refresh, which also
    makes nodes young again, is left out.
    """
    from clustersim.cohorts import Cohorts
    from clustersim.faults.hazard import bathtub_for

    cohorts = Cohorts.of(scenario)
    gpn = scenario.cluster.gpus_per_node
    total = 0.0
    for c, count in enumerate(cohorts.counts):
        start = max(0.0, cohorts.install_s[c])
        end = min(horizon, cohorts.retire_at(c))
        if end <= start:
            continue
        hazard = cohorts.hazard(c, name, f.hazard)
        curve = bathtub_for(f, hazard, gpn)
        born = cohorts.install_s[c]
        per_node = curve.cumulative(end - born) - curve.cumulative(start - born)
        if hazard is not None and hazard.repair == "renew" and hazard.infant is not None:
            k, scale = hazard.infant.shape, hazard.infant.scale
            mean = scale * math.gamma(1 + 1 / k)
            second = scale**2 * math.gamma(1 + 2 / k)
            per_node += curve.multiplier * ((end - start) / mean + second / mean**2)
        total += count * per_node
    return total


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
    if radius == "job":  # kills the job on the node; no node goes down (faults/poisson.py)
        return 0
    return 1


def _node_downs(scenario: Scenario, name: str, f: FaultConfig, horizon: float) -> float:
    """Expected node outages of ``f``: incidents times blast radius, capped by repairs.

    A node that is down cannot go down again before it is repaired, so no source takes more
    than ``n_nodes * horizon / repair`` outages (the cap matters for rack and pod radii).
    """
    downs = _fault_events(scenario, name, f, horizon) * min(
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

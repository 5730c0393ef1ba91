"""Fleet changes keep every invariant: INV-1 with OUT nodes, INV-2 over the GPUs in service.

Scenarios from ``strategies.scenarios(fleet=True)``: cohorts of whole pods, expansions
installed mid-run, retirements (drains of held nodes), and refresh policies (docs/fleet.md).
"""

from __future__ import annotations

import math

from hypothesis import given, settings
from strategies import scenarios

from clustersim.cohorts import Cohorts
from clustersim.config import Scenario
from clustersim.events import (
    JobStarted,
    NodeFailed,
    NodesInstalled,
    NodesMaintained,
    NodesRetired,
    ReplacementTaken,
)
from clustersim.experiment import run_replication

REL = 1e-9
FLEET = settings(deadline=None, max_examples=40)


@FLEET
@given(scenarios(check_invariants=True, fleet=True, max_jobs=6))
def test_inv1_inv2_with_fleet_changes(scenario: Scenario) -> None:
    # ``run.check_invariants`` runs Cluster.check (OUT counted) and FleetChanges.check after
    # every event; the identity is checked by the engine and again here.
    metrics, log = run_replication(scenario, 0, scenario.run.seed)
    gs = metrics.gpu_seconds
    end = metrics.summary["sim_time_s"]
    scale = max(1.0, scenario.cluster.n_gpus * end)
    parts = ("useful", "checkpoint", "recovery", "lost", "slowdown", "idle", "down")
    assert math.isclose(sum(gs[k] for k in parts), gs["total"], rel_tol=0, abs_tol=REL * scale)
    assert math.isclose(
        gs["total"] + gs.get("out_of_service", 0.0),
        scenario.cluster.n_gpus * end,
        abs_tol=REL * scale,
    )
    # In service: never before the install; retired nodes leave no later than scheduled
    # except while a job drains them. The total lies between the scheduled service time and
    # the scheduled time plus the drains.
    cohorts = Cohorts.of(scenario)
    gpn = scenario.cluster.gpus_per_node
    scheduled = gpn * sum(
        count * cohorts.in_service_s(c, 0.0, end) for c, count in enumerate(cohorts.counts)
    )
    assert gs["total"] >= scheduled * (1 - REL) - REL * scale
    # Nodes out of service are never placed, failed or handed out.
    out = {
        n
        for c, first in enumerate(cohorts.first)
        if cohorts.install_s[c] > 0
        for n in range(first, first + cohorts.counts[c])
    }
    retired: set[int] = set()
    for ev in log:
        if isinstance(ev, NodesInstalled):
            assert set(ev.nodes) <= out, ev
            out -= set(ev.nodes)
            assert math.isclose(ev.t, cohorts.install_s[cohorts.cohort_of(ev.nodes[0])])
        elif isinstance(ev, NodesRetired):
            assert not set(ev.nodes) & (out | retired), ev
            c = cohorts.cohort_of(ev.nodes[0])
            assert ev.t >= cohorts.retire_at(c) * (1 - REL) - REL, ev
            retired |= set(ev.nodes)
        elif isinstance(ev, NodeFailed):
            assert ev.node not in out | retired, ev
        elif isinstance(ev, NodesMaintained | ReplacementTaken):
            assert not set(ev.nodes) & (out | retired), ev
        elif isinstance(ev, JobStarted):
            pass

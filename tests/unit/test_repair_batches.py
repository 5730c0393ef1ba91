"""Planned repairs that end at the same instant share one timer: the same run, fewer events.

``Fleet._repair_planned`` gives the nodes that one maintenance hand-over takes down, one
after another, a single timer when their repairs end at the same instant, instead of a timer
per node (issue 22, session 6). Those timers would have run back to back, so the run must
not change: the same records in the same order and the same metrics as with a timer per
node (``Fleet.batch_repairs`` off), burn-in tests (per-node repair times) and repair crews
included, while the SimPy event count falls.
"""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

import pytest

from clustersim.config import Scenario
from clustersim.engine import Simulation
from clustersim.engine.fleet import Fleet
from clustersim.metrics import measure

CLASSES = [
    {"name": "small", "weight": 0.6, "gpus": [8, 16], "work_median": "2h", "work_sigma": 1.0},
    {"name": "big", "weight": 0.4, "gpus": [32, 64], "work_median": "6h", "work_sigma": 1.0},
]


def scenario(repairs: dict[str, Any]) -> Scenario:
    return Scenario.model_validate(
        {
            "cluster": {"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": 4, "pods": 4},
            "workload": {"generator": {"jobs": 60, "window": "2d", "classes": CLASSES}},
            "checkpoint": {"policy": "fixed", "interval": "30m", "stall": "30s"},
            "faults": {
                "rollout": {
                    "kind": "maintenance",
                    "every": "5h",
                    "batch_nodes": 6,
                    "duration": {"distribution": "fixed", "mean": "20m"},
                },
                "hw": {
                    "rate": "30/1000 node-days",
                    "blast_radius": "node",
                    "repair": {"mean": "2h"},
                },
            },
            "repairs": repairs,
            "run": {"horizon": "3d", "check_invariants": True},
        }
    )


def run(sc: Scenario, batch: bool) -> tuple[list[Any], dict[str, Any], int]:
    with patch.object(Fleet, "batch_repairs", batch):
        sim = Simulation(sc, seed=11)
        sim.run()
    m = measure(sim)
    return list(sim.log), {**m.summary, **m.gpu_seconds}, next(sim.env._eid)


@pytest.mark.parametrize(
    "repairs",
    [{}, {"test": "5m", "test_failure": 0.4}, {"crews": 2, "test": "5m"}],
    ids=["plain", "burn-in", "crews"],
)
def test_batched_planned_repairs_change_nothing_but_the_event_count(
    repairs: dict[str, Any],
) -> None:
    sc = scenario(repairs)
    log, metrics, events = run(sc, batch=True)
    log_per_node, metrics_per_node, events_per_node = run(sc, batch=False)
    assert log == log_per_node
    assert metrics == metrics_per_node
    assert sum(type(e).__name__ == "NodeRepaired" for e in log) > 20  # repairs happened
    assert events < events_per_node  # and some shared a timer


def test_a_large_maintenance_batch_gets_its_burn_in_test() -> None:
    """Planned maintenance of more than ``BULK_NODES`` nodes (the one-record path) keeps each
    node down for its repair plus its burn-in test, like a small batch does: a node that fails
    the test is repaired and tested again before it returns."""
    from clustersim.engine.fleet import BULK_NODES
    from clustersim.events import NodeRepaired, NodesMaintained, NodesReturned

    for nodes_per_batch in (6, 2 * BULK_NODES):
        sc = Scenario.model_validate(
            {
                "cluster": {"gpus_per_node": 8, "nodes_per_rack": 4, "racks_per_pod": 8, "pods": 4},
                "workload": {"jobs": [{"name": "idle", "gpus": 8, "work": "1h", "submit": "9d"}]},
                "faults": {
                    "rollout": {
                        "kind": "maintenance",
                        "every": "2d",
                        "batch_nodes": nodes_per_batch,
                        "duration": {"distribution": "fixed", "mean": "20m"},
                    },
                },
                "repairs": {"test": "5m", "test_failure": 0.5},
                "run": {"horizon": "3d", "check_invariants": True},
            }
        )
        sim = Simulation(sc, seed=3)
        sim.run()
        down: dict[int, float] = {}
        spans: list[float] = []
        for ev in sim.log:
            if isinstance(ev, NodesMaintained):
                down.update(dict.fromkeys(ev.nodes, ev.t))
            elif isinstance(ev, NodesReturned):
                spans += [ev.t - down.pop(n) for n in ev.nodes]
            elif isinstance(ev, NodeRepaired) and ev.node in down:
                spans.append(ev.t - down.pop(ev.node))
            elif type(ev).__name__ == "NodeFailed" and ev.cause == "rollout":
                down[ev.node] = ev.t
        assert len(spans) >= nodes_per_batch
        # 20 min + 5 min test, then 25 min more per failed test (probability 0.5 each).
        odd = [s for s in spans if abs(s / 1500 - round(s / 1500)) > 1e-9 or s < 1500 - 1e-6]
        assert not odd, (nodes_per_batch, odd)
        assert any(s > 1500 for s in spans)  # some failed the test

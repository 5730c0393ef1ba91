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

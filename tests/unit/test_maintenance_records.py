"""Planned maintenance: one record per job and batch, each node back after its own repair.

Since session 7 every planned take-down (a maintenance hand-over of any size) goes through
``Fleet._take_down_planned``: one ``NodesMaintained`` per job that held some of the nodes and
one ``NodesReturned`` per instant at which some come back, instead of a ``NodeFailed`` and a
``NodeRepaired`` per node. The results did not change (every golden output but
``colossus-100k``'s record count is byte-identical); these tests pin what the records say.
"""

from __future__ import annotations

from unittest.mock import patch

import pytest

from clustersim.config import Scenario
from clustersim.engine import Simulation
from clustersim.engine.fleet import FEW_NODES
from clustersim.events import (
    NodeFailed,
    NodeRepaired,
    NodesMaintained,
    NodesRetired,
    NodesReturned,
    SlotsLost,
)
from clustersim.metrics import measure


def test_a_large_maintenance_batch_gets_its_burn_in_test() -> None:
    """Planned maintenance keeps each node down for its repair plus its burn-in test: a node
    that fails the test is repaired and tested again before it returns (before session 7 a
    batch of more than 32 nodes came back after the bare maintenance time)."""
    for nodes_per_batch in (6, 64):
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
            elif isinstance(ev, NodeFailed | NodeRepaired):
                raise AssertionError(f"maintenance is recorded per batch, not per node: {ev}")
        assert len(spans) >= nodes_per_batch
        # 20 min + 5 min test, then 25 min more per failed test (probability 0.5 each).
        odd = [s for s in spans if abs(s / 1500 - round(s / 1500)) > 1e-9 or s < 1500 - 1e-6]
        assert not odd, (nodes_per_batch, odd)
        assert any(s > 1500 for s in spans)  # some failed the test


def _maintained(
    sharing: str,
    repairs: dict[str, object],
    batch_nodes: int,
    fleet: dict[str, object] | None = None,
) -> Scenario:
    classes = [
        {"name": "tiny", "weight": 0.3, "gpus": [1, 4], "work_median": "1h", "work_sigma": 1.0},
        {"name": "small", "weight": 0.4, "gpus": [8, 16], "work_median": "2h", "work_sigma": 1.0},
        {"name": "big", "weight": 0.3, "gpus": [32, 128], "work_median": "6h", "work_sigma": 1.0},
    ]
    return Scenario.model_validate(
        {
            "cluster": {
                "gpus_per_node": 8,
                "nodes_per_rack": 2,
                "racks_per_pod": 4,
                "pods": 6,
                "sharing": sharing,
                "spare_nodes": 2,
            },
            "workload": {"generator": {"jobs": 80, "window": "2d", "classes": classes}},
            "checkpoint": {"policy": "fixed", "interval": "30m", "stall": "30s"},
            "faults": {
                "rollout": {
                    "kind": "maintenance",
                    "every": "3h",
                    "batch_nodes": batch_nodes,
                    "duration": {"distribution": "fixed", "mean": "20m"},
                },
                "hw": {"rate": "30/1000 node-days", "repair": {"mean": "2h"}},
                "swap": {  # planned, a rack at a time: take-downs of nodes of several owners
                    "planned": True,
                    "blast_radius": "rack",
                    "rate": "40/1000 node-days",
                    "repair": {"mean": "1h"},
                },
            },
            "repairs": repairs,
            **({"fleet": fleet} if fleet is not None else {}),
            "run": {"horizon": "3d", "check_invariants": True},
        }
    )


Outcome = tuple[list[object], dict[str, object]]


def _on_both_paths(sc: Scenario, seed: int) -> tuple[Outcome, Outcome]:
    """The log and metrics of a run with few-node take-downs by scalar steps, then of one
    with every take-down vectorised (``FEW_NODES`` 0)."""

    def run() -> Outcome:
        sim = Simulation(sc, seed=seed)
        sim.run()
        m = measure(sim)
        return list(sim.log), {**m.summary, **m.gpu_seconds}

    scalar = run()
    with patch("clustersim.engine.fleet.FEW_NODES", 0):
        return scalar, run()


@pytest.mark.parametrize(
    ("sharing", "repairs", "batch_nodes"),
    [
        ("node", {}, 6),
        ("gpu", {}, 6),
        ("node", {"test": "5m", "test_failure": 0.4}, 12),
        ("gpu", {"crews": 2, "test": "5m"}, 40),
    ],
    ids=["plain", "shared", "burn-in", "shared-large"],
)
def test_the_scalar_take_down_is_the_vectorised_one(
    sharing: str, repairs: dict[str, object], batch_nodes: int
) -> None:
    """Differential: planned take-downs of a few nodes (the scalar path, ``FEW_NODES``) give
    the same log and metrics as when every take-down is vectorised."""
    scalar, vectorised = _on_both_paths(_maintained(sharing, repairs, batch_nodes), seed=11)
    assert scalar == vectorised
    maintained = [e for e in scalar[0] if isinstance(e, NodesMaintained)]
    assert sum(len(e.nodes) <= FEW_NODES for e in maintained) > 20  # the scalar path ran
    assert any(e.job >= 0 for e in maintained)  # jobs lost nodes to it
    instants = [(e.t, e.cause) for e in maintained]
    assert len(set(instants)) < len(instants)  # some take-downs hit several owners at once
    if sharing == "gpu":
        assert any(isinstance(e, SlotsLost) for e in scalar[0])


def test_retirement_during_maintenance_is_the_same_on_both_paths() -> None:
    """Differential: a cohort retires while some of its nodes are down for maintenance; they
    leave service when their batch returns (``Fleet._repair_many``'s retiring branch). Planned
    take-downs of a few nodes by scalar steps (``FEW_NODES``) give the same log and metrics,
    retirements included, as when every take-down is vectorised."""
    old = {"count": 24, "install": "-365d", "retire": "366.4d"}
    sc = _maintained("node", {}, 6, {"cohorts": [old, {"count": 24}]})
    scalar, vectorised = _on_both_paths(sc, seed=5)
    assert scalar == vectorised
    # Some nodes retired as their maintenance ended (after the cohort's retirement instant).
    retire_t = 1.4 * 86400.0
    returned = {e.t for e in scalar[0] if isinstance(e, NodesReturned)}
    late = [e for e in scalar[0] if isinstance(e, NodesRetired) and e.t > retire_t]
    assert any(e.t in returned for e in late), late

"""Planned maintenance: one record per job and batch, each node back after its own repair.

Since session 7 every planned take-down (a maintenance hand-over of any size) goes through
``Fleet._take_down_many``: one ``NodesMaintained`` per job that held some of the nodes and
one ``NodesReturned`` per instant at which some come back, instead of a ``NodeFailed`` and a
``NodeRepaired`` per node. The results did not change (every golden output but
``colossus-100k``'s record count is byte-identical); these tests pin what the records say.
"""

from __future__ import annotations

from clustersim.config import Scenario
from clustersim.engine import Simulation
from clustersim.events import NodeFailed, NodeRepaired, NodesMaintained, NodesReturned


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

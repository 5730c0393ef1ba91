"""``scheduler.placement_wait``: hold a multi-node job for a placement inside one pod."""

from __future__ import annotations

import pytest

from clustersim.config import Scenario
from clustersim.engine.simulation import Simulation
from clustersim.metrics import measure

H = 3600.0


def run(wait: str | None) -> Simulation:
    """Two pods of 8 nodes; jobs a (5 nodes, 10 h) and b (5 nodes, 30 min) fill one pod
    each; c (6 nodes, 1 h) fits in the 6 free nodes only across both pods."""
    sc = Scenario.model_validate(
        {
            "cluster": {"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": 4, "pods": 2},
            "network": {"model": "fair-share", "exposed_comm": 0.5, "traffic": "all"},
            "workload": {
                "jobs": [
                    {"name": "a", "gpus": 40, "work": 10 * H},
                    {"name": "b", "gpus": 40, "work": 0.5 * H},
                    {"name": "c", "gpus": 48, "work": H},
                ]
            },
            "checkpoint": {"policy": "none"},
            "scheduler": {"policy": "fifo", "placement_wait": wait},
            "run": {"horizon": "10d"},
        }
    )
    sim = Simulation(sc, seed=1)
    sim.run()
    return sim


def test_without_a_wait_the_job_starts_across_pods_and_is_slowed() -> None:
    c = run(None).jobs[2]
    assert (c.first_placed_s, c.pods) == (0.0, 2)
    assert c.finish_s - c.first_start_s > H


def test_a_long_enough_wait_gets_one_pod_and_full_speed() -> None:
    sim = run("1h")
    b, c = sim.jobs[1:]
    assert c.pods == 1
    assert c.first_placed_s == b.finish_s  # the instant b frees pod 1, within the hour
    assert c.finish_s - c.first_start_s == pytest.approx(H)
    assert measure(sim).summary["network_slowdown_gpu_hours"] == 0.0


def test_the_wait_is_bounded() -> None:
    c = run("10m").jobs[2]
    assert c.first_placed_s == pytest.approx(600.0)
    assert c.pods == 2


def test_placement_wait_is_left_out_of_a_dump_when_unset() -> None:
    sc = Scenario.model_validate({"workload": {"jobs": [{"gpus": 8, "work": 1}]}})
    assert "placement_wait" not in sc.model_dump(mode="json")["scheduler"]

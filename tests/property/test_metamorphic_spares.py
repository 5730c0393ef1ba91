"""Metamorphic: a hot spare never lowers a lone job's ETTR (on means over common seeds).

The cluster is exactly the job's nodes plus ``k`` hot spares (racks of one node, so adding a
spare adds a rack). Without a spare a failed node must be repaired before the job resumes;
with spares it resumes at once. Replication ``i`` uses the same named streams for every ``k``.
"""

from __future__ import annotations

import math

import pytest

from clustersim.config import Scenario
from clustersim.experiment import run

SEEDS = 12


def scenario(spares: int) -> Scenario:
    nodes = 8 + spares
    return Scenario.model_validate(
        {
            "cluster": {
                "gpus_per_node": 8,
                "nodes_per_rack": 1,
                "racks_per_pod": nodes,
                "pods": 1,
                "spare_nodes": spares,
            },
            "workload": {"jobs": [{"gpus": 64, "work": "10d"}]},
            "checkpoint": {"policy": "fixed", "interval": "1h", "stall": "30s"},
            "restart": {"detection": "2m", "init": "5m", "init_per_gpu": 0, "load": "1m"},
            "faults": {
                "hw": {
                    "rate": "1/10 node-days",
                    "blast_radius": "node",
                    "repair": {"distribution": "lognormal", "mean": "12h", "cv": 1.0},
                }
            },
        }
    )


def ettr(spares: int) -> tuple[float, float]:
    """Mean job ETTR over the seeds and its standard error."""
    res = run(scenario(spares), reps=SEEDS, seed=3)
    xs = [m.jobs[0].ettr or 0.0 for m in res.replications]
    mean = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1))
    return mean, sd / math.sqrt(len(xs))


@pytest.mark.parametrize("spares", [1, 2, 4])
def test_hot_spares_do_not_lower_ettr(spares: int) -> None:
    base, base_se = ettr(0)
    more, more_se = ettr(spares)
    assert more >= base - 3 * math.hypot(base_se, more_se), (base, more)


def test_a_spare_helps_a_job_that_otherwise_waits_for_repairs() -> None:
    base, base_se = ettr(0)
    one, one_se = ettr(1)
    # Without a spare every hardware failure waits ~12 h for repair: the gain is large.
    assert one - base > 5 * math.hypot(base_se, one_se), (base, one)

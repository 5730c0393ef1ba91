"""Job MTTF vs job size at the Kokolis et al. rate (DESIGN §6).

At 6.5 interruptions per 1,000 node-days (Meta RSC-1, ../shared/data/published_rates.csv)
a job's MTTF is 1 / (rate x nodes): about 1.8 h at 16,384 GPUs and 0.23 h at 131,072 GPUs,
as the paper projects. The DES runs the rsc1-research preset's fault sources (node, job and
rack scope) on a cluster big enough for one job of each size, and the measured MTTF (time
from first placement to the end / interruptions) must contain the formula within its exact
Poisson interval.
"""

from __future__ import annotations

import pytest

from clustersim.analysis import analytic
from clustersim.config import Scenario, load_scenario
from clustersim.engine import Simulation
from clustersim.events import JobInterrupted

RATE_PER_NODE_DAY = 6.5 / 1000


@pytest.mark.parametrize(("gpus", "paper_h"), [(16_384, 1.8), (131_072, 0.23)])
def test_job_mttf_follows_the_per_node_rate(gpus: int, paper_h: float) -> None:
    rsc1 = load_scenario("rsc1-research")
    total = sum(f.node_rate(8) for f in rsc1.faults.values()) * 86400
    assert total == pytest.approx(RATE_PER_NODE_DAY)
    nodes = gpus // 8
    formula_h = 24 / (RATE_PER_NODE_DAY * nodes)
    assert formula_h == pytest.approx(paper_h, rel=0.03)
    days = 20 if gpus < 100_000 else 3
    sc = Scenario.model_validate(
        {
            "cluster": {
                "gpus_per_node": 8,
                "nodes_per_rack": 4,
                "racks_per_pod": 128,
                "pods": nodes // 512 + 1,
                "spare_nodes": 256,
            },
            "workload": {"jobs": [{"gpus": gpus, "work": "365d", "model_params": 7e9}]},
            "faults": {k: v.model_dump(mode="json") for k, v in rsc1.faults.items()},
            "restart": {"detection": "30s", "init": "60s", "init_per_gpu": 0},
            "run": {"horizon": f"{days}d"},
        }
    )
    sim = Simulation(sc, seed=11)
    sim.run()
    hits = sum(isinstance(e, JobInterrupted) for e in sim.log)
    exposure_h = (sim.end_s - sim.jobs[0].first_placed_s) / 3600
    lo, hi = analytic.poisson_interval(hits, 0.999)
    # MTTF = exposure / hits; the formula must lie in [exposure / hi, exposure / lo].
    assert exposure_h / hi <= formula_h <= exposure_h / lo, (hits, exposure_h / hits, formula_h)

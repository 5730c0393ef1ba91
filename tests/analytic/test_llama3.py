"""The llama3-405b preset against the Llama 3 paper's 54-day snapshot (DESIGN §6).

Rates come from ../shared/data/llama3_interruptions.csv (count / (2,048 nodes x 54 days)).
Node- and job-scope causes hit only the job's 2,048 nodes, so their count over the 54-day
window is Poisson with mean equal to the paper's count; rack-scope causes hit the job more
often once replacements scatter it over more racks (docs/model.md), so they are checked
only from below.
"""

from __future__ import annotations

import math
from collections import Counter

import pytest

from clustersim import analytic
from clustersim.engine import Simulation
from clustersim.events import JobInterrupted
from clustersim.loader import load_scenario

SEEDS = range(12)
PAPER_TOTAL = 419
PAPER_RACK_SCOPE = 35  # Network Switch/Cable


@pytest.fixture(scope="module")
def counts() -> list[Counter[str]]:
    scenario = load_scenario("llama3-405b")
    out = []
    for seed in SEEDS:
        sim = Simulation(scenario, seed=seed)
        sim.run()
        out.append(Counter(e.cause for e in sim.log if isinstance(e, JobInterrupted)))
    return out


def test_node_and_job_scope_interruptions_match_the_paper(counts: list[Counter[str]]) -> None:
    expected = PAPER_TOTAL - PAPER_RACK_SCOPE
    per_seed = [sum(v for k, v in c.items() if k != "network-switch-cable") for c in counts]
    mean = sum(per_seed) / len(per_seed)
    # Poisson: the mean of n seeds has standard error sqrt(expected / n); allow 3.5 of them.
    assert abs(mean - expected) <= 3.5 * math.sqrt(expected / len(per_seed)), (mean, per_seed)


def test_total_interruptions_lie_in_the_papers_range(counts: list[Counter[str]]) -> None:
    low, high = analytic.poisson_interval(PAPER_TOTAL, 0.95)
    assert (low, high) == (379, 460)
    totals = [sum(c.values()) for c in counts]
    inside = sum(low <= t <= high for t in totals)
    assert inside >= 0.75 * len(totals), totals
    rack = [c["network-switch-cable"] for c in counts]
    assert sum(rack) / len(rack) >= PAPER_RACK_SCOPE - 3.5 * math.sqrt(PAPER_RACK_SCOPE / len(rack))


def test_cause_mix_follows_table_5(counts: list[Counter[str]]) -> None:
    total = Counter[str]()
    for c in counts:
        total.update(c)
    n = len(counts)
    for cause, paper in [("faulty-gpu", 148), ("gpu-hbm3-memory", 72), ("software-bug", 54)]:
        mean = total[cause] / n
        assert abs(mean - paper) <= 3.5 * math.sqrt(paper / n), (cause, mean)

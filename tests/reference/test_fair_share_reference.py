"""Differential test: fair share starts every job when the independent reference does.

The reference (``minifair``) computes each account's decayed usage by integrating its GPU
step function (no clustersim code); the engine keeps it in closed form
(:mod:`clustersim.engine.usage`). Workloads have one to four users in one or two groups,
fair share by user or by group, with or without decay, equal or unequal shares, EASY
backfilling or strict priority; faults are off and start-up and checkpoint costs zero, so
every job's start time is the policy's decision alone. Estimates equal runtimes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from hypothesis import given, settings
from minifair import simulate
from replay import start_times
from strategies import fair_share_workloads

AT_LEAST_1000 = settings(max_examples=max(1000, settings().max_examples), deadline=None)


def never_nan(starts: Sequence[float]) -> list[float | None]:
    """Start times with ``None`` for a job never started (so that lists compare equal)."""
    return [None if math.isnan(t) else t for t in starts]


@AT_LEAST_1000
@given(workload=fair_share_workloads())
def test_the_engine_starts_every_job_when_the_fair_share_reference_does(
    workload: tuple[int, list[tuple[int, int, int]], list[tuple[str, str]], dict[str, Any]],
) -> None:
    n_nodes, jobs, owners, fair_share = workload
    engine = start_times(
        jobs, n_nodes, "fair-share", owners=owners, scheduler={"fair_share": fair_share}
    )
    account = 0 if fair_share["by"] == "user" else 1
    reference = simulate(
        [(s, r, n, r, owner[account]) for (s, r, n), owner in zip(jobs, owners, strict=True)],
        n_nodes,
        half_life=fair_share["half_life"],
        shares=fair_share["shares"],
        backfill=fair_share["backfill"],
    )
    assert never_nan(engine) == never_nan(reference), (n_nodes, jobs, owners, fair_share)


# --------------------------------------------------------------------------- the reference itself
# Hand-checked cases, so that the reference is right independently of the engine.


def test_the_reference_decays_usage_by_half_each_half_life() -> None:
    from minifair import usage

    # 2 GPUs for 10 s ending at t = 10; 10 s later (one half-life) half the weight is gone
    # from every second: 2 * h / ln 2 * (2^-1 - 2^-2) = 2 * 10 / ln 2 * 0.25.
    held = [("a", 2, 0.0, 10.0)]
    assert math.isclose(usage(held, "a", 20.0, 10.0), 5 / math.log(2))
    assert usage(held, "a", 20.0, None) == 20.0
    # Split into two jobs of one GPU, or two back-to-back pieces: the same float.
    split = [("a", 1, 0.0, 10.0), ("a", 1, 0.0, 10.0)]
    pieces = [("a", 2, 0.0, 4.0), ("a", 2, 4.0, 10.0)]
    assert usage(split, "a", 20.0, 10.0) == usage(held, "a", 20.0, 10.0)
    assert usage(pieces, "a", 20.0, 10.0) == usage(held, "a", 20.0, 10.0)


def test_the_reference_serves_the_account_that_used_less_first() -> None:
    # 4 nodes; alice's first job runs [0, 100). At t = 100 alice (400 GPU-s) and bob (0)
    # both wait: bob's job starts first although submitted later.
    jobs = [(0, 100, 4, 100, "alice"), (1, 100, 4, 100, "alice"), (2, 100, 4, 100, "bob")]
    assert simulate(jobs, 4, half_life=3600.0) == [0, 200, 100]


def test_the_reference_weighs_usage_by_shares() -> None:
    # Both have used 400 GPU-s by t = 200 (no decay); alice holds twice bob's share, so her
    # factor is higher (2^-(0.5/(2/3)) > 2^-(0.5/(1/3))) and her waiting job goes first.
    jobs = [
        (0, 100, 4, 100, "alice"),
        (0, 100, 4, 100, "bob"),
        (1, 100, 4, 100, "bob"),
        (2, 100, 4, 100, "alice"),
    ]
    starts = simulate(jobs, 4, half_life=None, shares={"alice": 2.0})
    assert starts == [0, 100, 300, 200]

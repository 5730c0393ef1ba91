"""Fair share on a small hand-worked example: decayed usage decides who goes first.

Two one-GPU nodes, no faults, no start-up or checkpoint cost; jobs are (submit, run, nodes)
with their users, fair share by user, equal shares, EASY backfilling.
"""

from __future__ import annotations

import math
from typing import Any
from unittest.mock import patch

from replay import replay_scenario, start_times

from clustersim.engine import Simulation
from clustersim.scheduler import REGISTRY
from clustersim.views import ClusterView, Decision, JobView

JOBS = [(0, 300, 2), (1, 100, 2), (2, 100, 2), (3, 100, 2)]
OWNERS = [("alice", ""), ("bob", ""), ("alice", ""), ("bob", "")]


def run(half_life: float | None) -> list[float]:
    settings = {"fair_share": {"half_life": half_life}}
    return start_times(JOBS, 2, "fair-share", owners=OWNERS, scheduler=settings)


def test_old_usage_decays_so_the_heavier_but_earlier_user_goes_first() -> None:
    """Half-life h = 100 s, so ``2h / ln 2 = 288.539`` GPU-s per unit of weight.

    * t = 0: alice's job 0 (2 GPUs, 300 s) starts; jobs 1-3 arrive at t = 1, 2, 3.
    * t = 300: alice holds ``288.539 * (1 - 2^-3) = 252.47`` GPU-s, bob 0: bob's factor
      is 1, alice's 2^-2; bob's job 1 (submitted first of his) starts.
    * t = 400: alice ``288.539 * (2^-1 - 2^-4) = 126.24``, bob ``288.539 * (1 - 2^-1) =
      144.27``; total 270.51. Alice's factor ``2^-(0.4667 / 0.5) = 0.524`` beats bob's
      ``2^-(0.5333 / 0.5) = 0.477``: her job 2 starts, bob's job 3 waits until t = 500.

    Without decay alice has 600 GPU-s against bob's 200 at t = 400, and bob's job 3 goes
    first.
    """
    assert run(100.0) == [0, 300, 400, 500]
    assert run(None) == [0, 300, 500, 400]


def test_the_usage_the_policy_sees_is_the_hand_worked_one() -> None:
    seen: dict[float, dict[str, float]] = {}
    decide = REGISTRY["fair-share"]

    def spy(view: ClusterView, queue: tuple[JobView, ...], **kw: Any) -> list[Decision]:
        assert view.usage is not None
        seen[view.now_s] = dict(view.usage)
        return decide(view, queue, **kw)

    scenario = replay_scenario(
        JOBS, 2, "fair-share", owners=OWNERS, scheduler={"fair_share": {"half_life": 100}}
    )
    with patch.dict(REGISTRY, {"fair-share": spy}):
        Simulation(scenario).run(None)
    unit = 2 * 100 / math.log(2)
    assert math.isclose(seen[300.0]["alice"], unit * (1 - 2**-3), rel_tol=1e-12)
    assert seen[300.0]["bob"] == 0.0
    assert math.isclose(seen[400.0]["alice"], unit * (2**-1 - 2**-4), rel_tol=1e-12)
    assert math.isclose(seen[400.0]["bob"], unit * (1 - 2**-1), rel_tol=1e-12)

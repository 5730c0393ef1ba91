"""The fair-share policy (``scheduler/fair_share.py``) on hand-made views, without SimPy."""

from __future__ import annotations

import math
import warnings

import pytest

import clustersim
import clustersim.config
from clustersim.errors import ClusterSimWarning
from clustersim.scheduler import fair_share
from clustersim.views import ClusterView, JobView, RunningView, Start


def view(
    free: int, usage: dict[str, float] | None, running: tuple[RunningView, ...] = ()
) -> ClusterView:
    return ClusterView(0.0, free, 8, 0, running, usage=usage)


def job(i: int, nodes: int, account: str, submit: float = 0.0, runtime: float = 100.0) -> JobView:
    return JobView(i, nodes, 0, submit, runtime, account=account)


def test_factors_follow_slurms_classic_formula() -> None:
    # a has used 3/4 of everything with half the shares: 2^-(0.75/0.5); b 2^-(0.25/0.5).
    queue = (job(0, 1, "a"), job(1, 1, "b"))
    got = fair_share.factors(view(0, {"a": 300.0, "b": 100.0}), queue)
    assert got == {"a": 2**-1.5, "b": 2**-0.5}
    # b holds three shares of four: its share is 3/4, a's 1/4.
    got = fair_share.factors(view(0, {"a": 300.0, "b": 100.0}), queue, {"b": 3.0})
    assert got == pytest.approx({"a": 2**-3.0, "b": 2 ** (-0.25 / 0.75)})


def test_no_usage_yet_means_every_factor_is_one() -> None:
    queue = (job(0, 1, "a"), job(1, 1, "b"))
    assert fair_share.factors(view(0, {"a": 0.0, "b": 0.0}), queue) == {"a": 1.0, "b": 1.0}
    assert fair_share.factors(view(0, None), queue) == {"a": 1.0, "b": 1.0}


def test_an_account_that_used_its_share_exactly_gets_one_half() -> None:
    got = fair_share.factors(view(0, {"a": 50.0, "b": 50.0}), (job(0, 1, "a"),))
    assert got["a"] == 0.5


def test_order_is_by_factor_then_submission_then_id() -> None:
    usage = {"a": 100.0, "b": 0.0, "c": 100.0}
    queue = (job(3, 1, "a", 5.0), job(1, 1, "c", 5.0), job(2, 1, "b", 9.0), job(0, 1, "a", 7.0))
    assert [j.id for j in fair_share.order(view(0, usage), queue)] == [2, 1, 3, 0]


def test_backfill_runs_easy_in_fair_share_order() -> None:
    # b's 4-node job heads the queue (b used nothing) and waits for the running job (ends
    # at 100); a's short job ends by then and is backfilled, a's long one is not.
    running = (RunningView(9, 4, 0, 0.0, 100.0),)
    queue = (job(0, 2, "a", runtime=50.0), job(1, 2, "a", runtime=500.0), job(2, 4, "b"))
    v = ClusterView(0.0, 2, 6, 0, running, usage={"a": 10.0, "b": 0.0})
    assert fair_share.decide(v, queue) == [Start(0)]
    # Strict priority: nothing starts while b's job does not fit.
    assert fair_share.decide(v, queue, backfill=False) == []


def test_a_job_larger_than_the_cluster_is_skipped() -> None:
    queue = (job(0, 9, "b"), job(1, 2, "a"))
    v = view(8, {"a": 10.0, "b": 0.0})
    assert fair_share.decide(v, queue) == [Start(1)]
    assert fair_share.decide(v, queue, backfill=False) == [Start(1)]


def test_factors_do_not_depend_on_the_order_accounts_are_listed_in() -> None:
    usage = {f"u{i}": float(i) * 0.1 for i in range(30)}
    reordered = dict(reversed(list(usage.items())))
    queue = tuple(job(i, 1, a) for i, a in enumerate(usage))
    assert fair_share.factors(view(0, usage), queue) == fair_share.factors(
        view(0, reordered), queue
    )
    assert all(
        0 < f <= 1 and math.isfinite(f) for f in fair_share.factors(view(0, usage), queue).values()
    )


def _jobs(users: list[str]) -> dict[str, object]:
    return {
        "name": "fs",
        "cluster": {"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": 1, "pods": 1},
        "workload": {"jobs": [{"gpus": 8, "work": "1h", "user": u} for u in users]},
        "scheduler": {"policy": "fair-share"},
    }


@pytest.mark.parametrize(
    ("users", "warned"), [(["", ""], True), (["a", "a"], True), (["a", "b"], False)]
)
def test_fair_share_over_one_account_warns_that_it_is_easy_backfill(
    users: list[str], warned: bool
) -> None:
    """A workload whose jobs all belong to one account gets EASY's order: the user is told."""
    sc = clustersim.config.Scenario.model_validate(_jobs(users))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clustersim.run(sc)
    messages = [str(w.message) for w in caught if issubclass(w.category, ClusterSimWarning)]
    expected = ["orders jobs as 'easy-backfill' here: every job is charged to one account"]
    assert [m for m in messages if expected[0] in m] == ([messages[0]] if warned else [])


def test_factors_equal_but_for_their_last_bits_tie_and_go_by_submission() -> None:
    """u0 used 1/7 of the usage on 1/7 of the shares, u1 6/7 on 6/7: both factors are 1/2 in
    exact arithmetic. The earlier-submitted job goes first, whatever the floats' last bits."""
    v = view(4, usage={"u0": 0.9999999999999998, "u1": 6.0})  # u0 a hair ahead
    queue = (job(1, 1, "u0", submit=1.0), job(2, 1, "u1", submit=0.0))
    shares = {"u0": 0.5, "u1": 3.0}
    f = fair_share.factors(v, queue, shares)
    assert f["u0"] != f["u1"] and abs(f["u0"] - f["u1"]) < 1e-12
    assert [j.id for j in fair_share.order(v, queue, shares)] == [2, 1]


@pytest.mark.parametrize(("users", "warned"), [(["a", "a"], True), (["a", "b"], False)])
def test_a_sweep_over_fair_share_with_one_account_warns_too(users: list[str], warned: bool) -> None:
    sc = clustersim.config.Scenario.model_validate(
        {**_jobs(users), "scheduler": {"policy": "fifo"}}
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clustersim.sweep(sc, {"scheduler.policy": ["fifo", "fair-share"]}, reps=1, workers=1)
    one = [w for w in caught if "every job is charged to one account" in str(w.message)]
    assert len(one) == (1 if warned else 0)

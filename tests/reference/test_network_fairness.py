"""Max-min fairness of link shares against references written from the definition.

One link: classic water-filling, the level ``L`` with ``sum(min(d, L)) = C`` found by
bisection (Bertsekas & Gallager, *Data Networks*, §6.5.2); each job gets ``min(d, L)``.
Several links: the allocation is feasible and every job is either at its demand or has a
bottleneck link, one that is full and on which no job has a larger rate (the textbook
characterisation of the max-min fair allocation).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from clustersim.engine.network import max_min_shares

REL = 1e-9

demand = st.floats(0.01, 100.0)


def water_level(demands: list[float], capacity: float) -> float:
    """The water level of one link, by bisection on ``sum(min(d, L)) = C``."""
    if sum(demands) <= capacity:
        return max(demands)
    lo, hi = 0.0, max(demands)
    for _ in range(200):
        mid = (lo + hi) / 2
        if sum(min(d, mid) for d in demands) < capacity:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@settings(max_examples=300, deadline=None)
@given(st.lists(demand, min_size=1, max_size=12), st.floats(0.01, 500.0))
def test_one_link_is_water_filling(demands: list[float], capacity: float) -> None:
    flows = {j: {0: d} for j, d in enumerate(demands)}
    shares = max_min_shares(flows, {0: capacity})
    level = water_level(demands, capacity)
    for j, d in enumerate(demands):
        assert abs(shares[j] * d - min(d, level)) <= 1e-7 * max(1.0, d)


@st.composite
def networks(draw: st.DrawFn) -> tuple[dict[int, dict[int, float]], dict[int, float]]:
    n_links = draw(st.integers(1, 5))
    capacity = {link: draw(st.floats(0.01, 200.0)) for link in range(n_links)}
    flows: dict[int, dict[int, float]] = {}
    for j in range(draw(st.integers(1, 10))):
        links = draw(st.sets(st.integers(0, n_links - 1), min_size=1))
        flows[j] = {link: draw(demand) for link in sorted(links)}
    return flows, capacity


@settings(max_examples=300, deadline=None)
@given(networks())
def test_many_links_every_job_has_a_bottleneck(
    net: tuple[dict[int, dict[int, float]], dict[int, float]],
) -> None:
    flows, capacity = net
    shares = max_min_shares(flows, capacity)
    assert set(shares) == set(flows)
    rate = {j: shares[j] * max(d.values()) for j, d in flows.items()}
    load = dict.fromkeys(capacity, 0.0)
    for j, d in flows.items():
        for link, v in d.items():
            load[link] += shares[j] * v
    for link, used in load.items():  # feasible
        assert used <= capacity[link] * (1 + REL) + 1e-12
    for j, d in flows.items():
        assert 0.0 <= shares[j] <= 1.0
        if shares[j] >= 1.0 - REL:
            continue
        bottlenecks = [
            link
            for link in d
            if load[link] >= capacity[link] * (1 - 1e-7)
            and all(rate[j] >= rate[k] * (1 - 1e-7) for k in flows if link in flows[k])
        ]
        assert bottlenecks, (j, shares, load)


def test_two_identical_jobs_get_half_each() -> None:
    flows = {0: {0: 10.0, 1: 10.0}, 1: {0: 10.0, 1: 10.0}}
    assert max_min_shares(flows, {0: 4.0, 1: 4.0}) == {0: 0.2, 1: 0.2}
    assert max_min_shares({0: flows[0]}, {0: 4.0, 1: 4.0}) == {0: 0.4}

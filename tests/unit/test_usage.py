"""The engine's decayed usage (``clustersim.engine.usage``) against brute-force integration.

The closed form advances each account over stretches of constant GPU count; here the same
usage is integrated numerically (composite Simpson on a fine grid over every stretch) from
the definition ``U(t) = integral of r(s) * 2 ** (-(t - s) / h) ds``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from clustersim.engine.usage import Usage


def simpson(f: Callable[[float], float], a: float, b: float, n: int = 2000) -> float:
    """Composite Simpson's rule with ``n`` (even) intervals."""
    if b <= a:
        return 0.0
    step = (b - a) / n
    total = f(a) + f(b)
    total += 4 * sum(f(a + (2 * k - 1) * step) for k in range(1, n // 2 + 1))
    total += 2 * sum(f(a + 2 * k * step) for k in range(1, n // 2))
    return total * step / 3


def brute_force(
    holds: list[tuple[str, int, float, float]], account: str, t: float, half_life: float | None
) -> float:
    """Numerical integral of the account's GPUs held, weighted by the decay, up to ``t``."""
    total = 0.0
    for a, gpus, start, end in holds:
        if a != account or start >= t:
            continue
        weight = (lambda s: 1.0) if half_life is None else (lambda s: 2.0 ** (-(t - s) / half_life))
        # Simpson's error grows as (step / decay time) ** 4: at least 200 steps per decay
        # time keep it near 1e-12 (2,000 steps over 41 decay times once gave 1e-9).
        n = 2000
        if half_life is not None:
            n = max(n, 2 * math.ceil(100 * (min(end, t) - start) * math.log(2) / half_life))
        total += gpus * simpson(weight, start, min(end, t), n)
    return total


def replay(
    holds: list[tuple[str, int, float, float]], t: float, half_life: float | None
) -> dict[str, float]:
    """Feed ``holds`` to a :class:`Usage` in time order and read it at ``t``."""
    usage = Usage({a for a, *_ in holds} | {"idle"}, half_life_s=half_life)
    events = []
    for job, (a, gpus, start, end) in enumerate(holds):
        events.append((start, 1, job, a, gpus))
        events.append((end, 0, job, a, gpus))
    for when, starts, job, a, gpus in sorted(events):
        if when > t:
            break
        if starts:
            usage.hold(job, a, gpus, when)
        else:
            usage.release(job, when)
    return dict(usage.at(t))


@st.composite
def holdings(draw: st.DrawFn) -> list[tuple[str, int, float, float]]:
    """Up to six allocations of 1-64 GPUs by two accounts over the first 10 hours."""
    out = []
    for _ in range(draw(st.integers(1, 6))):
        start = draw(st.floats(0.0, 36000.0))
        length = draw(st.floats(1.0, 36000.0))
        out.append((draw(st.sampled_from("ab")), draw(st.integers(1, 64)), start, start + length))
    return out


@settings(max_examples=200, deadline=None)
@example(  # 41 decay times: the reference's own error once exceeded the tolerance
    holds=[("a", 2, 0.0, 35660.0), ("a", 1, 0.0, 1.0), ("a", 1, 0.0, 1.0), ("a", 1, 0.0, 1.0)],
    t=35660.0,
    half_life=600.0,
)
@given(
    holds=holdings(),
    t=st.floats(0.0, 80000.0),
    half_life=st.sampled_from((None, 600.0, 3600.0, 7 * 86400.0)),
)
def test_closed_form_equals_numerical_integration(
    holds: list[tuple[str, int, float, float]], t: float, half_life: float | None
) -> None:
    got = replay(holds, t, half_life)
    for account in ("a", "b"):
        expected = brute_force(holds, account, t, half_life)
        assert got.get(account, 0.0) == pytest.approx(expected, rel=1e-9, abs=1e-6)
    assert got["idle"] == 0.0


def test_one_half_life_after_a_job_its_usage_has_halved() -> None:
    # 8 GPUs for one hour: 8 * h / ln 2 * (1 - 2^-(1 h / h)) GPU-s when it ends; one
    # half-life later, exactly half of that.
    h = 3600.0
    at_end = replay([("a", 8, 0.0, 3600.0)], 3600.0, h)["a"]
    assert at_end == pytest.approx(8 * h / math.log(2) * 0.5, rel=1e-12)
    later = replay([("a", 8, 0.0, 3600.0)], 7200.0, h)["a"]
    assert later == pytest.approx(at_end / 2, rel=1e-12)


def test_without_a_half_life_usage_is_plain_gpu_seconds() -> None:
    holds = [("a", 3, 10.0, 40.0), ("a", 2, 20.0, 100.0), ("b", 1, 0.0, 5.0)]
    assert replay(holds, 50.0, None) == {"a": 3 * 30 + 2 * 30, "b": 5.0, "idle": 0.0}


def test_the_same_gpu_count_over_time_gives_the_same_float_however_jobs_split_it() -> None:
    # Account a holds 3 GPUs as one job; b as a job of 1 and a job of 2, and c as two jobs
    # back to back: their usage is bit-for-bit equal, so fair share sees a tie.
    usage = Usage("abc", half_life_s=37.3)
    usage.hold(0, "a", 3, 1.0)
    usage.hold(1, "b", 1, 1.0)
    usage.hold(2, "b", 2, 1.0)
    usage.hold(3, "c", 3, 1.0)
    usage.release(3, 7.7)
    usage.hold(4, "c", 3, 7.7)
    for t in (3.3, 7.7, 12.9, 100.0):
        got = usage.at(t)
        assert got["a"] == got["b"] == got["c"] > 0


def test_holding_and_releasing_twice_counts_once() -> None:
    usage = Usage("a", half_life_s=None)
    usage.hold(0, "a", 4, 0.0)
    usage.hold(0, "a", 4, 1.0)  # a phase change while holding (running -> draining)
    usage.release(0, 10.0)
    usage.release(0, 12.0)
    assert usage.at(20.0)["a"] == 40.0

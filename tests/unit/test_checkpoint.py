from __future__ import annotations

import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from clustersim.checkpoint import (
    checkpoints_before_finish,
    epoch_state,
    interval_for,
    time_to_finish,
)


def test_no_checkpoint_after_the_last_piece_of_work() -> None:
    assert checkpoints_before_finish(100.0, 10.0) == 9
    assert checkpoints_before_finish(101.0, 10.0) == 10
    assert checkpoints_before_finish(5.0, 10.0) == 0
    assert checkpoints_before_finish(100.0, math.inf) == 0
    assert time_to_finish(100.0, 10.0, 2.0) == 100.0 + 9 * 2.0


def test_failure_during_a_checkpoint_loses_the_segment() -> None:
    # interval 10, stall 2: the first checkpoint is written during [10, 12).
    s = epoch_state(11.0, 100.0, 10.0, 2.0)
    assert (s.work_s, s.stall_s, s.checkpoints, s.lost_s) == (10.0, 1.0, 0, 10.0)
    s = epoch_state(12.0, 100.0, 10.0, 2.0)
    assert (s.work_s, s.checkpoints, s.lost_s) == (10.0, 1, 0.0)
    s = epoch_state(15.0, 100.0, 10.0, 2.0)
    assert (s.work_s, s.checkpoints, s.lost_s) == (13.0, 1, 3.0)


def test_async_checkpoint_completes_after_persist() -> None:
    # stall 1, persist 5: checkpoint 1 stalls during [10, 11) and completes at 16.
    s = epoch_state(15.0, 100.0, 10.0, 1.0, persist_s=5.0)
    assert s.checkpoints == 0 and s.lost_s == pytest.approx(14.0)
    s = epoch_state(16.0, 100.0, 10.0, 1.0, persist_s=5.0)
    assert s.checkpoints == 1 and s.lost_s == pytest.approx(5.0)


@example(elapsed=1.0, remaining=1.0, interval=1.0, stall=0.0, persist=1.175494351e-38)
@given(
    elapsed=st.floats(0, 1e6),
    remaining=st.floats(1, 1e6),
    interval=st.floats(1, 1e5),
    stall=st.floats(0, 1e3),
    persist=st.floats(0, 1e3),
)
def test_epoch_state_accounts_for_all_time(
    elapsed: float, remaining: float, interval: float, stall: float, persist: float
) -> None:
    s = epoch_state(elapsed, remaining, interval, stall, persist)
    finish = time_to_finish(remaining, interval, stall)
    assert s.work_s + s.stall_s == pytest.approx(min(elapsed, finish), rel=1e-9, abs=1e-6)
    assert 0 <= s.committed_s <= s.work_s <= remaining * (1 + 1e-12)
    assert s.checkpoints <= checkpoints_before_finish(remaining, interval)
    if persist == 0 and elapsed < finish:
        assert s.lost_s <= interval * (1 + 1e-9)


def test_interval_policies() -> None:
    assert interval_for("fixed", 600.0, 60.0, 7200.0) == 600.0
    assert interval_for("young", 600.0, 60.0, 7200.0) == pytest.approx(929.5, abs=0.1)
    assert interval_for("daly", 600.0, 60.0, 7200.0) == pytest.approx(889.9, abs=0.1)
    assert interval_for("none", 600.0, 60.0, 7200.0) == math.inf
    # A job that cannot fail keeps the configured interval.
    assert interval_for("daly", 600.0, 60.0, math.inf) == 600.0
    with pytest.raises(ValueError, match="unknown checkpoint policy"):
        interval_for("sometimes", 600.0, 60.0, 7200.0)

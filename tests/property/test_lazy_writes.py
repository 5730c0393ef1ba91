"""Lazy checkpoint writes change no result: a differential test against timed writes.

With storage contention on, a checkpoint write alone on the shared store is lazy
(``SharedStore.write_lazily``): no completion timer; the job's next segment is armed at once
for the instant the write's end would have armed it, and the write is counted when the job
next acts. Anything that changes the store while it is in flight (a second writer, a
bandwidth window, a cancel) makes it an ordinary write. ``SharedStore.lazy = False`` turns
the mechanism off, every write then has its timer, as before it existed.

The two must give the same event log record for record and the same metrics, float for
float: the instants and the arithmetic are the same, only the SimPy events differ. The one
exception is a tie: something touching the store at the very instant a lone write ends.
A lazy write has then ended first (its bytes are all written at that instant); with timed
writes, the order of the two SimPy events at that instant decided (by priority, then by
when each was scheduled), so a second write could share the store for no time at all or an
interrupt cancel a write at its last instant. Ties are not rare when jobs are alike (a load
and a write of the same bytes take equally long), so the property leaves out the runs that
had one (:func:`tie_watch`) and ``tests/unit/test_storage_lazy.py`` pins what a tie does.
The hand-made cases below make each path of the mechanism happen (and check that it did);
the property runs the fault taxonomy's random scenarios with contention on.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import assume, given
from strategies import taxonomy_scenarios
from test_segmented_epochs import lone_job  # its cluster, store and checkpoint policy

from clustersim.config import Scenario
from clustersim.engine import segments
from clustersim.engine.simulation import Simulation
from clustersim.metrics import measure
from clustersim.storage import SharedStore


def run(scenario: Scenario, lazy: bool) -> tuple[list[Any], str, int]:
    """The log, the metrics summary (JSON) and the SimPy event count of one run."""
    sim = Simulation(scenario, replication=0, seed=scenario.run.seed, keep_log=True)
    assert sim.store is not None
    sim.store.lazy = lazy
    sim.run()
    summary = json.dumps(measure(sim).summary, sort_keys=True, default=repr)
    return sim.log, summary, next(sim.env._eid)  # type: ignore[attr-defined]


def assert_same(scenario: Scenario, ties_allowed: bool = False) -> None:
    with tie_watch() as ties:
        log_lazy, summary_lazy, _ = run(scenario, lazy=True)
    if ties_allowed:
        assume(not ties)  # the two orders of a tie differ by design (module docstring)
    assert not ties, "a hand-made case must not tie"
    log_timed, summary_timed, _ = run(scenario, lazy=False)
    assert len(log_lazy) == len(log_timed)
    for a, b in zip(log_lazy, log_timed, strict=True):
        assert a == b
    assert summary_lazy == summary_timed
    # Not events_lazy <= events_timed: a speed change during a lazy write re-arms the timer
    # after it (the superseded one still fires, doing nothing), where a timed write needs
    # none; the lone-job test pins the saving where there is one.


@contextmanager
def tie_watch() -> Iterator[list[float]]:
    """The instants at which something touched the store as a lazy write ended."""
    ties: list[float] = []
    store_ops = ("lazy_end", "write", "write_then", "cancel", "set_factor")
    originals = {name: getattr(SharedStore, name) for name in store_ops}
    stop = segments.Segments.stop

    def watched(name: str) -> Any:
        original = originals[name]

        def op(self: SharedStore, *args: Any, **kwargs: Any) -> Any:
            lazy = self._lazy
            if lazy is not None and self.env.now == lazy[1]:
                ties.append(self.env.now)
            return original(self, *args, **kwargs)

        return op

    def watched_stop(self: segments.Segments) -> Any:
        if self.env.now == self.landing:
            ties.append(self.env.now)
        return stop(self)

    try:
        for name in store_ops:
            setattr(SharedStore, name, watched(name))
        segments.Segments.stop = watched_stop  # type: ignore[method-assign]
        yield ties
    finally:
        for name, original in originals.items():
            setattr(SharedStore, name, original)
        segments.Segments.stop = stop  # type: ignore[method-assign]


@contextmanager
def counting() -> Iterator[Counter[str]]:
    """Count lazy writes, demotions, lazy re-plans and landings while the block runs."""
    seen: Counter[str] = Counter()
    patched = {
        (SharedStore, "write_lazily"): "lazy",
        (segments.Segments, "_demoted"): "demoted",
        (segments.Segments, "_respeed_landing"): "respeed",
        (segments.Segments, "_land"): "landed",
    }
    originals = {key: getattr(*key) for key in patched}

    def wrap(key: tuple[type, str], name: str) -> Any:
        original = originals[key]

        def counted(*args: Any, **kwargs: Any) -> Any:
            seen[name] += 1
            return original(*args, **kwargs)

        return counted

    try:
        for key, name in patched.items():
            setattr(*key, wrap(key, name))
        yield seen
    finally:
        for key, original in originals.items():
            setattr(*key, original)


def scenario(jobs: list[dict[str, Any]], faults: dict[str, Any], seed: int = 1) -> Scenario:
    """The segmented-epoch test's lone-job cluster and store, with these jobs and faults."""
    data = lone_job(True, 72, 20, 3, 0, seed).model_dump(mode="json")
    data["workload"]["jobs"] = jobs
    data["faults"] = faults
    data["run"]["horizon"] = 10 * 86400
    return Scenario.model_validate(data)


JOB = {"gpus": 32, "work": "3d", "checkpoint_bytes": "3TB"}  # 300 s writes every 20 min


def test_a_lone_job_writes_lazily_with_one_event_per_checkpoint() -> None:
    s = scenario([JOB], {})
    with counting() as seen:
        assert_same(s)
    _, _, lazy_events = run(s, lazy=True)
    _, _, timed_events = run(s, lazy=False)
    checkpoints = 3 * 24 * 3  # 3 days of work, one write per 20 minutes (but the last)
    assert seen["lazy"] == checkpoints - 1
    assert seen["demoted"] == 0
    assert timed_events - lazy_events == checkpoints - 1


def test_overlapping_writers_demote_the_lazy_write() -> None:
    # Two jobs started 1 minute apart write 5-minute checkpoints that overlap.
    s = scenario([JOB, {**JOB, "submit": "60s"}, {**JOB, "submit": "7m"}], {})
    with counting() as seen:
        assert_same(s)
    assert seen["lazy"] > 0 and seen["demoted"] > 0


def test_failures_speed_changes_and_storage_windows_during_lazy_writes() -> None:
    faults = {
        "hw": {"rate": "200/1000 node-days", "repair": {"mean": "1h"}},
        "slow": {
            "kind": "straggler",
            "rate": "2/1 node-days",
            "speed": 0.5,
            "duration": {"distribution": "exponential", "mean": "10m"},
        },
        "stall": {
            "kind": "straggler",
            "rate": "1/1 node-days",
            "speed": 0.0,
            "duration": {"distribution": "exponential", "mean": "10m"},
        },
        "store": {
            "kind": "storage",
            "every": "3h",
            "duration": {"distribution": "exponential", "mean": "5m"},
            "bandwidth_factor": 0.1,
        },
        "maint": {
            "kind": "maintenance",
            "every": "12h",
            "duration": {"distribution": "fixed", "mean": "30m"},
        },
    }
    with counting() as seen:
        for seed in range(4):
            assert_same(scenario([JOB, {**JOB, "submit": "3h"}], faults, seed=seed))
    assert seen["lazy"] > 0
    assert seen["demoted"] > 0  # a storage window or the other job's write
    assert seen["respeed"] > 0  # a straggler began or ended during a lazy write
    assert seen["landed"] > 0


FAULTS_WITH_SPEED_CHANGES = {
    "slow": {
        "kind": "straggler",
        "rate": "4/1 node-days",
        "speed": 0.5,
        "duration": {"distribution": "exponential", "mean": "10m"},
    },
}


@pytest.mark.parametrize("fallback", ["timer at the write's end", "store times the write"])
def test_a_speed_change_during_a_lazy_write_when_no_delay_is_exact(
    monkeypatch: pytest.MonkeyPatch, fallback: str
) -> None:
    """Rounding can leave no delay that hits an instant exactly (rare: never once ``now``
    is past half of it). Forced here during speed changes: a timer at the write's end arms
    the next segment there, exactly as a timed write would; failing that too, the store
    times the rest of the write, whose end may move by a rounding error."""
    real = segments.exact
    replanning = {"on": False, "calls": 0}

    def exact(now: float, at: float) -> bool:
        if not replanning["on"]:
            return real(now, at)
        replanning["calls"] += 1
        return fallback == "timer at the write's end" and replanning["calls"] > 1

    original = segments.Segments._respeed_landing

    def respeed_landing(self: segments.Segments, now: float) -> None:
        replanning.update(on=True, calls=0)
        try:
            original(self, now)
        finally:
            replanning["on"] = False

    monkeypatch.setattr(segments, "exact", exact)
    monkeypatch.setattr(segments.Segments, "_respeed_landing", respeed_landing)
    s = scenario([JOB, {**JOB, "submit": "3h"}], FAULTS_WITH_SPEED_CHANGES)
    with counting() as seen:
        if fallback == "timer at the write's end":
            assert_same(s)
        else:
            log_lazy, _, _ = run(s, lazy=True)
            log_timed, _, _ = run(s, lazy=False)
            assert [type(a) for a in log_lazy] == [type(b) for b in log_timed]
            for a, b in zip(log_lazy, log_timed, strict=True):
                for x, y in zip(dataclasses.astuple(a), dataclasses.astuple(b), strict=True):
                    assert x == y or x == pytest.approx(y, rel=1e-12, abs=1e-9)
    assert seen["respeed"] > 0
    assert seen["demoted"] > 0 if fallback == "store times the write" else True


@pytest.mark.parametrize("lazy", [True, False])
def test_the_switch_reaches_the_store(lazy: bool) -> None:
    with counting() as seen:
        run(scenario([JOB], {}), lazy=lazy)
    assert (seen["lazy"] > 0) is lazy


@given(taxonomy_scenarios())
def test_lazy_writes_change_nothing(s: Scenario) -> None:
    data = s.model_dump(mode="json")
    data["storage"]["contention"] = True
    # Checkpoints simulated one by one (sync, stall from the store): about two in three
    # examples then write lazily, one in four also demotes a lazy write.
    data["checkpoint"].update(policy="fixed", mode="sync", stall=None)
    assert_same(Scenario.model_validate(data), ties_allowed=True)

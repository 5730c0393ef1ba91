"""The engine's collector scopes leave the process as they found it and change no result."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from clustersim.config import Scenario
from clustersim.engine import Simulation, collector
from clustersim.metrics import measure


@pytest.fixture(autouse=True)
def restore_collector() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()
    else:
        gc.disable()


def test_paused_disables_and_restores_either_state() -> None:
    gc.enable()
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    with collector.paused():
        assert not gc.isenabled()
    assert not gc.isenabled()  # a caller's disabled collector stays disabled
    gc.enable()
    with pytest.raises(RuntimeError), collector.paused():
        raise RuntimeError
    assert gc.isenabled()


def test_frozen_freezes_for_the_block_only() -> None:
    gc.enable()
    before = gc.get_freeze_count()  # 0, or the interpreter's own few (CPython 3.12)
    with collector.frozen():
        assert gc.get_freeze_count() > before + 1000
        garbage: list[object] = []
        garbage.append(garbage)  # a cycle made inside the block is collected as usual
        del garbage
        assert gc.collect() >= 1
    assert gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError), collector.frozen():
        raise RuntimeError
    assert gc.get_freeze_count() == 0


def test_frozen_runs_young_collections_and_fewer_full_ones() -> None:
    gc.enable()
    thresholds = gc.get_threshold()
    generations: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            generations.append(info["generation"])

    gc.callbacks.append(seen)
    try:
        with collector.frozen():
            assert gc.get_threshold()[:2] == thresholds[:2]
            assert gc.get_threshold()[2] == max(thresholds[2], collector.RARE_FULL_COLLECTIONS)
            kept = []
            for _ in range(200_000):  # long-lived cycles: pushed through both young generations
                cycle: list[object] = []
                cycle.append(cycle)
                kept.append(cycle)
            del kept
        assert gc.get_threshold() == thresholds
        assert {0, 1} <= set(generations), generations
        assert 2 not in generations  # with (700, 10, 10) there would have been several
        # (gen 1 ran about 28 times: a full collection is due after 100 of them now)
    finally:
        gc.callbacks.remove(seen)
    with pytest.raises(RuntimeError), collector.frozen():
        raise RuntimeError
    assert gc.get_threshold() == thresholds


def test_frozen_leaves_a_callers_own_freeze_and_disabled_collector_alone() -> None:
    gc.freeze()
    assert gc.get_freeze_count() > 0
    with collector.frozen():
        pass
    # Not unfrozen under the caller (the count itself may fall: frozen objects can be freed).
    assert gc.get_freeze_count() > 0
    gc.unfreeze()
    gc.disable()
    with collector.frozen():
        assert gc.get_freeze_count() == 0
    assert not gc.isenabled()


def test_a_run_is_the_same_with_the_collector_off() -> None:
    sc = Scenario.model_validate(
        {
            "cluster": {"gpus_per_node": 8, "nodes_per_rack": 4, "racks_per_pod": 4, "pods": 2},
            "workload": {
                "generator": {
                    "jobs": 40,
                    "window": "1d",
                    "classes": [{"name": "a", "weight": 1, "gpus": [8, 64], "work_median": "3h"}],
                }
            },
            "faults": {"hw": {"rate": "20/1000 node-days", "repair": {"mean": "2h"}}},
            "run": {"horizon": "2d"},
        }
    )

    def once() -> tuple[list[object], dict[str, object]]:
        sim = Simulation(sc, seed=5)
        sim.run()
        return list(sim.log), measure(sim).summary

    gc.enable()
    with_scopes = once()
    gc.disable()  # both scopes then do nothing
    assert once() == with_scopes

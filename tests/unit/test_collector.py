"""The engine's collector scopes leave the process as they found it and change no result."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from strategies import taxonomy_scenarios

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


def test_frozen_runs_young_collections_but_no_full_one() -> None:
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
            assert gc.get_threshold()[2] == collector.NO_FULL_COLLECTION
            kept = []
            for _ in range(200_000):  # long-lived cycles: pushed through both young generations
                cycle: list[object] = []
                cycle.append(cycle)
                kept.append(cycle)
            del kept
        assert gc.get_threshold() == thresholds
        assert {0, 1} <= set(generations), generations
        assert 2 not in generations  # with (700, 10, 10) there would have been several
    finally:
        gc.callbacks.remove(seen)
    with pytest.raises(RuntimeError), collector.frozen():
        raise RuntimeError
    assert gc.get_threshold() == thresholds


_ENGINE_MODULES = ("clustersim", "simpy", "scheduler", "faults")

_PRESETS_SCRIPT = """
import gc, json, sys
from clustersim.config import load_scenario
from clustersim.engine import Simulation
counts = {}
for preset, horizon in json.loads(sys.argv[1]):
    sim = Simulation(load_scenario(preset, ["run.horizon=" + horizon]), seed=3)
    gc.collect()  # what building made
    gc.disable()
    sim.run()
    counts[preset] = gc.collect()
    gc.enable()
print(json.dumps(counts))
"""


# What lets frozen() skip full collections: a run makes no cyclic garbage, so a full
# collection during it finds nothing (a cycle per event would fail these at once). Checked
# in a process of its own, where nothing else runs beside the simulation: in the test
# process a thread a previous test left behind can make garbage of its own meanwhile.
def test_a_preset_run_makes_no_cyclic_garbage() -> None:
    presets = [
        ("llama3-405b", "10d"),  # every Table 5 cause, maintenance drains
        ("colossus-100k", "1d"),  # network model, link flaps, dual-homed ToRs
        ("meta-24k-shared", "3d"),  # storage contention
        ("rsc1-research", "1d"),  # many small jobs, sub-node sharing
        ("fleet-growth-2024", "30d"),  # installs, cohorts, infant mortality
        ("fleet-wearout-3y", "90d"),  # ageing hazards
    ]
    out = subprocess.run(
        [sys.executable, "-c", _PRESETS_SCRIPT, json.dumps(presets)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout) == {preset: 0 for preset, _ in presets}


def _engine_garbage_of_run(sim: Simulation) -> list[str]:
    """Types of the engine's objects (ours, SimPy's) in cyclic garbage the run made."""
    gc.collect()  # what building made
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # keep what a collection finds in gc.garbage
    try:
        sim.run()
        gc.collect()
        return [
            type(obj).__qualname__
            for obj in gc.garbage
            if type(obj).__module__.startswith(_ENGINE_MODULES)
        ]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


@settings(deadline=None, max_examples=25)
@given(taxonomy_scenarios())
def test_a_fault_taxonomy_run_makes_no_cyclic_garbage(scenario: Scenario) -> None:
    assert _engine_garbage_of_run(Simulation(scenario)) == []


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

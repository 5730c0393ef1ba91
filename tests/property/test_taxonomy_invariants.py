"""Engine invariants under the whole fault taxonomy (slowdowns, drains, SDC, contention...).

The same laws as ``test_engine_invariants.py`` (INV-1 node conservation per event, INV-2 the
GPU-seconds identity, INV-3 job conservation, INV-8 a monotone clock, INV-9 determinism),
checked over scenarios that mix every fault kind with lemons, repair crews and storage
contention. The epoch-replay invariants (INV-6) assume the closed-form undisturbed model and
stay in the other file.
"""

from __future__ import annotations

import itertools
import math

from hypothesis import given, settings
from strategies import taxonomy_scenarios
from test_engine_invariants import check_nodes_from_log

from clustersim.config import Scenario
from clustersim.engine import Simulation
from clustersim.events import JobFinished, JobSubmitted, RunEnded, SlowdownBegan
from clustersim.experiment import run_replication
from clustersim.metrics import measure, tally_log

SIM = settings(deadline=None)
REL = 1e-9


@SIM
@given(taxonomy_scenarios(check_invariants=True))
def test_taxonomy_node_conservation_and_identity(scenario: Scenario) -> None:
    # check_invariants asserts INV-1 after every event; run_replication checks INV-2.
    metrics, log = run_replication(scenario, 0, scenario.run.seed)
    check_nodes_from_log(scenario, log, metrics.summary["sim_time_s"])
    gs = metrics.gpu_seconds
    scale = max(1.0, gs["total"])
    for key, value in gs.items():
        assert value >= -REL * scale, f"negative GPU-seconds term {key}: {value}"
    times = [ev.t for ev in log]
    assert all(math.isfinite(t) and t >= 0 for t in times)
    assert all(a <= b for a, b in itertools.pairwise(times)), "log time went back"
    submitted = [ev.job for ev in log if isinstance(ev, JobSubmitted)]
    finished = [ev.job for ev in log if isinstance(ev, JobFinished)]
    assert len(set(finished)) == len(finished) and set(finished) <= set(submitted)
    for ev in log:
        if isinstance(ev, RunEnded):
            assert ev.work_s >= 0 and ev.stall_s >= 0 and ev.slow_s >= 0 and ev.lost_s >= 0
            assert ev.committed_s <= ev.progress_s + REL * max(1.0, ev.progress_s)
            assert ev.committed_s >= -REL
        if isinstance(ev, SlowdownBegan):
            assert 0.0 <= ev.factor <= 1.0
    for row in metrics.jobs:
        if row.finished:
            assert math.isclose(row.progress_s, row.work_s, rel_tol=1e-6), row
        if row.ettr is not None:
            assert -REL <= row.ettr <= 1 + 1e-9


@SIM
@given(taxonomy_scenarios())
def test_taxonomy_same_seed_same_log(scenario: Scenario) -> None:
    first = run_replication(scenario, 0, scenario.run.seed)
    second = run_replication(scenario, 0, scenario.run.seed)
    assert first[1] == second[1]
    assert first[0].summary == second[0].summary or _nan_equal(first[0].summary, second[0].summary)


def _nan_equal(a: dict[str, object], b: dict[str, object]) -> bool:
    return all(
        x == y
        or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))
        for x, y in zip(a.values(), b.values(), strict=True)
    )


@SIM
@given(taxonomy_scenarios())
def test_streamed_tally_equals_a_fold_over_the_kept_log(scenario: Scenario) -> None:
    # Without --events the engine keeps no log, only the running tally of every record; the
    # metrics must be exactly those of a fold over the full log.
    kept, log = run_replication(scenario, 0, scenario.run.seed)
    streamed, empty = run_replication(scenario, 0, scenario.run.seed, keep_log=False)
    assert empty == []
    assert repr(streamed) == repr(kept)  # repr: NaN fields compare equal
    sim = Simulation(scenario, seed=scenario.run.seed)
    sim.run()
    assert repr(measure(sim, tally_log(sim.log))) == repr(measure(sim))
    assert sim.tally.records == len(sim.log) == len(log)

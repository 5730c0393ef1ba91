"""A lone job's epochs are the same whether its checkpoints are simulated one by one or not.

With storage contention on, each checkpoint is a write on the shared store, driven segment by
segment (``engine/segments.py``, ``Segments``); with it off, an epoch is one closed-form
interval. A job alone on the store writes at the full bandwidth, so both must give the same
epochs (end, work, stall, checkpoints, committed and lost work) under failures: a
differential test of the segment machine against the closed form. Slowdowns are left out: the
two models differ there on purpose (the closed form slows a checkpoint's stall with the job,
in virtual time; the store writes at its own speed). How a slowdown stretches a compute
segment is checked by hand in ``tests/unit/test_fault_kinds.py``.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from clustersim.config import Scenario
from clustersim.events import RunEnded
from clustersim.experiment import run_replication


def lone_job(
    contention: bool,
    work_h: float,
    interval_m: float,
    tb: float,
    rate: float,
    seed: int,
) -> Scenario:
    faults: dict[str, Any] = {"hw": {"rate": f"{rate}/1000 node-days", "repair": {"mean": "1h"}}}
    return Scenario.model_validate(
        {
            "cluster": {
                "gpus_per_node": 8,
                "nodes_per_rack": 4,
                "racks_per_pod": 4,
                "pods": 1,
                "spare_nodes": 2,
            },
            "workload": {
                "jobs": [{"gpus": 64, "work": f"{work_h}h", "checkpoint_bytes": f"{tb}TB"}]
            },
            "storage": {
                "write_bandwidth": "10GB/s",
                "read_bandwidth": "10GB/s",
                "contention": contention,
            },
            "checkpoint": {"policy": "fixed", "interval": f"{interval_m}m", "mode": "sync"},
            "restart": {"detection": "60s", "init": "120s", "init_per_gpu": 0},
            "faults": faults,
            "run": {"seed": seed, "horizon": "60d", "check_invariants": False},
        }
    )


def epochs(scenario: Scenario) -> list[tuple[Any, ...]]:
    _, log = run_replication(scenario, 0, scenario.run.seed)
    return [
        (
            ev.t,
            ev.reason,
            ev.work_s,
            ev.stall_s,
            ev.lost_s,
            ev.checkpoints,
            ev.committed_s,
        )
        for ev in log
        if isinstance(ev, RunEnded)
    ]


def close(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return all(
        x == y if isinstance(x, str | int) else math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-6)
        for x, y in zip(a, b, strict=True)
    )


@settings(max_examples=60, deadline=None)
@given(
    work_h=st.floats(1.0, 60.0),
    interval_m=st.floats(10.0, 300.0),
    tb=st.floats(0.1, 5.0),
    rate=st.sampled_from((0.0, 5.0, 40.0)),
    seed=st.integers(0, 2**16),
)
def test_a_lone_job_checkpointing_one_by_one_matches_the_closed_form(
    work_h: float,
    interval_m: float,
    tb: float,
    rate: float,
    seed: int,
) -> None:
    # Work a whole number of intervals puts the last checkpoint on a float boundary, where
    # the closed form and a sum of pieces may round to one checkpoint more or less.
    pieces = work_h * 60 / interval_m
    assume(abs(pieces - round(pieces)) > 1e-6)
    args = (work_h, interval_m, tb, rate, seed)
    segmented = epochs(lone_job(True, *args))
    closed = epochs(lone_job(False, *args))
    assert len(segmented) == len(closed)
    for a, b in zip(segmented, closed, strict=True):
        assert close(a, b), (a, b)

"""Issue #6's counting claims, checked exactly (no timing): what the engine's work depends on.

"Events per job do not grow with the number of checkpoints": checkpoints are closed-form
segments of a training epoch, not SimPy events or log records. The count of SimPy events
processed is read as ``bench/run.py`` reads it (``simpy_events_processed``, reimplemented below
so that the test suite does not import the benchmark runner).

With failures on, the same claim holds once it is stated precisely. The interval changes how
much work a failure destroys, and so how long a job runs and how many failures it meets before
it finishes; it changes nothing else. So:

* over a fixed horizon that the job never outlives, under the same seed (the same failure
  draws), the job meets the same failures whatever the interval: log records and interruptions
  are equal, and SimPy events differ by exactly the recoveries that had a checkpoint to load
  (a recovery before the first checkpoint skips the load step: at most one event per
  failure, never one per checkpoint);
* with failures replayed from a trace at fixed times, events and records grow by the same
  fixed amount per failure for a coarse and a fine interval.

"Cost grows linearly in events" is a benchmark matter (``bench/report.py`` fits the slope).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import simpy

from clustersim.config import Scenario
from clustersim.engine import Simulation
from clustersim.events import JobInterrupted, RecoveryEnded
from clustersim.metrics import measure

DAY = 86400.0
WORK = "100d"
# A coarse and a fine interval for 100 days of work: 9 and 99,999 checkpoints.
COARSE, FINE = "10d", "86.4s"


def simpy_events_processed(env: simpy.Environment) -> int:
    """Events ``env`` has processed: ids handed out minus events still queued.

    The same reading as ``bench/run.py``: every scheduled event takes the next value of the
    ``itertools.count`` in ``env._eid`` (its repr shows the next value without advancing it).
    """
    issued = int(repr(env._eid)[len("count(") : -1])
    return issued - len(env._queue)


@dataclass(frozen=True)
class Counts:
    simpy_events: int
    records: int
    interruptions: int
    loads: int  # recoveries that loaded a checkpoint (the only interval-dependent step)
    checkpoints: int
    end_s: float


def run(
    interval: str,
    *,
    faults: dict[str, Any] | None = None,
    horizon: str | None = None,
    seed: int = 3,
) -> Counts:
    """One 64-GPU job of 100 days of work on a 16-node cluster; ``horizon`` fixes the end."""
    doc: dict[str, Any] = {
        "cluster": {"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": 4, "pods": 2},
        "workload": {"jobs": [{"gpus": 64, "work": WORK}]},
        "checkpoint": {"policy": "fixed", "interval": interval, "stall": "1s"},
        "restart": {"detection": "60s", "init": "120s", "init_per_gpu": 0, "load": "30s"},
        "faults": faults or {},
        "run": (
            {"stop_when_done": False, "horizon": horizon}
            if horizon is not None
            else {"horizon": "1000d"}
        ),
    }
    sim = Simulation(Scenario.model_validate(doc), seed=seed)
    sim.run()
    job = measure(sim).jobs[0]
    return Counts(
        simpy_events=simpy_events_processed(sim.env),
        records=len(sim.log),
        interruptions=sum(isinstance(e, JobInterrupted) for e in sim.log),
        loads=sum(isinstance(e, RecoveryEnded) and e.load_gpu_s > 0 for e in sim.log),
        checkpoints=job.checkpoints,
        end_s=sim.end_s,
    )


def test_event_count_reading_matches_simpy() -> None:
    # Four timeouts scheduled, three processed: the reading must say 3.
    env = simpy.Environment()
    for delay in (1.0, 2.0, 3.0, 10.0):
        env.timeout(delay)
    for _ in range(3):
        env.step()
    assert simpy_events_processed(env) == 3


def test_events_and_records_per_job_do_not_grow_with_checkpoints() -> None:
    coarse, fine = run(COARSE), run(FINE)
    # The two runs really differ by four orders of magnitude in checkpoints...
    assert (coarse.checkpoints, fine.checkpoints) == (9, 99_999)
    assert fine.end_s - coarse.end_s == pytest.approx((99_999 - 9) * 1.0)
    # ... and not at all in SimPy events or log records.
    assert fine.simpy_events == coarse.simpy_events
    assert fine.records == coarse.records
    # No checkpoints at all (interval longer than the work) costs the same, too.
    none = run("200d")
    assert none.checkpoints == 0
    assert (none.simpy_events, none.records) == (coarse.simpy_events, coarse.records)


NODE_FAULTS: dict[str, Any] = {
    "hw": {"rate": "1/10 node-days", "blast_radius": "node", "repair": {"mean": "12h"}}
}


def test_with_failures_events_follow_failures_not_checkpoints() -> None:
    # 50 days of a job that would need 100: it runs (or recovers) until the horizon under
    # every interval, so the same seed gives it the same failures at the same instants.
    # Job MTBF ~1.25 days: 2d gives ~10 checkpoints, 43.2s ~100,000.
    coarse = run("2d", faults=NODE_FAULTS, horizon="50d")
    fine = run("43.2s", faults=NODE_FAULTS, horizon="50d")
    assert fine.checkpoints > 90_000 and 5 <= coarse.checkpoints <= 20
    assert coarse.interruptions >= 20  # enough failures for the comparison to mean something
    assert fine.interruptions == coarse.interruptions
    # Both had a checkpoint before the first failure, so every recovery loads: equal counts.
    assert fine.loads == coarse.loads == fine.interruptions
    assert (fine.simpy_events, fine.records) == (coarse.simpy_events, coarse.records)
    # A 10-day interval never completes a checkpoint between failures: every recovery skips
    # the load step (one timeout each), and that is the whole difference.
    never = run("10d", faults=NODE_FAULTS, horizon="50d")
    assert (never.checkpoints, never.loads) == (0, 0)
    assert never.interruptions == fine.interruptions
    assert never.records == fine.records
    assert fine.simpy_events - never.simpy_events == fine.loads
    # And failures do cost events: the same run without faults processes a handful.
    quiet = run("43.2s", horizon="50d")
    assert fine.simpy_events > quiet.simpy_events + 10 * fine.interruptions


def _trace(tmp_path: Path, k: int) -> dict[str, Any]:
    """``k`` node failures on the job's nodes, 5 days apart from day 20, each repaired in 1 h."""
    path = tmp_path / f"faults-{k}.csv"
    rows = [f"{(20 + 5 * i) * DAY},{i},hw,3600" for i in range(k)]
    path.write_text("\n".join(["time,component,cause,duration", *rows]) + "\n")
    return {"tr": {"kind": "trace", "path": str(path), "blast_radius": "node"}}


def test_events_grow_by_a_fixed_amount_per_failure_whatever_the_interval(tmp_path: Path) -> None:
    # Failures at fixed times (day 20, 25, ...), all after the coarse interval's first
    # checkpoint (day 10), so both intervals recover the same way from each of them.
    counts = {
        (interval, k): run(interval, faults=_trace(tmp_path, k))
        for interval in (COARSE, FINE)
        for k in (1, 2, 4)
    }
    for k in (1, 2, 4):
        coarse, fine = counts[COARSE, k], counts[FINE, k]
        assert coarse.interruptions == fine.interruptions == k
        assert (fine.simpy_events, fine.records) == (coarse.simpy_events, coarse.records)
    for interval in (COARSE, FINE):
        one, two, four = (counts[interval, k] for k in (1, 2, 4))
        # Linear in the failures: every failure after the first adds the same events/records
        # (the first also starts the trace source, so it is not compared with zero failures).
        per_event = two.simpy_events - one.simpy_events
        per_record = two.records - one.records
        assert per_event > 0 and per_record > 0
        assert four.simpy_events - one.simpy_events == 3 * per_event
        assert four.records - one.records == 3 * per_record

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import pytest

from clustersim.budget import DEFAULT_MAX_MEMORY, BudgetExceeded, check_budget, estimate
from clustersim.cli import main
from clustersim.config import Scenario, list_presets, load_scenario


def test_presets_fit_the_default_budget() -> None:
    # Every preset runs with the default limits: none needs run.max_memory raised.
    for name, _ in list_presets():
        scenario = load_scenario(name)
        assert scenario.run.max_memory == DEFAULT_MAX_MEMORY, name
        check_budget(scenario)
    for name in ("single-job", "llama3-405b", "meta-24k-shared"):
        assert estimate(load_scenario(name)).events < 1e6


def test_an_aged_source_expects_its_cumulative_hazard_over_each_cohorts_ages() -> None:
    # From the definition: under minimal repair a node of age a expects
    # rate * (b - a) + ((b / scale) ** k - (a / scale) ** k) failures until age b. Cohort
    # "old" (1,000 nodes) is 2 years old at the start, "new" (500) is installed after 1 year;
    # the horizon is 3 years, so "old" ages from 2 to 5 years and "new" from 0 to 2.
    year = 365 * 86400.0
    k, scale, rate = 3.0, 4 * year, 1 / (10 * year)
    scenario = Scenario.model_validate(
        {
            "cluster": {"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": 250, "pods": 3},
            "workload": {"jobs": [{"gpus": 8, "work": "1h"}]},
            "faults": {
                "hw": {
                    "rate": f"{rate * 86400 * 1000}/1000 node-days",
                    "hazard": {"wearout": {"shape": k, "scale": "4y"}},
                    "repair": {"mean": "1h"},
                }
            },
            "fleet": {
                "cohorts": [
                    {"name": "old", "count": 1000, "install": "-2y"},
                    {"name": "new", "count": 500, "install": "1y"},
                ]
            },
            "run": {"horizon": "3y", "stop_when_done": False},
        }
    )

    def expected(a: float, b: float) -> float:
        return rate * (b - a) + (b / scale) ** k - (a / scale) ** k

    want = 1000 * expected(2 * year, 5 * year) + 500 * expected(0.0, 2 * year)
    got = estimate(scenario).fault_events
    assert got == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("name", ["fleet-wearout-3y", "meta-24k-shared"])
def test_the_estimate_bounds_the_events_of_a_preset(name: str) -> None:
    from clustersim.experiment import run

    scenario = load_scenario(name)
    measured = run(scenario, reps=1, seed=0).replications[0].summary["events"]
    assert measured <= estimate(scenario).events <= ESTIMATE_FACTOR * measured


def test_huge_cluster_is_refused_before_allocating(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "run",
            "single-job",
            "--set",
            "cluster.pods=100000000",
            "--set",
            "cluster.racks_per_pod=10000",
        ]
    )
    err = capsys.readouterr().err
    assert code == 65
    assert err.count("\n") == 1 and "too big to simulate" in err and "GB" in err


def test_long_horizon_that_stops_when_done_is_fine() -> None:
    sc = load_scenario("single-job", ["run.horizon=1000000y"])
    assert estimate(sc).events < 1e5
    with pytest.raises(BudgetExceeded, match="events"):
        check_budget(
            load_scenario("single-job", ["run.horizon=1000000y", "run.stop_when_done=false"])
        )


BAR_PERCENT = re.compile(rb" (\d+)% ")
"""The progress bar's percentage (``simulating ━━━━   3% 0:00:01 0:00:30``)."""
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")
"""Cursor and colour sequences of the transient bar, and its carriage returns."""
UNDERWAY_PERCENT = 2
"""How far the run is (4 of 200 replications) when the signal is sent."""
COVERAGE_HOOKS = ("COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG")
"""Environment variables through which coverage.py measures subprocesses (``.ci/run``)."""


def test_sigterm_leaves_no_partial_file(tmp_path: Path) -> None:
    """SIGTERM mid-run: exit 130, one last line, no traceback, no results file.

    The signal is sent once the run is underway, as its progress bar shows (drawn on the pipe
    because of ``TTY_COMPATIBLE``). A fixed sleep was not enough on a loaded machine: a SIGTERM
    that lands before ``main`` has installed its handler kills the child (-15).

    The child runs without coverage.py even when the suite is measured. coverage 7.17's C
    tracer calls ``Collector.lock_data`` (Python) on every traced call; a signal handler that
    raises there, as ours does (like Python's own for Ctrl-C), leaves coverage's data lock
    held, and the child deadlocks on its next call (about one SIGTERM in ten in CI's coverage
    run, which then timed out). The lines this child runs are measured by other tests (the
    handler and main's ``KeyboardInterrupt`` branch by ``test_second_signal_during_shutdown``).
    """
    out = tmp_path / "r.json"
    env = {k: v for k, v in os.environ.items() if k not in COVERAGE_HOOKS}
    env.update(TTY_COMPATIBLE="1", TTY_INTERACTIVE="1", TERM="xterm")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "clustersim",
            "run",
            "single-job",
            "--reps",
            "200",
            "--out",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stderr is not None
    chunks: list[bytes] = []
    underway = threading.Event()

    def read_stderr(stream: IO[bytes]) -> None:
        while chunk := stream.read1(65536):
            chunks.append(chunk)
            shown = b"".join(chunks)[-4096:]
            if any(int(p) >= UNDERWAY_PERCENT for p in BAR_PERCENT.findall(shown)):
                underway.set()

    reader = threading.Thread(target=read_stderr, args=(proc.stderr,), daemon=True)
    reader.start()
    try:
        while not underway.wait(0.05):
            assert proc.poll() is None, b"".join(chunks).decode(errors="replace")
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        proc.kill()
        proc.wait()
        reader.join(timeout=10)
    err = ANSI.sub("", b"".join(chunks).decode("utf-8"))
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "clustersim: interrupted"
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


ESTIMATE_FACTOR = 20
"""The guard's event estimate is an upper bound, at most this many times the measured count
(the fixed allowance of 100 events dominates the smallest cases, and each incident is counted
as hitting a running job: 5 events, where a lightly loaded cluster measures 2-3)."""


@pytest.mark.parametrize(
    ("radius", "nodes_per_rack", "racks", "rate"),
    [
        ("node", 4, 2, "93.75/1000 node-days"),
        ("node", 16, 9, "1/node-day"),
        ("rack", 4, 9, "93.75/1000 node-days"),
        ("rack", 16, 2, "1/node-day"),
        ("rack", 16, 9, "1/node-day"),
        ("pod", 4, 9, "1/node-day"),
        ("pod", 16, 2, "93.75/1000 node-days"),
        ("pod", 16, 9, "1/node-day"),
        ("job", 4, 2, "93.75/1000 node-days"),
    ],
)
def test_event_estimate_bounds_the_measured_count(
    radius: str, nodes_per_rack: int, racks: int, rate: str
) -> None:
    from clustersim.experiment import run

    sc = load_scenario(
        "single-job",
        [
            f"faults.node.blast_radius={radius}",
            f"cluster.nodes_per_rack={nodes_per_rack}",
            f"cluster.racks_per_pod={racks}",
            f"workload.jobs.0.gpus={min(1024, 8 * nodes_per_rack * racks)}",
            "workload.jobs.0.work=2d",
            f"faults.node.rate={rate}",
            "run.horizon=20d",
        ],
    )
    measured = run(sc, reps=1, seed=1).replications[0].summary["events"]
    est = estimate(sc).events
    assert measured <= est <= ESTIMATE_FACTOR * measured, (est, measured)


def test_memory_estimate_bounds_the_measured_peak() -> None:
    import gc
    import tracemalloc

    from clustersim import experiment

    for pods in (2, 20, 100):
        sc = load_scenario(
            "single-job",
            [f"cluster.pods={pods}", "workload.jobs.0.gpus=8", "workload.jobs.0.work=1h"],
        )
        experiment.run_replication(sc, 0, 1, keep_log=False)  # warm caches first
        gc.collect()
        tracemalloc.start()
        try:
            experiment.run_replication(sc, 0, 1, keep_log=False)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        est = estimate(sc).memory_bytes
        assert peak <= est <= ESTIMATE_FACTOR * peak, (pods, est, peak)


def test_the_config_reference_states_the_guards_constants() -> None:
    from clustersim import budget

    row = next(
        line
        for line in (Path(__file__).parents[2] / "docs" / "config.md").read_text().splitlines()
        if line.startswith("| `max_memory` |")
    )
    assert f"{budget.BYTES_PER_NODE} B per node" in row
    assert f"{budget.BYTES_PER_JOB // 1000} kB per job" in row
    assert f"{budget.BYTES_PER_EVENT} B per event" in row

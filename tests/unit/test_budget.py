from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clustersim.budget import BudgetExceeded, check_budget, estimate
from clustersim.cli import main
from clustersim.config import load_scenario


def test_presets_fit_the_default_budget() -> None:
    for name in ("single-job", "llama3-405b", "meta-24k-shared"):
        est = check_budget(load_scenario(name))
        assert est.events < 1e6


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


def test_sigterm_leaves_no_partial_file(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
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
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "clustersim: interrupted"
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


ESTIMATE_FACTOR = 16
"""The guard's event estimate is an upper bound, at most this many times the measured count
(the fixed allowance of 100 events dominates the smallest cases)."""


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

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

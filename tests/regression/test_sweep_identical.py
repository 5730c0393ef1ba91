"""A sweep gives the same records serially, on a local Dask cluster and on a separately
started ``dask scheduler`` + ``dask worker``; an interrupted and resumed sweep writes the same
file as an uninterrupted one."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from signals import as_from_a_terminal

from clustersim.config import load_scenario
from clustersim.sweep import SerialExecutor, executor, sweep

TINY = ("run.horizon=2d", "workload.jobs.0.work=1d", "checkpoint.policy=fixed")
GRID = {"checkpoint.interval": ["5m", "20m", "1h"], "cluster.spare_nodes": ["0", "4"]}
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _dask_cluster(workers: int = 2) -> Iterator[str]:
    """A `dask scheduler` and `workers` single-threaded `dask worker`s on 127.0.0.1."""
    dask = shutil.which("dask", path=str(BIN)) or "dask"
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    commands = [[dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]]
    worker = [dask, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard"]
    commands += [[*worker, "--host", "127.0.0.1"]] * workers
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for command in commands:
            procs.append(
                subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
        yield address
    finally:
        for proc in procs:  # no nannies: each is one process, nothing is left behind
            proc.kill()
        for proc in procs:
            proc.wait(timeout=10)


def _wait_for_workers(ex: Any, n: int, timeout_s: float = 30.0) -> None:
    ex._client.wait_for_workers(n, timeout=timeout_s)


def test_serial_local_cluster_and_external_scheduler_agree(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    scenario = load_scenario("single-job", TINY)
    with _dask_cluster() as address:  # starts while the serial and local sweeps run
        serial = sweep(scenario, GRID, 3, 9, SerialExecutor(), out=tmp_path / "serial.jsonl")
        with executor(workers=2) as ex:
            local = sweep(scenario, GRID, 3, 9, ex, out=tmp_path / "local.jsonl")
        with executor(address=address) as ex:
            _wait_for_workers(ex, 2)
            remote = sweep(scenario, GRID, 3, 9, ex, out=tmp_path / "remote.jsonl", batch=1)
    assert local == serial
    assert remote == serial
    reference = (tmp_path / "serial.jsonl").read_bytes()
    assert (tmp_path / "local.jsonl").read_bytes() == reference
    assert (tmp_path / "remote.jsonl").read_bytes() == reference


def test_sigint_then_rerun_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    grid = ["--grid", "checkpoint.interval=5m,10m,20m,30m,40m,1h"]
    args = [
        "sweep",
        "single-job",
        "--set",
        "workload.jobs.0.work=15d",
        "--set",
        "checkpoint.policy=fixed",
        *grid,
        "--reps",
        "3",
        "--seed",
        "3",
        "--workers",
        "1",
    ]
    reference, out = tmp_path / "ref.jsonl", tmp_path / "r.jsonl"
    cmd = [str(BIN / "clustersim"), *args]
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.Popen(
        as_from_a_terminal([*cmd, "--out", str(out)]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    # Wait for the first point (header + one line): on a loaded 2-core machine it once took
    # over 30 s, and a signal before it rightly leaves no file at all.
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") >= 2:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the sweep ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    # Generous: under coverage on a loaded 2-core machine the exit once took over 30 s.
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err == b"clustersim: interrupted\n"
    kept = out.read_bytes().count(b"\n") - 1
    assert 1 <= kept < 6, "the signal must land in the middle of the sweep"
    resumed = subprocess.run([*cmd, "--out", str(out)], capture_output=True, env=env, check=True)
    full = subprocess.run([*cmd, "--out", str(reference)], capture_output=True, env=env, check=True)
    assert out.read_bytes() == reference.read_bytes()
    assert resumed.stdout == full.stdout


def test_ctrl_c_to_the_process_group_stops_dask_workers_quietly(tmp_path: Path) -> None:
    """A terminal's Ctrl-C reaches the driver and every local worker: one line, exit 130."""
    pytest.importorskip("distributed")
    out = tmp_path / "r.jsonl"
    cmd = [
        str(BIN / "clustersim"),
        "sweep",
        "single-job",
        "--set",
        "workload.jobs.0.work=15d",
        "--set",
        "checkpoint.policy=fixed",  # else the interval has no effect (and a warning says so)
        "--grid",
        "checkpoint.interval=5m,10m,20m,30m,40m,1h",
        "--reps",
        "4",
        "--seed",
        "3",
        "--workers",
        "2",
        "--batch",
        "1",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(
        as_from_a_terminal(cmd),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") >= 2:
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err == b"clustersim: interrupted\n"
    # Interrupted before any point finished (a loaded machine), the sweep leaves no file.
    assert not out.exists() or out.read_bytes().count(b"\n") - 1 < 6

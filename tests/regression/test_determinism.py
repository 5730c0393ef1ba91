"""INV-9 determinism: the same scenario and seed give byte-identical stdout, for the rich
summary and for ``--json``, whatever the state of the global ``random``/``numpy.random``
generators or the string-hash seed; a different seed gives a different result. The run's own
wall time (``run`` in the JSON, "in 0.2 s (...)" on the terminal) is left out of the
comparison: it is the one part of the output that is not a function of scenario and seed.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest
from wallclock import without_wall

from clustersim.cli import main

SMALL = ["single-job", "--set", "workload.jobs.0.work=2d"]
# Thousands of jobs, backfill and many fault sources, cut to two simulated days (~0.3 s).
SHARED = ["meta-24k-shared", "--set", "run.horizon=2d"]


def stdout_of(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The output of ``run`` without its wall time (the one part that may differ)."""
    code = main(["run", *argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out
    return without_wall(out)


def perturb_global_rngs(seed: int) -> None:
    """Reseed and draw from every global generator the simulator must not depend on."""
    random.seed(seed)
    np.random.seed(seed)  # the legacy global state is what we perturb
    random.random()
    random.getrandbits(64)
    np.random.random(1000)
    np.random.default_rng(seed).random()


@pytest.mark.parametrize("fmt", [[], ["--json"]], ids=["rich", "json"])
def test_inv9_same_seed_byte_identical(capsys: pytest.CaptureFixture[str], fmt: list[str]) -> None:
    first = stdout_of(capsys, *SMALL, "--seed", "7", *fmt)
    second = stdout_of(capsys, *SMALL, "--seed", "7", *fmt)
    assert first == second


@pytest.mark.parametrize("fmt", [[], ["--json"]], ids=["rich", "json"])
def test_inv9_global_rng_state_does_not_leak_in(
    capsys: pytest.CaptureFixture[str], fmt: list[str]
) -> None:
    perturb_global_rngs(1)
    first = stdout_of(capsys, *SMALL, "--seed", "7", "--reps", "2", *fmt)
    perturb_global_rngs(987_654_321)
    second = stdout_of(capsys, *SMALL, "--seed", "7", "--reps", "2", *fmt)
    assert first == second


def test_inv9_multi_job_preset_byte_identical(capsys: pytest.CaptureFixture[str]) -> None:
    perturb_global_rngs(3)
    first = stdout_of(capsys, *SHARED, "--json")
    perturb_global_rngs(4)
    second = stdout_of(capsys, *SHARED, "--json")
    assert first == second
    assert len(json.loads(first)["jobs"]) > 1


def test_inv9_different_seeds_differ(capsys: pytest.CaptureFixture[str]) -> None:
    one = json.loads(stdout_of(capsys, *SMALL, "--seed", "1", "--json"))
    two = json.loads(stdout_of(capsys, *SMALL, "--seed", "2", "--json"))
    assert one["seed"] == 1
    assert two["seed"] == 2
    assert one["summary"] != two["summary"]
    assert one["gpu_seconds"] != two["gpu_seconds"]


def test_inv9_seed_flag_equals_seed_in_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    by_flag = stdout_of(capsys, *SMALL, "--seed", "11", "--json")
    by_set = stdout_of(capsys, *SMALL, "--set", "run.seed=11", "--json")
    assert by_flag == by_set


def test_inv9_independent_of_hash_seed_across_processes() -> None:
    """Set/dict order of strings must not matter: two processes, two hash seeds, one stdout."""
    outputs = []
    for hash_seed in ("0", "12345"):
        proc = subprocess.run(
            [sys.executable, "-m", "clustersim", "run", *SHARED, "--json", "--no-jobs"],
            capture_output=True,
            check=False,
            timeout=60,
            env={**os.environ, "PYTHONHASHSEED": hash_seed, "COLUMNS": "100"},
        )
        assert proc.returncode == 0, proc.stderr.decode()
        assert b"Traceback" not in proc.stderr
        outputs.append(without_wall(proc.stdout.decode()))
    assert outputs[0] == outputs[1]
    json.loads(outputs[0])

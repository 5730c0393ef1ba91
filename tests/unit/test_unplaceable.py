"""Jobs that can never be placed are named, counted and (with --strict) refused (issue 15.6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clustersim.cli import main

SMALL = ["run", "single-job", "--set", "workload.jobs.0.work=1h"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([*SMALL, *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_job_larger_than_the_cluster_is_named_and_counted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "--set", "workload.jobs.0.gpus=99999", "--json")
    assert code == 0
    assert "warning: 1 job never placed, larger than the cluster (144 nodes): job" in err
    assert "simulated 0 s: no job can ever be placed" in err
    summary = json.loads(out)["summary"]
    assert summary["jobs_unplaceable"] == 1 and summary["jobs_started"] == 0


def test_strict_turns_it_into_exit_65_without_writing_the_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "r.json"
    code, out, err = run(
        capsys, "--set", "workload.jobs.0.gpus=99999", "--strict", "--out", str(target)
    )
    assert code == 65 and out == ""
    assert err.strip().splitlines()[-1] == ("clustersim: error: jobs that can never be placed: 1")
    assert not target.exists()


def test_hot_spares_that_squeeze_a_job_out_are_the_named_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "--set", "cluster.spare_nodes=100", "--json")
    assert code == 0
    assert "larger than the 44 nodes left beside 100 hot spares: job" in err


def test_a_placeable_workload_gets_no_warning(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--json", "--strict")
    assert code == 0 and "warning" not in err
    assert json.loads(out)["summary"]["jobs_unplaceable"] == 0


def test_every_submission_after_the_horizon_is_said(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--set", "workload.jobs.0.submit=2d", "--set", "run.horizon=1d")
    assert code == 0
    assert "no job is submitted before the end of the run (run.horizon)" in err


def test_many_names_are_cut_to_five(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "--set", "workload.jobs.0.gpus=99999", "--set", "workload.jobs.0.count=8"
    )
    assert code == 0
    assert "8 jobs never placed" in err and "job-0, job-1, job-2, job-3, job-4, ... (3 more)" in err

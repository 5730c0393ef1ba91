"""A policy that starts and preempts the same job forever at one instant stops the run.

The dispatcher counts each job's preemptions at the current instant; past
``MAX_PREEMPTIONS_PER_INSTANT`` it raises ``LivelockError`` (an internal error: a policy bug),
which the command line reports in one line with exit code 70 instead of hanging
(docs/scheduling.md).
"""

from __future__ import annotations

from pathlib import Path
from unittest.mock import patch

import pytest

from clustersim import cli
from clustersim.config import Scenario
from clustersim.engine.dispatcher import MAX_PREEMPTIONS_PER_INSTANT, LivelockError
from clustersim.experiment import run_replication
from clustersim.scheduler import REGISTRY
from clustersim.views import ClusterView, Decision, JobView, Preempt, Start

SCENARIO = {
    "cluster": {"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": 1, "pods": 1},
    "workload": {"jobs": [{"gpus": 8, "work": "1h"}, {"gpus": 8, "work": "1h", "submit": "1s"}]},
    "restart": {"detection": 0, "init": 0, "init_per_gpu": 0},
    "scheduler": {"policy": "priority-preempt", "preempt_checkpoint": False},
}


def flip_flop(view: ClusterView, queue: tuple[JobView, ...]) -> list[Decision]:
    """Preempt whatever runs, start whatever waits and fits: a policy that never settles.

    From t = 1 s (the second job's arrival) each pass preempts the job the last one started
    and starts the one it preempted, which wakes the dispatcher again at the same instant.
    """
    preempt: list[Decision] = [Preempt(run.id) for run in view.running]
    return preempt + [Start(job.id) for job in queue[: view.free_nodes]]


def test_a_policy_that_never_settles_stops_the_run() -> None:
    scenario = Scenario.model_validate(SCENARIO)
    with (
        patch.dict(REGISTRY, {"priority-preempt": flip_flop}),
        pytest.raises(LivelockError, match=f"{MAX_PREEMPTIONS_PER_INSTANT + 1} times at t=1.0 s"),
    ):
        run_replication(scenario, 0, 0)


def test_the_command_line_reports_it_in_one_line_with_exit_70(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "flip.yaml"
    path.write_text(Scenario.model_validate(SCENARIO).model_dump_json())
    with patch.dict(REGISTRY, {"priority-preempt": flip_flop}):
        code = cli.main(["run", str(path), "--json"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 70
    assert len(err) == 1 and "internal error" in err[0] and "LivelockError" in err[0], err

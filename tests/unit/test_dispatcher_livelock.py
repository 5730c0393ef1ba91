"""A policy that starts and preempts the same job forever at one instant stops the run.

The dispatcher counts each job's preemptions at the current instant; past
``MAX_PREEMPTIONS_PER_INSTANT`` it raises ``LivelockError`` (an internal error: a policy bug),
which the command line reports in one line with exit code 70 instead of hanging
(docs/scheduling.md).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from unittest.mock import patch

import pytest

from clustersim import cli
from clustersim.config import Scenario
from clustersim.engine.dispatcher import MAX_PREEMPTIONS_PER_INSTANT, LivelockError
from clustersim.events import JobPreempted
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


def _tiresias_on_a_mostly_down_cluster() -> Scenario:
    """Found by a random seed of ``test_inv1_gpu_conservation`` (session 10)."""

    def job(name: str, gpus: int, work: float, **extra: object) -> dict[str, object]:
        return {"name": name, "gpus": gpus, "work": work, "user": "a", **extra}

    return Scenario.model_validate(
        {
            "cluster": {
                "gpus_per_node": 2,
                "nodes_per_rack": 3,
                "racks_per_pod": 3,
                "pods": 2,
                "spare_nodes": 2,
            },
            "workload": {
                "jobs": [
                    job("j0", 3, 42274.24119993482),
                    job("j1", 1, 12031.213763728043, checkpoint_bytes=69380913549.13074),
                    job("j2", 7, 30389.60065660591, submit=558.1865139467426, model_params=1e6),
                    job("j3", 3, 35993.572079748155, model_params=1e6),
                    job("j4", 1, 600.0),
                    job("j5", 1, 600.0),
                    job("j6", 1, 600.0),
                    job("j7", 4, 600.0, model_params=1e6),
                ]
            },
            "storage": {"write_bandwidth": "100MB/s", "read_bandwidth": "100MB/s"},
            "checkpoint": {"interval": 300.0},
            "restart": {"detection": 0.0, "requeue": 0.0, "init": 0.0},
            "faults": {
                "f0": {
                    "kind": "poisson",
                    "rate": 3.1431841308527955e-05,
                    "repair": {"distribution": "exponential", "mean": 600.0},
                },
                "f1": {
                    "kind": "poisson",
                    "rate": 0.00017647043118486033,
                    "blast_radius": "rack",
                    "repair": {"distribution": "exponential", "mean": 59076.62645139151},
                },
            },
            "scheduler": {
                "policy": "tiresias",
                "preempt_checkpoint": False,
                "tiresias": {"thresholds": [1000.0, 10000.0], "promote_knob": 4.0},
            },
            "run": {"seed": 0, "horizon": 122057.71340690652, "stop_when_done": False},
        }
    )


def test_tiresias_does_not_preempt_back_and_forth_when_most_nodes_are_down() -> None:
    # With two racks down for long repairs, four nodes are up and two 2-node jobs run. At
    # t = 78,141 s a running job crosses the first threshold. Before session 11 its level
    # while holding counted the crossing by time (start + (threshold - service) / gpus <=
    # now), so it ranked behind a queued level-0 job and was preempted; queued, its banked
    # service (service + gpus * held, engine/service.py) fell short of the threshold by an
    # ulp, so it was level 0 again, ranked ahead and restarted, and so on until the
    # dispatcher's livelock guard raised LivelockError. Now both count service with the same
    # sum (scheduler/tiresias.py _attained_at), and the run ends.
    _, log = run_replication(_tiresias_on_a_mostly_down_cluster(), 0, 0)
    preempted = Counter((e.t, e.job) for e in log if isinstance(e, JobPreempted))
    assert preempted and max(preempted.values()) == 1, preempted.most_common(3)

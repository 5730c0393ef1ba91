"""Two refresh batches at one instant hitting one running job keep the GPU-seconds identity.

Found by ``tests/property/test_fleet_identity.py``: a refresh swaps 25 % of each cohort at
once; the first batch makes a job drain (a checkpoint of 0.02 s), and the second batch, at
the same instant, took the job's node in the other cohort at once, because the job was no
longer simply running. The job's epoch went on counting the GPUs of that node until its
drain ended: the parts exceeded the total by 0.08 GPU-s per refresh. The second batch's node
now waits for the drain and goes with the first batch's (``Fleet.maintain``).
"""

from __future__ import annotations

from clustersim.config import Scenario
from clustersim.experiment import run_replication

SCENARIO = {
    "cluster": {"gpus_per_node": 4, "nodes_per_rack": 4, "racks_per_pod": 2, "pods": 3,
                "spare_nodes": 1},
    "storage": {"write_bandwidth": "100MB/s", "read_bandwidth": "100MB/s"},
    "workload": {"jobs": [
        {"name": "j0", "gpus": 13, "work": "601s"},
        {"name": "j1", "gpus": 13, "work": 9522.743986330393},
        {"name": "j2", "gpus": 44, "work": "1h", "model_params": 1000000.0},
        {"name": "j3", "gpus": 1, "work": 16580.466382134076},
        {"name": "j4", "gpus": 63, "work": 10292.552629012194},
        {"name": "j5", "gpus": 2, "work": "10m", "model_params": 1000000.0},
    ]},
    "checkpoint": {"policy": "fixed", "interval": 7875.181253643291,
                   "copy_bandwidth_per_gpu": "1GB/s"},
    "restart": {"detection": 0.0, "init": 0.0, "init_per_gpu": 0.0},
    "faults": {
        "f0": {"rate": "24000/1000 node-days", "repair": {"mean": "10m", "cv": 0.0}},
        "f1": {"rate": "24000/1000 node-days", "repair": {"mean": "10m", "cv": 0.0}},
    },
    "scheduler": {"preempt_checkpoint": False},
    "run": {"seed": 17991, "horizon": 227103.18315231407, "stop_when_done": False,
            "check_invariants": True},
    "fleet": {
        "cohorts": [{"name": "c0", "count": 16}, {"name": "c2", "count": 8, "install": "1s"}],
        "refresh": {"cohort_rate": 0.0, "fraction": 0.25, "every": 44168.04749093289,
                    "swap": 0.0},
    },
}  # fmt: skip


def test_a_job_draining_for_one_batch_hands_over_the_next_batchs_nodes_too() -> None:
    scenario = Scenario.model_validate(SCENARIO)
    metrics, _ = run_replication(scenario, 0, scenario.run.seed)  # checks the identity
    gs = metrics.gpu_seconds
    assert abs(gs["allocated"] - gs["allocated_measured"]) < 1e-6 * gs["total"]

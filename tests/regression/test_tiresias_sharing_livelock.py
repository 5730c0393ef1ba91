"""Tiresias under GPU sharing once started and preempted the same jobs forever at one instant.

Found by ``test_no_faults_no_interruptions_no_lost_work`` under CI (the run hung). Two 3-GPU
nodes; at t = 66,424.8 s a whole-node job of queue 0 (``j0``) waited for node 0, where two
1-GPU jobs of queue 1 were being preempted for it. The pass also started a 1-GPU target of
queue 1 (``j4``) at once, and the allocator put it, best fit, on node 0's last free GPU: the
next pass at the same instant preempted it for ``j0`` and restarted the other two on node 0,
and so on. Now a sub-node target does not start past a target that waits for preempted jobs'
GPUs, and the dispatcher stops a run whose policy preempts a job more than
``MAX_PREEMPTIONS_PER_INSTANT`` times at one instant (``LivelockError``) instead of hanging.
"""

from __future__ import annotations

from collections import Counter

from clustersim.config import Scenario
from clustersim.events import JobPreempted
from clustersim.experiment import run_replication

JOBS = [  # name, GPUs, work (s), submit (s), priority, model parameters, checkpoint bytes, user
    ("j0", 3, 39280.38541722874, 60.0, 3, 5263791325.399945, None, "a"),
    ("j1", 3, 3600.0, 21049.43231641133, 1, 6687702480.666996, None, "b"),
    ("j2", 5, 17718.70030717305, 3.83355464910548e-230, 0, 8308872335.013087, None, "c"),
    ("j3", 5, 25175.930736570364, 11901.95143513035, 3, None, None, "a"),
    ("j4", 1, 22390.47393265212, 7.580076460225611e-142, 2, 4707683325.784531, None, "c"),
    ("j5", 1, 14433.39993568894, 0.0, 1, 6607249115.8838, None, "a"),
    ("j6", 1, 38284.50658179098, 5117.040877164839, 2, None, 14719698294.386787, "c"),
    ("j7", 1, 26828.922217118063, 4.485610628866657e-54, 0, None, None, "a"),
    ("j8", 1, 40049.39936540665, 2.00001, 3, None, None, "c"),
    ("j9", 5, 17718.70030717305, 3.83355464910548e-230, 0, 8308872335.013087, None, "c"),
    ("j10", 8, 600.0, 12427.625231091219, 1, None, None, "c"),
]
"""The example as Hypothesis drew it (the tiny submission times order the jobs)."""


def scenario() -> Scenario:
    return Scenario.model_validate(
        {
            "cluster": {
                "gpus_per_node": 3,
                "nodes_per_rack": 2,
                "racks_per_pod": 1,
                "pods": 1,
                "sharing": "gpu",
            },
            "storage": {"write_bandwidth": "100MB/s", "read_bandwidth": "100MB/s"},
            "checkpoint": {"policy": "none"},
            "restart": {
                "detection": 3.2672513426251997,
                "init": 1.3003694175369963e-270,
                "init_per_gpu": "0.0086s",
                "load": 1.798073281259917e-11,
            },
            "scheduler": {
                "policy": "tiresias",
                "tiresias": {"thresholds": ["1 GPU-h"], "promote_knob": 1.0},
            },
            "workload": {
                "jobs": [
                    {
                        "name": name,
                        "gpus": gpus,
                        "work": work,
                        "submit": submit,
                        "priority": priority,
                        "model_params": params,
                        "checkpoint_bytes": ckpt,
                        "user": user,
                    }
                    for name, gpus, work, submit, priority, params, ckpt, user in JOBS
                ]
            },
            "run": {"seed": 128, "horizon": 194291.70376674779, "stop_when_done": True},
        }
    )


def test_a_sub_node_target_does_not_start_past_a_blocked_one() -> None:
    metrics, log = run_replication(scenario(), 0, 128)
    at_once = Counter((ev.t, ev.job) for ev in log if isinstance(ev, JobPreempted))
    assert max(at_once.values()) == 1, at_once.most_common(3)
    assert metrics.summary["jobs_finished"] >= 1

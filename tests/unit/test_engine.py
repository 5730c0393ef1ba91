"""Engine behaviour on small hand-built scenarios whose outcome can be worked out by hand."""

from __future__ import annotations

from typing import Any

import pytest

from clustersim.config import Scenario
from clustersim.engine import Simulation
from clustersim.events import (
    JobFinished,
    JobInterrupted,
    JobPreempted,
    JobStarted,
    NodeFailed,
    RecoveryEnded,
    ReplacementTaken,
    RunEnded,
)
from clustersim.experiment import run_replication
from clustersim.metrics import measure


def scenario(**sections: Any) -> Scenario:
    doc: dict[str, Any] = {
        "cluster": {"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": 2, "pods": 2},
        "workload": {"jobs": [{"gpus": 16, "work": "10h"}]},
        "checkpoint": {"policy": "fixed", "interval": "1h", "stall": "60s"},
        "restart": {"detection": "60s", "init": "120s", "init_per_gpu": 0, "load": "30s"},
        "run": {"check_invariants": True},
    }
    for key, value in sections.items():
        doc[key] = value
    return Scenario.model_validate(doc)


def simulate(sc: Scenario, seed: int = 0) -> Simulation:
    sim = Simulation(sc, seed=seed)
    sim.run()
    return sim


def test_failure_free_job_costs_start_up_and_stalls_only() -> None:
    sim = simulate(scenario())
    m = measure(sim)
    # 10 h of work, a checkpoint after each of the first 9 hours, 120 s start-up (no load).
    assert sim.end_s == pytest.approx(10 * 3600 + 9 * 60 + 120)
    assert m.jobs[0].ettr == pytest.approx(36000 / (36000 + 9 * 60 + 120))
    assert m.jobs[0].checkpoints == 9
    gs = m.gpu_seconds
    assert gs["lost"] == 0 and gs["down"] == 0
    assert gs["useful"] == pytest.approx(16 * 36000)
    assert gs["checkpoint"] == pytest.approx(16 * 540)
    assert gs["recovery"] == pytest.approx(16 * 120)
    assert gs["idle"] == pytest.approx((64 - 16) * sim.end_s)


def test_node_failure_loses_work_since_last_checkpoint_and_uses_a_free_node() -> None:
    sc = scenario()
    sim = Simulation(sc, seed=0)
    env = sim.env
    # Fail node 0 (held by the job) 90 minutes after the job starts training.
    start = 120.0
    fail_at = start + 5400.0

    def inject(env_: Any) -> Any:
        yield env_.timeout(fail_at)
        sim.fail_nodes([int(sim.cluster.nodes_of(0)[0])], "test", 3600.0)

    env.process(inject(env))
    sim.run()
    interrupted = [e for e in sim.log if isinstance(e, JobInterrupted)]
    assert len(interrupted) == 1
    # At 5400 s of training: 1 h work + 60 s checkpoint + 1740 s work -> 1740 s lost.
    assert interrupted[0].lost_work_s == pytest.approx(1740.0)
    taken = [e for e in sim.log if isinstance(e, ReplacementTaken)]
    assert len(taken) == 1 and taken[0].spares == 0
    rec = [e for e in sim.log if isinstance(e, RecoveryEnded) and e.cause == "test"]
    # detect 60 + requeue 0 + wait 0 + init 120 + load 30
    assert rec[0].duration_s == pytest.approx(210.0)
    # The job finishes 1740 s (redo) + 210 s (recovery) later than it would have.
    assert sim.end_s == pytest.approx(10 * 3600 + 9 * 60 + 120 + 1740 + 210)
    m = measure(sim)
    assert m.gpu_seconds["lost"] == pytest.approx(16 * 1740)
    assert m.gpu_seconds["down"] == pytest.approx(8 * 3600)


def test_hot_spare_is_used_before_free_nodes() -> None:
    sc = scenario(
        cluster={
            "gpus_per_node": 8,
            "nodes_per_rack": 2,
            "racks_per_pod": 2,
            "pods": 2,
            "spare_nodes": 2,
        }
    )
    sim = Simulation(sc, seed=0)

    def inject(env_: Any) -> Any:
        yield env_.timeout(1000.0)
        sim.fail_nodes([int(sim.cluster.nodes_of(0)[0])], "test", 3600.0)

    sim.env.process(inject(sim.env))
    sim.run()
    taken = [e for e in sim.log if isinstance(e, ReplacementTaken)]
    assert taken[0].spares == 1


def test_job_waits_for_repair_when_no_node_is_free() -> None:
    sc = scenario(
        cluster={"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": 1, "pods": 1},
    )
    sim = Simulation(sc, seed=0)

    def inject(env_: Any) -> Any:
        yield env_.timeout(1000.0)
        sim.fail_nodes([0], "test", 7200.0)

    sim.env.process(inject(sim.env))
    sim.run()
    rec = next(e for e in sim.log if isinstance(e, RecoveryEnded) and e.cause == "test")
    # Detected after 60 s, then waits for the repair at 1000 + 7200, then init (nothing to
    # load: the failure came before the first checkpoint).
    assert rec.t == pytest.approx(1000 + 7200 + 120)
    assert rec.wait_gpu_s == pytest.approx(8 * (7200 - 60))


def test_rack_failure_interrupts_a_job_once() -> None:
    sc = scenario(workload={"jobs": [{"gpus": 32, "work": "2h"}]})
    sim = Simulation(sc, seed=0)

    def inject(env_: Any) -> Any:
        yield env_.timeout(1000.0)
        sim.fail_nodes(sim.topology.nodes_of_rack(0), "tor", 600.0)

    sim.env.process(inject(sim.env))
    sim.run()
    assert sum(isinstance(e, JobInterrupted) for e in sim.log) == 1
    assert sum(isinstance(e, NodeFailed) for e in sim.log) == 2


def test_failure_during_recovery_restarts_it() -> None:
    sim = Simulation(scenario(), seed=0)

    def inject(env_: Any) -> Any:
        yield env_.timeout(1000.0)
        sim.fail_job_on(int(sim.cluster.nodes_of(0)[0]), "sw")
        yield env_.timeout(100.0)  # during init (detect 60 s, then init 120 s)
        sim.fail_job_on(int(sim.cluster.nodes_of(0)[0]), "sw")

    sim.env.process(inject(sim.env))
    sim.run()
    phases = [e.phase for e in sim.log if isinstance(e, JobInterrupted)]
    assert phases == ["running", "recovering"]
    rec = [e for e in sim.log if isinstance(e, RecoveryEnded) and e.cause == "sw"]
    # No checkpoint yet, so nothing to load: 100 s lost to the first attempt, then 60 + 120.
    assert rec[0].duration_s == pytest.approx(100 + 60 + 120)


def test_preempted_job_checkpoints_and_resumes_without_loss() -> None:
    sc = scenario(
        cluster={"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": 1, "pods": 1},
        workload={
            "jobs": [
                {"name": "low", "gpus": 16, "work": "4h", "priority": 0},
                {"name": "high", "gpus": 16, "work": "1h", "priority": 5, "submit": "30m"},
            ]
        },
        scheduler={"policy": "priority-preempt", "preempt_checkpoint": True},
    )
    sim = simulate(sc)
    pre = [e for e in sim.log if isinstance(e, JobPreempted)]
    assert len(pre) == 1 and pre[0].job == 0 and pre[0].checkpointed
    ends = [e for e in sim.log if isinstance(e, RunEnded) and e.job == 0]
    assert ends[0].reason == "preempted" and ends[0].lost_s == 0
    assert sum(e.work_s - e.lost_s for e in ends) == pytest.approx(4 * 3600)
    finished = [e.job for e in sim.log if isinstance(e, JobFinished)]
    assert finished == [1, 0]


def test_easy_backfill_lets_a_small_job_jump_ahead() -> None:
    sc = scenario(
        cluster={"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": 1, "pods": 1},
        workload={
            "jobs": [
                {"name": "a", "gpus": 8, "work": "4h"},
                {"name": "big", "gpus": 16, "work": "1h", "submit": "1s"},
                {"name": "small", "gpus": 8, "work": "1h", "submit": "2s"},
            ]
        },
        scheduler={"policy": "easy-backfill"},
    )
    sim = simulate(sc)
    starts = {e.job: e.t for e in sim.log if isinstance(e, JobStarted)}
    assert starts[2] == pytest.approx(2.0)
    assert starts[1] > starts[2]
    fifo = simulate(
        sc.model_copy(update={"scheduler": sc.scheduler.model_copy(update={"policy": "fifo"})})
    )
    fifo_starts = {e.job: e.t for e in fifo.log if isinstance(e, JobStarted)}
    assert fifo_starts[2] > fifo_starts[1]


def test_job_larger_than_the_cluster_never_starts_and_does_not_hang() -> None:
    sc = scenario(workload={"jobs": [{"gpus": 8, "work": "1h"}, {"gpus": 8000, "work": "1h"}]})
    metrics, _ = run_replication(sc, 0, 0)
    assert metrics.summary["jobs_finished"] == 1
    assert metrics.summary["jobs_started"] == 1


def test_async_checkpoint_stalls_less() -> None:
    common = {"policy": "fixed", "interval": "30m"}
    sync = scenario(
        workload={"jobs": [{"gpus": 16, "work": "10h", "model_params": 70e9}]},
        checkpoint={**common, "mode": "sync"},
        # 16 GPUs cannot write at the whole store's speed; 10 GB/s makes the sync write slow.
        storage={"write_bandwidth": "10GB/s", "read_bandwidth": "10GB/s"},
    )
    asyn = sync.model_copy(
        update={"checkpoint": sync.checkpoint.model_copy(update={"mode": "async"})}
    )
    s_sync = measure(simulate(sync)).gpu_seconds["checkpoint"]
    s_async = measure(simulate(asyn)).gpu_seconds["checkpoint"]
    assert 0 < s_async < s_sync


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recovery_split_adds_up(seed: int) -> None:
    sc = scenario(
        cluster={"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": 2, "pods": 1},
        workload={"jobs": [{"gpus": 16, "work": "3d", "count": 2}]},
        faults={
            "hw": {
                "rate": "2/1 node-days",
                "blast_radius": "node",
                "repair": {"distribution": "exponential", "mean": "6h"},
            },
            "tor": {"rate": "0.5/1 node-days", "blast_radius": "rack"},
            "sw": {"rate": "1/1 node-days", "blast_radius": "job"},
        },
    )
    sim = simulate(sc, seed)
    recs = [e for e in sim.log if isinstance(e, RecoveryEnded)]
    assert any(e.wait_gpu_s > 0 for e in recs)
    for e in recs:
        split = e.detect_gpu_s + e.wait_gpu_s + e.init_gpu_s + e.load_gpu_s
        assert split == pytest.approx(e.gpu_s, rel=1e-9, abs=1e-6)

"""Closed forms of the network model (docs/network.md): the simulator matches them exactly.

A lone job filling two pods runs at ``1 / ((1 - f) + f / s)`` with ``s = min(1, capacity /
demand)``; two identical jobs sharing both uplinks get half that share each, and the
survivor speeds up the instant the other ends; a job inside one pod is never slowed.
"""

from __future__ import annotations

from typing import Any

import pytest

import clustersim
from clustersim.config import Scenario
from clustersim.engine.network import comm_speed
from clustersim.engine.simulation import Simulation
from clustersim.metrics import measure

GPN, NPR, RPP, PODS = 8, 2, 4, 2
POD_GPUS = GPN * NPR * RPP  # 64
WORK_S = 36_000.0
REL = 1e-12


def scenario(
    jobs: list[dict[str, Any]],
    *,
    k: float,
    f: float,
    traffic: str = "all",
    placement: str = "topology",
    faults: dict[str, Any] | None = None,
) -> Scenario:
    """A 2-pod cluster of 64 GPUs per pod, no checkpoints, the network model on."""
    return Scenario.model_validate(
        {
            "cluster": {
                "gpus_per_node": GPN,
                "nodes_per_rack": NPR,
                "racks_per_pod": RPP,
                "pods": PODS,
                "oversubscription": k,
                "placement": placement,
            },
            "network": {"model": "fair-share", "exposed_comm": f, "traffic": traffic},
            "workload": {"jobs": jobs},
            "checkpoint": {"policy": "none"},
            "faults": faults or {},
            "run": {"horizon": "60d"},
        }
    )


def run(sc: Scenario) -> Simulation:
    sim = Simulation(sc, seed=1)
    sim.run()
    return sim


@pytest.mark.parametrize("k", [1.0, 2.0, 4.0, 7.0])
@pytest.mark.parametrize("f", [0.1, 0.5])
@pytest.mark.parametrize(("traffic", "crossing"), [("all", 1.0), ("uniform", 0.5)])
def test_lone_job_across_two_pods(k: float, f: float, traffic: str, crossing: float) -> None:
    sim = run(scenario([{"gpus": 2 * POD_GPUS, "work": WORK_S}], k=k, f=f, traffic=traffic))
    job = sim.jobs[0]
    s = min(1.0, (POD_GPUS / k) / (POD_GPUS * crossing))
    speed = 1.0 / ((1.0 - f) + f / s)
    assert job.finish_s - job.first_start_s == pytest.approx(WORK_S / speed, rel=REL)
    if k == 7.0 and traffic == "all" and f == 0.1:
        assert speed == pytest.approx(0.625)  # the worked case
    row = measure(sim).jobs[0]
    assert row.pods == 2
    assert row.network_share is not None
    assert row.network_share == pytest.approx(s, rel=1e-9)


def test_lone_job_slowdown_is_network_contention() -> None:
    sim = run(scenario([{"gpus": 2 * POD_GPUS, "work": WORK_S}], k=7.0, f=0.1))
    m = measure(sim)
    lost_h = 2 * POD_GPUS * (WORK_S / 0.625 - WORK_S) / 3600
    assert m.summary["network_slowdown_gpu_hours_by_cause"] == {
        "network-contention": pytest.approx(lost_h, rel=1e-9)
    }
    assert m.gpu_seconds["slowdown"] / 3600 == pytest.approx(lost_h, rel=1e-9)
    assert m.summary["other_slowdown_gpu_hours"] == pytest.approx(0.0, abs=1e-6)
    assert m.jobs[0].network_share == pytest.approx(1 / 7, rel=1e-9)


@pytest.mark.parametrize("power", [False, True])
def test_network_slowdown_is_priced_in_its_causes_row(power: bool) -> None:
    """The cause's MWh and dollars count its slowdown GPU-hours like any other waste: at the
    GPUs' computing watts × PUE (or the flat MWh per GPU-year), at the GPU-hour price."""
    sc = scenario([{"gpus": 2 * POD_GPUS, "work": WORK_S}], k=7.0, f=0.1)
    watts, pue = 700.0, 1.25
    if power:
        gpu = {"computing": f"{watts}W", "checkpoint": "300W", "recovery": "150W", "idle": "75W"}
        sc = Scenario.model_validate(
            {**sc.model_dump(), "power": {"pue": pue, "gpu": gpu, "host": "0W", "network": "0W"}}
        )
    row = measure(run(sc)).causes["network-contention"]
    lost_h = 2 * POD_GPUS * (WORK_S / 0.625 - WORK_S) / 3600
    assert row["slowdown_gpu_h"] == pytest.approx(lost_h, rel=1e-9)
    assert row["cost_wasted_usd"] == pytest.approx(lost_h * sc.cost.usd_per_gpu_hour, rel=1e-9)
    per_gpu_h = watts * pue * 3600 / 3.6e9 if power else sc.cost.mwh_per_gpu_year / 8760
    assert row["energy_wasted_mwh"] == pytest.approx(lost_h * per_gpu_h, rel=1e-9)


def test_replications_average_a_causes_slowdown() -> None:
    """``--reps 2``: the averaged causes table keeps ``slowdown_gpu_h`` (it was dropped)."""
    sc = scenario([{"gpus": 2 * POD_GPUS, "work": WORK_S}], k=7.0, f=0.1)
    one = clustersim.run(sc, seed=1).causes["network-contention"]
    two = clustersim.run(sc, reps=2, seed=1).causes["network-contention"]
    assert set(two) == set(one)
    assert two["slowdown_gpu_h"] == pytest.approx(one["slowdown_gpu_h"], rel=1e-12)


@pytest.mark.parametrize("k", [1.0, 7.0])
def test_job_inside_one_pod_runs_at_full_speed(k: float) -> None:
    sim = run(scenario([{"gpus": POD_GPUS, "work": WORK_S}], k=k, f=0.5))
    job = sim.jobs[0]
    assert job.finish_s - job.first_start_s == WORK_S
    assert measure(sim).jobs[0].network_share == 1.0


@pytest.mark.parametrize("f", [0.1, 0.3])
def test_two_jobs_share_then_the_survivor_speeds_up(f: float) -> None:
    """Spread placement puts half of each 64-GPU job in each pod: both cross both uplinks."""
    jobs = [
        {"name": "short", "gpus": POD_GPUS, "work": WORK_S},
        {"name": "long", "gpus": POD_GPUS, "work": 3 * WORK_S},
    ]
    k = 7.0
    sim = run(scenario(jobs, k=k, f=f, placement="spread"))
    short, long = sim.jobs
    assert short.pods == long.pods == 2
    assert short.first_start_s == long.first_start_s
    s_alone = min(1.0, POD_GPUS / k / (POD_GPUS / 2))  # each pod holds 32 of its GPUs
    together, alone = comm_speed(f, s_alone / 2), comm_speed(f, s_alone)
    t0 = short.first_start_s
    assert short.finish_s - t0 == pytest.approx(WORK_S / together, rel=REL)
    # At that instant the long job has done WORK_S and runs the rest alone.
    expected = WORK_S / together + 2 * WORK_S / alone
    assert long.finish_s - t0 == pytest.approx(expected, rel=REL)


def test_aggregation_switch_fault_cuts_one_plane() -> None:
    """A failed aggregation switch removes 1/planes of its pod's uplink (here for good)."""
    faults = {
        "agg": {
            "kind": "switch",
            "level": "pod",
            "rate": "1000/1 switch-days",
            "repair": {"mean": "400d", "distribution": "fixed"},
        }
    }
    base = scenario([{"gpus": 2 * POD_GPUS, "work": WORK_S}], k=1.0, f=0.5, faults=faults)
    # Two days, not the default 60: at this rate every plane soon fails, the job stalls at speed
    # 0 and the switches' fault draws (1,000 a switch-day) would run for the whole horizon.
    base = base.replace({"run.horizon": "2d"})
    sc = base.replace({"network.planes": 2})
    sim = run(sc)
    m = measure(sim)
    assert m.summary["network_slowdown_gpu_hours_by_cause"].get("agg", 0.0) > 0
    assert m.summary["other_slowdown_gpu_hours"] == pytest.approx(0.0, abs=1e-6)
    # Without the network model the same fault slows the job through a pod slowdown instead.
    off = run(base.replace({"network.model": "none"}))
    assert measure(off).summary.get("network_slowdown_gpu_hours_by_cause") is None


def test_spread_placement_is_slower_than_topology() -> None:
    """Jobs of 6 nodes fit in one 8-node pod: topology keeps them inside, spread does not."""
    jobs = [{"name": "a", "gpus": 48, "work": WORK_S}, {"name": "b", "gpus": 48, "work": WORK_S}]
    topo = run(scenario(jobs, k=7.0, f=0.1, traffic="uniform", placement="topology"))
    spread = run(scenario(jobs, k=7.0, f=0.1, traffic="uniform", placement="spread"))
    for job in topo.jobs:
        assert job.pods == 1
        assert job.finish_s - job.first_start_s == WORK_S
    assert all(job.pods == 2 for job in spread.jobs)
    m_topo, m_spread = measure(topo), measure(spread)
    assert m_topo.summary["network_slowdown_gpu_hours"] == 0.0
    assert m_spread.summary["network_slowdown_gpu_hours"] > 0.0
    assert m_spread.summary["mean_jct_s"] > m_topo.summary["mean_jct_s"]

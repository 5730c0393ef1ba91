"""Per-cohort power profiles against closed forms written from the definition.

A fleet of H100 nodes and A100 nodes (``fleet.cohorts[].power``): every node draws its own
cohort's watts in each state, so the facility energy is

    Σ over cohorts  Σ over states  GPUs of the cohort in the state × time × (GPU watts +
    (host + network) / GPUs per node, for a powered state) × PUE.

The watts are written out here from the profiles' definition (docs/power.md: computing 93 %
of TDP, host = 76 % of the system's rated maximum − 8 GPUs computing, rounded to 10 W), not
read from the code's tables; the ``power`` section's overrides apply to its own profile only.
Nothing here pins a number from a run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from clustersim.config import Scenario
from clustersim.config.power import PROFILES
from clustersim.engine import Simulation
from clustersim.experiment import run_replication
from clustersim.power.steps import J_PER_MWH, StepFunction

HOUR = 3600.0
PUE = 1.25
# The default cohort: the power section's h100-sxm profile with these overrides.
H = {"computing": 700.0, "checkpoint": 200.0, "recovery": 150.0, "idle": 75.0, "down": 0.0}
H_NODE_W = 2000.0 + 500.0  # host + network overrides
# The A100 cohort: the a100-sxm profile as defined (no override applies to it).
A_COMPUTING = round(0.93 * 400.0, -1)  # 370 W
A_HOST = round(0.76 * 6500.0 - 8 * A_COMPUTING, -1)  # 1,980 W
A = {"computing": A_COMPUTING, "checkpoint": 65.0, "recovery": 65.0, "idle": 50.0, "down": 0.0}
A_NODE_W = A_HOST + 600.0


def test_the_a100_numbers_here_are_the_profile_s() -> None:
    a100 = PROFILES["a100-sxm"]
    assert a100.host_w + a100.network_w == A_NODE_W
    assert {s: a100.gpu_w[s] for s in A} == A


def _scenario(**parts: Any) -> Scenario:
    data: dict[str, Any] = {
        "name": "cohort-power",
        "cluster": {"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": 2, "pods": 1},
        "fleet": {
            "cohorts": [
                {"name": "h100", "count": 2, "gpu": "h100-sxm"},
                {"name": "a100", "count": 2, "gpu": "a100-sxm", "power": "a100-sxm"},
            ]
        },
        "workload": {"jobs": [{"name": "both", "gpus": 32, "work": "10h"}]},
        "checkpoint": {"policy": "fixed", "interval": "1h", "stall": "60s"},
        "restart": {"init": "120s", "init_per_gpu": 0.0, "detection": "300s"},
        "run": {"horizon": "30d", "seed": 3},
        "power": {
            "profile": "h100-sxm",
            "pue": PUE,
            "gpu": {k: f"{v}W" for k, v in H.items()},
            "host": "2000W",
            "network": "500W",
            "swings": {"stall_steps_min": "0W"},
        },
    }
    data.update(parts)
    return Scenario.model_validate(data)


def _level_at(steps: StepFunction, t: float) -> float:
    return float(steps.watts[np.searchsorted(steps.t_s, t, side="right") - 1])


def _gpu_w(w: dict[str, float], node_w: float, state: str) -> float:
    """Facility watts of one GPU in ``state``: its watts plus its node's share, × PUE."""
    share = node_w / 8 if state not in ("down", "quarantined") else 0.0
    return (w[state] + share) * PUE


def test_one_job_across_both_cohorts_draws_each_cohort_s_watts() -> None:
    """32 GPUs on 2 H100 and 2 A100 nodes: 120 s start-up, 10 h of work, 9 stalls of 60 s."""
    sc = _scenario()
    init, work, stalls = 120.0, 10 * HOUR, 9 * 60.0
    metrics, _ = run_replication(sc, 0, 3)
    power = metrics.power
    assert metrics.summary["sim_time_s"] == pytest.approx(init + work + stalls, rel=1e-12)
    seconds = {"recovery": init, "computing": work, "checkpoint": stalls}
    expected = {
        name: {s: 16 * _gpu_w(w, node_w, s) * t for s, t in seconds.items()}
        for name, w, node_w in (("h100", H, H_NODE_W), ("a100", A, A_NODE_W))
    }
    for state in seconds:
        joules = expected["h100"][state] + expected["a100"][state]
        assert power["energy_mwh_by_state"][state] == pytest.approx(joules / J_PER_MWH, rel=1e-12)
    total = sum(sum(e.values()) for e in expected.values()) / J_PER_MWH
    assert power["energy_total_mwh"] == pytest.approx(total, rel=1e-12)
    assert power["energy_series_mwh"] == pytest.approx(total, rel=1e-12)
    for name, joules in expected.items():
        row = power["cohorts"][name]
        assert row["energy_total_mwh"] == pytest.approx(sum(joules.values()) / J_PER_MWH, rel=1e-12)
        assert row["gpu_hours_by_state"]["computing"] == pytest.approx(16 * work / HOUR, rel=1e-12)
    assert power["cohorts"]["a100"]["profile"] == "a100-sxm"
    # Wasted: the start-up and the stalls (no failure), each cohort at its own watts.
    wasted = sum(e["recovery"] + e["checkpoint"] for e in expected.values()) / J_PER_MWH
    assert power["energy_wasted_mwh"] == pytest.approx(wasted, rel=1e-12)
    # The series: start-up, computing, and a dip at each stall of the whole job.
    sim = Simulation(sc)
    sim.run()
    steps = sim.power_steps
    assert steps is not None

    def level(state: str) -> float:
        return 16 * (_gpu_w(H, H_NODE_W, state) + _gpu_w(A, A_NODE_W, state))

    assert _level_at(steps, 60.0) == pytest.approx(level("recovery"), rel=1e-12)
    first_stall = init + HOUR
    assert _level_at(steps, first_stall - 1) == pytest.approx(level("computing"), rel=1e-12)
    assert _level_at(steps, first_stall) == pytest.approx(level("checkpoint"), rel=1e-12)
    assert _level_at(steps, first_stall + 60) == pytest.approx(level("computing"), rel=1e-12)
    assert power["peak_mw"] == pytest.approx(level("computing") / 1e6, rel=1e-12)


def test_an_a100_node_in_repair_draws_nothing_while_the_rest_idle(tmp_path: Path) -> None:
    """An 8-GPU job computes 2 h on an H100 node; A100 node 3 is in repair from 1 h to 5 h.

    Over one day: every powered node draws its host and network, its GPUs idle unless the
    job holds them; node 3 draws 0 W while in repair (the profiles' ``down``).
    """
    trace = tmp_path / "faults.csv"
    trace.write_text("time,component,cause,duration\n1h,3,psu,4h\n")
    sc = _scenario(
        workload={"jobs": [{"name": "small", "gpus": 8, "work": "2h"}]},
        checkpoint={"policy": "none"},
        restart={"init": 0.0, "init_per_gpu": 0.0},
        faults={"psu": {"kind": "trace", "path": str(trace), "blast_radius": "node"}},
        run={"horizon": "1d", "seed": 3, "stop_when_done": False},
    )
    sim = Simulation(sc)
    placed: list[tuple[int, ...]] = []

    def probe(env: Any) -> Any:  # where the job runs, at 30 min
        yield env.timeout(1800.0)
        placed.append(sim.cluster.nodes_of(sim.jobs[0].id))

    sim.env.process(probe(sim.env))
    sim.run()
    assert len(placed) == 1 and len(placed[0]) == 1
    assert placed[0][0] in (0, 1)  # an H100 node (placement: lowest ids first)
    day = 24 * HOUR
    h_j = (
        2 * H_NODE_W * day  # both H100 nodes up all day
        + 8 * H["idle"] * (2 * day - 2 * HOUR)  # their GPUs idle but the job's 2 h
        + 8 * H["computing"] * 2 * HOUR
    ) * PUE
    a_j = (A_NODE_W + 8 * A["idle"]) * (2 * day - 4 * HOUR) * PUE  # node 3 off for 4 h
    metrics, _ = run_replication(sc, 0, 3)
    power = metrics.power
    assert power["cohorts"]["h100"]["energy_total_mwh"] == pytest.approx(h_j / J_PER_MWH, rel=1e-12)
    assert power["cohorts"]["a100"]["energy_total_mwh"] == pytest.approx(a_j / J_PER_MWH, rel=1e-12)
    assert power["energy_total_mwh"] == pytest.approx((h_j + a_j) / J_PER_MWH, rel=1e-12)
    assert power["energy_series_mwh"] == pytest.approx((h_j + a_j) / J_PER_MWH, rel=1e-12)
    assert power["cohorts"]["a100"]["gpu_hours_by_state"]["down"] == pytest.approx(8 * 4.0)
    assert power["cohorts"]["h100"]["gpu_hours_by_state"]["down"] == 0.0
    # The series drops by the A100 node's idle draw at the failure and regains it at repair.
    steps = sim.power_steps
    assert steps is not None
    a_node_w = (A_NODE_W + 8 * A["idle"]) * PUE
    before, during = _level_at(steps, HOUR - 1), _level_at(steps, HOUR)
    assert before - during == pytest.approx(a_node_w, rel=1e-12)
    assert _level_at(steps, 5 * HOUR) - _level_at(steps, 5 * HOUR - 1) == pytest.approx(
        a_node_w, rel=1e-12
    )


def test_an_a100_expansion_adds_its_own_watts_to_the_periods_energy() -> None:
    """An A100 pod installed on day 1 beside an H100 pod: per-day energy in closed form.

    Day 0: the H100 nodes only (one computes an 8-GPU job for 1 h, the rest idle); days 1
    and 2: both pods idle, each at its own watts. Out-of-service nodes draw nothing.
    """
    day = 24 * HOUR
    sc = _scenario(
        cluster={"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": 1, "pods": 2},
        fleet={
            "cohorts": [
                {"name": "h100", "count": 2},
                {"name": "a100", "count": 2, "install": "1d", "power": "a100-sxm"},
            ]
        },
        workload={"jobs": [{"name": "small", "gpus": 8, "work": "1h"}]},
        checkpoint={"policy": "none"},
        restart={"init": 0.0, "init_per_gpu": 0.0},
        run={"horizon": "3d", "seed": 3, "stop_when_done": False, "period": "1d"},
    )
    h_idle_node = H_NODE_W + 8 * H["idle"]
    a_idle_node = A_NODE_W + 8 * A["idle"]
    day0 = (2 * h_idle_node * day + 8 * (H["computing"] - H["idle"]) * HOUR) * PUE
    later = 2 * (h_idle_node + a_idle_node) * day * PUE
    metrics, _ = run_replication(sc, 0, 3)
    rows = metrics.periods
    assert [r["energy_mwh"] for r in rows] == pytest.approx(
        [day0 / J_PER_MWH, later / J_PER_MWH, later / J_PER_MWH], rel=1e-12
    )
    total = metrics.power["energy_total_mwh"]
    assert sum(r["energy_mwh"] for r in rows) == pytest.approx(total, rel=1e-12)
    assert metrics.power["cohorts"]["a100"]["energy_total_mwh"] == pytest.approx(
        2 * a_idle_node * 2 * day * PUE / J_PER_MWH, rel=1e-12
    )

"""A facility power cap, a ramp limit and a stall floor against closed forms.

Each case is small enough to be worked by hand from the definitions in docs/power.md (the
profile's watts, the cap on facility power = IT × PUE, the power–speed curve
speed = (p / computing) ** α, the ramp's steps of ``ramp_limit × min_window``): the
makespan of identical jobs a hold cap admits m at a time, the GPU watts and speed of one job
under a throttling cap, the wait and filler energy of one ramp, the energy a floor costs.
Nothing here pins a number from a run.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from clustersim.config import Scenario
from clustersim.engine import Simulation
from clustersim.experiment import run_replication
from clustersim.power.steps import J_PER_MWH

WATTS = {"computing": 700.0, "checkpoint": 200.0, "recovery": 150.0, "idle": 75.0}
HOST_W, NETWORK_W, PUE = 2000.0, 500.0, 1.25
SHARE = (HOST_W + NETWORK_W) / 8
INIT, HOUR = 120.0, 3600.0


def _scenario(
    nodes: int, jobs: list[dict[str, Any]], facility: dict[str, Any], **parts: Any
) -> Scenario:
    data: dict[str, Any] = {
        "name": "cap-case",
        "cluster": {
            "gpus_per_node": 8,
            "nodes_per_rack": 2,
            "racks_per_pod": nodes // 2,
            "pods": 1,
        },
        "workload": {"jobs": jobs},
        "checkpoint": {"policy": "fixed", "interval": "100h", "stall": "60s"},
        "restart": {"init": f"{INIT}s", "init_per_gpu": 0.0},
        "run": {"horizon": "30d", "seed": 5},
        "power": {
            "pue": PUE,
            "gpu": {k: f"{v}W" for k, v in WATTS.items()},
            "host": f"{HOST_W}W",
            "network": f"{NETWORK_W}W",
            "swings": {"threshold": "100W", "window": "60s"},
        },
        "facility": facility,
    }
    data.update(parts)
    return Scenario.model_validate(data)


def _idle_node_w() -> float:
    return 8 * WATTS["idle"] + HOST_W + NETWORK_W


@pytest.mark.parametrize(("n_jobs", "admitted"), [(6, 2), (5, 3), (4, 1)])
def test_hold_cap_admits_m_identical_jobs_at_a_time(n_jobs: int, admitted: int) -> None:
    """N one-node jobs of 1 h; the cap leaves room for m computing: ⌈N/m⌉ waves of init + 1 h."""
    per_job_it = 8 * (WATTS["computing"] - WATTS["idle"])
    cap_it = 8 * _idle_node_w() + (admitted + 0.5) * per_job_it
    jobs = [{"name": f"j{i}", "gpus": 8, "work": "1h"} for i in range(n_jobs)]
    sc = _scenario(8, jobs, {"power_cap": f"{cap_it * PUE}W", "cap_policy": "hold"})
    metrics, _ = run_replication(sc, 0, 5)
    waves = math.ceil(n_jobs / admitted)
    wave_s = INIT + HOUR
    assert metrics.summary["sim_time_s"] == pytest.approx(waves * wave_s, rel=1e-12)
    fac = metrics.power["facility"]
    # Refused at wave k: the jobs not yet started beyond the m admitted, 8 GPUs each.
    held = sum(8 * max(0, n_jobs - (k + 1) * admitted) * wave_s for k in range(waves))
    assert fac["cap_held_gpu_hours"] == pytest.approx(held / 3600, rel=1e-12)
    assert fac["time_at_cap_s"] == pytest.approx((waves - 1) * wave_s, rel=1e-12)
    assert fac["time_over_cap_s"] == 0.0
    assert metrics.power["peak_mw"] * 1e6 <= cap_it * PUE * (1 + 1e-12)
    starts = sorted(r.first_start_s for r in metrics.jobs)
    assert starts == pytest.approx([(i // admitted) * wave_s for i in range(n_jobs)], abs=1e-9)


@pytest.mark.parametrize("stalls", [False, True])
def test_throttle_runs_one_job_at_the_curves_speed(stalls: bool) -> None:
    """One 16-GPU job, a cap that leaves it p = 500 W per GPU: speed (500/700)^(1/3) exactly.

    Its wall time is start-up + (work + stalls) / speed, the slowdown GPU-seconds are the
    throttle's (cause ``power-cap``), and the energy is p (stalls: checkpoint watts) per GPU.
    """
    p = 500.0
    held_level = 2 * _idle_node_w() + 16 * (WATTS["recovery"] - WATTS["idle"])
    cap_it = held_level + 16 * (p - WATTS["recovery"])
    interval = "1h" if stalls else "100h"
    sc = _scenario(
        2,
        [{"name": "big", "gpus": 16, "work": "10h"}],
        {"power_cap": f"{cap_it * PUE}W", "cap_policy": "throttle"},
        checkpoint={"policy": "fixed", "interval": interval, "stall": "60s"},
    )
    metrics, _ = run_replication(sc, 0, 5)
    speed = (p / WATTS["computing"]) ** (1.0 / 3.0)
    work = 10 * HOUR
    stall_s = 9 * 60.0 if stalls else 0.0
    wall = (work + stall_s) / speed
    assert metrics.summary["sim_time_s"] == pytest.approx(INIT + wall, rel=1e-12)
    gs = metrics.gpu_seconds
    assert gs["slowdown"] == pytest.approx(16 * (wall - work - stall_s), rel=1e-9)
    fac = metrics.power["facility"]
    assert fac["cap_slowdown_gpu_hours"] * 3600 == pytest.approx(gs["slowdown"], rel=1e-9)
    assert metrics.causes["power-cap"]["slowdown_gpu_h"] * 3600 == pytest.approx(gs["slowdown"])
    assert fac["lowest_gpu_w"] == pytest.approx(p, rel=1e-12)
    assert fac["time_at_cap_s"] == pytest.approx(wall, rel=1e-12)
    parts = [
        gs[k] for k in ("useful", "checkpoint", "recovery", "lost", "slowdown", "idle", "down")
    ]
    assert sum(parts) == pytest.approx(gs["total"], rel=1e-12)
    joules = (
        16
        * PUE
        * (
            INIT * (WATTS["recovery"] + SHARE)
            + (wall - stall_s) * (p + SHARE)
            + stall_s * (WATTS["checkpoint"] + SHARE)
        )
    )
    power = metrics.power
    assert power["energy_total_mwh"] == pytest.approx(joules / J_PER_MWH, rel=1e-9)
    assert power["energy_series_mwh"] == pytest.approx(joules / J_PER_MWH, rel=1e-9)
    assert power["peak_mw"] * 1e6 == pytest.approx(cap_it * PUE, rel=1e-12)


def test_ramp_limit_spreads_a_start_into_steps_at_the_limit() -> None:
    """A 16-GPU start rises 16 × (700 − 150) W × PUE = 11 kW; at 1 kW/s, 12 steps in 12 s.

    Twelve steps a second apart span 11 s: 11 kW over 11 s is the limit exactly.
    """
    rise = 16 * (WATTS["computing"] - WATTS["recovery"]) * PUE
    limit = 1000.0
    sc = _scenario(2, [{"name": "big", "gpus": 16, "work": "10h"}], {"ramp_limit": f"{limit}W/s"})
    sim = Simulation(sc)
    sim.run()
    n = math.ceil(rise / limit) + 1
    assert sim.end_s == pytest.approx(INIT + n + 10 * HOUR, rel=1e-12)
    metrics, _ = run_replication(sc, 0, 5)
    fac = metrics.power["facility"]
    assert fac["ramps"] == 1
    assert fac["ramp_wait_s"] == pytest.approx(n, rel=1e-12)
    step = rise / n
    assert metrics.power["swings"]["max_rise_ramp_mw_per_s"] * 1e6 == pytest.approx(limit)
    assert fac["ramp_energy_mwh"] == pytest.approx(step * n * (n - 1) / 2 / J_PER_MWH, rel=1e-9)
    assert metrics.power["swings"]["largest_rise_mw"] * 1e6 == pytest.approx(rise, rel=1e-9)
    steps = sim.power_steps
    assert steps is not None
    # The rise is n steps of rise / n, one a second (the start-up is the level at 0).
    rises = np.diff(steps.watts)
    assert rises.max() == pytest.approx(step, rel=1e-9)
    ramp = (steps.t_s > INIT) & (steps.t_s <= INIT + n)
    assert steps.t_s[ramp] == pytest.approx(INIT + np.arange(1, n + 1), rel=1e-12)
    free = _scenario(2, [{"name": "big", "gpus": 16, "work": "10h"}], None)
    unramped = Simulation(free)
    unramped.run()
    free_steps = unramped.power_steps
    assert free_steps is not None
    assert np.diff(free_steps.watts).max() == pytest.approx(rise, rel=1e-9)


def test_stall_floor_costs_its_watts_times_the_stalls() -> None:
    """Nine 60 s stalls held at 90 % of 700 W instead of 200 W: (630 − 200) W × GPU-seconds."""
    sc = _scenario(
        2,
        [{"name": "big", "gpus": 16, "work": "10h"}],
        {"stall_floor": 0.9},
        checkpoint={"policy": "fixed", "interval": "1h", "stall": "60s"},
    )
    metrics, _ = run_replication(sc, 0, 5)
    fac = metrics.power["facility"]
    extra = (0.9 * WATTS["computing"] - WATTS["checkpoint"]) * 16 * 9 * 60.0 * PUE
    assert fac["floor_energy_mwh"] == pytest.approx(extra / J_PER_MWH, rel=1e-12)
    # The dip of each stall shrinks from 16 × 500 W to 16 × 70 W (× PUE); the last step is
    # the job's end.
    sim = Simulation(sc)
    sim.run()
    steps = sim.power_steps
    assert steps is not None
    dips = np.diff(steps.watts)[:-1]
    assert sorted(dips)[:9] == pytest.approx([-16 * 70.0 * PUE] * 9, rel=1e-9)
    assert dips.min() == pytest.approx(-16 * 70.0 * PUE, rel=1e-9)


def test_cap_below_the_idle_floor_is_refused() -> None:
    floor = 2 * _idle_node_w() * PUE
    with pytest.raises(ValueError, match="below the idle floor"):
        _scenario(2, [{"name": "big", "gpus": 16, "work": "1h"}], {"power_cap": f"{floor * 0.99}W"})
    _scenario(2, [{"name": "big", "gpus": 16, "work": "1h"}], {"power_cap": f"{floor}W"})


def test_throttled_drains_and_stalls_under_a_floor_stay_within_the_cap() -> None:
    """Maintenance drains a throttled job whose stall floor (665 W) is above its cap (500 W).

    A capped GPU draws at most its cap in a stall or a drain too: facility power never goes
    above the cap, and the series still integrates to the energy by state.
    """
    p = 500.0
    held_level = 2 * _idle_node_w() + 16 * (WATTS["recovery"] - WATTS["idle"])
    cap_it = held_level + 16 * (p - WATTS["recovery"])
    sc = _scenario(
        2,
        [{"name": "big", "gpus": 16, "work": "10h"}],
        {"power_cap": f"{cap_it * PUE}W", "cap_policy": "throttle", "stall_floor": 0.95},
        checkpoint={"policy": "fixed", "interval": "1h", "stall": "60s"},
        faults={
            "upgrade": {
                "kind": "maintenance",
                "every": "3h",
                "duration": {"distribution": "fixed", "mean": "10m"},
            }
        },
    )
    metrics, _ = run_replication(sc, 0, 5)  # checks the power identity
    assert metrics.summary["interruptions_planned"] > 0
    fac = metrics.power["facility"]
    assert fac["time_over_cap_s"] == 0.0 and fac["time_at_cap_s"] > 0
    assert metrics.power["peak_mw"] * 1e6 <= cap_it * PUE * (1 + 1e-12)

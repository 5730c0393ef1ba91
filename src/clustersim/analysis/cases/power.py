"""Power's validation cases: profile energy, a job's failure drop, and the facility cap.

``power-closed-form``: a cluster kept computing draws its profile's watts × time, and the
facility's power falls at a 16,384-GPU job's failure by exactly its GPUs × (computing −
recovery) watts × PUE, rising back by as much at its restart, detection + init + checkpoint
load later; the energy by state equals the integral of the power series.

Two small scenarios whose answers follow from the definitions of docs/power.md alone: N
identical one-node jobs under a ``hold`` cap that has room for exactly m of them computing run
in ⌈N/m⌉ waves, and one job under a ``throttle`` cap that leaves its GPUs p watts runs at
(p / computing) ** (1/3) of its speed, the time it loses being the ``power-cap`` slowdown. The
energy by state and the integral of the power series agree in both.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from clustersim.analysis.cases.base import CaseResult, Estimate, Row, verdict
from clustersim.config import Scenario
from clustersim.engine import Simulation
from clustersim.events import JobInterrupted, RecoveryEnded
from clustersim.experiment import run_replication
from clustersim.metrics import measure
from clustersim.power.steps import J_PER_MWH

__all__ = ["case_power_cap", "case_power_closed_form"]

_WATTS = {"computing": 700.0, "checkpoint": 200.0, "recovery": 150.0, "idle": 75.0}
_NODE_W, _PUE, _INIT, _WORK = 2500.0, 1.25, 120.0, 3600.0
_SOURCE = "docs/power.md"
_REL = 1e-9


def _profile_scenario(**parts: Any) -> Scenario:
    """Two 8-GPU nodes with ``_WATTS``, ``_NODE_W`` of host and network per node, ``_PUE``."""
    data: dict[str, Any] = {
        "name": "power-case",
        "cluster": {"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": 1, "pods": 1},
        "checkpoint": {"policy": "none"},
        "restart": {"init": 0.0, "init_per_gpu": 0.0},
        "run": {"horizon": "30d", "seed": 1},
        "power": {
            "pue": _PUE,
            "gpu": {k: f"{v}W" for k, v in _WATTS.items()},
            "host": f"{_NODE_W}W",
            "network": "0W",
        },
    }
    data.update(parts)
    return Scenario.model_validate(data)


def _scenario(nodes: int, jobs: list[dict[str, Any]], cap_w: float, policy: str) -> Scenario:
    """``nodes`` profiled nodes in one pod under a facility cap, with a 60 s stall per 100 h."""
    return _profile_scenario(
        name="power-cap-case",
        cluster={"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": nodes // 2, "pods": 1},
        workload={"jobs": jobs},
        checkpoint={"policy": "fixed", "interval": "100h", "stall": "60s"},
        restart={"init": f"{_INIT}s", "init_per_gpu": 0.0},
        facility={"power_cap": f"{cap_w}W", "cap_policy": policy},
    )


def case_power_closed_form(quick: bool) -> CaseResult:
    """Power: an always-busy cluster's energy, and a 16k-GPU job's failure drop and rise."""
    busy = _profile_scenario(
        workload={"jobs": [{"name": "a", "gpus": 8, "work": "5h", "count": 2}]}
    )
    metrics, _ = run_replication(busy, 0, 1)
    busy_w = (16 * _WATTS["computing"] + 2 * _NODE_W) * _PUE
    busy_mwh = busy_w * 5 * 3600 / J_PER_MWH
    gpus, detection, init, per_gpu = 16384, 120.0, 60.0, 0.0086
    big = _profile_scenario(
        cluster={"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": 192, "pods": 8},
        workload={"jobs": [{"name": "llama", "gpus": gpus, "work": "2d", "model_params": 405e9}]},
        checkpoint={"policy": "fixed", "interval": "30m", "bytes_per_param": 14},
        restart={"detection": f"{detection}s", "init": f"{init}s", "init_per_gpu": per_gpu},
        faults={"f": {"rate": "1/2048 node-days", "blast_radius": "job"}},
    )
    sim = Simulation(big)
    sim.run()
    steps = sim.power_steps
    assert steps is not None
    hit = next(e for e in sim.log if isinstance(e, JobInterrupted) and e.phase == "running")
    back = next(
        e for e in sim.log if isinstance(e, RecoveryEnded) and e.t > hit.t and e.reason == "resumed"
    )
    job = sim.jobs[0]
    i = int(np.searchsorted(steps.t_s, hit.t))
    j = int(np.searchsorted(steps.t_s, back.t))
    drop_w = float(steps.watts[i] - steps.watts[i - 1]) if steps.t_s[i] == hit.t else 0.0
    rise_w = float(steps.watts[j] - steps.watts[j - 1]) if steps.t_s[j] == back.t else 0.0
    job_w = gpus * (_WATTS["computing"] - _WATTS["recovery"]) * _PUE
    restart_s = detection + init + gpus * per_gpu + job.load_s
    out = measure(sim).power
    series, by_state = out["energy_series_mwh"], out["energy_total_mwh"]
    rows = [
        Row(
            "always busy: energy (MWh)",
            busy_mwh,
            _exact(metrics.power["energy_total_mwh"]),
            source=_SOURCE,
            status=verdict(_agrees(busy_mwh, metrics.power["energy_total_mwh"])),
            note=f"(16 × {_WATTS['computing']:g} W + 2 × {_NODE_W:g} W) × PUE {_PUE:g} × 5 h",
        ),
        Row(
            "always busy: peak (MW)",
            busy_w / 1e6,
            _exact(metrics.power["peak_mw"]),
            status=verdict(_agrees(busy_w / 1e6, metrics.power["peak_mw"])),
        ),
        Row(
            f"drop at the {gpus:,}-GPU job's failure (MW)",
            -job_w / 1e6,
            _exact(drop_w / 1e6),
            source=_SOURCE,
            status=verdict(_agrees(-job_w, drop_w)),
            note="GPUs × (computing − recovery) × PUE",
        ),
        Row(
            "rise at its restart (MW)",
            job_w / 1e6,
            _exact(rise_w / 1e6),
            status=verdict(_agrees(job_w, rise_w)),
        ),
        Row(
            "failure to restart (s)",
            restart_s,
            _exact(back.t - hit.t),
            status=verdict(_agrees(restart_s, back.t - hit.t)),
            note="detection + init + checkpoint load",
        ),
        Row(
            "energy series / energy by state",
            1.0,
            _exact(series / by_state),
            status=verdict(_agrees(series, by_state)),
        ),
    ]
    inputs = {
        "busy": "2 nodes x 8 GPUs computing for 5 h",
        "failure": f"{gpus:,} GPUs, 2 d of work, job-scope faults 1/2048 node-days",
    }
    return CaseResult(
        "power-closed-form", "Power: profile energy and a failure's drop", inputs, rows
    )


def _exact(value: float) -> Estimate:
    """A deterministic simulation's value (one run, no interval)."""
    return Estimate(value, value, value, 1)


def _agrees(a: float, b: float) -> bool:
    return abs(a - b) <= _REL * max(abs(a), abs(b), 1e-12)


def case_power_cap(quick: bool) -> CaseResult:
    """Facility power cap: hold waves and the throttle's speed."""
    idle_node = 8 * _WATTS["idle"] + _NODE_W
    n_jobs, admitted = 6, 2
    per_job = 8 * (_WATTS["computing"] - _WATTS["idle"])
    hold_cap = (8 * idle_node + (admitted + 0.5) * per_job) * _PUE
    jobs = [{"name": f"j{i}", "gpus": 8, "work": "1h"} for i in range(n_jobs)]
    hold, _ = run_replication(_scenario(8, jobs, hold_cap, "hold"), 0, 1)
    makespan = math.ceil(n_jobs / admitted) * (_INIT + _WORK)
    p = 500.0
    level = 2 * idle_node + 16 * (_WATTS["recovery"] - _WATTS["idle"])
    throttle_cap = (level + 16 * (p - _WATTS["recovery"])) * _PUE
    one = [{"name": "big", "gpus": 16, "work": "1h"}]
    throttle, _ = run_replication(_scenario(2, one, throttle_cap, "throttle"), 0, 1)
    speed = (p / _WATTS["computing"]) ** (1.0 / 3.0)
    des_speed = _WORK / (throttle.summary["sim_time_s"] - _INIT)
    slow_h = 16 * _WORK * (1.0 / speed - 1.0) / 3600
    des_slow_h = throttle.power["facility"]["cap_slowdown_gpu_hours"]
    ledger_slow_h = throttle.gpu_seconds["slowdown"] / 3600
    rows = [
        Row(
            f"hold: makespan of {n_jobs} jobs, {admitted} at a time (s)",
            makespan,
            _exact(hold.summary["sim_time_s"]),
            source=_SOURCE,
            status=verdict(_agrees(makespan, hold.summary["sim_time_s"])),
            note="⌈N/m⌉ × (init + work)",
        ),
        Row(
            "hold: peak facility power / cap",
            1.0,
            _exact(hold.power["peak_mw"] * 1e6 / hold_cap),
            status=verdict(hold.power["peak_mw"] * 1e6 <= hold_cap * (1 + _REL)),
            note="at most 1",
        ),
        Row(
            f"throttle: speed at {p:g} W of {_WATTS['computing']:g} W",
            speed,
            _exact(des_speed),
            source=_SOURCE,
            status=verdict(_agrees(speed, des_speed)),
            note="(p / computing)^(1/3)",
        ),
        Row(
            "throttle: power-cap slowdown (GPU-h)",
            slow_h,
            _exact(des_slow_h),
            status=verdict(_agrees(slow_h, des_slow_h), _agrees(des_slow_h, ledger_slow_h)),
            note="equals the identity's slowdown term",
        ),
        Row(
            "throttle: energy series / energy by state",
            1.0,
            _exact(throttle.power["energy_series_mwh"] / throttle.power["energy_total_mwh"]),
            status=verdict(
                _agrees(throttle.power["energy_series_mwh"], throttle.power["energy_total_mwh"])
            ),
        ),
    ]
    inputs = {
        "hold": f"{n_jobs} x 8 GPUs x 1 h, cap {hold_cap / 1e3:.4g} kW",
        "throttle": f"16 GPUs x 1 h, cap {throttle_cap / 1e3:.4g} kW",
    }
    return CaseResult("power-cap", "Facility power cap: hold and throttle", inputs, rows)

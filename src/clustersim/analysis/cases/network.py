"""Validation cases of the network model (docs/network.md): closed forms, then beyond them.

``network-closed-form`` runs small deterministic scenarios whose speeds have a closed form
(``1 / ((1 - f) + f / s)`` at bottleneck share ``s``) and reads the speed back from the
simulated run time; ``network-beyond`` runs the shared preset under three placements and
with network faults, where no formula applies (INFO rows).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import simpy

from clustersim.analysis.cases.base import CaseResult, Estimate, Row, verdict
from clustersim.config import Scenario, load_scenario
from clustersim.engine.simulation import Simulation
from clustersim.experiment import run
from clustersim.metrics import GPU_SECONDS_TERMS, measure

__all__ = ["case_network_beyond", "case_network_closed_form"]

ISSUE = "issue 19"
WORK_S = 36_000.0
AT_S, CUT_S = 3_600.0, 7_200.0
POD_GPUS = 64
REL = 1e-9


def _scenario(jobs: list[dict[str, Any]], *, k: float, f: float, placement: str) -> Scenario:
    """Two pods of four racks of two 8-GPU nodes, traffic ``all``, no checkpoints."""
    return Scenario.model_validate(
        {
            "cluster": {
                "gpus_per_node": 8,
                "nodes_per_rack": 2,
                "racks_per_pod": 4,
                "pods": 2,
                "oversubscription": k,
                "placement": placement,
            },
            "network": {"model": "fair-share", "exposed_comm": f, "traffic": "all"},
            "workload": {"jobs": jobs},
            "checkpoint": {"policy": "none"},
            "run": {"horizon": "60d"},
        }
    )


def _run(sc: Scenario, cut: Callable[[Simulation], bool] | None = None) -> Simulation:
    sim = Simulation(sc, seed=1)
    if cut is not None:

        def at(env: simpy.Environment) -> Generator[Any, Any, None]:
            yield env.timeout(AT_S)
            cut(sim)

        sim.env.process(at(sim.env))
    sim.run()
    return sim


def _exact(value: float) -> Estimate:
    """A deterministic simulated value (no interval)."""
    return Estimate(value, value, value, 1)


def _speed(sim: Simulation, i: int = 0) -> float:
    job = sim.jobs[i]
    return WORK_S / (job.finish_s - job.first_start_s)


def _row(quantity: str, formula: float, des: float, note: str = "") -> Row:
    ok = abs(des - formula) <= REL * max(1.0, abs(formula))
    return Row(quantity, formula, _exact(des), source=ISSUE, status=verdict(ok), note=note)


def case_network_closed_form(quick: bool) -> CaseResult:
    """Network model: speeds with a closed form (lone job, shared link, ToR and flap cuts)."""
    f, k = 0.1, 7.0
    case = CaseResult(
        "network-closed-form",
        "Network: shared links and capacity cuts with a closed form",
        {"pods": "2 x 64 GPUs", "f": str(f), "oversubscription": "1:7", "traffic": "all"},
    )
    lone = _run(_scenario([{"gpus": POD_GPUS, "work": WORK_S}], k=k, f=0.5, placement="topology"))
    case.rows.append(_row("lone job inside one pod: speed", 1.0, _speed(lone)))
    two = _run(_scenario([{"gpus": 2 * POD_GPUS, "work": WORK_S}], k=k, f=f, placement="topology"))
    case.rows.append(
        _row(
            "lone job filling two pods, all traffic crossing: 1/((1-f)+f k)",
            1 / ((1 - f) + f * k),
            _speed(two),
            note="f = 0.1, k = 7: 0.625",
        )
    )
    pair = _run(
        _scenario(
            [
                {"name": "a", "gpus": POD_GPUS, "work": WORK_S},
                {"name": "b", "gpus": POD_GPUS, "work": WORK_S},
            ],
            k=k,
            f=f,
            placement="spread",
        )
    )
    # Each job holds 32 GPUs in each pod: alone s = (64/k)/32 = 2/k; two share it: 1/k each.
    case.rows.append(
        _row(
            "two identical jobs sharing both uplinks: each gets half (s = 1/k)",
            1 / ((1 - f) + f * k),
            _speed(pair, 1),
            note="alone: s = 2/k",
        )
    )
    for label, cut, s in (
        (
            "dual-homed ToR fails: rack link halved, s = 1/2",
            lambda sim: sim.cut_rack(0, 0.5, "tor-degraded", CUT_S),
            0.5,
        ),
        (
            "link flap: one of 8 NIC rails gone, s = 7/8",
            lambda sim: sim.cut_node(1, 1 / 8, "link-flap", CUT_S),
            7 / 8,
        ),
    ):
        sim = _run(_scenario([{"gpus": 32, "work": WORK_S}], k=k, f=0.4, placement="topology"), cut)
        job = sim.jobs[0]
        v_des = 1.0 - (job.finish_s - job.first_start_s - WORK_S) / CUT_S
        case.rows.append(
            _row(
                f"{label}: speed during the cut",
                1 / (0.6 + 0.4 / s),
                v_des,
                note="f = 0.4, from the run time",
            )
        )
    gs = measure(pair).gpu_seconds
    residual = abs(sum(gs[t] for t in GPU_SECONDS_TERMS) - gs["total"]) / gs["total"]
    case.rows.append(
        Row(
            "GPU-seconds identity with network slowdown (relative residual)",
            0.0,
            _exact(residual),
            status=verdict(residual <= REL),
            note="slowdown is a term",
        )
    )
    return case


def case_network_beyond(quick: bool) -> CaseResult:
    """Network model beyond the formulas: placements and faults on the shared preset."""
    days = 7 if quick else 30
    base = load_scenario("meta-24k-shared", [f"run.horizon={days}d"])
    case = CaseResult(
        "network-beyond",
        "Network beyond the formulas: many jobs, placements, faults (DES only; INFO)",
        {"base": "meta-24k-shared", "horizon": f"{days} d", "seed": "7"},
    )
    variants = {
        "topology-aware placement (as configured)": base,
        "first-fit placement": base.replace({"cluster.placement": "first-fit"}),
        "spread placement": base.replace({"cluster.placement": "spread"}),
        "topology, aggregation switches fail (4/day per pod)": base.replace(
            {
                "faults": {
                    **base.model_dump(mode="json")["faults"],
                    "agg-switch": {
                        "kind": "switch",
                        "level": "pod",
                        "rate": "4/1 switch-days",
                        "repair": {"mean": "2h"},
                    },
                }
            }
        ),
    }
    for label, sc in variants.items():
        m = run(sc, reps=1, seed=7).replications[0]
        by = m.summary["network_slowdown_gpu_hours_by_cause"]
        total = sum(by.values())
        parts = ", ".join(f"{c} {v:,.0f}" for c, v in sorted(by.items()) if v)
        case.rows.append(
            Row(
                label,
                des=_exact(total),
                note=f"network slowdown GPU-h ({parts or 'none'}); "
                f"mean JCT {m.summary['mean_jct_s'] / 3600:.2f} h",
            )
        )
    return case

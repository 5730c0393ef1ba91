"""The ``power.facility`` section of a result: the cap's cost, the ramps' and the floor's.

:func:`power_results` assembles a replication's whole ``power`` section (with the facility's
part when there is one) and its summary keys.

Pure functions of what the engine's facility component integrated
(:class:`FacilityStats`, served by ``clustersim.engine.facility.Facility``), the power series
and the scenario: time at the cap, the throughput lost to it (GPU-hours held back by a
``hold`` cap, or the ``power-cap`` slowdown of a ``throttle`` cap), time over the cap, and the
energy the mitigations cost (docs/power.md).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from clustersim.config import PowerConfig, Scenario
from clustersim.config.power import FacilityConfig, effective_power
from clustersim.network_metrics import charge_slowdown, residual

from .cohorts import CohortEnergy, apply_cohorts
from .energy import EnergyModel, FacilityEnergy, power_section
from .steps import J_PER_MWH, StepFunction

__all__ = [
    "FacilityStats",
    "add_facility",
    "drawn_energy",
    "facility_section",
    "facility_summary",
    "power_results",
    "time_over_w",
]


class FacilityStats(FacilityEnergy, Protocol):
    """What :func:`facility_section` reads of the engine's facility component."""

    at_cap_s: float
    held_gpu_s: float
    slow_gpu_s: float
    refusals: int
    lowest_gpu_w: float
    ramps: int
    ramp_wait_s: float


def time_over_w(steps: StepFunction, limit_w: float) -> float:
    """Seconds the series spends above ``limit_w`` (relative tolerance 10⁻⁹)."""
    widths = np.diff(np.append(steps.t_s, max(steps.end_s, float(steps.t_s[-1]))))
    return float(np.sum(widths[steps.watts > limit_w * (1 + 1e-9)]))


def facility_section(
    cfg: FacilityConfig,
    power: PowerConfig,
    drawn: EnergyModel,
    stats: FacilityStats,
    *,
    steps: StepFunction,
    gs: dict[str, float],
    saved_j: float,
    filler_j: float,
) -> dict[str, Any]:
    """The ``power.facility`` section of one replication (docs/results.md#power).

    ``drawn`` prices GPU-seconds as drawn (with the stall floor); ``power`` is the profile
    without it, so the floor's cost is the difference on the same GPU-seconds.
    """
    end = steps.end_s
    out: dict[str, Any] = {}
    if cfg.power_cap is not None:
        out["power_cap_mw"] = cfg.power_cap / 1e6
        out["cap_policy"] = cfg.cap_policy
        out["time_at_cap_s"] = stats.at_cap_s
        out["time_at_cap_share"] = stats.at_cap_s / end if end > 0 else 0.0
        out["time_over_cap_s"] = time_over_w(steps, cfg.power_cap)
        out["cap_refusals"] = stats.refusals
        out["cap_held_gpu_hours"] = stats.held_gpu_s / 3600
        out["cap_slowdown_gpu_hours"] = stats.slow_gpu_s / 3600
        out["cap_lost_gpu_hours"] = (stats.held_gpu_s + stats.slow_gpu_s) / 3600
        out["lowest_gpu_w"] = stats.lowest_gpu_w
        out["throttle_saved_mwh"] = saved_j * power.pue / J_PER_MWH
    if cfg.ramp_limit is not None:
        out["ramp_limit_mw_per_s"] = cfg.ramp_limit / 1e6
        out["ramps"] = stats.ramps
        out["ramp_wait_s"] = stats.ramp_wait_s
        out["ramp_energy_mwh"] = filler_j * power.pue / J_PER_MWH
    if cfg.stall_floor is not None:
        plain = EnergyModel(power, drawn.gpus_per_node)
        by_state = drawn.gpu_seconds_by_state(gs, {"maintenance": 0.0, "quarantined": 0.0})
        extra = sum(
            (drawn.w_per_gpu[s] - plain.w_per_gpu[s]) * by_state[s]
            for s in ("checkpoint", "recovery")
        )
        out["stall_floor"] = cfg.stall_floor
        out["floor_during"] = cfg.floor_during
        out["floor_energy_mwh"] = extra / J_PER_MWH
    return out


def facility_summary(section: dict[str, Any]) -> dict[str, Any]:
    """The summary's ``power_*`` keys of a facility section (only those that apply)."""
    keys = {
        "time_at_cap_s": "power_cap_time_s",
        "cap_lost_gpu_hours": "power_cap_lost_gpu_hours",
        "time_over_cap_s": "power_cap_time_over_s",
        "ramp_energy_mwh": "power_ramp_energy_mwh",
        "floor_energy_mwh": "power_floor_energy_mwh",
    }
    return {out: section[key] for key, out in keys.items() if key in section}


def add_facility(
    power: dict[str, Any],
    summary: dict[str, Any],
    causes: dict[str, dict[str, Any]],
    cfg: FacilityConfig,
    stats: FacilityStats,
    *,
    profile: PowerConfig,
    drawn: EnergyModel,
    steps: StepFunction,
    gs: dict[str, float],
    usd_per_gpu_hour: float,
) -> None:
    """Add ``power.facility``, the summary's ``power_*`` keys and the ``power-cap`` cause.

    The cause's slowdown is priced in dollars (GPU-hours held longer) but not in energy: a
    throttled GPU draws less, and ``throttle_saved_mwh`` reports what it saved.
    """
    power["facility"] = facility_section(
        cfg,
        profile,
        drawn,
        stats,
        steps=steps,
        gs=gs,
        saved_j=stats.saved_j,
        filler_j=stats.filler_j,
    )
    summary.update(facility_summary(power["facility"]))
    slow_s = stats.slow_gpu_s
    if slow_s <= 0:
        return
    charge_slowdown(summary, causes, "power-cap", "Power", slow_s / 3600, usd_per_gpu_hour)
    if "other_slowdown_gpu_hours" in summary:
        other = summary["other_slowdown_gpu_hours"]
        summary["other_slowdown_gpu_hours"] = residual(other, slow_s / 3600)


def drawn_energy(scenario: Scenario) -> EnergyModel | None:
    """The energy model of power as drawn (a stall floor applied); None without ``power``."""
    if scenario.power is None:
        return None
    power = effective_power(scenario.power, scenario.facility)
    return EnergyModel(power, scenario.cluster.gpus_per_node)


def power_results(
    scenario: Scenario,
    drawn: EnergyModel,
    gs: dict[str, float],
    down_node_s: dict[str, float],
    steps: StepFunction,
    bin_starts: list[float],
    *,
    stats: FacilityStats | None,
    summary: dict[str, Any],
    causes: dict[str, dict[str, Any]],
    cohorts: CohortEnergy | None = None,
) -> dict[str, Any]:
    """One replication's ``power`` section; its keys of ``summary`` and ``causes`` updated.

    ``down_node_s`` holds the node-seconds of the identity's ``down`` term in maintenance and
    quarantined. With ``cohorts`` (per-cohort power profiles) energy is priced per cohort.
    """
    down_gpu_s = {k: v * drawn.gpus_per_node for k, v in down_node_s.items()}
    power = power_section(drawn, gs, down_gpu_s, steps, bin_starts, stats)
    if cohorts is not None:
        apply_cohorts(power, cohorts, gs, down_gpu_s, causes)
    if scenario.facility is not None and stats is not None and scenario.power is not None:
        add_facility(
            power,
            summary,
            causes,
            scenario.facility,
            stats,
            profile=scenario.power,
            drawn=drawn,
            steps=steps,
            gs=gs,
            usd_per_gpu_hour=scenario.cost.usd_per_gpu_hour,
        )
    summary["energy_wasted_mwh"] = power["energy_wasted_mwh"]
    summary["energy_total_mwh"] = power["energy_total_mwh"]
    summary["power_mean_mw"] = power["mean_mw"]
    summary["power_peak_mw"] = power["peak_mw"]
    summary["power_swings"] = power["swings"]["count"]
    return power

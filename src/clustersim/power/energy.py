"""Energy from the GPU-seconds ledger and a power profile, and the ``power`` section of a result.

:class:`EnergyModel` prices GPU-seconds by state: a GPU of an up node draws its state's
watts plus its share of the node's host and network watts, a down or quarantined GPU its
state's watts alone, all × PUE. Energy by state is then Σ state watts × GPU-seconds in that
state (computing = useful + lost + slowdown), exactly, with no reference to time; the power
series (:mod:`clustersim.power.steps`) is integrated independently, and the two agree
(:func:`check_power_identity`), as the GPU-seconds identity's log and integrals do.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np

from clustersim.config import PowerConfig
from clustersim.config.power import GPU_STATES, POWERED_STATES

from .steps import J_PER_MWH, StepFunction, find_swings, swing_summary

__all__ = [
    "POWER_RTOL",
    "EnergyModel",
    "FacilityEnergy",
    "PowerIdentityError",
    "aggregate_power",
    "check_power_identity",
    "power_section",
]

POWER_RTOL = 1e-9
"""Relative tolerance of the energy identity (step-function integral = energy by state)."""


class PowerIdentityError(AssertionError):
    """The power series does not integrate to the energy by state: a simulator bug."""


class FacilityEnergy(Protocol):
    """What a facility changed in the energy ledger, in IT joules (docs/power.md)."""

    @property
    def saved_j(self) -> float:
        """The throttle's saving on running epochs' computing seconds."""
        ...

    @property
    def filler_j(self) -> float:
        """The ramps' filler work."""
        ...

    ramps_on: bool
    """Whether a ramp limit was set (then ``ramp`` is a state of the energy by state)."""


class EnergyModel:
    """Facility joules per GPU-second in each state, from a resolved :class:`PowerConfig`.

    ``down`` arguments are the GPU-seconds of the identity's ``down`` term spent in
    maintenance and quarantined (the rest was in repair).
    """

    def __init__(self, cfg: PowerConfig, gpus_per_node: int) -> None:
        self.cfg = cfg
        self.gpus_per_node = gpus_per_node
        self.gpu_w = cfg.gpu.watts()
        share = cfg.node_w / gpus_per_node
        self.w_per_gpu = {
            s: (self.gpu_w[s] + (share if s in POWERED_STATES else 0.0)) * cfg.pue
            for s in GPU_STATES
        }
        """Facility watts per GPU in each state (its node's host and network share included)."""

    @staticmethod
    def gpu_seconds_by_state(gs: dict[str, float], down: dict[str, float]) -> dict[str, float]:
        """The identity's terms grouped into power states.

        ``down`` holds the GPU-seconds of the identity's ``down`` term spent in
        ``maintenance`` and ``quarantined``.
        """
        return {
            "computing": gs["useful"] + gs["lost"] + gs["slowdown"],
            "checkpoint": gs["checkpoint"],
            "recovery": gs["recovery"],
            "idle": gs["idle"],
            "maintenance": down["maintenance"],
            "down": gs["down"] - down["maintenance"] - down["quarantined"],
            "quarantined": down["quarantined"],
        }

    def by_state_mwh(self, gs: dict[str, float], down: dict[str, float]) -> dict[str, float]:
        """Facility MWh by state: state watts × GPU-seconds in it."""
        by_state = self.gpu_seconds_by_state(gs, down)
        return {s: self.w_per_gpu[s] * by_state[s] / J_PER_MWH for s in GPU_STATES}

    def by_part_mwh(self, gs: dict[str, float], down: dict[str, float]) -> dict[str, float]:
        """Facility MWh by what draws it: GPUs, hosts, network, facility overhead (PUE − 1)."""
        by_state = self.gpu_seconds_by_state(gs, down)
        gpus = sum(self.gpu_w[s] * by_state[s] for s in GPU_STATES)
        up_node_s = sum(by_state[s] for s in POWERED_STATES) / self.gpus_per_node
        hosts = float(self.cfg.host or 0.0) * up_node_s
        network = float(self.cfg.network or 0.0) * up_node_s
        it = gpus + hosts + network
        parts = {"gpus": gpus, "hosts": hosts, "network": network}
        parts["overhead"] = it * (self.cfg.pue - 1.0)
        return {k: v / J_PER_MWH for k, v in parts.items()}

    def wasted_mwh(self, gs: dict[str, float]) -> float:
        """Facility MWh of allocated GPU time that was not useful compute."""
        w = self.w_per_gpu
        joules = (
            w["checkpoint"] * gs["checkpoint"]
            + w["recovery"] * gs["recovery"]
            + w["computing"] * (gs["lost"] + gs["slowdown"])
        )
        return joules / J_PER_MWH

    def cause_mwh(
        self, lost_gpu_s: float, recovery_gpu_s: float, slowdown_gpu_s: float = 0.0
    ) -> float:
        """Facility MWh that one cause wasted: its redone work, recoveries and slowdown."""
        w = self.w_per_gpu
        computing = w["computing"] * (lost_gpu_s + slowdown_gpu_s)
        return (computing + w["recovery"] * recovery_gpu_s) / J_PER_MWH


def power_section(
    model: EnergyModel,
    gs: dict[str, float],
    down: dict[str, float],
    steps: StepFunction,
    bin_starts: list[float],
    facility: FacilityEnergy | None = None,
) -> dict[str, Any]:
    """The ``power`` section of one replication's result (docs/results.md).

    With a ``facility`` the throttle's saving comes off ``computing`` and the ramps' filler
    work is a state of its own (``ramp``), in the energy by state and by part alike.
    """
    cfg = model.cfg
    by_state = model.by_state_mwh(gs, down)
    by_part = model.by_part_mwh(gs, down)
    wasted = model.wasted_mwh(gs)
    if facility is not None:
        saved, filler = facility.saved_j / J_PER_MWH, facility.filler_j / J_PER_MWH
        by_state["computing"] -= saved * cfg.pue
        if facility.ramps_on:
            by_state["ramp"] = filler * cfg.pue
        by_part["gpus"] += filler - saved
        by_part["overhead"] += (filler - saved) * (cfg.pue - 1.0)
        wasted += filler * cfg.pue
    end = steps.end_s
    peak_w, peak_t = steps.peak()
    edges = np.asarray([*bin_starts, end], dtype=np.float64) if bin_starts else np.zeros(0)
    binned = low = high = np.zeros(0)
    if len(edges) > 1 and end > 0:
        binned = steps.bin_means(edges) / 1e6
        low, high = (x / 1e6 for x in steps.bin_extremes(edges))
    sw = cfg.swings
    swings = find_swings(steps, sw.threshold, sw.window)
    return {
        "profile": cfg.profile,
        "pue": cfg.pue,
        "watts_per_gpu": dict(model.w_per_gpu),
        "mean_mw": steps.mean_w() / 1e6,
        "peak_mw": peak_w / 1e6,
        "peak_t_s": peak_t,
        "energy_total_mwh": sum(by_state.values()),
        "energy_series_mwh": steps.energy_j() / J_PER_MWH,
        "energy_wasted_mwh": wasted,
        "energy_mwh_by_state": by_state,
        "energy_mwh_by_part": by_part,
        "steps": len(steps.t_s),
        "swings": swing_summary(swings, sw.threshold, sw.window, sw.min_window, end),
        "power_mw": binned.tolist(),
        "power_mw_min": low.tolist(),
        "power_mw_max": high.tolist(),
    }


def check_power_identity(section: dict[str, Any]) -> None:
    """The series' integral equals the energy by state (relative :data:`POWER_RTOL`)."""
    if not section:
        return
    total, series = section["energy_total_mwh"], section["energy_series_mwh"]
    if abs(total - series) > POWER_RTOL * max(abs(total), 1e-12):
        raise PowerIdentityError(
            f"power series integrates to {series!r} MWh, energy by state is {total!r} MWh"
        )


_REPLICATION_0 = frozenset(
    {"profile", "pue", "watts_per_gpu", "power_mw", "power_mw_min", "power_mw_max", "swings"}
)
"""Keys reported from replication 0 (like the time series), not averaged."""


def aggregate_power(sections: list[dict[str, Any]]) -> dict[str, Any]:
    """Replications' power sections combined into one.

    Numbers and tables of numbers are averaged; the series and the swing summary are
    replication 0's (``swings_count_mean`` averages the swing counts).
    """
    first = sections[0]
    if len(sections) == 1:
        return first
    out: dict[str, Any] = {}
    for key, value in first.items():
        if key in _REPLICATION_0:
            out[key] = value
        elif key == "cohorts":  # per cohort, per field, per state: averaged all the way down
            out[key] = _mean_tree([s[key] for s in sections])
        elif isinstance(value, dict):
            out[key] = {
                k: _mean([s[key][k] for s in sections]) if _number(v) else v
                for k, v in value.items()
            }
        else:
            out[key] = _mean([s[key] for s in sections])
    out["swings_count_mean"] = _mean([s["swings"]["count"] for s in sections])
    return out


def _mean_tree(values: list[Any]) -> Any:
    """Nested dicts of numbers averaged leaf by leaf (other leaves: the first's)."""
    first = values[0]
    if isinstance(first, dict):
        return {k: _mean_tree([v[k] for v in values]) for k in first}
    return _mean(values) if _number(first) else first


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _mean(values: list[float]) -> float:
    finite = [v for v in values if v is not None and not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan

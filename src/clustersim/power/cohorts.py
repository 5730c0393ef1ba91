"""Energy of a fleet whose cohorts have their own power profiles (``fleet.cohorts[].power``).

:class:`CohortEnergy` owns the pricing of each cohort's GPU-seconds by power state at its own
profile's watts: the energy by state and by part, the energy wasted, and the energy each
cause wasted, which replace the single profile's in the ``power`` section
(:func:`apply_cohorts`). The GPU-seconds per cohort come from the per-cohort power meter
(:class:`clustersim.engine.cohort_power.CohortPowerMeter`); :meth:`CohortEnergy.check_split`
checks that they sum, state by state, to the GPU-seconds ledger's terms (an identity, like
the series' integral against the energy by state).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clustersim.config import PowerConfig
from clustersim.config.power import GPU_STATES, POWERED_STATES

from .energy import POWER_RTOL, EnergyModel, PowerIdentityError
from .steps import J_PER_MWH

__all__ = ["CohortEnergy", "apply_cohorts"]


@dataclass(frozen=True, slots=True)
class CohortEnergy:
    """Each cohort's profile and GPU-seconds by power state over one replication.

    ``gpu_s[c]`` has every state of :data:`GPU_STATES` plus ``lost`` and ``slowdown`` (parts
    of ``computing``); ``lost_by_cause[cause][c]`` is cohort ``c``'s lost GPU-seconds of it.
    """

    names: tuple[str, ...]
    profiles: tuple[PowerConfig, ...]
    gpu_s: tuple[dict[str, float], ...]
    lost_by_cause: dict[str, tuple[float, ...]]
    gpus_per_node: int

    @property
    def models(self) -> tuple[EnergyModel, ...]:
        """Each cohort's facility watts per GPU by state."""
        return tuple(EnergyModel(p, self.gpus_per_node) for p in self.profiles)

    def check_split(self, gs: dict[str, float], down: dict[str, float]) -> None:
        """Σ over cohorts of each state's GPU-seconds = the ledger's, or raise.

        Relative :data:`POWER_RTOL` of the total GPU-seconds; raises
        :class:`PowerIdentityError` otherwise.
        """
        ledger = {
            **EnergyModel.gpu_seconds_by_state(gs, down),
            "lost": gs["lost"],
            "slowdown": gs["slowdown"],
        }
        scale = max(abs(gs["total"]), 1.0)
        for state, value in ledger.items():
            split = sum(row[state] for row in self.gpu_s)
            if abs(split - value) > POWER_RTOL * scale:
                raise PowerIdentityError(
                    f"{state}: cohorts' GPU-seconds sum to {split!r}, the ledger has {value!r}"
                )

    def by_state_mwh(self) -> dict[str, float]:
        """Facility MWh by state: Σ over cohorts of its watts × its GPU-seconds in the state."""
        models = self.models
        return {
            s: sum(m.w_per_gpu[s] * row[s] for m, row in zip(models, self.gpu_s, strict=True))
            / J_PER_MWH
            for s in GPU_STATES
        }

    def by_part_mwh(self) -> dict[str, float]:
        """Facility MWh by what draws it: GPUs, hosts, network, facility overhead (PUE − 1)."""
        parts = {"gpus": 0.0, "hosts": 0.0, "network": 0.0, "overhead": 0.0}
        for p, row in zip(self.profiles, self.gpu_s, strict=True):
            w = p.gpu.watts()
            gpus = sum(w[s] * row[s] for s in GPU_STATES)
            up_node_s = sum(row[s] for s in POWERED_STATES) / self.gpus_per_node
            hosts = float(p.host or 0.0) * up_node_s
            network = float(p.network or 0.0) * up_node_s
            parts["gpus"] += gpus
            parts["hosts"] += hosts
            parts["network"] += network
            parts["overhead"] += (gpus + hosts + network) * (p.pue - 1.0)
        return {k: v / J_PER_MWH for k, v in parts.items()}

    def wasted_mwh(self) -> float:
        """Facility MWh of allocated GPU time that was not useful compute, per cohort's watts."""
        joules = 0.0
        for m, row in zip(self.models, self.gpu_s, strict=True):
            w = m.w_per_gpu
            joules += (
                w["checkpoint"] * row["checkpoint"]
                + w["recovery"] * row["recovery"]
                + w["computing"] * (row["lost"] + row["slowdown"])
            )
        return joules / J_PER_MWH

    def cause_mwh(self, cause: str, recovery_gpu_s: float, slowdown_gpu_s: float = 0.0) -> float:
        """Facility MWh one cause wasted: its lost work, recoveries and slowdown.

        Lost work at each cohort's computing watts (exact); recoveries and slowdown at the
        fleet's mean recovery and computing watts per GPU-second of recovery and of slowdown
        (neither is split by cohort and cause).
        """
        models = self.models
        lost = self.lost_by_cause.get(cause, (0.0,) * len(models))
        joules = sum(m.w_per_gpu["computing"] * x for m, x in zip(models, lost, strict=True))
        joules += self._mean_w("recovery", "recovery") * recovery_gpu_s
        joules += self._mean_w("computing", "slowdown") * slowdown_gpu_s
        return joules / J_PER_MWH

    def _mean_w(self, state: str, part: str) -> float:
        """The cohorts' ``state`` watts per GPU, weighted by their GPU-seconds of ``part``."""
        total = sum(row[part] for row in self.gpu_s)
        if total <= 0:
            return 0.0
        pairs = zip(self.models, self.gpu_s, strict=True)
        return sum(m.w_per_gpu[state] * row[part] for m, row in pairs) / total

    def table(self) -> dict[str, dict[str, Any]]:
        """The ``power.cohorts`` section: per cohort its profile, watts, GPU-hours and MWh."""
        out: dict[str, dict[str, Any]] = {}
        for name, p, m, row in zip(self.names, self.profiles, self.models, self.gpu_s, strict=True):
            mwh = {s: m.w_per_gpu[s] * row[s] / J_PER_MWH for s in GPU_STATES}
            out[name] = {
                "profile": p.profile,
                "watts_per_gpu": dict(m.w_per_gpu),
                "gpu_hours_by_state": {s: row[s] / 3600 for s in GPU_STATES},
                "energy_mwh_by_state": mwh,
                "energy_total_mwh": sum(mwh.values()),
            }
        return out


def apply_cohorts(
    power: dict[str, Any],
    cohorts: CohortEnergy,
    gs: dict[str, float],
    down_gpu_s: dict[str, float],
    causes: dict[str, dict[str, Any]],
) -> None:
    """Price a ``power`` section (and each cause's ``energy_wasted_mwh``) per cohort.

    Checks the cohorts' GPU-seconds against the ledger first; the section's ``profile`` and
    ``watts_per_gpu`` stay the ``power`` section's (the default cohorts'); ``cohorts`` is
    added.
    """
    cohorts.check_split(gs, down_gpu_s)
    by_state = cohorts.by_state_mwh()
    power["energy_mwh_by_state"] = by_state
    power["energy_total_mwh"] = sum(by_state.values())
    power["energy_mwh_by_part"] = cohorts.by_part_mwh()
    power["energy_wasted_mwh"] = cohorts.wasted_mwh()
    power["cohorts"] = cohorts.table()
    for cause, row in causes.items():
        row["energy_wasted_mwh"] = cohorts.cause_mwh(
            cause, row["recovery_gpu_h"] * 3600, row.get("slowdown_gpu_h", 0.0) * 3600
        )

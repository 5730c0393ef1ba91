"""The ``power`` section of a scenario and the built-in hardware power profiles.

Owns two things: :data:`PROFILES`, the hardware profiles (per-GPU watts by state, host and
network watts per node) with their sources and assumptions, and :class:`PowerConfig`, the
scenario's ``power:`` section, which names a profile, overrides any of its numbers, and sets
the facility overhead (PUE) and what counts as a power swing. A :class:`PowerConfig` is
resolved when it is validated: every number left out is filled in from the profile, so a
result's resolved scenario carries the watts it was run with (docs/power.md).

Without a ``power`` section nothing here is used: energy stays the flat
``cost.mwh_per_gpu_year`` of ``docs/results.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_validator,
    model_validator,
)

from clustersim.config.units import Duration, Watts, format_power, parse_power

__all__ = [
    "DEFAULT_PUE",
    "DEFAULT_THROTTLE_EXPONENT",
    "GPU_STATES",
    "POWERED_STATES",
    "PROFILES",
    "FacilityConfig",
    "GpuPowerConfig",
    "HardwareProfile",
    "PowerConfig",
    "SwingConfig",
    "cohort_power",
    "effective_power",
    "idle_floor_w",
]

GPU_STATES = (
    "computing",
    "checkpoint",
    "recovery",
    "idle",
    "maintenance",
    "down",
    "quarantined",
)
"""The power states of a GPU, each a term (or a part of one) of the GPU-seconds identity:
computing = useful + lost + slowdown; checkpoint (stalls, preemption and maintenance drains);
recovery (start-up, detection, requeue, waiting for nodes, init, load); idle (free and spare
nodes, and the free GPUs of shared nodes); and the identity's ``down`` split three ways:
maintenance (planned: the node is on, rebooting or being updated), down (in repair after a
failure) and quarantined (retired)."""
POWERED_STATES = ("computing", "checkpoint", "recovery", "idle", "maintenance")
"""States in which a GPU's node is powered: they carry the node's host and network watts."""

DEFAULT_PUE = 1.1
"""Facility overhead assumed when a scenario gives none (ours; hyperscale operators report
fleet averages of about 1.1; docs/power.md)."""


@dataclass(frozen=True, slots=True)
class HardwareProfile:
    """One node type's power: watts per GPU by state, and per up node for host and network.

    ``sources`` cite what is published; ``assumptions`` say what is ours. ``gpu_w`` has a
    value for every state of :data:`GPU_STATES`.
    """

    name: str
    gpu_w: dict[str, float]
    host_w: float
    network_w: float
    tdp_w: float
    system_max_w: float
    min_limit_w: float
    sources: tuple[str, ...]
    assumptions: tuple[str, ...]


_MEASURED_SHARE = 0.76
"""A training node's mean draw as a share of its rated maximum: 76 % for 8-GPU H100 nodes
(Newkirk et al. 2025, arXiv:2506.14551, from Brookhaven measurements)."""
_COMPUTING_SHARE_OF_TDP = 0.93
"""Our assumption: a GPU's mean draw over training steps is 93 % of its TDP (compute phases
near TDP, communication phases lower; Choukse et al. 2025, arXiv:2508.14318)."""


def _profile(
    name: str,
    *,
    tdp_w: float,
    system_max_w: float,
    min_limit_w: float,
    idle_w: float,
    waiting_w: float,
    network_w: float,
    sources: tuple[str, ...],
    assumptions: tuple[str, ...],
) -> HardwareProfile:
    """A profile whose computing node draws :data:`_MEASURED_SHARE` of its rated maximum."""
    computing = round(_COMPUTING_SHARE_OF_TDP * tdp_w, -1)
    host = round(_MEASURED_SHARE * system_max_w - 8 * computing, -1)
    gpu_w = {
        "computing": computing,
        "checkpoint": waiting_w,
        "recovery": waiting_w,
        "idle": idle_w,
        "maintenance": idle_w,
        "down": 0.0,
        "quarantined": 0.0,
    }
    return HardwareProfile(
        name, gpu_w, host, network_w, tdp_w, system_max_w, min_limit_w, sources, assumptions
    )


_COMMON_ASSUMPTIONS = (
    "computing: 93 % of TDP, the mean over training steps (compute phases near TDP, "
    "communication phases lower: Choukse et al. 2025)",
    "host (CPUs, memory, NICs, NVSwitches, fans, drives): the node's measured training "
    "draw (76 % of its rated maximum, Newkirk et al. 2025) minus 8 GPUs computing; constant "
    "while the node is up",
    "checkpoint stalls and recovery: a GPU waiting (context and weights resident) draws a "
    "little above idle (Choukse et al. 2025: communication and checkpoint phases near idle)",
    "maintenance: the node is on (rebooting, updating) with its GPUs at idle",
    "down (in repair after a failure) and quarantined: the node is powered off, 0 W",
    "network: the node's share of switch and optics power, ~100 W per 400G GPU port",
)

PROFILES: dict[str, HardwareProfile] = {
    "h100-sxm": _profile(
        "h100-sxm",
        tdp_w=700.0,
        system_max_w=10_200.0,
        min_limit_w=200.0,
        idle_w=75.0,
        waiting_w=100.0,
        network_w=800.0,
        sources=(
            "NVIDIA H100 Tensor Core GPU datasheet: H100 SXM max TDP 700 W",
            "NVIDIA DGX H100 datasheet: system power ~10.2 kW max (8x H100 SXM)",
            "nvidia-smi power limit range of H100 SXM: 200-700 W (the lowest GPU power cap)",
            "Latif et al. 2024 (arXiv:2412.08602): 8x H100 node training, max 8.4 kW (82 %)",
            "Newkirk et al. 2025 (arXiv:2506.14551): training nodes at 76 % of 10.2 kW",
            "Choukse et al. 2025 (arXiv:2508.14318): compute near TDP, comms/checkpoint near idle",
        ),
        assumptions=(*_COMMON_ASSUMPTIONS, "idle 75 W, waiting 100 W (ours)"),
    ),
    "a100-sxm": _profile(
        "a100-sxm",
        tdp_w=400.0,
        system_max_w=6_500.0,
        min_limit_w=100.0,
        idle_w=50.0,
        waiting_w=65.0,
        network_w=600.0,
        sources=(
            "NVIDIA A100 Tensor Core GPU datasheet: A100 SXM max TDP 400 W",
            "NVIDIA DGX A100 datasheet: system power 6.5 kW max (8x A100 SXM)",
            "nvidia-smi power limit range of A100 SXM: 100-400 W (the lowest GPU power cap)",
            "Newkirk et al. 2025 (arXiv:2506.14551): H100 training nodes at 76 % of rated max",
        ),
        assumptions=(
            *_COMMON_ASSUMPTIONS,
            "the H100 nodes' measured 76 % of rated maximum applied to DGX A100 (ours)",
            "idle 50 W, waiting 65 W; network 600 W (200G HDR ports) (ours)",
        ),
    ),
}
"""The built-in hardware profiles by name (docs/power.md lists every number and source)."""


class _Frozen(BaseModel):
    """Immutable, unknown keys rejected: the base of the models below.

    The same as ``models.Frozen``, which this module cannot import (``models`` imports it).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class GpuPowerConfig(_Frozen):
    """Watts per GPU by state (``null``: the profile's value)."""

    computing: Watts | None = None
    checkpoint: Watts | None = None
    recovery: Watts | None = None
    idle: Watts | None = None
    maintenance: Watts | None = None
    down: Watts | None = None
    quarantined: Watts | None = None

    def watts(self) -> dict[str, float]:
        """Every state's watts (resolved configs have no null left)."""
        return {state: float(getattr(self, state) or 0.0) for state in GPU_STATES}


class SwingConfig(_Frozen):
    """What counts as a power swing, and which jobs' checkpoint stalls are steps of their own.

    A swing is a monotone change of facility power by more than ``threshold`` within
    ``window``; a change faster than ``min_window`` counts as taking ``min_window`` when its
    ramp (MW/s) is computed. A job's checkpoint stalls are steps of the series only if one
    stall moves facility power by at least ``stall_steps_min`` (default: a tenth of
    ``threshold``); smaller jobs' stalls are spread evenly over their epoch (the energy is
    exact either way).
    """

    threshold: Watts = Field(default=1e6, gt=0)
    window: Duration = Field(default=60.0, gt=0)
    min_window: Duration = Field(default=1.0, gt=0)
    stall_steps_min: Watts | None = None

    @field_validator("min_window")
    @classmethod
    def _within_window(cls, value: float, info: ValidationInfo) -> float:
        window = info.data.get("window")
        if window is not None and value > window:
            raise ValueError(f"must not exceed window ({window:g} s), got {value:g} s")
        return value

    @model_validator(mode="after")
    def _resolve(self) -> SwingConfig:
        if self.stall_steps_min is None:
            object.__setattr__(self, "stall_steps_min", self.threshold / 10)
        return self


class PowerConfig(_Frozen):
    """Facility power: a hardware profile, its overrides, the PUE and the swing definition.

    ``profile`` names one of :data:`PROFILES`; ``gpu``, ``host`` (per powered node: CPUs,
    memory, NICs) and ``network`` (per powered node: its share of the fabric) override the
    profile's watts. Facility power is IT power × ``pue``.
    """

    profile: str = "h100-sxm"
    pue: Annotated[float, Field(ge=1.0, le=10.0)] = DEFAULT_PUE
    gpu: GpuPowerConfig = Field(default_factory=GpuPowerConfig)
    host: Watts | None = None
    network: Watts | None = None
    swings: SwingConfig = Field(default_factory=SwingConfig)

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        if value not in PROFILES:
            known = ", ".join(sorted(PROFILES))
            raise ValueError(f"unknown power profile {value!r} (known: {known})")
        return value

    @model_validator(mode="after")
    def _resolve(self) -> PowerConfig:
        """Fill every number left out from the profile (the effective values are shown)."""
        profile = PROFILES[self.profile]
        given = {s: getattr(self.gpu, s) for s in GPU_STATES if getattr(self.gpu, s) is not None}
        object.__setattr__(self, "gpu", GpuPowerConfig(**{**profile.gpu_w, **given}))
        if self.host is None:
            object.__setattr__(self, "host", profile.host_w)
        if self.network is None:
            object.__setattr__(self, "network", profile.network_w)
        return self

    @property
    def node_w(self) -> float:
        """Host plus network watts per powered node (see :data:`POWERED_STATES`)."""
        return float(self.host or 0.0) + float(self.network or 0.0)


DEFAULT_THROTTLE_EXPONENT = 1.0 / 3.0
"""The power–speed curve of a capped GPU, speed = (p / computing watts) ** α: α = 1/3, the
cube law of dynamic voltage and frequency scaling (dynamic power ∝ C·V²·f with V ∝ f, so
clock, and a compute-bound step's speed, ∝ power^(1/3)). An assumption (docs/power.md)."""


def _parse_ramp(value: Any) -> float:
    """``"2MW/s"``, ``"500kW/s"`` or a number of watts per second."""
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str) and text.endswith("/s"):
        text = text[:-2]
    try:
        watts = parse_power(text)
    except ValueError:
        raise ValueError(
            f"cannot parse ramp limit {value!r} (try '1MW/s', '500kW/s', or watts per second)"
        ) from None
    if watts <= 0:
        raise ValueError(f"ramp limit must be positive, got {value!r}")
    return watts


WattsPerSecond = Annotated[
    float,
    BeforeValidator(_parse_ramp),
    PlainSerializer(lambda w: f"{format_power(w)}/s", return_type=Any),
]
"""Watts per second; accepts ``"2MW/s"``, ``"500kW/s"`` or a number; positive."""


class FacilityConfig(_Frozen):
    """What the facility imposes on power, and the mitigations of power swings (docs/power.md).

    ``power_cap`` bounds *facility* power (IT × PUE). With ``cap_policy: hold`` the
    dispatcher does not start a job when its GPUs computing, added to what every held GPU
    and every powered node may draw, would exceed the cap; with ``throttle`` running GPUs
    are capped to the watts that keep facility power at the cap and slow down along
    speed = (p / computing) ** ``throttle_exponent``, never below ``min_gpu_power`` (the
    profile's lowest GPU power limit); a start that would need less is held.

    ``ramp_limit`` spreads epoch starts (first starts and restarts) so that they raise
    facility power by at most this much per second: a start ramps in steps of at most
    ``ramp_limit`` × ``power.swings.min_window`` (filler work), queued behind the ramps
    before it. ``stall_floor`` holds a GPU at that fraction of its computing watts during
    checkpoint stalls (and, with ``floor_during: stalls-and-recovery``, while it is held in
    recovery) with filler work.
    """

    power_cap: Watts | None = None
    cap_policy: Literal["hold", "throttle"] = "hold"
    throttle_exponent: Annotated[float, Field(gt=0.0, le=3.0)] = DEFAULT_THROTTLE_EXPONENT
    min_gpu_power: Watts | None = None
    ramp_limit: WattsPerSecond | None = None
    stall_floor: Annotated[float, Field(gt=0.0, le=1.0)] | None = None
    floor_during: Literal["stalls", "stalls-and-recovery"] = "stalls"

    @field_validator("power_cap")
    @classmethod
    def _positive_cap(cls, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise ValueError(f"must be positive, got {value:g} W")
        return value


def idle_floor_w(power: PowerConfig, nodes: int, gpus_per_node: int) -> float:
    """Facility watts of every node up and idle: the lowest cap a cluster can keep."""
    w = power.gpu.watts()
    return nodes * (gpus_per_node * w["idle"] + power.node_w) * power.pue


def cohort_power(power: PowerConfig, profile: str | None) -> PowerConfig:
    """A cohort's power: ``profile``'s watts with the scenario's PUE and swings.

    ``profile``'s own watts (no overrides); ``None``: the scenario's ``power`` as given,
    overrides included.
    """
    if profile is None:
        return power
    return PowerConfig(profile=profile, pue=power.pue, swings=power.swings)


def effective_power(power: PowerConfig, facility: FacilityConfig | None) -> PowerConfig:
    """The power profile as drawn: ``stall_floor`` raises checkpoint (and recovery) watts."""
    if facility is None or facility.stall_floor is None:
        return power
    w = power.gpu.watts()
    floor = facility.stall_floor * w["computing"]
    states = ["checkpoint"]
    if facility.floor_during == "stalls-and-recovery":
        states.append("recovery")
    gpu = GpuPowerConfig(**{**w, **{s: max(w[s], floor) for s in states}})
    return power.model_copy(update={"gpu": gpu})

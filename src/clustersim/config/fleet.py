"""Age-dependent hazards and the fleet's cohorts: the ``hazard`` and ``fleet`` sections.

Owns the schema of two opt-in pieces of a scenario (docs/ageing.md):

* :class:`HazardConfig`, a fault source's ``hazard:``: the bathtub's infant-mortality and
  wear-out Weibull terms (the constant floor is the source's own ``rate``) and whether a
  repair resets the node's age for that source;
* :class:`FleetConfig`, the scenario's ``fleet:`` section: the cohorts that make up the
  cluster's nodes, each with an install time (an age at the start of the run, a later
  time for an expansion, or a date against ``fleet.start``), an optional retirement age and
  per-source hazard overrides; and :class:`RefreshConfig`, the refresh policy that replaces
  nodes with new ones (docs/fleet.md).

Without them nothing here is used and every node has the same constant rate all run long.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from clustersim.config.power import PROFILES
from clustersim.config.units import Duration, format_duration, parse_duration

__all__ = [
    "CohortConfig",
    "FleetConfig",
    "HazardConfig",
    "InstallTime",
    "RefreshConfig",
    "WeibullTerm",
    "parse_install",
]

SECONDS_PER_DAY = 86400.0


class _Frozen(BaseModel):
    """The same as ``models.Frozen``, which this module cannot import (``models`` imports it)."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class WeibullTerm(_Frozen):
    """One Weibull term of a hazard: cumulative hazard ``(age / scale) ** shape`` per component.

    ``scale`` is the characteristic life: by that age the term alone has caused one expected
    failure per component (a 63.2 % chance of at least one).
    """

    shape: Annotated[float, Field(gt=0, le=100)]
    scale: Duration = Field(gt=0)


class HazardConfig(_Frozen):
    """A source's age-dependent hazard: the bathtub's two Weibull terms and the repair model.

    The hazard of a component of age ``a`` is ``rate + h_infant(a) + h_wearout(a)``, where
    ``rate`` is the source's own constant rate. ``repair: minimal`` (the default) keeps the
    node's age through a failure of this source (the part replaced is small next to the
    board: a non-homogeneous Poisson process in age); ``renew`` restarts this source's age
    at each of its failures (a renewal process: the failed part is replaced by a new one).
    """

    infant: WeibullTerm | None = None
    wearout: WeibullTerm | None = None
    repair: Literal["minimal", "renew"] = "minimal"

    @model_validator(mode="after")
    def _shapes_fit_their_roles(self) -> HazardConfig:
        if self.infant is not None and self.infant.shape >= 1:
            raise ValueError(f"infant.shape must be below 1 (got {self.infant.shape})")
        if self.wearout is not None and self.wearout.shape <= 1:
            raise ValueError(f"wearout.shape must be above 1 (got {self.wearout.shape})")
        return self


def parse_install(value: Any) -> float | dt.date:
    """An install time: a date, or a signed duration from the run's start (``-2y``, ``0``).

    A positive duration (``180d``) installs the cohort after the start: an expansion.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
        negative = text.startswith("-")
        seconds = parse_duration(text[1:] if negative else text)
        offset = -seconds if negative else seconds
    elif isinstance(value, int | float) and not isinstance(value, bool):
        offset = float(value)
    else:
        raise ValueError(f"install must be a date or a duration such as '-2y', got {value!r}")
    return offset + 0.0  # no negative zero


def _format_install(value: float | dt.date) -> str | float:
    if isinstance(value, dt.date):
        return value.isoformat()
    if value == 0:
        return 0.0
    human = format_duration(abs(value))
    if not isinstance(human, str):
        return value
    return f"-{human}" if value < 0 else human


InstallTime = Annotated[
    float | dt.date,
    Field(union_mode="left_to_right"),
    PlainSerializer(_format_install, return_type=Any),
]
"""Seconds from the run's start (positive: an expansion) or a calendar date."""


class CohortConfig(_Frozen):
    """Nodes installed together: how many, when, what hardware, and their own hazards.

    Cohorts take consecutive node ids in the order listed. ``hazards`` replaces, for this
    cohort's nodes, the ``hazard`` of the fault sources it names. An ``install`` after the
    run's start is an expansion (the nodes are out of service until then); ``retire`` is the
    age at which the cohort's nodes leave service for good (docs/fleet.md).
    """

    name: str = ""
    count: Annotated[int, Field(ge=1, le=2**62)]
    install: InstallTime = 0.0
    retire: Duration | None = Field(default=None, gt=0)
    """Age at which the cohort is retired (drained, then out of service); ``null``: never."""
    gpu: str = ""
    """The GPU type (a label, e.g. ``h100-sxm``)."""
    speed: Annotated[float, Field(gt=0, le=1)] = 1.0
    """Relative throughput of the cohort's GPUs, the fastest generation being 1: a job's work
    is in seconds of the fastest generation; on slower nodes it runs at the slowest node's
    speed (the rest of its time shows as the ``slowdown`` GPU-seconds term)."""
    hazards: dict[str, HazardConfig] = Field(default_factory=dict)
    power: str | None = None
    """The cohort's hardware power profile, a name of ``config.power.PROFILES``; ``null``: the
    scenario's ``power`` section's profile with its overrides (docs/fleet.md). Needs a
    ``power`` section (its PUE and swing definition apply to every cohort)."""

    @field_validator("power")
    @classmethod
    def _known_profile(cls, value: str | None) -> str | None:
        if value is not None and value not in PROFILES:
            known = ", ".join(sorted(PROFILES))
            raise ValueError(f"unknown power profile {value!r} (known: {known})")
        return value

    @field_validator("install", mode="before")
    @classmethod
    def _parse_install(cls, value: Any) -> float | dt.date:
        return parse_install(value)

    @model_serializer(mode="wrap")
    def _omit_no_retire(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Leave out an unset ``retire`` and ``power`` and a speed of 1 (older dumps stay)."""
        data: dict[str, Any] = handler(self)
        if data.get("retire", 0) is None:
            del data["retire"]
        if data.get("speed") == 1.0:
            del data["speed"]
        if data.get("power", 0) is None:
            del data["power"]
        return data


class RefreshConfig(_Frozen):
    """When nodes are replaced by new ones (their age restarts at 0 for every source).

    Two triggers, either or both:

    * ``node_failures``: a node whose own unplanned failures since it was installed (or last
      replaced) reach this count is replaced during the repair of that failure;
    * ``cohort_rate`` with ``fraction`` and ``every``: at the end of every ``every`` period, a
      cohort whose unplanned failure rate over the period (per 1,000 in-service node-days)
      is at least ``cohort_rate`` has ``fraction`` of its nodes replaced, oldest first (ties
      to the lowest id). Replaced nodes are drained as for maintenance and are out for
      ``swap`` (cause ``refresh``); their age restarts when they come back.
    """

    node_failures: Annotated[int, Field(ge=1)] | None = None
    cohort_rate: Annotated[float, Field(ge=0)] | None = None
    fraction: Annotated[float, Field(gt=0, le=1)] = 0.1
    every: Duration = Field(default=91.25 * SECONDS_PER_DAY, gt=0)
    swap: Duration = Field(default=SECONDS_PER_DAY, ge=0)

    @model_validator(mode="after")
    def _has_a_trigger(self) -> RefreshConfig:
        if self.node_failures is None and self.cohort_rate is None:
            raise ValueError("refresh needs node_failures or cohort_rate")
        return self


class FleetConfig(_Frozen):
    """The fleet's cohorts (their counts sum to the cluster's nodes), calendar and refresh.

    ``start`` is the date of the run's time 0; it is needed only by cohorts whose install
    is a date. The cluster is built at its largest size; cohorts installed later
    (expansions) and retired cohorts are out of service (docs/fleet.md).
    """

    start: dt.date | None = None
    cohorts: list[CohortConfig] = Field(min_length=1)
    refresh: RefreshConfig | None = None

    @model_validator(mode="after")
    def _dates_need_a_start(self) -> FleetConfig:
        for i, cohort in enumerate(self.cohorts):
            install = cohort.install
            if isinstance(install, dt.date) and self.start is None:
                raise ValueError(f"cohorts.{i}.install is a date ({install}); set fleet.start too")
        return self

    @model_serializer(mode="wrap")
    def _omit_no_refresh(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Leave out an unset ``refresh`` (dumps of fleets without one stay as before)."""
        data: dict[str, Any] = handler(self)
        if data.get("refresh", 0) is None:
            del data["refresh"]
        return data

    def install_s(self, index: int) -> float:
        """Cohort ``index``'s install time in seconds from the run's start (positive: later)."""
        install = self.cohorts[index].install
        if isinstance(install, dt.date):
            assert self.start is not None  # checked by the validator
            return -float((self.start - install).days) * SECONDS_PER_DAY + 0.0
        return install

    @property
    def changes_size(self) -> bool:
        """Whether the fleet grows or shrinks during a run (an expansion or a retirement)."""
        return any(c.retire is not None for c in self.cohorts) or any(
            self.install_s(i) > 0 for i in range(len(self.cohorts))
        )

    @property
    def per_cohort_power(self) -> bool:
        """Whether some cohort names its own power profile (``cohorts[].power``)."""
        return any(c.power is not None for c in self.cohorts)

    @property
    def has_events(self) -> bool:
        """Whether anything changes the fleet mid-run: size changes or a refresh policy."""
        return self.changes_size or self.refresh is not None

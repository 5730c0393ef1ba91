"""Age-dependent hazards and the fleet's cohorts: the ``hazard`` and ``fleet`` sections.

Owns the schema of two opt-in pieces of a scenario (docs/ageing.md):

* :class:`HazardConfig`, a fault source's ``hazard:``: the bathtub's infant-mortality and
  wear-out Weibull terms (the constant floor is the source's own ``rate``) and whether a
  repair resets the node's age for that source;
* :class:`FleetConfig`, the scenario's ``fleet:`` section: the cohorts that make up the
  cluster's nodes, each with an install time (an age at the start of the run, or a date
  against ``fleet.start``) and per-source hazard overrides.

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
    field_validator,
    model_validator,
)

from clustersim.config.units import Duration, format_duration, parse_duration

__all__ = [
    "CohortConfig",
    "FleetConfig",
    "HazardConfig",
    "InstallTime",
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

    Durations must not be positive: a cohort installed after the start is an expansion,
    which needs the cluster to grow mid-run (phase 2 of issue 21).
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
    if offset > 0:
        raise ValueError(
            f"install {value!r} is after the run starts; expansions are not modelled yet"
        )
    return offset + 0.0  # no negative zero


def _format_install(value: float | dt.date) -> str | float:
    if isinstance(value, dt.date):
        return value.isoformat()
    if value == 0:
        return 0.0
    human = format_duration(-value)
    return f"-{human}" if isinstance(human, str) else value


InstallTime = Annotated[
    float | dt.date,
    Field(union_mode="left_to_right"),
    PlainSerializer(_format_install, return_type=Any),
]
"""Seconds from the run's start (never positive) or a calendar date."""


class CohortConfig(_Frozen):
    """Nodes installed together: how many, when, what hardware, and their own hazards.

    Cohorts take consecutive node ids in the order listed. ``hazards`` replaces, for this
    cohort's nodes, the ``hazard`` of the fault sources it names.
    """

    name: str = ""
    count: Annotated[int, Field(ge=1, le=2**62)]
    install: InstallTime = 0.0
    gpu: str = ""
    hazards: dict[str, HazardConfig] = Field(default_factory=dict)

    @field_validator("install", mode="before")
    @classmethod
    def _parse_install(cls, value: Any) -> float | dt.date:
        return parse_install(value)


class FleetConfig(_Frozen):
    """The fleet's cohorts (their counts sum to the cluster's nodes) and its calendar.

    ``start`` is the date of the run's time 0; it is needed only by cohorts whose install
    is a date. Expansions, retirements and refresh policies are not modelled yet.
    """

    start: dt.date | None = None
    cohorts: list[CohortConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _dates_need_a_start(self) -> FleetConfig:
        for i, cohort in enumerate(self.cohorts):
            install = cohort.install
            if isinstance(install, dt.date):
                if self.start is None:
                    raise ValueError(
                        f"cohorts.{i}.install is a date ({install}); set fleet.start too"
                    )
                if install > self.start:
                    raise ValueError(
                        f"cohorts.{i}.install {install} is after fleet.start {self.start};"
                        " expansions are not modelled yet"
                    )
        return self

    def install_s(self, index: int) -> float:
        """Cohort ``index``'s install time in seconds from the run's start (never positive)."""
        install = self.cohorts[index].install
        if isinstance(install, dt.date):
            assert self.start is not None  # checked by the validator
            return -float((self.start - install).days) * SECONDS_PER_DAY
        return install

"""Settings that have no effect: the small table of "inert unless" rules, and their warnings.

A ``--set`` (or a ``--grid`` knob) of a field that another field overrides is accepted by the
model, so without this table it would silently change nothing: ``--set checkpoint.interval=5m``
while ``checkpoint.policy`` is ``daly``. :func:`inert_messages` names, once per field, the
field that overrides it; :func:`warn_inert` issues them as Python warnings
(:class:`~clustersim.errors.ClusterSimWarning`), which the command line prints on stderr.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from clustersim.config.models import Scenario
from clustersim.errors import ClusterSimWarning

__all__ = ["INERT_RULES", "InertRule", "inert_messages", "warn_inert"]


@dataclass(frozen=True, slots=True)
class InertRule:
    """``field`` has no effect when ``inert(scenario)``; ``by`` is the field that decides."""

    field: str
    by: str
    inert: Callable[[Scenario], bool]
    why: Callable[[Scenario], str]


def _kills_jobs(sc: Scenario) -> bool:
    return any(f.kills_jobs for f in sc.faults.values())


INERT_RULES: tuple[InertRule, ...] = (
    InertRule(
        "checkpoint.interval",
        "checkpoint.policy",
        # young/daly/exact fall back to the interval only when the job cannot fail or a
        # checkpoint costs nothing; adaptive uses it until it has an MTBF estimate.
        lambda sc: (
            sc.checkpoint.policy == "none"
            or (
                sc.checkpoint.policy in ("young", "daly", "exact")
                and _kills_jobs(sc)
                and (sc.checkpoint.stall or 0.0) > 0.0
            )
        ),
        lambda sc: (
            f"checkpoint.policy is {sc.checkpoint.policy!r}, which "
            + (
                "never checkpoints"
                if sc.checkpoint.policy == "none"
                else "sets the interval itself"
            )
            + " (only 'fixed' and 'adaptive' use checkpoint.interval)"
        ),
    ),
    InertRule(
        "checkpoint.copy_bandwidth_per_gpu",
        "checkpoint.mode",
        lambda sc: sc.checkpoint.mode == "sync" and not sc.checkpoint.in_memory,
        lambda sc: (
            "checkpoint.mode is 'sync' and checkpoint.in_memory is false (it is the "
            "bandwidth of async copies and in-memory loads)"
        ),
    ),
    *(
        InertRule(
            f"scheduler.fair_share.{name}",
            "scheduler.policy",
            lambda sc: sc.scheduler.policy != "fair-share",
            lambda sc: f"scheduler.policy is {sc.scheduler.policy!r}, not 'fair-share'",
        )
        for name in ("by", "half_life", "shares", "backfill")
    ),
    *(
        InertRule(
            f"scheduler.tiresias.{name}",
            "scheduler.policy",
            lambda sc: sc.scheduler.policy != "tiresias",
            lambda sc: f"scheduler.policy is {sc.scheduler.policy!r}, not 'tiresias'",
        )
        for name in ("thresholds", "promote_knob")
    ),
    *(
        InertRule(
            f"facility.{name}",
            "facility.power_cap",
            lambda sc: sc.facility is None or sc.facility.power_cap is None,
            lambda sc: "facility.power_cap is not set (nothing to hold or throttle for)",
        )
        for name in ("cap_policy", "throttle_exponent", "min_gpu_power")
    ),
    *(
        InertRule(
            f"facility.{name}",
            "facility.cap_policy",
            lambda sc: (
                sc.facility is not None
                and sc.facility.power_cap is not None
                and sc.facility.cap_policy == "hold"
            ),
            lambda sc: "facility.cap_policy is 'hold', which never throttles",
        )
        for name in ("throttle_exponent", "min_gpu_power")
    ),
    InertRule(
        "facility.floor_during",
        "facility.stall_floor",
        lambda sc: sc.facility is None or sc.facility.stall_floor is None,
        lambda sc: "facility.stall_floor is not set (there is no floor to hold)",
    ),
    InertRule(
        "storage.read_bandwidth",
        "restart.load",
        lambda sc: sc.restart.load is not None,
        lambda sc: "restart.load is set (the load time is given, not bytes / read bandwidth)",
    ),
)


def warn_inert(scenarios: Iterable[Scenario], paths: Iterable[str], stacklevel: int = 1) -> None:
    """Issue each of :func:`inert_messages` as a :class:`~clustersim.errors.ClusterSimWarning`.

    The warning points at the caller of this function (``stacklevel=1``) or further up.
    """
    for message in inert_messages(scenarios, paths):
        warnings.warn(message, ClusterSimWarning, stacklevel=stacklevel + 1)


def inert_messages(scenarios: Iterable[Scenario], paths: Iterable[str]) -> list[str]:
    """One message per given path that has no effect in every one of ``scenarios``.

    ``scenarios`` are the scenarios the paths were set in (one for ``--set``, each grid point
    for ``--grid``); a field that matters in any of them is not reported.
    """
    wanted = dict.fromkeys(paths)
    scs = list(scenarios)
    out = []
    for rule in INERT_RULES:
        if rule.field in wanted and scs and all(rule.inert(sc) for sc in scs):
            out.append(f"{rule.field} has no effect: {rule.why(scs[0])}")
    return out

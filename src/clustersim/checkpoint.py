"""Checkpointing: interval policies and the closed-form progress of a running job.

A running job repeats segments of ``interval`` seconds of compute followed by a checkpoint
stall of ``stall`` seconds (training paused). A synchronous checkpoint completes at the end of
its stall; an asynchronous one completes ``persist`` seconds after its stall ends (the write to
storage overlaps training). No checkpoint is taken after the last piece of work. Between two
disturbances all of this is a closed-form function of elapsed time, which is why the engine
schedules no event per checkpoint (DESIGN §4).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from clustersim.analysis import analytic
from clustersim.frozen import quick_init

__all__ = [
    "INTERVAL_POLICIES",
    "EpochState",
    "checkpoints_before_finish",
    "epoch_state",
    "interval_for",
    "time_to_finish",
]


def _fixed(interval_s: float, stall_s: float, mtbf_s: float) -> float:
    return interval_s


def _young(interval_s: float, stall_s: float, mtbf_s: float) -> float:
    if not math.isfinite(mtbf_s) or stall_s <= 0:
        return interval_s
    return analytic.young_interval(stall_s, mtbf_s)


def _daly(interval_s: float, stall_s: float, mtbf_s: float) -> float:
    if not math.isfinite(mtbf_s) or stall_s <= 0:
        return interval_s
    return analytic.daly_interval(stall_s, mtbf_s)


def _exact(interval_s: float, stall_s: float, mtbf_s: float) -> float:
    if not math.isfinite(mtbf_s) or stall_s <= 0:
        return interval_s
    return analytic.exact_optimal_interval(stall_s, mtbf_s)


def _none(interval_s: float, stall_s: float, mtbf_s: float) -> float:
    return math.inf


INTERVAL_POLICIES: dict[str, Callable[[float, float, float], float]] = {
    "fixed": _fixed,
    "young": _young,
    "daly": _daly,
    "exact": _exact,
    "adaptive": _daly,  # Daly on the job's running estimate of its MTBF (engine re-estimates)
    "none": _none,
}
"""Interval policies by name: ``f(configured_interval_s, stall_s, job_mtbf_s) -> interval_s``.

Model-based policies fall back to the configured interval when the job cannot fail or a
checkpoint costs nothing (their optimum is then undefined).
"""


def interval_for(policy: str, interval_s: float, stall_s: float, mtbf_s: float) -> float:
    """The compute time between checkpoints that ``policy`` picks for a job."""
    try:
        chooser = INTERVAL_POLICIES[policy]
    except KeyError:
        known = ", ".join(sorted(INTERVAL_POLICIES))
        raise ValueError(f"unknown checkpoint policy {policy!r} (known: {known})") from None
    return chooser(interval_s, stall_s, mtbf_s)


def checkpoints_before_finish(remaining_s: float, interval_s: float) -> int:
    """Checkpoints taken while doing ``remaining_s`` of work (none after the last piece)."""
    if remaining_s <= 0 or not math.isfinite(interval_s):
        return 0
    return max(0, math.ceil(remaining_s / interval_s) - 1)


def time_to_finish(remaining_s: float, interval_s: float, stall_s: float) -> float:
    """Wall time to do ``remaining_s`` of work undisturbed, stalls included."""
    return remaining_s + checkpoints_before_finish(remaining_s, interval_s) * stall_s


@quick_init
@dataclass(frozen=True, slots=True)
class EpochState:
    """Where a running epoch stands after some elapsed wall time.

    ``work_s + stall_s`` equals the elapsed time. ``committed_s`` is the work (since the epoch
    began) protected by completed checkpoints; ``lost_s = work_s - committed_s`` is what a
    failure now would destroy.
    """

    work_s: float
    stall_s: float
    checkpoints: int
    committed_s: float

    @property
    def lost_s(self) -> float:
        """Work done since the last completed checkpoint."""
        return self.work_s - self.committed_s


def epoch_state(
    elapsed_s: float,
    remaining_s: float,
    interval_s: float,
    stall_s: float,
    persist_s: float = 0.0,
) -> EpochState:
    """Closed-form state of an epoch ``elapsed_s`` after it began with ``remaining_s`` to do.

    Args:
        elapsed_s: wall time since the epoch began (clamped to the undisturbed finish time).
        remaining_s: work left when the epoch began.
        interval_s: compute time between checkpoints (``inf`` for none).
        stall_s: training pause per checkpoint.
        persist_s: extra time after the stall until an asynchronous checkpoint completes.
    """
    elapsed_s = max(0.0, elapsed_s)
    n_total = checkpoints_before_finish(remaining_s, interval_s)
    finish = remaining_s + n_total * stall_s
    if elapsed_s >= finish:
        done = n_total if persist_s <= 0 else _completed(finish, interval_s, stall_s, persist_s)
        done = min(done, n_total)  # a persist below the clock's resolution: none at the end
        return EpochState(remaining_s, n_total * stall_s, done, done * interval_s)
    if not math.isfinite(interval_s):
        return EpochState(elapsed_s, 0.0, 0, 0.0)
    period = interval_s + stall_s
    k = min(int(elapsed_s // period), n_total)
    within = max(0.0, elapsed_s - k * period)  # rounding can make it slightly negative
    work = k * interval_s + min(within, interval_s)
    stall = k * stall_s + max(0.0, within - interval_s)
    done = k if persist_s <= 0 else _completed(elapsed_s, interval_s, stall_s, persist_s)
    done = min(done, n_total)
    return EpochState(work, stall, done, done * interval_s)


def _completed(elapsed_s: float, interval_s: float, stall_s: float, persist_s: float) -> int:
    """Asynchronous checkpoints j with j * (interval + stall) + persist <= elapsed."""
    if elapsed_s < persist_s:
        return 0
    return int((elapsed_s - persist_s) // (interval_s + stall_s))

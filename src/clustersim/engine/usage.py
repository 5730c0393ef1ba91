"""Each account's GPU usage, exponentially decayed, exact at any instant (fair share).

:class:`Usage` owns one number per account: the GPU-seconds its jobs have held, each second
weighted by ``2 ** -(age / half_life)``,

    U(t) = integral over s <= t of r(s) * 2 ** (-(t - s) / h) ds,

where ``r(s)`` is the number of GPUs the account's jobs hold at time s (a job holds the GPUs
of its allocation from placement to release, whatever it does with them: starting up,
training, recovering or draining). ``r`` is constant between the instants a job is placed
or released, so U is advanced in closed form over each such stretch of length d:

    U(t + d) = U(t) * e ** (-lambda * d) + r * (1 - e ** (-lambda * d)) / lambda,
    lambda = ln 2 / h,

and with no half-life (``h`` None) ``U(t + d) = U(t) + r * d``. Nothing is sampled and no
event is scheduled: the state moves only when a rate changes or a policy reads it.

Every account is advanced on the same instants, so that two accounts whose GPU counts are the
same function of time have bit-for-bit equal usage, however their jobs split that count (a
tie in fair-share priority is then a tie, broken by submission time, on every platform).

The simulation feeds it from each job's phase changes (:meth:`Usage.phase_changed`, chained
to ``Job.on_phase``) only while a policy that reads usage runs; it writes nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from types import MappingProxyType

import numpy as np

from clustersim.job import Job, JobPhase

__all__ = ["HOLDING", "Usage"]

HOLDING = frozenset({JobPhase.STARTING, JobPhase.RUNNING, JobPhase.RECOVERING, JobPhase.DRAINING})
"""Phases in which a job holds its allocation (it is charged for it)."""


class Usage:
    """Decayed GPU-seconds per account, advanced in closed form between rate changes."""

    def __init__(self, accounts: Iterable[str], *, half_life_s: float | None) -> None:
        names = sorted(set(accounts))
        self.accounts: tuple[str, ...] = tuple(names)
        self.index = {name: i for i, name in enumerate(names)}
        self.half_life_s = half_life_s
        self.decay_per_s = math.log(2.0) / half_life_s if half_life_s is not None else 0.0
        self.decayed = np.zeros(len(names))
        """Usage of each account (GPU-seconds) as of :attr:`at_s`."""
        self.rate = np.zeros(len(names))
        """GPUs each account's jobs hold now (whole numbers, kept as floats)."""
        self.at_s = 0.0
        self.charged: dict[int, tuple[int, int]] = {}
        """Jobs holding an allocation now: job id -> (account index, GPUs)."""

    def advance(self, now_s: float) -> None:
        """Bring every account's usage up to ``now_s`` (the rates held since :attr:`at_s`)."""
        elapsed = now_s - self.at_s
        if elapsed <= 0:
            return
        if self.half_life_s is None:
            self.decayed += self.rate * elapsed
        else:
            x = self.decay_per_s * elapsed
            keep = math.exp(-x)
            grow = -math.expm1(-x) / self.decay_per_s  # (1 - e^-x) / lambda, exact for small x
            self.decayed = self.decayed * keep + self.rate * grow
        self.at_s = now_s

    def hold(self, job_id: int, account: str, gpus: int, now_s: float) -> None:
        """Charge ``account`` for ``gpus`` GPUs from ``now_s`` on (a job was placed)."""
        if job_id in self.charged:
            return
        self.advance(now_s)
        i = self.index[account]
        self.rate[i] += gpus
        self.charged[job_id] = (i, gpus)

    def release(self, job_id: int, now_s: float) -> None:
        """Stop charging for the job's GPUs from ``now_s`` on (it released its allocation)."""
        charge = self.charged.pop(job_id, None)
        if charge is None:
            return
        self.advance(now_s)
        i, gpus = charge
        self.rate[i] -= gpus

    def phase_changed(self, job: Job, now_s: float) -> None:
        """Follow a job's phase: placed (starting) -> charged; queued or finished -> not."""
        if job.phase in HOLDING:
            self.hold(job.id, job.account, job.gpus_held, now_s)
        else:
            self.release(job.id, now_s)

    def at(self, now_s: float) -> Mapping[str, float]:
        """Every account's usage at ``now_s`` (a read-only mapping, sorted by account)."""
        self.advance(now_s)
        return MappingProxyType(dict(zip(self.accounts, self.decayed.tolist(), strict=True)))

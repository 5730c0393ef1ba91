"""Fair share by user or group: Slurm's classic fair-share factor orders the queue.

Each account (a user, or a group: ``scheduler.fair_share.by``) has a usage ``u``, the
GPU-seconds its jobs have held, exponentially decayed with a half-life (the engine keeps it
exact, :mod:`clustersim.engine.usage`, and hands it over as ``ClusterView.usage``), and a
share ``s`` (``scheduler.fair_share.shares``, 1 for an account not listed). With ``U`` the
total usage and ``S`` the total share of every account of the workload, the account's
fair-share factor is Slurm's classic one (``PriorityFlags`` without ``FAIR_TREE``)::

    F = 2 ** (-(u / U) / (s / S))          (F = 1 for everyone while U = 0)

so an account that has used exactly its share gets 0.5, one that has used nothing gets 1.
The queue is ordered by the priority ``round(F × 10⁹)``, highest first, ties by submission
time, then job id (the only priority factor: Slurm's age, size and QOS factors are not
modelled). Like Slurm's integer job priority, the rounding makes accounts whose factors are
equal in exact arithmetic tie: decayed usages summed in floating point differ in their last
bits, and those bits would otherwise decide the order.

Then, with ``backfill`` (the default, as Slurm's backfill scheduler), EASY backfilling runs
over the queue in that order (:func:`clustersim.scheduler.easy_backfill.backfill`): the first
job that does not fit gets a reservation and later jobs may jump ahead without delaying it.
Without it, jobs start in that order while they fit and the first that does not blocks the
rest (strict priority). Priorities are recomputed at every scheduling pass, which happens on
events (a submission, a completion, a node back); between events usage keeps decaying but
no pass is made, so an order that would change in between takes effect at the next event.

A job larger than the schedulable nodes can never run and is skipped. The policy reads the
estimates only through EASY's shadow time and backfill test. Under GPU sharing
(``cluster.sharing: gpu``) jobs are sized with :class:`~clustersim.views.Capacity` (EASY's
shared form, or strict priority on it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from clustersim.scheduler.easy_backfill import backfill as easy_backfill
from clustersim.views import Capacity, ClusterView, Decision, JobView, Start

__all__ = ["PRIORITY_SCALE", "decide", "factors", "order"]

_NO_SHARES: Mapping[str, float] = {}

PRIORITY_SCALE = 1e9
"""A job's priority is ``round(F × PRIORITY_SCALE)``: factors equal to 9 decimals tie."""


def factors(
    view: ClusterView, queue: tuple[JobView, ...], shares: Mapping[str, float] = _NO_SHARES
) -> dict[str, float]:
    """Each account's fair-share factor F (the accounts of ``view.usage`` and of the queue)."""
    usage = view.usage if view.usage is not None else {}
    accounts = sorted(set(usage) | {job.account for job in queue})
    total_share = math.fsum(shares.get(a, 1.0) for a in accounts)
    total_usage = math.fsum(usage.values())
    if not total_usage > 0:
        return dict.fromkeys(accounts, 1.0)
    return {
        a: 2.0 ** (-(usage.get(a, 0.0) / total_usage) / (shares.get(a, 1.0) / total_share))
        for a in accounts
    }


def order(
    view: ClusterView, queue: tuple[JobView, ...], shares: Mapping[str, float] = _NO_SHARES
) -> list[JobView]:
    """The queue by fair-share factor (highest first), then submission time, then job id."""
    factor = factors(view, queue, shares)
    priority = {a: round(f * PRIORITY_SCALE) for a, f in factor.items()}
    return sorted(queue, key=lambda job: (-priority[job.account], job.submit_s, job.id))


def decide(
    view: ClusterView,
    queue: tuple[JobView, ...],
    *,
    shares: Mapping[str, float] = _NO_SHARES,
    backfill: bool = True,
) -> list[Decision]:
    """Start jobs in fair-share order: EASY backfilling (``backfill``) or strict priority."""
    schedulable = view.schedulable_nodes
    pending = [job for job in order(view, queue, shares) if job.nodes <= schedulable]
    if backfill:
        return easy_backfill(view, pending)
    decisions: list[Decision] = []
    if view.gpus_per_node:  # GPU sharing: fit as the allocator packs
        capacity = Capacity(view)
        for job in pending:
            if not capacity.fits(job):
                break
            capacity.take(job)
            decisions.append(Start(job.id))
        return decisions
    free = view.free_nodes
    for job in pending:
        if job.nodes > free:
            break
        decisions.append(Start(job.id))
        free -= job.nodes
    return decisions

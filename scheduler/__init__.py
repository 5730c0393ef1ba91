"""Scheduling policies, one per module, registered by name.

A policy is a pure function ``decide(view, queue) -> list[Decision]`` of frozen views
(:mod:`clustersim.views`); ``--set scheduler.policy=easy-backfill`` is a lookup in
:data:`REGISTRY`.
"""

from __future__ import annotations

from collections.abc import Callable

from clustersim.scheduler import (
    conservative_backfill,
    easy_backfill,
    fair_share,
    fifo,
    priority_preempt,
    sjf,
    tiresias,
)
from clustersim.views import Policy

__all__ = [
    "BACKFILL",
    "FULL_QUEUE",
    "NEXT_PASS",
    "PREEMPTIVE",
    "PREFIX",
    "READS_SERVICE",
    "READS_USAGE",
    "REGISTRY",
    "get_policy",
]

REGISTRY: dict[str, Policy] = {
    "fifo": fifo.decide,
    "easy-backfill": easy_backfill.decide,
    "priority-preempt": priority_preempt.decide,
    "sjf": sjf.decide,
    "conservative-backfill": conservative_backfill.decide,
    "fair-share": fair_share.decide,
    "tiresias": tiresias.decide,
}

PREEMPTIVE: frozenset[str] = frozenset({"priority-preempt", "tiresias"})
"""Policies that may act with no free node (by preempting); others are skipped then."""

FULL_QUEUE: frozenset[str] = frozenset({"conservative-backfill", "fair-share"})
"""Non-preemptive policies that must see every queued job: a job's start depends on the
reservations of all jobs ahead of it (conservative backfill), or on an order other than
submission (fair share's head and its reservation), not only on the jobs that fit now."""

READS_USAGE: frozenset[str] = frozenset({"fair-share"})
"""Policies that read the accounts' decayed GPU usage (``ClusterView.usage``); the engine
keeps it (:mod:`clustersim.engine.usage`) only while one of them runs."""

READS_SERVICE: frozenset[str] = frozenset({"tiresias"})
"""Policies that read each job's attained service (``ClusterView.service``) and may return
:class:`~clustersim.views.Promote`; the engine keeps it (:mod:`clustersim.engine.service`)
only while one of them runs."""

NEXT_PASS: dict[str, Callable[..., float]] = {"tiresias": tiresias.next_pass_s}
"""Policies whose decisions change with time alone (between events), with the function
``(view, queue, decisions, **settings) -> float`` giving the next instant after a pass (that
made ``decisions``) at which they do; the engine keeps one timer there (``inf``: none)."""


PREFIX: frozenset[str] = frozenset({"fifo"})
"""Policies that start jobs in submission order while they fit and stop at the first that
does not: the dispatcher hands them the queue up to that job only."""

BACKFILL: frozenset[str] = frozenset({"easy-backfill"})
"""EASY backfilling: the dispatcher hands it the FIFO prefix that fits, the head (the first job
that does not), and the later jobs it could backfill by :func:`easy_backfill.shadow`: those
that fit in the nodes the prefix leaves and end by the shadow time or fit in the extra nodes.

Every other non-preemptive policy is handed every job that fits in the free nodes now."""


def get_policy(name: str) -> Policy:
    """The policy registered as ``name``; ValueError naming the known ones otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise ValueError(f"unknown scheduler policy {name!r} (known: {known})") from None

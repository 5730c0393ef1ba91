"""Scheduling policies, one per module, registered by name.

A policy is a pure function ``decide(view, queue) -> list[Decision]`` of frozen views
(:mod:`clustersim.views`); ``--set scheduler.policy=easy-backfill`` is a lookup in
:data:`REGISTRY`.
"""

from __future__ import annotations

from clustersim.scheduler import easy_backfill, fifo, priority_preempt
from clustersim.views import Policy

__all__ = ["PREEMPTIVE", "REGISTRY", "get_policy"]

REGISTRY: dict[str, Policy] = {
    "fifo": fifo.decide,
    "easy-backfill": easy_backfill.decide,
    "priority-preempt": priority_preempt.decide,
}

PREEMPTIVE: frozenset[str] = frozenset({"priority-preempt"})
"""Policies that may act with no free node (by preempting); others are skipped then."""


def get_policy(name: str) -> Policy:
    """The policy registered as ``name``; ValueError naming the known ones otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise ValueError(f"unknown scheduler policy {name!r} (known: {known})") from None

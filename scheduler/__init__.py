"""Scheduling policies, one per module, registered by name.

A policy is a pure function ``decide(view, queue) -> list[Decision]`` of frozen views
(:mod:`clustersim.views`); ``--set scheduler.policy=easy-backfill`` is a lookup in
:data:`REGISTRY`.
"""

from __future__ import annotations

from clustersim.scheduler import conservative_backfill, easy_backfill, fifo, priority_preempt, sjf
from clustersim.views import Policy

__all__ = ["FULL_QUEUE", "PREEMPTIVE", "REGISTRY", "get_policy"]

REGISTRY: dict[str, Policy] = {
    "fifo": fifo.decide,
    "easy-backfill": easy_backfill.decide,
    "priority-preempt": priority_preempt.decide,
    "sjf": sjf.decide,
    "conservative-backfill": conservative_backfill.decide,
}

PREEMPTIVE: frozenset[str] = frozenset({"priority-preempt"})
"""Policies that may act with no free node (by preempting); others are skipped then."""

FULL_QUEUE: frozenset[str] = frozenset({"conservative-backfill"})
"""Non-preemptive policies that must see every queued job: a job's start depends on the
reservations of all jobs ahead of it, not only on the jobs that fit now."""


def get_policy(name: str) -> Policy:
    """The policy registered as ``name``; ValueError naming the known ones otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise ValueError(f"unknown scheduler policy {name!r} (known: {known})") from None

"""The policy as the dispatcher calls it: configured from the scenario, fed what it reads.

:class:`PolicyRunner` owns the step between the dispatcher and a policy that reads more than
the queue and the running jobs. It binds the policy's settings from ``scheduler.*``
(:func:`configured`), keeps the engine state such a policy reads (the accounts' decayed
usage for ``fair-share``: :class:`~clustersim.engine.usage.Usage`; each job's attained
service for ``tiresias``: :class:`~clustersim.engine.service.Service`), fed from each job's
phase changes, adds it to the frozen view at every pass, carries out
:class:`~clustersim.views.Promote` decisions (the dispatcher sees only starts and
preemptions), and keeps the :class:`PassTimer` of a policy whose decisions change with time
alone. Policies that read nothing more are handed to the dispatcher as they are, so they
cost nothing extra.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import simpy

from clustersim.config import SchedulerConfig
from clustersim.job import Job
from clustersim.scheduler import NEXT_PASS, READS_SERVICE, READS_USAGE, get_policy
from clustersim.views import ClusterView, Decision, JobView, Policy, Promote

from .service import Service
from .usage import Usage

__all__ = ["PassTimer", "PolicyRunner", "configured"]

PhaseHook = Callable[[Job], None]


def _settings(cfg: SchedulerConfig) -> dict[str, Any]:
    """The keyword arguments of policy ``cfg.policy`` from its ``scheduler.*`` section."""
    if cfg.policy == "fair-share":
        return {"shares": dict(cfg.fair_share.shares), "backfill": cfg.fair_share.backfill}
    if cfg.policy == "tiresias":
        ts = cfg.tiresias
        return {"thresholds": tuple(ts.thresholds), "promote_knob": ts.promote_knob}
    return {}


def configured(cfg: SchedulerConfig) -> Policy:
    """The policy ``cfg.policy`` with its settings from ``cfg`` bound (keyword arguments)."""
    policy: Callable[..., list[Decision]] = get_policy(cfg.policy)
    settings = _settings(cfg)
    return partial(policy, **settings) if settings else policy


class PassTimer:
    """One pending wake-up of the dispatcher at the instant a policy's decisions change.

    :meth:`set` moves it (a SimPy timeout cannot be cancelled: a superseded one fires and
    does nothing), so at most one wake-up is live and nothing polls.
    """

    def __init__(self, env: simpy.Environment, wake: Callable[[], None]) -> None:
        self.env = env
        self.wake = wake
        self.due_s = math.inf
        """When the live wake-up fires (``inf``: none)."""

    def set(self, at_s: float) -> None:
        """Wake the dispatcher at ``at_s`` instead of the current wake-up (``inf``: never)."""
        if at_s == self.due_s:
            return
        self.due_s = at_s
        if math.isfinite(at_s):
            timeout = self.env.timeout(max(0.0, at_s - self.env.now))
            timeout.callbacks.append(lambda _event: self._fire(at_s))

    def _fire(self, at_s: float) -> None:
        if at_s == self.due_s:
            self.due_s = math.inf
            self.wake()


class PolicyRunner:
    """A configured policy and the engine state it reads beyond the dispatcher's views."""

    def __init__(self, env: simpy.Environment, cfg: SchedulerConfig) -> None:
        self.env = env
        self.cfg = cfg
        self.decide = configured(cfg)
        next_pass = NEXT_PASS.get(cfg.policy)
        self.next_pass: (
            Callable[[ClusterView, tuple[JobView, ...], list[Decision]], float] | None
        ) = partial(next_pass, **_settings(cfg)) if next_pass is not None else None
        self.reads_usage = cfg.policy in READS_USAGE
        self.reads_service = cfg.policy in READS_SERVICE
        self.usage: Usage | None = None
        self.service: Service | None = None
        self.timer: PassTimer | None = None

    @property
    def enriched(self) -> bool:
        """Whether the policy needs more than the dispatcher's views (then call this runner)."""
        return self.reads_usage or self.reads_service or self.next_pass is not None

    @property
    def policy(self) -> Policy:
        """What the dispatcher calls: the configured policy, or this runner around it."""
        return self if self.enriched else self.decide

    def attach(
        self, jobs: Sequence[Job], track_phase: PhaseHook, wake: Callable[[], None]
    ) -> PhaseHook:
        """Build the state the policy reads for ``jobs``; returns each job's phase hook.

        The hook calls the dispatcher's ``track_phase`` first, then feeds this runner's
        state; without such state it is ``track_phase`` itself. ``wake`` asks the
        dispatcher for a pass (the timer's action).
        """
        if self.reads_usage:
            accounts = {job.account for job in jobs}
            self.usage = Usage(accounts, half_life_s=self.cfg.fair_share.half_life)
        if self.reads_service:
            self.service = Service()
        if self.next_pass is not None:
            self.timer = PassTimer(self.env, wake)
        if self.usage is None and self.service is None:
            return track_phase
        env, usage, service = self.env, self.usage, self.service

        def on_phase(job: Job) -> None:
            track_phase(job)
            if usage is not None:
                usage.phase_changed(job, env.now)
            if service is not None:
                service.phase_changed(job, env.now)

        return on_phase

    def __call__(self, view: ClusterView, queue: tuple[JobView, ...]) -> list[Decision]:
        """One pass: the view with what the policy reads added, then the policy's decisions.

        Promotions are carried out here; the timer is set from the pass's view and decisions
        (an early wake-up only costs a pass that decides nothing new).
        """
        extra: dict[str, Any] = {}
        if self.usage is not None:
            extra["usage"] = self.usage.at(view.now_s)
        if self.service is not None:
            extra["service"] = self.service.at()
        if extra:
            view = dataclasses.replace(view, **extra)
        decisions = self.decide(view, queue)
        if self.timer is not None and self.next_pass is not None:
            self.timer.set(self.next_pass(view, queue, decisions))
        if not any(isinstance(d, Promote) for d in decisions):
            return decisions
        for decision in decisions:
            if isinstance(decision, Promote) and self.service is not None:
                self.service.promote(decision.job)
        return [d for d in decisions if not isinstance(d, Promote)]

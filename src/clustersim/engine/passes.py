"""The policy as the dispatcher calls it: configured from the scenario, fed what it reads.

:class:`PolicyRunner` owns the step between the dispatcher and a policy that reads more than
the queue and the running jobs. It binds the policy's settings from ``scheduler.*``
(:func:`configured`), keeps the engine state such a policy reads (the accounts' decayed
usage for ``fair-share``: :class:`~clustersim.engine.usage.Usage`), fed from each job's phase
changes, and adds it to the frozen view at every pass. Policies that read nothing more are
handed to the dispatcher as they are, so they cost nothing extra.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from functools import partial

import simpy

from clustersim.config import SchedulerConfig
from clustersim.job import Job
from clustersim.scheduler import READS_USAGE, get_policy
from clustersim.views import ClusterView, Decision, JobView, Policy

from .usage import Usage

__all__ = ["PolicyRunner", "configured"]

PhaseHook = Callable[[Job], None]


def configured(cfg: SchedulerConfig) -> Policy:
    """The policy ``cfg.policy`` with its settings from ``cfg`` bound (keyword arguments)."""
    policy: Callable[..., list[Decision]] = get_policy(cfg.policy)
    if cfg.policy == "fair-share":
        fs = cfg.fair_share
        return partial(policy, shares=dict(fs.shares), backfill=fs.backfill)
    return policy


class PolicyRunner:
    """A configured policy and the engine state it reads beyond the dispatcher's views."""

    def __init__(self, env: simpy.Environment, cfg: SchedulerConfig) -> None:
        self.env = env
        self.cfg = cfg
        self.decide = configured(cfg)
        self.reads_usage = cfg.policy in READS_USAGE
        self.usage: Usage | None = None

    @property
    def enriched(self) -> bool:
        """Whether the policy reads more than the dispatcher's views (then call this runner)."""
        return self.reads_usage

    @property
    def policy(self) -> Policy:
        """What the dispatcher calls: the configured policy, or this runner around it."""
        return self if self.enriched else self.decide

    def attach(self, jobs: Sequence[Job], track_phase: PhaseHook) -> PhaseHook:
        """Build the state the policy reads for ``jobs``; returns each job's phase hook.

        The hook calls the dispatcher's ``track_phase`` first, then feeds this runner's
        state; without such state it is ``track_phase`` itself.
        """
        if self.reads_usage:
            accounts = {job.account for job in jobs}
            self.usage = Usage(accounts, half_life_s=self.cfg.fair_share.half_life)
        if not self.enriched:
            return track_phase
        env, usage = self.env, self.usage

        def on_phase(job: Job) -> None:
            track_phase(job)
            if usage is not None:
                usage.phase_changed(job, env.now)

        return on_phase

    def __call__(self, view: ClusterView, queue: tuple[JobView, ...]) -> list[Decision]:
        """One pass: the view with what the policy reads added, then the policy's decisions."""
        if self.usage is not None:
            view = dataclasses.replace(view, usage=self.usage.at(view.now_s))
        return self.decide(view, queue)

"""A minimal reference for fair-share scheduling, written from Slurm's classic definition.

Independent of clustersim: plain Python, no SimPy, no numpy. The machine has ``n_nodes``
identical one-GPU nodes; a job is ``(submit_s, runtime_s, nodes, estimate_s, account)`` and
holds ``nodes`` GPUs from its start for exactly ``runtime_s``.

Usage (Slurm's ``PriorityDecayHalfLife``): an account's usage at time t is the integral of
the GPUs its jobs hold, each past second weighted by ``2 ** -(age / h)``:

    U_a(t) = integral over s <= t of r_a(s) * 2 ** (-(t - s) / h) ds

(``h`` None: no decay, plain GPU-seconds). ``r_a`` is a step function; this module builds it
from the jobs' intervals, merges neighbouring steps of equal height (so that the same
function of time always gives the same float, however jobs split it), and integrates each
step exactly: a step of height r on [b0, b1) adds ``r * h / ln 2 * (2 ** (-(t - b1) / h) -
2 ** (-(t - b0) / h))``, the terms summed with ``math.fsum``.

Fair-share factor (Slurm's classic formula): with s_a the account's share (1 unless given),
S the sum of the shares and U the sum of the usages of every account of the workload,
``F_a = 2 ** (-(U_a / U) / (s_a / S))``, and ``F_a = 1`` for all while U = 0. A job's
priority is the integer ``round(F_a * 10**9)`` (Slurm turns factors into an integer priority;
factors equal in exact arithmetic then tie whatever their last bits). The queue is ordered by
priority (highest first), then submit time, then input position; one pass is EASY
backfilling over that order (``minisched.easy``) or strict priority (``minisched.fifo``:
start in order while jobs fit, the first that does not fit blocks the rest).

Event ordering as in ``minisched``: at one instant, completions, then arrivals, then one pass.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Mapping, Sequence

from minisched import Queued, Running, easy, fifo

__all__ = ["factors", "simulate", "usage"]

Interval = tuple[str, int, float, float]
"""``(account, GPUs, start_s, end_s)`` of a job that started (``end_s`` inf while it runs)."""


def usage(intervals: Sequence[Interval], account: str, t: float, half_life: float | None) -> float:
    """The account's decayed GPU-seconds at time ``t`` (see the module docstring)."""
    mine = [(start, min(end, t), gpus) for a, gpus, start, end in intervals if a == account]
    points = sorted({p for start, end, _ in mine for p in (start, end) if p <= t})
    steps: list[tuple[float, float, int]] = []  # merged (b0, b1, height)
    for b0, b1 in itertools.pairwise(points):
        height = sum(g for start, end, g in mine if start <= b0 and b1 <= end)
        if steps and steps[-1][1] == b0 and steps[-1][2] == height:
            steps[-1] = (steps[-1][0], b1, height)
        elif height:
            steps.append((b0, b1, height))
    if half_life is None:
        return math.fsum(h * (b1 - b0) for b0, b1, h in steps)
    terms = []
    for b0, b1, h in steps:
        terms.append(h * 2.0 ** (-(t - b1) / half_life))
        terms.append(-h * 2.0 ** (-(t - b0) / half_life))
    return math.fsum(terms) * half_life / math.log(2.0)


def factors(usages: Mapping[str, float], shares: Mapping[str, float]) -> dict[str, float]:
    """Slurm's classic fair-share factor of every account in ``usages``."""
    total_usage = math.fsum(usages.values())
    total_share = math.fsum(shares.get(a, 1.0) for a in sorted(usages))
    if total_usage == 0:
        return dict.fromkeys(usages, 1.0)
    return {
        a: 2.0 ** (-(u / total_usage) / (shares.get(a, 1.0) / total_share))
        for a, u in usages.items()
    }


def simulate(
    jobs: Sequence[tuple[float, float, int, float, str]],
    n_nodes: int,
    *,
    half_life: float | None,
    shares: Mapping[str, float] | None = None,
    backfill: bool = True,
) -> list[float]:
    """Each job's start time, in input order (``nan`` for a job that never starts)."""
    shares = shares or {}
    accounts = sorted({job[4] for job in jobs})
    arrivals = sorted(range(len(jobs)), key=lambda i: (jobs[i][0], i))
    starts = [math.nan] * len(jobs)
    intervals: dict[int, Interval] = {}
    completions: list[tuple[float, int]] = []
    running: dict[int, Running] = {}
    queue: list[Queued] = []
    free = n_nodes
    k = 0
    while k < len(arrivals) or completions:
        now = min(
            jobs[arrivals[k]][0] if k < len(arrivals) else math.inf,
            completions[0][0] if completions else math.inf,
        )
        while completions and completions[0][0] == now:
            _, index = heapq.heappop(completions)
            free += running.pop(index).nodes
        while k < len(arrivals) and jobs[arrivals[k]][0] == now:
            index = arrivals[k]
            submit_s, _, nodes, estimate_s, _ = jobs[index]
            queue.append(Queued(index, submit_s, nodes, estimate_s))
            k += 1
        held = list(intervals.values())
        factor = factors({a: usage(held, a, now, half_life) for a in accounts}, shares)
        priority = {a: round(f * 10**9) for a, f in factor.items()}
        ordered = sorted(queue, key=lambda j: (-priority[jobs[j.index][4]], j.submit_s, j.index))
        decide = easy if backfill else fifo
        for job in decide(now, free, n_nodes, list(running.values()), ordered):
            queue.remove(job)
            assert job.nodes <= free, "a policy started a job that does not fit"
            free -= job.nodes
            starts[job.index] = now
            runtime_s = jobs[job.index][1]
            running[job.index] = Running(job.nodes, now + job.estimate_s)
            intervals[job.index] = (jobs[job.index][4], job.nodes, now, now + runtime_s)
            heapq.heappush(completions, (now + runtime_s, job.index))
    return starts

"""A minimal reference scheduler, written from the textbook definitions of the policies.

Independent of clustersim: plain Python, a heap of completions, no SimPy. The machine has
``n_nodes`` identical nodes; a job is ``(submit_s, runtime_s, nodes, estimate_s)``, runs on
``nodes`` nodes for exactly ``runtime_s`` once started and is never interrupted. Policies see
only the estimates (a running job is expected to end at start + estimate).

Event ordering: at one instant, all completions happen first (their nodes are free), then
all arrivals join the queue, then the policy makes one scheduling pass, which starts any
number of jobs. The queue is in arrival order: by submit time, ties by input position.

Conventions shared with the engine (its documented behaviour, not its code): a job larger
than the whole machine can never run; every policy skips it (it neither blocks the queue
nor gets a reservation) and it is reported as never started (``nan``). A running job that
outlives its estimate (nothing enforces the limit) is expected to end just after now.

Policies, each a function of one scheduling pass:

- ``fifo``: start jobs in arrival order while they fit; the first one that does not fit
  blocks everyone behind it.
- ``easy-backfill`` (Lifka 1995, as stated by Mu'alem & Feitelson 2001, section 2): start
  jobs in arrival order while they fit. The first that does not fit is the head; its shadow
  time is the earliest expected end of running jobs at which enough nodes are free for it,
  and the extra nodes are those free at the shadow time beyond the head's need. Then, in
  arrival order, a later job starts if it fits in the free nodes and either ends by the
  shadow time, or needs no more than the extra nodes (which it then uses up).
- ``sjf``: greedy list scheduling (Garey & Graham 1975) with the list sorted by estimate,
  ties by submit time then arrival position: every job that fits, in that order, starts.
- ``conservative-backfill`` (Mu'alem & Feitelson 2001, section 2): in arrival order, every
  job is given the earliest start at which it fits for its whole estimated runtime beside
  the running jobs and the reservations of every job ahead of it; a job whose earliest such
  start is now starts now. Reservations are recomputed from scratch at each pass (with exact
  estimates they never move, so this equals keeping them).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["POLICIES", "Queued", "Running", "simulate"]


@dataclass(frozen=True, slots=True)
class Queued:
    """A waiting job: its position in the input, arrival time, size and estimate."""

    index: int
    submit_s: float
    nodes: int
    estimate_s: float


@dataclass(frozen=True, slots=True)
class Running:
    """A running job as the policy sees it: nodes held and expected end."""

    nodes: int
    expected_end_s: float


# now, free nodes, machine size, running jobs, queue in arrival order -> queued jobs to start
Pass = Callable[[float, int, int, list[Running], list[Queued]], list[Queued]]


def fifo(
    now: float, free: int, n_nodes: int, running: list[Running], queue: list[Queued]
) -> list[Queued]:
    """Strict first-come first-served: the first job that does not fit blocks the rest."""
    chosen = []
    for job in queue:
        if job.nodes > n_nodes:
            continue
        if job.nodes > free:
            break
        chosen.append(job)
        free -= job.nodes
    return chosen


def easy(
    now: float, free: int, n_nodes: int, running: list[Running], queue: list[Queued]
) -> list[Queued]:
    """EASY backfilling: one reservation, for the first job that does not fit."""
    runnable = [job for job in queue if job.nodes <= n_nodes]
    chosen = []
    running = list(running)
    i = 0
    while i < len(runnable) and runnable[i].nodes <= free:
        job = runnable[i]
        chosen.append(job)
        free -= job.nodes
        running.append(Running(job.nodes, now + job.estimate_s))
        i += 1
    if i == len(runnable):
        return chosen
    head = runnable[i]
    # Shadow time: walk the running jobs by expected end until enough nodes are free.
    available = free
    shadow = math.inf
    for run in sorted(running, key=lambda r: r.expected_end_s):
        available += run.nodes
        if available >= head.nodes:
            shadow = run.expected_end_s
            break
    # Extra nodes: free at the shadow time (every job ending by then) beyond the head's need.
    at_shadow = free + sum(r.nodes for r in running if r.expected_end_s <= shadow)
    extra = at_shadow - head.nodes
    for job in runnable[i + 1 :]:
        if job.nodes > free:
            continue
        if now + job.estimate_s <= shadow:
            chosen.append(job)
            free -= job.nodes
        elif job.nodes <= extra:
            chosen.append(job)
            free -= job.nodes
            extra -= job.nodes
    return chosen


def sjf(
    now: float, free: int, n_nodes: int, running: list[Running], queue: list[Queued]
) -> list[Queued]:
    """Shortest estimate first, starting every job that fits (list scheduling)."""
    chosen = []
    for job in sorted(queue, key=lambda j: (j.estimate_s, j.submit_s, j.index)):
        if job.nodes <= free:
            chosen.append(job)
            free -= job.nodes
    return chosen


def _used(busy: list[tuple[float, float, int]], t: float) -> int:
    """Nodes held at time ``t`` by the intervals ``[start, end)`` in ``busy``."""
    return sum(nodes for start, end, nodes in busy if start <= t < end)


def _fits(busy: list[tuple[float, float, int]], n_nodes: int, job: Queued, start: float) -> bool:
    """Whether ``job`` fits on the machine for all of ``[start, start + estimate)``."""
    end = start + job.estimate_s
    # Usage only rises where an interval begins: check the start and every such point inside.
    points = [start] + [s for s, _, _ in busy if start < s < end]
    return all(_used(busy, t) + job.nodes <= n_nodes for t in points)


def conservative(
    now: float, free: int, n_nodes: int, running: list[Running], queue: list[Queued]
) -> list[Queued]:
    """Conservative backfilling: a reservation for every queued job, in arrival order."""
    # A job past its estimate (an under-estimate; nothing kills it) still holds its nodes:
    # it is expected to end just after now, the convention the engine documents too.
    soon = math.nextafter(now, math.inf)
    busy = [(now, max(run.expected_end_s, soon), run.nodes) for run in running]
    chosen = []
    for job in queue:
        if job.nodes > n_nodes:
            continue
        # The earliest start is now or when some interval ends (usage only falls there).
        candidates = sorted({now} | {end for _, end, _ in busy if end > now})
        start = next(t for t in candidates if _fits(busy, n_nodes, job, t))
        busy.append((start, start + job.estimate_s, job.nodes))
        if start == now:
            chosen.append(job)
    return chosen


POLICIES: dict[str, Pass] = {
    "fifo": fifo,
    "easy-backfill": easy,
    "sjf": sjf,
    "conservative-backfill": conservative,
}


def simulate(
    jobs: Sequence[tuple[float, float, int, float]], n_nodes: int, policy: str
) -> list[float]:
    """Each job's start time, in input order (``nan`` for a job that never starts)."""
    decide = POLICIES[policy]
    arrivals = sorted(range(len(jobs)), key=lambda i: (jobs[i][0], i))
    starts = [math.nan] * len(jobs)
    completions: list[tuple[float, int]] = []  # heap of (end, index)
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
            submit_s, _, nodes, estimate_s = jobs[index]
            queue.append(Queued(index, submit_s, nodes, estimate_s))
            k += 1
        for job in decide(now, free, n_nodes, list(running.values()), list(queue)):
            queue.remove(job)
            assert job.nodes <= free, "a policy started a job that does not fit"
            free -= job.nodes
            starts[job.index] = now
            runtime_s = jobs[job.index][1]
            running[job.index] = Running(job.nodes, now + job.estimate_s)
            heapq.heappush(completions, (now + runtime_s, job.index))
    return starts

"""A minimal reference scheduler for GPU-level allocation (``cluster.sharing: gpu``).

Written from the specification of sharing, not from the engine's code. Plain Python, a heap
of completions, no SimPy. Exact estimates: a job ``(submit_s, runtime_s, gpus)`` runs for
exactly ``runtime_s`` once started, and the policies expect it to.

The machine (one rack, no spares) has ``n_nodes`` nodes of ``gpus_per_node`` (G) GPUs:

- A job asking for ``g < G`` GPUs is a *sub-node job*: it holds ``g`` GPUs of one *shared*
  node. A job asking for ``g >= G`` takes ``ceil(g / G)`` whole nodes, only FREE ones (nodes
  holding no job at all); a shared node is never used by a whole-node job until it is FREE.
  A whole-node job larger than the machine can never run: every policy skips it (it never
  blocks the queue) and it is reported as never started (``nan``).
- Best fit: a sub-node job goes to the shared node with at least ``g`` free GPUs and the
  FEWEST free GPUs; ties go to the node that became shared EARLIEST. A node becomes shared
  when a sub-node job is placed on it while it is FREE, and becomes FREE again (losing its
  rank) when its last tenant leaves. If no shared node has room, a FREE node becomes shared
  (which one does not matter to start times, so FREE nodes are only counted).

  Since a node's rank is given anew each time it becomes shared, a shared node is named
  here by its rank: one counter numbers the "became shared" events, and a sub-node job
  records the rank of the node it sits on.

- Event ordering at one instant: all completions, then all arrivals, then ONE scheduling
  pass. The queue is in submission order: submit time, ties by input position (job id).

Policies, each one scheduling pass:

- ``fifo``: in queue order, start every job that fits now (placed by the rule above); stop
  at the first job that does not fit.
- ``easy-backfill`` (Lifka 1995; Mu'alem & Feitelson 2001, section 2, with placement): FIFO
  until the first job that does not fit, the head. Its shadow time: release the running
  jobs (and those just started), by expected end, into a copy of the capacity (a shared
  node whose last tenant leaves becomes FREE); it is the first end time at which the head
  fits, with every job ending then released. A later queued job that fits now starts if it
  ends by the shadow time, or if the head still fits at the shadow time while this job (and
  every job backfilled before it that ends after the shadow time) keeps holding the GPUs
  it takes now, on the node it gets now. With no shadow time, every job that fits starts.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import groupby

__all__ = ["POLICIES", "Capacity", "simulate"]


@dataclass(slots=True)
class Capacity:
    """Free capacity: FREE nodes counted, shared nodes by rank with their free GPUs."""

    gpus_per_node: int
    free_nodes: int
    shared: dict[int, int] = field(default_factory=dict)  # rank -> free GPUs
    next_rank: int = 0  # the rank the next node to become shared gets

    def copy(self) -> Capacity:
        return Capacity(self.gpus_per_node, self.free_nodes, dict(self.shared), self.next_rank)

    def whole_nodes(self, gpus: int) -> int:
        """Nodes a job of ``gpus`` takes whole (0 for a sub-node job)."""
        return 0 if gpus < self.gpus_per_node else -(-gpus // self.gpus_per_node)

    def fits(self, gpus: int) -> bool:
        if self.whole_nodes(gpus):
            return self.whole_nodes(gpus) <= self.free_nodes
        return self.free_nodes > 0 or any(free >= gpus for free in self.shared.values())

    def place(self, gpus: int) -> int | None:
        """Take ``gpus``; return the rank of the shared node used (``None``: whole nodes)."""
        assert self.fits(gpus), "placing a job that does not fit"
        if self.whole_nodes(gpus):
            self.free_nodes -= self.whole_nodes(gpus)
            return None
        room = [(free, rank) for rank, free in self.shared.items() if free >= gpus]
        if room:
            _, rank = min(room)  # fewest free GPUs, then shared earliest
        else:
            rank = self.next_rank  # a FREE node becomes shared
            self.next_rank += 1
            self.free_nodes -= 1
            self.shared[rank] = self.gpus_per_node
        self.shared[rank] -= gpus
        return rank

    def release(self, gpus: int, rank: int | None) -> None:
        if rank is None:
            self.free_nodes += self.whole_nodes(gpus)
            return
        self.shared[rank] += gpus
        if self.shared[rank] == self.gpus_per_node:  # the last tenant left: FREE again
            del self.shared[rank]
            self.free_nodes += 1


@dataclass(frozen=True, slots=True)
class Queued:
    """A waiting job: its position in the input, size in GPUs and (exact) estimate."""

    index: int
    gpus: int
    estimate_s: float


@dataclass(frozen=True, slots=True)
class Running:
    """A running job: what it holds, where, and when it is expected to end."""

    index: int
    gpus: int
    rank: int | None
    end_s: float


# now, capacity (placed into), running jobs, runnable queue -> the jobs started, placed
Pass = Callable[[float, Capacity, list[Running], list[Queued]], list[Running]]


def fifo(now: float, cap: Capacity, running: list[Running], queue: list[Queued]) -> list[Running]:
    """First-come first-served: the first job that does not fit blocks the rest."""
    started = []
    for job in queue:
        if not cap.fits(job.gpus):
            break
        started.append(Running(job.index, job.gpus, cap.place(job.gpus), now + job.estimate_s))
    return started


def at(cap: Capacity, holding: list[Running], t: float) -> Capacity:
    """The capacity at time ``t``: every job of ``holding`` ending by then released."""
    cap = cap.copy()
    for run in holding:
        if run.end_s <= t:
            cap.release(run.gpus, run.rank)
    return cap


def shadow_time(cap: Capacity, holding: list[Running], head: Queued) -> float:
    """The first expected end at which ``head`` fits (all jobs ending then released)."""
    cap = cap.copy()
    ordered = sorted(holding, key=lambda r: (r.end_s, r.index))
    for end_s, ending in groupby(ordered, key=lambda r: r.end_s):
        for run in ending:
            cap.release(run.gpus, run.rank)
        if cap.fits(head.gpus):
            return end_s
    return math.inf


def easy(now: float, cap: Capacity, running: list[Running], queue: list[Queued]) -> list[Running]:
    """EASY backfilling: one reservation, for the first job that does not fit."""
    started = fifo(now, cap, running, queue)
    if len(started) == len(queue):
        return started
    head, later = queue[len(started)], queue[len(started) + 1 :]
    holding = running + started  # every job that may release capacity later
    shadow = shadow_time(cap, holding, head)
    for job in later:
        if not cap.fits(job.gpus):
            continue
        trial = cap.copy()
        run = Running(job.index, job.gpus, trial.place(job.gpus), now + job.estimate_s)
        # (a) ends by the shadow time, or (b) holding on past it, the head still fits then.
        if run.end_s <= shadow or at(trial, holding, shadow).fits(head.gpus):
            rank = cap.place(job.gpus)
            assert rank == run.rank, "the trial placed it elsewhere"
            started.append(run)
            holding.append(run)
    return started


def sjf(now: float, cap: Capacity, running: list[Running], queue: list[Queued]) -> list[Running]:
    """Shortest job first, as list scheduling (Garey & Graham 1975): the queue sorted by
    estimate (ties: submission order), every job that fits starts; none blocks another."""
    started = []
    by_estimate = sorted(enumerate(queue), key=lambda pair: (pair[1].estimate_s, pair[0]))
    for _, job in by_estimate:
        if cap.fits(job.gpus):
            started.append(Running(job.index, job.gpus, cap.place(job.gpus), now + job.estimate_s))
    return started


POLICIES: dict[str, Pass] = {"fifo": fifo, "easy-backfill": easy, "sjf": sjf}


def simulate(
    jobs: Sequence[tuple[float, float, int]], n_nodes: int, gpus_per_node: int, policy: str
) -> list[float]:
    """Each job's start time, in input order (``nan`` for a job that never starts)."""
    decide = POLICIES[policy]
    cap = Capacity(gpus_per_node, n_nodes)
    arrivals = sorted(range(len(jobs)), key=lambda i: (jobs[i][0], i))
    starts = [math.nan] * len(jobs)
    completions: list[tuple[float, int]] = []  # heap of (end, index)
    running: dict[int, Running] = {}
    queue: list[Queued] = []
    k = 0
    while k < len(arrivals) or completions:
        now = min(
            jobs[arrivals[k]][0] if k < len(arrivals) else math.inf,
            completions[0][0] if completions else math.inf,
        )
        while completions and completions[0][0] == now:
            _, index = heapq.heappop(completions)
            done = running.pop(index)
            cap.release(done.gpus, done.rank)
        while k < len(arrivals) and jobs[arrivals[k]][0] == now:
            index = arrivals[k]
            _, runtime_s, gpus = jobs[index]
            if cap.whole_nodes(gpus) <= n_nodes:  # larger than the machine: never runs
                queue.append(Queued(index, gpus, runtime_s))
            k += 1
        for run in decide(now, cap, list(running.values()), list(queue)):
            queue = [job for job in queue if job.index != run.index]
            starts[run.index] = now
            running[run.index] = run
            heapq.heappush(completions, (now + jobs[run.index][1], run.index))
    return starts

"""Tiresias: discretised two-dimensional least-attained-service with preemption.

Gu et al., "Tiresias: A GPU Cluster Manager for Distributed Deep Learning", NSDI 2019
(section 4.2, Discretized 2D-LAS; its simulator's ``dlas-gpu`` scheme). A job's **attained
service** is GPUs x time: it attains ``gpus`` GPU-seconds per second for as long as it holds
an allocation (the engine keeps it, :mod:`clustersim.engine.service`, and hands it over as
``ClusterView.service``). Thresholds T1 < ... < T(K-1) (``scheduler.tiresias.thresholds``)
split it into K queues: a job is in queue k once it has attained Tk, so new jobs start in
queue 0 and a running job is demoted the instant it crosses a threshold.

One pass orders every job that holds nodes or waits by (queue, holding before waiting,
submission time, id): lower queues first; within a queue the jobs that run keep their place
(so a waiting job never preempts a job of its own queue), then the waiting ones first come,
first served. Walking that order with the capacity (free nodes, nodes held by running jobs
and nodes being drained), every job that fits in what is left is a *target* and takes its
nodes; one that does not fit is skipped (fit-first: it does not block smaller jobs behind
it). Running jobs that are not targets are preempted (only a waiting job of a lower queue can
push one out); waiting targets start as soon as they fit in the free nodes, in that order.

Under GPU sharing (``cluster.sharing: gpu``) capacity is measured as the allocator packs it
(:class:`~clustersim.views.Capacity`): running jobs keep the GPUs they hold, a waiting job
takes GPUs where the allocator would put it and, if it does not fit, running jobs later in the
order give theirs back, lowest first, until it does (those that still fit where they are keep
them); without sub-node jobs this is exactly the rule above. Since the allocator, not the
plan, picks a started job's GPUs, a sub-node target does not start past a target that waits
for preempted jobs' GPUs, nor onto a node they are leaving: it could take what that target
waits for, and the next pass would preempt it for that target, and so on at one instant.

**Starvation guard** (``promote_knob``, off by default): a waiting job below queue 0 that has
run before is promoted to queue 0 once it has waited (since it last joined the queue)
``promote_knob`` times its executed time (time held since its last promotion); promotion
resets its attained and executed time to zero (a :class:`~clustersim.views.Promote`
decision), as in Tiresias' simulator.

Demotions and promotions happen between events; :func:`next_pass_s` gives the engine the
earliest such instant after a pass so that it wakes the dispatcher then, and no sooner.
The policy never reads runtime estimates. Jobs larger than the schedulable nodes are
skipped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from clustersim.views import (
    Attained,
    Capacity,
    ClusterView,
    Decision,
    JobView,
    Preempt,
    Promote,
    RunningView,
    Start,
)

__all__ = ["DEFAULT_THRESHOLDS_GPU_S", "decide", "next_pass_s"]

DEFAULT_THRESHOLDS_GPU_S: tuple[float, ...] = (3600.0,)
"""Two queues split at one GPU-hour (the example of Tiresias' simulator)."""


_Entry = tuple[int, int, float, int, int, bool]
"""One job in a pass's order: (queue, 0 holding / 1 waiting, submit_s, id, nodes, promoted);
the first four make the sort key (ids are unique)."""


def _crossing_s(attained: Attained, threshold: float) -> float:
    """The first float instant at which a job holding nodes has attained ``threshold``.

    Attained as :meth:`~clustersim.views.Attained.service_at` counts it. The quotient
    ``since_s + (threshold - service) / gpus`` can land either side of that instant (by an
    ulp of the sum, which can be many ulps of the time), and the level a pass computes at
    the wake-up must agree with the wake-up. The sum never decreases with time, so the
    first instant is well defined: when the quotient is not it, it is bracketed around the
    quotient and bisected down to adjacent floats.
    """
    reached = attained.service_at
    guess = attained.since_s + (threshold - attained.service_gpu_s) / attained.gpus
    if reached(guess) >= threshold:
        if reached(math.nextafter(guess, -math.inf)) < threshold:
            return guess
        late, step = guess, math.ulp(guess)
        while reached(early := guess - step) >= threshold:
            late, step = early, 2.0 * step
    else:
        early, step = guess, math.ulp(guess)
        while reached(late := guess + step) < threshold:
            early, step = late, 2.0 * step
    while early < (middle := early + (late - early) / 2.0) < late:
        if reached(middle) >= threshold:
            late = middle
        else:
            early = middle
    return late


def _promotion_s(attained: Attained, promote_knob: float) -> float:
    """When a waiting job has waited ``promote_knob`` times its executed time.

    The one float both the pass's check and :func:`next_pass_s`'s wake-up use: checking
    ``now - since_s >= knob * executed_s`` instead fails, by rounding, at about half of the
    wake-up instants ``since_s + knob * executed_s``.
    """
    return attained.since_s + promote_knob * attained.executed_s


def _level(attained: Attained, now_s: float, thresholds: Sequence[float]) -> int:
    """The job's queue at ``now_s``: how many thresholds it has attained.

    A job holding nodes attains until now, counted with the sum the engine banks when it
    lets go (:meth:`~clustersim.views.Attained.service_at`, :mod:`clustersim.engine.service`):
    a job preempted at the instant it crosses a threshold is in the same queue waiting as it
    was holding, so it cannot win its nodes back at that instant. :func:`next_pass_s` wakes
    the dispatcher at the first instant this count reaches a threshold.
    """
    service = attained.service_at(now_s)
    level = 0
    for threshold in thresholds:
        if service >= threshold:
            level += 1
        else:
            break
    return level


def _plan(
    view: ClusterView,
    queue: tuple[JobView, ...],
    thresholds: Sequence[float],
    promote_knob: float | None,
) -> tuple[list[_Entry], set[int]]:
    """The pass's order and its targets (the jobs that should hold nodes after it)."""
    now = view.now_s
    service = view.service if view.service is not None else {}
    entries: list[_Entry] = []
    for run in view.running:
        attained = service.get(run.id)
        level = 0 if attained is None else _level(attained, now, thresholds)
        entries.append((level, 0, run.submit_s, run.id, run.nodes, False))
    schedulable = view.schedulable_nodes
    for job in queue:
        if job.nodes > schedulable:
            continue
        attained = service.get(job.id)
        level = 0 if attained is None else _level(attained, now, thresholds)
        promoted = (
            attained is not None
            and promote_knob is not None
            and level > 0
            and attained.executed_s > 0
            and now >= _promotion_s(attained, promote_knob)
        )
        entries.append((0 if promoted else level, 1, job.submit_s, job.id, job.nodes, promoted))
    entries.sort()
    capacity = view.free_nodes + view.draining_nodes + sum(run.nodes for run in view.running)
    targets: set[int] = set()
    for entry in entries:
        if entry[4] <= capacity:
            capacity -= entry[4]
            targets.add(entry[3])
    return entries, targets


def decide(
    view: ClusterView,
    queue: tuple[JobView, ...],
    *,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS_GPU_S,
    promote_knob: float | None = None,
) -> list[Decision]:
    """Promote starved jobs, preempt running jobs that lost their place, start targets."""
    if view.gpus_per_node:
        return _decide_shared(view, queue, thresholds, promote_knob)
    entries, targets = _plan(view, queue, thresholds, promote_knob)
    decisions: list[Decision] = [Promote(e[3]) for e in entries if e[5]]
    decisions.extend(Preempt(e[3]) for e in entries if e[1] == 0 and e[3] not in targets)
    free = view.free_nodes
    for _, waiting, _, job_id, nodes, _ in entries:
        if waiting and job_id in targets and nodes <= free:
            decisions.append(Start(job_id))
            free -= nodes
    return decisions


def _slot(run: RunningView) -> JobView:
    """A running job's size as :class:`Capacity` reads it."""
    return JobView(run.id, run.nodes, run.priority, run.submit_s, 0.0, run.slot_gpus)


def _decide_shared(
    view: ClusterView,
    queue: tuple[JobView, ...],
    thresholds: Sequence[float],
    promote_knob: float | None,
) -> list[Decision]:
    """:func:`decide` under GPU sharing: the same order, capacity as the allocator packs it.

    Running jobs hold their GPUs. Walking the order, a waiting job takes GPUs where the
    allocator would put it; if it does not fit, running jobs later in the order give theirs
    back, lowest first, until it does (if even all of them are not enough it is skipped). A
    running job that gave its GPUs back takes them again at its own turn if they are still
    free, and is preempted otherwise. Without sub-node jobs this is exactly :func:`decide`:
    a running job keeps its place iff what the jobs before it left suffices. A sub-node
    target does not start past a target still waiting for preempted jobs' GPUs.
    """
    entries, _ = _plan(view, queue, thresholds, promote_knob)
    running = {run.id: run for run in view.running}
    waiting = {job.id: job for job in queue}
    capacity = Capacity(view)
    capacity.nodes += view.draining_nodes  # whole nodes on their way back
    # Running jobs still holding their GPUs and not yet reached, in order.
    holding = [e[3] for e in entries if e[1] == 0]
    released: set[int] = set()
    lost: list[int] = []
    targets: list[int] = []
    for _, is_waiting, _, job_id, _, _ in entries:
        if not is_waiting:
            if job_id in released:
                run = running[job_id]
                if not capacity.hold(_slot(run), run.node):
                    lost.append(job_id)
            else:
                holding.remove(job_id)
            continue
        job = waiting[job_id]
        if not capacity.fits(job):
            trial = capacity.copy()
            freed: list[int] = []
            for run_id in reversed(holding):
                run = running[run_id]
                if run.slot_gpus and run.node == -1:
                    continue  # holds no slot now (recovering): nothing to give back
                trial.release(run.nodes, run.slot_gpus, run.node)
                freed.append(run_id)
                if trial.fits(job):
                    break
            if not trial.fits(job):
                continue  # fit-first: skipped
            capacity = trial
            released.update(freed)
            holding = [run_id for run_id in holding if run_id not in released]
        capacity.take(job)
        targets.append(job_id)
    decisions: list[Decision] = [Promote(e[3]) for e in entries if e[5]]
    decisions.extend(Preempt(job_id) for job_id in lost)
    # Start the targets that fit now, in order. The allocator, not this plan, picks their
    # GPUs: once a target waits for GPUs that preemptions will free (it is *blocked*), a
    # sub-node target started past it could take them (a free GPU beside the preempted
    # jobs, or a FREE node it would open) and the blocked target would preempt it at the
    # same instant, forever. So past a blocked target only whole-node targets start (FREE
    # nodes are counted, as in decide), and a sub-node target whose GPUs would come from a
    # node that preempted jobs are leaving counts as blocked: it starts at the release's pass.
    releasing = {running[job_id].node for job_id in lost if running[job_id].slot_gpus}
    free_now = Capacity(view)
    blocked = False
    for job_id in targets:
        job = waiting[job_id]
        if job.slot_gpus and (blocked or free_now.where(job) in releasing):
            blocked = True
        elif free_now.fits(job):
            free_now.take(job)
            decisions.append(Start(job_id))
        else:
            blocked = True
    return decisions


def next_pass_s(
    view: ClusterView,
    queue: tuple[JobView, ...],
    decisions: Sequence[Decision],
    *,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS_GPU_S,
    promote_knob: float | None = None,
) -> float:
    """The earliest instant after ``view.now_s`` at which a job changes queue with no event.

    ``decisions`` are this pass's (:func:`decide` on the same view and queue). After them,
    the jobs holding nodes are the running ones not preempted and the ones started (placed
    now); a job's next threshold crossing is a candidate, and so is every still-waiting
    job's promotion. A waiting target that could not start yet is not one: it starts only
    when the jobs preempted for it release their nodes, and that release makes a pass of its
    own. ``inf`` if nothing changes with time alone.
    """
    now = view.now_s
    service = view.service if view.service is not None else {}
    preempted = {d.job for d in decisions if isinstance(d, Preempt)}
    started = {d.job for d in decisions if isinstance(d, Start)}
    promoted = {d.job for d in decisions if isinstance(d, Promote)}
    soonest = math.inf
    for run in view.running:
        attained = service.get(run.id)
        if run.id not in preempted and attained is not None:
            soonest = min(soonest, _next_crossing_s(attained, now, thresholds))
    for job in queue:
        attained = service.get(job.id)
        if attained is None:
            continue
        if job.id in promoted:
            attained = Attained(0.0, 0.0, attained.since_s, attained.gpus, False)
        if job.id in started:
            placed = Attained(attained.service_gpu_s, attained.executed_s, now, attained.gpus, True)
            soonest = min(soonest, _next_crossing_s(placed, now, thresholds))
        elif promote_knob is not None and attained.executed_s > 0:
            promote_s = _promotion_s(attained, promote_knob)
            if promote_s > now and _level(attained, now, thresholds) > 0:
                soonest = min(soonest, promote_s)
    return soonest


def _next_crossing_s(attained: Attained, now_s: float, thresholds: Sequence[float]) -> float:
    """The first threshold crossing after ``now_s`` of a job holding nodes."""
    for threshold in thresholds:
        if threshold > attained.service_gpu_s:
            crossing = _crossing_s(attained, threshold)
            if crossing > now_s:
                return crossing
    return math.inf

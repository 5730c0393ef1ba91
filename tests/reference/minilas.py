"""A minimal reference for Tiresias' discretised 2D-LAS, written from its definition.

Independent of clustersim: plain Python, no SimPy. The machine has ``n_nodes`` one-GPU
nodes; a job is ``(submit_s, runtime_s, gpus)``, needs ``gpus`` nodes at once and runs for
``runtime_s`` in total. Preemption is free: a preempted job loses no work and restarts at no
cost (a checkpoint at preemption with no stall), so only the policy's decisions matter.

Definitions (Gu et al., NSDI 2019, section 4.2, as clustersim documents them):

* attained service = GPUs x time run since the job's last promotion (the job's executed time
  is that time run); thresholds T1 < ... < T(K-1): a job is in queue k once its attained
  service reaches Tk.
* order: (queue, running before waiting, submit time, input position).
* one pass: walk that order with all n nodes; a job that fits in what is left is a target and
  takes its GPUs, one that does not is skipped. Running non-targets are preempted; waiting
  targets start.
* starvation guard (knob): a waiting job in a queue below the top, which has run since its
  last promotion, is promoted once it has waited (since it last joined the queue) knob times
  its executed time; its attained service and executed time restart from zero.

The simulation steps from event to event: arrivals, completions, a running job's service
reaching its next threshold, a waiting job's promotion. At one instant: completions, then
arrivals, then promotions, then one pass. State is advanced incrementally (work done,
service, executed time) between events.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["simulate"]


@dataclass
class _Job:
    submit_s: float
    work_s: float
    gpus: int
    done_s: float = 0.0
    service: float = 0.0
    executed: float = 0.0
    status: str = "future"  # future, waiting, running, finished
    since_s: float = 0.0  # when it last joined the queue
    starts: list[float] = field(default_factory=list)
    preempts: list[float] = field(default_factory=list)


def _queue_of(job: _Job, thresholds: Sequence[float]) -> int:
    return sum(1 for threshold in thresholds if job.service >= threshold)


def simulate(
    jobs: Sequence[tuple[float, float, int]],
    n_nodes: int,
    thresholds: Sequence[float],
    promote_knob: float | None = None,
) -> list[tuple[list[float], list[float]]]:
    """Every start and every preemption time of each job, in input order."""
    state = [_Job(float(s), float(r), g) for s, r, g in jobs]
    now = 0.0
    while True:
        candidates = []
        for job in state:
            if job.status == "future":
                candidates.append(job.submit_s)
            elif job.status == "running":
                candidates.append(now + (job.work_s - job.done_s))
                above = [t for t in thresholds if t > job.service]
                if above:
                    candidates.append(now + (above[0] - job.service) / job.gpus)
            elif (
                job.status == "waiting"
                and promote_knob is not None
                and _queue_of(job, thresholds) > 0
                and job.executed > 0
            ):
                candidates.append(max(now, job.since_s + promote_knob * job.executed))
        if not candidates:
            break
        t = min(candidates)
        for job in state:
            if job.status == "running":
                dt = t - now
                job.done_s += dt
                job.service += job.gpus * dt
                job.executed += dt
        now = t
        for job in state:
            if job.status == "running" and job.done_s >= job.work_s:
                job.status = "finished"
        for job in state:
            if job.status == "future" and job.submit_s == now:
                job.status, job.since_s = "waiting", now
        for job in state:
            if (
                promote_knob is not None
                and job.status == "waiting"
                and _queue_of(job, thresholds) > 0
                and job.executed > 0
                and now - job.since_s >= promote_knob * job.executed
            ):
                job.service = job.executed = 0.0
        _one_pass(state, now, n_nodes, thresholds)
    return [(job.starts, job.preempts) for job in state]


def _one_pass(state: list[_Job], now: float, n_nodes: int, thresholds: Sequence[float]) -> None:
    """Choose the targets in LAS order and make them the running set."""
    present = [
        (i, job)
        for i, job in enumerate(state)
        if job.status == "running" or (job.status == "waiting" and job.gpus <= n_nodes)
    ]
    present.sort(
        key=lambda p: (
            _queue_of(p[1], thresholds),
            0 if p[1].status == "running" else 1,
            p[1].submit_s,
            p[0],
        )
    )
    left = n_nodes
    targets = set()
    for i, job in present:
        if job.gpus <= left:
            left -= job.gpus
            targets.add(i)
    for i, job in present:
        if job.status == "running" and i not in targets:
            job.status, job.since_s = "waiting", now
            job.preempts.append(now)
    for i, job in present:
        if job.status == "waiting" and i in targets:
            job.status = "running"
            job.starts.append(now)
    assert sum(job.gpus for job in state if job.status == "running") <= n_nodes
    assert all(math.isfinite(t) for job in state for t in job.starts)

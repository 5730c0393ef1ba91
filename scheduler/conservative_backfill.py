"""Conservative backfilling (Mu'alem & Feitelson 2001): a reservation for every queued job.

At each scheduling pass the policy rebuilds a *profile* of future free nodes from the free
nodes now and the running jobs' failure-free end estimates. Then, in FIFO order (submission
time, ties by id), every queued job is given a reservation at the earliest time it fits for
its whole estimated runtime beside the running jobs and the reservations of every job ahead
of it. A job whose reservation is now starts now: it fits now and delays no earlier job's
reservation. Rebuilding from scratch at each pass is the stateless form; with exact
estimates reservations never move, so it starts the same jobs as keeping them would.

A job larger than every schedulable node gets no reservation (it can never run). Running
jobs without an end estimate (recovering, ``inf``) never give their nodes back in the
profile; a job overdue on its estimate is expected to end just after now. A job that fits
nowhere in the profile (nodes down for repair) gets no reservation until they come back.

Unlike FIFO and EASY, this policy needs every queued job ahead of a candidate, so it is in
:data:`clustersim.scheduler.FULL_QUEUE` and the dispatcher gives it the whole queue.
"""

from __future__ import annotations

import bisect
import math

from clustersim.scheduler.fifo import order
from clustersim.views import ClusterView, Decision, JobView, Start

__all__ = ["Profile", "decide"]


class Profile:
    """Free nodes over future time: a step function from now on.

    ``free[k]`` nodes are free on ``[times[k], times[k + 1])``, the last step to infinity;
    ``times`` is strictly increasing and starts at now.
    """

    def __init__(self, now_s: float, free: int, releases: list[tuple[float, int]]):
        self.times = [now_s]
        self.free = [free]
        after_now = math.nextafter(now_s, math.inf)
        for end_s, nodes in sorted((max(end, after_now), n) for end, n in releases):
            if not math.isfinite(end_s):
                break
            if end_s == self.times[-1]:
                self.free[-1] += nodes
            else:
                self.times.append(end_s)
                self.free.append(self.free[-1] + nodes)

    def earliest(self, nodes: int, duration_s: float) -> int | None:
        """Index of the earliest step where ``nodes`` stay free for ``duration_s``, if any."""
        times, free = self.times, self.free
        i = 0
        while i < len(times):
            if free[i] < nodes:
                i += 1
                continue
            end_s = times[i] + duration_s
            j = i + 1
            while j < len(times) and times[j] < end_s and free[j] >= nodes:
                j += 1
            if j == len(times) or times[j] >= end_s:
                return i
            # Step j is too full, and every start in (i, j] would overlap it too.
            i = j + 1
        return None

    def reserve(self, i: int, nodes: int, duration_s: float) -> None:
        """Take ``nodes`` from step ``i`` on for ``duration_s``."""
        times, free = self.times, self.free
        end_s = times[i] + duration_s
        j = bisect.bisect_left(times, end_s)
        if (j < len(times) and times[j] != end_s) or (j == len(times) and math.isfinite(end_s)):
            # Split the step that contains the reservation's end.
            times.insert(j, end_s)
            free.insert(j, free[j - 1])
        for k in range(i, j):
            free[k] -= nodes


def decide(view: ClusterView, queue: tuple[JobView, ...]) -> list[Decision]:
    """Reserve for every queued job in FIFO order; start those whose reservation is now."""
    profile = Profile(
        view.now_s, view.free_nodes, [(run.est_end_s, run.nodes) for run in view.running]
    )
    decisions: list[Decision] = []
    for job in order(view, queue):
        if job.nodes > view.schedulable_nodes:
            continue
        i = profile.earliest(job.nodes, job.est_runtime_s)
        if i is None:
            continue
        profile.reserve(i, job.nodes, job.est_runtime_s)
        if i == 0:
            decisions.append(Start(job.id))
    return decisions

"""The dispatcher: the queue, the policy's views, placement, preemption and replacements.

:class:`Dispatcher` is the only caller of scheduling policies and the only component that
allocates or releases nodes for jobs. It owns the queue (indexed by size so that a pass that
can start nothing is cheap), the views policies see (kept up to date on every phase change),
the set of jobs holding nodes, and the recovering jobs waiting for replacement nodes.

It runs only on state changes, coalesced per instant (:meth:`Dispatcher.wake`): first it
gives replacement nodes to recovering jobs, then it asks the policy what to start or preempt.

The queue is kept in the policies' order (submission time, then id), whole and by size (and
by estimate per size), so that the queue a policy is handed (:meth:`Dispatcher._queue_view`) is
read off in order instead of being rebuilt and sorted per pass: a FIFO or EASY pass that starts
nothing reads no job behind the head, however long the queue.

Size: one module (over 500 lines) because the dispatcher is the single writer of the queue,
the running jobs' views and the replacement requests, and one pass reads and changes all of
them in order (policy decisions, the power cap's gate, placement, preemption); splitting it
would hand two objects the same queue. The policies themselves live in ``scheduler/``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from operator import attrgetter
from typing import Any, Literal

import simpy

from clustersim.cluster import Cluster
from clustersim.events import JobFinished, JobPreempted, JobStarted, ReplacementTaken
from clustersim.job import NO_EPOCHS, Job, JobPhase, Preemption
from clustersim.scheduler.easy_backfill import shadow
from clustersim.views import ClusterView, JobView, Policy, Preempt, RunningView, Start

from .recorder import Recorder

__all__ = ["MAX_PREEMPTIONS_PER_INSTANT", "Dispatcher", "LivelockError", "QueueCut"]

_BY_END = attrgetter("est_end_s", "id")  # the order of Dispatcher.running_by_end
_BY_SUBMIT = attrgetter("submit_s", "id")  # the order of the queue, as policies walk it
_BY_ESTIMATE = attrgetter("est_runtime_s", "submit_s", "id")  # for EASY's short jobs

QueueCut = Literal["all", "fitting", "backfill", "prefix"]
"""How much of the queue a policy is handed (see :meth:`Dispatcher._queue_view`)."""


MAX_PREEMPTIONS_PER_INSTANT = 100
"""A job preempted more often than this at one instant means the policy livelocks: it starts
and preempts the same jobs forever while time stands still. The dispatcher stops the run with
:class:`LivelockError` instead of hanging."""


class LivelockError(AssertionError):
    """A policy preempted a job too often at one instant (a policy bug, not bad input).

    An ``AssertionError``, like a failed identity; the bound is
    :data:`MAX_PREEMPTIONS_PER_INSTANT`.
    """


class Dispatcher:
    """Queue, running views, placement and the policy calls of one simulation."""

    filter_queue = True
    """Hand policies only the queued jobs that can matter to them (see _queue_view)."""

    def __init__(
        self,
        env: simpy.Environment,
        cluster: Cluster,
        recorder: Recorder,
        jobs: list[Job],
        *,
        policy: Policy,
        preemptive: bool,
        full_queue: bool,
        queue_cut: QueueCut = "fitting",
        preempt_checkpoint: bool,
        gpus_per_node: int,
        launch: Callable[[Job], simpy.Process],
        on_finished: Callable[[], None],
        placement_wait_s: float = 0.0,
        nodes_per_pod: int = 0,
    ) -> None:
        self.env = env
        self._churn_t = -math.inf  # the instant _churn counts preemptions at
        self._churn: dict[int, int] = {}  # job id -> preemptions at that instant
        self.placement_wait_s = placement_wait_s
        """``scheduler.placement_wait``: how long a multi-node job that fits in one pod may be
        held for a placement inside one pod (0: never held)."""
        self._nodes_per_pod = nodes_per_pod
        self._held: dict[int, float] = {}  # job id -> when it was first held for a pod
        self.cluster = cluster
        self.recorder = recorder
        self.jobs = jobs
        self.policy = policy
        self.preemptive = preemptive
        self.full_queue = preemptive or full_queue
        """The policy sees every queued job (preemptive and FULL_QUEUE policies)."""
        self.sharing = cluster.share_gpus
        """Sub-node jobs share nodes: policies size jobs with ``views.Capacity`` and see the
        whole queue (the size indexes below count whole nodes only)."""
        self.queue_cut: QueueCut = "all" if self.full_queue or self.sharing else queue_cut
        self.preempt_checkpoint = preempt_checkpoint
        self.gpus_per_node = gpus_per_node
        self._launch = launch
        self._on_finished = on_finished
        self.closing = False
        self.schedulable_nodes = cluster.topology.n_nodes - cluster.spare_target
        """Nodes a new job may be placed on (all nodes but the hot-spare pool, a fixed size)."""
        self.queue: dict[int, Job] = {}
        # The queued jobs' views in policy order (submit_s, id): those that can run, and those
        # larger than the schedulable nodes (no policy ever starts them).
        self.queue_order: list[JobView] = []
        self.never_fit: list[JobView] = []
        # nodes -> views of the queued jobs of that size, in policy order and by estimate; and
        # the sizes, sorted.
        self.queue_by_size: dict[int, list[JobView]] = {}
        self.queue_by_estimate: dict[int, list[JobView]] = {}
        self.queue_sizes: list[int] = []
        self.queue_slots: list[int] = []  # the slot GPUs of queued sub-node jobs, sorted
        self.active: dict[int, Job] = {}
        self.running_views: dict[int, RunningView] = {}
        # The same views ordered by (est_end_s, id), kept on every change, so that EASY's
        # shadow time is a walk from the front instead of a sort per dispatch.
        self.running_by_end: list[RunningView] = []
        # Their sort keys (est_end_s, id), position for position: bisected without a key
        # function (a job's key is unique: its id).
        self._end_keys: list[tuple[float, int]] = []
        self.draining: dict[int, Job] = {}
        self.awaiting: dict[int, Job] = {}
        self.finished = 0
        self._dispatch_pending = False
        self.admit: Callable[[Job], bool] | None = None
        """The facility's power-cap gate (None: no cap): False holds the job in the queue."""
        self.begin_pass: Callable[[], None] | None = None
        """Told when a pass begins (the gate's refusals last from one pass to the next)."""
        self.refuse: Callable[[Job], None] = _never_refused
        """Counts a start held behind one the gate refused (set with :attr:`admit`)."""
        self.ever_admits: Callable[[Job], bool] = _always
        """Whether the gate could ever admit a job (False: it is unplaceable, never held)."""

    # ----------------------------------------------------------------- the queue
    def submit(self, job: Job) -> None:
        """Queue a newly submitted job."""
        job.phase = JobPhase.QUEUED
        self._enqueue(job)

    def _enqueue(self, job: Job) -> None:
        # The view is cached on the job until its phase changes, which only dequeuing does.
        view = job.as_queued()
        self.queue[job.id] = job
        _insort(self.queue_order if job.nodes <= self.schedulable_nodes else self.never_fit, view)
        same = self.queue_by_size.get(job.nodes)
        if same is None:
            same = self.queue_by_size[job.nodes] = []
            self.queue_by_estimate[job.nodes] = []
            bisect.insort(self.queue_sizes, job.nodes)
        _insort(same, view)
        bisect.insort(self.queue_by_estimate[job.nodes], view, key=_BY_ESTIMATE)
        if job.slot_gpus:
            bisect.insort(self.queue_slots, job.slot_gpus)

    def _dequeue(self, job: Job) -> None:
        del self.queue[job.id]
        key = (job.submit_s, job.id)
        _remove(self.queue_order if job.nodes <= self.schedulable_nodes else self.never_fit, key)
        same = self.queue_by_size[job.nodes]
        _remove(same, key)
        by_estimate = self.queue_by_estimate[job.nodes]
        i = bisect.bisect_left(by_estimate, _BY_ESTIMATE(job.as_queued()), key=_BY_ESTIMATE)
        assert by_estimate[i].id == job.id
        del by_estimate[i]
        if job.slot_gpus:
            del self.queue_slots[bisect.bisect_left(self.queue_slots, job.slot_gpus)]
        if not same:
            del self.queue_by_size[job.nodes]
            del self.queue_by_estimate[job.nodes]
            self.queue_sizes.remove(job.nodes)

    # ----------------------------------------------------------------- job callbacks
    def finish(self, job: Job) -> None:
        """A job completed: release its nodes and wake the dispatcher."""
        self._release(job)
        job.proc = None  # the finished process is not needed; its frames hold memory
        job.epochs = NO_EPOCHS  # only a running job can be rolled back
        job.phase = JobPhase.FINISHED
        job.finish_s = self.env.now
        self.finished += 1
        self.recorder.record(JobFinished(self.env.now, job.id))
        self._on_finished()
        self.wake()

    def requeue(self, job: Job) -> None:
        """A preempted job releases its nodes and waits in the queue again."""
        self._release(job)
        job.peer_copy_ok = False  # in-memory copies left with the released nodes
        job.phase = JobPhase.QUEUED
        job.proc = None
        self._enqueue(job)
        self.wake()

    def _release(self, job: Job) -> None:
        self.recorder.tick()
        job.sync_held(self.env.now, self.gpus_per_node)
        self.cluster.release(job.id)
        self.active.pop(job.id, None)
        job.slot_node = -1
        job.held_nodes = 0
        job.missing = 0
        self.awaiting.pop(job.id, None)

    def lose_node(self, job: Job) -> None:
        """``job`` lost one of its nodes (the fleet took it down); it must be replaced."""
        job.sync_held(self.env.now, self.gpus_per_node)
        job.held_nodes -= 1
        job.missing += 1
        job.slot_node = -1

    def lose_nodes(self, job: Job, count: int) -> None:
        """``job`` lost ``count`` of its nodes at once (planned maintenance of many nodes)."""
        job.sync_held(self.env.now, self.gpus_per_node)
        job.held_nodes -= count
        job.missing += count
        job.slot_node = -1

    def request_replacements(self, job: Job) -> simpy.Event:
        """Register a recovering job's need for ``job.missing`` nodes.

        Returns the event that fires once the job has them all.
        """
        if job.wait_event is None or job.wait_event.triggered:
            job.wait_event = self.env.event()
        self.awaiting[job.id] = job
        self.wake()
        return job.wait_event

    # ----------------------------------------------------------------- dispatching
    def wake(self) -> None:
        """Ask the dispatcher to run once at the current instant (coalesced)."""
        if self._dispatch_pending or self.closing:
            return
        self._dispatch_pending = True
        ev = self.env.event()
        ev.callbacks.append(self._dispatch)
        ev.succeed()

    def _dispatch(self, _: Any = None) -> None:
        self._dispatch_pending = False
        if self.closing:
            return
        now = self.env.now
        cluster = self.cluster
        if self.begin_pass is not None:
            self.begin_pass()
        for job in list(self.awaiting.values()):
            if cluster.n_free + cluster.n_spare + cluster.slack_gpus == 0:
                break
            self.recorder.tick()
            job.sync_held(now, self.gpus_per_node)
            spares_before = cluster.n_spare
            got = cluster.take_replacements(job.id, job.missing)
            if got:
                self.recorder.record(
                    ReplacementTaken(now, job.id, got, spares_before - cluster.n_spare)
                )
                job.held_nodes += len(got)
                job.missing -= len(got)
                if job.slot_gpus:
                    job.slot_node = got[0]
            if job.missing == 0:
                del self.awaiting[job.id]
                if job.wait_event is not None and not job.wait_event.triggered:
                    job.wait_event.succeed()
        if not self.queue or (
            cluster.n_free < self.queue_sizes[0]
            and not self.preemptive
            and not (self.queue_slots and cluster.slot_fits(self.queue_slots[0]))
        ):
            return  # no queued job fits in the free nodes (and this policy never preempts)
        view = self._view(now)
        held = False
        for decision in self.policy(view, self._queue_view(view)):
            if isinstance(decision, Start):
                job = self.queue[decision.job]
                if self.admit is None:
                    self._start(job)
                elif not self.ever_admits(job):
                    continue  # reported unplaceable: it must not block the others
                elif held:
                    # Nothing starts past a job the cap holds, so a large job is never
                    # starved by smaller ones that fit the power left (as nodes for FIFO).
                    self.refuse(job)
                elif self.admit(job):
                    self._start(job)
                else:
                    held = True
            elif isinstance(decision, Preempt):
                self._preempt(self.jobs[decision.job])

    def track_phase(self, job: Job) -> None:
        """Keep the policy's view of jobs holding nodes up to date.

        Each job calls it on every phase change (``Job.on_phase``), so that building a view
        per dispatch needs no Python loop over the jobs holding nodes.
        """
        job_id = job.id
        if job_id not in self.active:
            self._drop_view(job_id)
            self.draining.pop(job_id, None)
        elif job.phase is JobPhase.DRAINING:
            self._drop_view(job_id)
            self.draining[job_id] = job
        else:
            view = job.as_running()
            old = self.running_views.get(job_id)
            if old is not None and old is not view and old == view:
                # The same view again (a recovery that restarts, the start-up after the
                # placement): keep the object in place; nothing the policies see changes.
                job.running_view = view = old
            if old is not view:
                if old is not None:
                    self._unsort(old)
                key = (view.est_end_s, job_id)
                i = bisect.bisect_right(self._end_keys, key)
                self._end_keys.insert(i, key)
                self.running_by_end.insert(i, view)
                self.running_views[job_id] = view
            self.draining.pop(job_id, None)

    def _drop_view(self, job_id: int) -> None:
        old = self.running_views.pop(job_id, None)
        if old is not None:
            self._unsort(old)

    def _unsort(self, view: RunningView) -> None:
        """Remove ``view`` from :attr:`running_by_end` (it is there exactly once)."""
        i = bisect.bisect_left(self._end_keys, (view.est_end_s, view.id))
        assert self.running_by_end[i] is view
        del self._end_keys[i]
        del self.running_by_end[i]

    def check(self) -> None:
        """Assert that the running views and the queue's indexes are complete and in order."""
        by_end = sorted(self.running_views.values(), key=_BY_END)
        assert self.running_by_end == by_end, "running_by_end is out of order or stale"
        assert self._end_keys == [_BY_END(v) for v in by_end], "running_by_end's keys are stale"
        views = sorted((job.as_queued() for job in self.queue.values()), key=_BY_SUBMIT)
        fit = self.schedulable_nodes
        assert self.queue_order == [v for v in views if v.nodes <= fit], "queue order is stale"
        assert self.never_fit == [v for v in views if v.nodes > fit], "never-fit list is stale"
        assert self.queue_sizes == sorted({v.nodes for v in views}), "queue sizes are stale"
        for size, same in self.queue_by_size.items():
            assert same == [v for v in views if v.nodes == size], "queue by size is stale"
            by_estimate = sorted(same, key=_BY_ESTIMATE)
            assert self.queue_by_estimate[size] == by_estimate, "queue by estimate is stale"
        assert self.queue_by_estimate.keys() == self.queue_by_size.keys()

    def _view(self, now: float) -> ClusterView:
        # Whole nodes on their way back (a draining sub-node job frees only its GPUs).
        draining = sum(j.held_nodes for j in self.draining.values() if not j.slot_gpus)
        # The live collections, not copies (ClusterView: read-only, valid for the pass's
        # call of the policy, which returns its decisions before any is carried out).
        return ClusterView(
            now,
            self.cluster.n_free,
            self.schedulable_nodes,
            draining,
            self.running_views.values(),
            self.running_by_end,
            queue_ordered=True,
            gpus_per_node=self.gpus_per_node if self.sharing else 0,
            shared=self.cluster.shared_nodes() if self.sharing else (),
        )

    def _queue_view(self, view: ClusterView) -> tuple[JobView, ...]:
        """The queue as the policy sees it, in submission order (``ClusterView.queue_ordered``).

        Preemptive and ``FULL_QUEUE`` policies (conservative backfill reserves for every
        queued job) see all of it. The others can only start jobs that fit in the free nodes
        now (free nodes only shrink during a pass), and never a job larger than the
        schedulable nodes; each is handed what its definition reads (``queue_cut``):

        * ``prefix`` (FIFO): the jobs that fit one after another in submission order, and the
          first that does not, which blocks the rest. A pass that starts nothing reads one job.
        * ``backfill`` (EASY): that prefix and blocking job (the head, which gets the
          reservation), then the later jobs that could be backfilled: those that fit in the
          nodes the prefix leaves and either end by the head's shadow time or fit in its extra
          nodes (computed as EASY does, :func:`~clustersim.scheduler.easy_backfill.shadow`;
          free and extra nodes only shrink during the pass). Short jobs are found by estimate,
          so a pass that starts nothing reads none of the jobs that wait behind the head.
        * ``fitting`` (SJF, and the default): every job that fits in the free nodes, and the
          first that does not but could ever run.

        So every policy makes the decisions it would make on the whole queue (tested pass by
        pass against the whole queue), without an O(queue) scan when most of a long queue
        cannot start.
        """
        cut = self.queue_cut
        if cut == "all" or not self.filter_queue:
            if not self.never_fit:
                return tuple(self.queue_order)
            return tuple(sorted(self.queue_order + self.never_fit, key=_BY_SUBMIT))
        free = view.free_nodes
        if cut == "fitting":
            return self._fitting(free)
        views: list[JobView] = []
        for job in self.queue_order:
            views.append(job)
            if job.nodes > free:
                break
            free -= job.nodes
        else:
            return tuple(views)  # every job that can run fits
        if cut == "prefix" or free < self.queue_sizes[0]:
            return tuple(views)
        return (*views, *self._backfill(view, views, free))

    def _backfill(self, view: ClusterView, prefix: list[JobView], free: int) -> list[JobView]:
        """The jobs behind the head (``prefix[-1]``) that EASY could backfill, in order."""
        now = view.now_s
        head = prefix[-1]
        started = tuple((now + job.est_runtime_s, job.nodes) for job in prefix[:-1])
        shadow_s, extra = shadow(view, free, head.nodes, started)
        after = _BY_SUBMIT(head)
        later: list[JobView] = []
        for size in self.queue_sizes:
            if size > free:
                break
            if size <= extra:  # any such job may use the extra nodes
                same = self.queue_by_size[size]
                later.extend(same[bisect.bisect_right(same, after, key=_BY_SUBMIT) :])
                continue
            # Only jobs ending by the shadow time: a prefix of the size's estimate order.
            by_estimate = self.queue_by_estimate[size]
            short = bisect.bisect_right(
                by_estimate, shadow_s, key=lambda job: now + job.est_runtime_s
            )
            later.extend(job for job in by_estimate[:short] if _BY_SUBMIT(job) > after)
        later.sort(key=_BY_SUBMIT)
        return later

    def _fitting(self, free: int) -> tuple[JobView, ...]:
        """Every queued job that fits in ``free`` nodes, and the first that does not but could."""
        views: list[JobView] = []
        first_big: JobView | None = None
        schedulable = self.schedulable_nodes
        for size in self.queue_sizes:
            if size <= free:
                views.extend(self.queue_by_size[size])
            elif size > schedulable:
                break
            else:
                head = self.queue_by_size[size][0]
                if first_big is None or _BY_SUBMIT(head) < _BY_SUBMIT(first_big):
                    first_big = head
        if first_big is not None:
            views.append(first_big)
        views.sort(key=_BY_SUBMIT)
        return tuple(views)

    def _hold_for_pod(self, job: Job) -> bool:
        """Whether to hold ``job`` for a placement inside one pod (``placement_wait``).

        A job of 2 .. nodes-per-pod nodes that no pod has room for now is held, from the
        first time a policy starts it, for at most ``placement_wait``; a timer wakes the
        dispatcher when the bound runs out, and nodes freed earlier wake it as usual.
        """
        if (
            self.placement_wait_s <= 0.0
            or job.slot_gpus
            or not 1 < job.nodes <= self._nodes_per_pod
            or int(self.cluster.free_per_pod.max()) >= job.nodes
        ):
            self._held.pop(job.id, None)
            return False
        now = self.env.now
        since = self._held.setdefault(job.id, now)
        if now >= since + self.placement_wait_s:
            del self._held[job.id]
            return False
        if since == now:
            timer = self.env.timeout(self.placement_wait_s)
            timer.callbacks.append(lambda _: self.wake())
        return True

    def _start(self, job: Job) -> None:
        if self.placement_wait_s > 0.0 and self._hold_for_pod(job):
            return
        self.recorder.tick()
        if job.slot_gpus:
            placement = self.cluster.allocate_slot(job.id, job.slot_gpus)
            if placement is not None:
                job.slot_node = placement.nodes[0]
        else:
            placement = self.cluster.allocate(job.id, job.nodes)
        if placement is None:
            return
        now = self.env.now
        self._dequeue(job)
        self.active[job.id] = job
        job.held_nodes = len(placement.nodes)
        job.held_since_s = now
        job.placed_s = now
        if math.isnan(job.first_placed_s):
            job.first_placed_s = now
        job.racks, job.pods = placement.racks, placement.pods
        self.recorder.record(
            JobStarted(
                now,
                job.id,
                len(placement.nodes),
                placement.racks,
                placement.pods,
                job.interval_s,
                job.stall_s,
            )
        )
        job.phase = JobPhase.STARTING
        job.proc = self._launch(job)

    def _preempt(self, job: Job) -> None:
        if job.phase not in (JobPhase.RUNNING, JobPhase.STARTING, JobPhase.RECOVERING):
            return
        if job.pending_interrupt:
            return  # a failure reached it this instant; the next dispatch decides again
        now = self.env.now
        if now != self._churn_t:
            self._churn_t = now
            self._churn.clear()
        churn = self._churn[job.id] = self._churn.get(job.id, 0) + 1
        if churn > MAX_PREEMPTIONS_PER_INSTANT:
            raise LivelockError(
                f"the policy preempted job {job.id} {churn} times at t={now!r} s without time"
                " advancing (it restarts and preempts the same jobs forever): a scheduler bug;"
                " please report it with the scenario"
            )
        checkpoint = self.preempt_checkpoint and job.phase is JobPhase.RUNNING
        drain = job.stall_s + job.persist_s if checkpoint else 0.0
        self.recorder.record(JobPreempted(self.env.now, job.id, checkpoint, drain))
        if job.phase is JobPhase.RUNNING:
            job.phase = JobPhase.DRAINING
        job.interrupt(Preemption(checkpoint))


def _insort(order: list[JobView], view: JobView) -> None:
    """Insert ``view`` into ``order`` (in policy order); arrivals mostly go at the end."""
    if not order or _BY_SUBMIT(order[-1]) < _BY_SUBMIT(view):
        order.append(view)
    else:
        bisect.insort(order, view, key=_BY_SUBMIT)


def _remove(order: list[JobView], key: tuple[float, int]) -> None:
    """Remove the view with policy key ``key`` from ``order`` (it is there exactly once)."""
    if _BY_SUBMIT(order[0]) == key:  # the usual case: the first job in order starts
        del order[0]
        return
    i = bisect.bisect_left(order, key, key=_BY_SUBMIT)
    assert _BY_SUBMIT(order[i]) == key
    del order[i]


def _never_refused(job: Job) -> None:
    """No gate, nothing to count."""


def _always(job: Job) -> bool:
    """No gate: every job may start."""
    return True

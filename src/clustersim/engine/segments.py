"""One epoch's compute segments and checkpoint writes on the shared store, by callbacks.

With storage contention on, a job's checkpoints are simulated one by one
(:func:`clustersim.engine.lifecycle.train_segments`): this module owns the state of the
epoch being trained (work, stall, slowdown, completed checkpoints) and the timers and store
writes that move it on, including lazy writes (the same records at the same instants as
timed writes, but for the order of exact ties: :class:`Segments`).
"""

from __future__ import annotations

import math

import simpy

from clustersim.checkpoint import EpochState
from clustersim.job import EpochRecord, Job
from clustersim.storage import SharedStore

__all__ = ["Segments", "exact"]


def exact(now: float, at: float) -> bool:
    """Whether a timer with delay ``at - now`` falls exactly at ``at`` (SimPy adds it to now).

    True unless rounding bites: always when ``now >= at / 2`` (the subtraction is exact).
    """
    return now + (at - now) == at


class Segments:
    """One epoch's compute segments and checkpoint writes on the shared store, by callbacks.

    Each segment is a plain timeout whose callback starts the write; the write's completion
    (a callback from the store) starts the next segment. Only the timer held in
    :attr:`timer` counts: the callbacks of a superseded one (after a speed change or an
    interrupt) do nothing. When the last segment ends, :attr:`done` is processed at once,
    inside that segment's timer event, so the epoch ends at the point in the event order
    where a process waiting on the timer itself would have resumed. The arithmetic is that
    of a process walking the segments (work, stall, slowdown), so results do not depend on
    which of the two drives them.

    A write alone on the store is lazy (:meth:`SharedStore.write_lazily`): its end is known
    when it starts, so the next segment's timer is armed at once, for the instant it would
    have been armed for at the write's end, and the write's completion is accounted for
    (:meth:`_land`) when the segment next acts: that timer, a speed change or an interrupt.
    One SimPy event per checkpoint instead of two; the same instants and arithmetic. If the
    store changes while the write is in flight, the store makes it an ordinary write
    (:meth:`_demoted`) and the armed timer no longer counts. An interrupt at the very instant
    a lazy write ends finds it complete (with a timer, the two events' order would decide).
    """

    __slots__ = (
        "ckpts",
        "committed",
        "done",
        "env",
        "job",
        "landing",
        "next_speed",
        "next_target",
        "record",
        "remaining",
        "seg_start",
        "slow",
        "speed",
        "stall",
        "store",
        "t0",
        "target",
        "timer",
        "work",
        "writing",
    )

    def __init__(
        self,
        env: simpy.Environment,
        job: Job,
        store: SharedStore,
        record: EpochRecord,
        remaining: float,
    ) -> None:
        self.env, self.job, self.store, self.record = env, job, store, record
        self.remaining = remaining
        self.done = env.event()
        """Processed when the last segment ends (never scheduled before)."""
        self.work = self.committed = self.stall = self.slow = 0.0
        self.ckpts = 0
        self.writing = False
        self.timer: simpy.Event | None = None
        """The one timer whose callback counts (None: none armed)."""
        self.t0 = self.seg_start = self.target = env.now
        self.speed = job.speed
        self.landing = math.nan
        """When the lazy write in flight ends (nan: none)."""
        self.next_target = self.next_speed = 0.0
        self._compute()

    def _compute(self) -> None:
        """Start the next compute segment (the work up to the next checkpoint or the end)."""
        piece = min(self.job.interval_s, self.remaining - self.work)
        self.target = self.work + piece
        self.speed = self.job.speed
        self.seg_start = self.env.now
        self._arm()

    def _arm(self) -> None:
        """A timer for the rest of the current segment at the current speed (none at 0)."""
        self.timer = None
        if self.speed > 0:
            timer = self.timer = self.env.timeout((self.target - self.work) / self.speed)
            timer.callbacks.append(self._computed)

    def _computed(self, timer: simpy.Event) -> None:
        if timer is not self.timer:
            return  # superseded by a speed change or an interrupt
        if self.landing == self.landing:  # not nan: the lazy write before this segment
            self._land()
        now = self.env.now
        work = self.target
        self.slow += (now - self.seg_start) - (work - self.work)
        self.work = work
        if work >= self.remaining:
            self._finish()
            return
        self.writing = True
        self.t0 = now
        store, job = self.store, self.job
        end = store.lazy_end(job.checkpoint_bytes, now)
        if end is not None:
            # The segment after the write, as _compute will plan it at ``end``.
            self.next_target = work + min(job.interval_s, self.remaining - work)
            self.next_speed = job.speed
            if self._arm_after(end, now):
                store.write_lazily(job.id, job.checkpoint_bytes, end, self._written, self._demoted)
                self.landing = end
                return
        store.write_then(job.id, job.checkpoint_bytes, self._written)

    def _arm_after(self, end: float, now: float) -> bool:
        """Arm the timer of the segment that follows a lazy write ending at ``end``.

        The timer must fall where :meth:`_arm` at ``end`` would put it (``end`` plus the
        segment's time); False (nothing armed) when a delay from ``now`` (the current
        instant) cannot say so exactly.
        """
        speed = self.next_speed
        if speed <= 0:
            self.timer = None
            return True  # stalled: no timer, as _arm would arm none
        at = end + (self.next_target - self.work) / speed
        if not exact(now, at):
            return False
        timer = self.timer = self.env.timeout(at - now)
        timer.callbacks.append(self._computed)
        return True

    def _land(self) -> None:
        """The lazy write ended at :attr:`landing`: count it and start the next segment there."""
        end = self.landing
        self.landing = math.nan
        self._count_write(end)
        self.target = self.next_target
        self.speed = self.next_speed
        self.seg_start = end

    def _demoted(self) -> None:
        """The store made the lazy write an ordinary one: :meth:`_written` will end it."""
        self.landing = math.nan
        self.timer = None  # the timer armed for after the write no longer counts

    def _written(self) -> None:
        self._count_write(self.env.now)
        self._compute()  # a write starts only with work left

    def _count_write(self, end: float) -> None:
        """The checkpoint write begun at :attr:`t0` completed at ``end``."""
        self.stall += end - self.t0
        self.writing = False
        self.committed = self.work
        self.ckpts += 1
        self.record.checkpoints.append((end, self.job.committed_s + self.committed))  # type: ignore[union-attr]

    def _finish(self) -> None:
        """Resume the process waiting on :attr:`done` now, inside the current event."""
        done = self.done
        done.succeed()  # scheduled too; processed later with nothing left to call
        callbacks, done.callbacks = done.callbacks, []
        for callback in callbacks or ():
            callback(done)

    def respeed(self) -> None:
        """The job's speed changed: re-plan the current segment (a write goes on as it is)."""
        if self.landing == self.landing:
            now = self.env.now
            if now < self.landing:
                self._respeed_landing(now)
                return
            self._land()
        if self.writing:
            return
        self._advance()
        self.speed = self.job.speed
        self._arm()

    def _advance(self) -> None:
        """Count the current segment's work and slowdown up to now."""
        now = self.env.now
        done = min(self.target - self.work, (now - self.seg_start) * self.speed)
        self.slow += (now - self.seg_start) - done
        self.work += done
        self.seg_start = now

    def _respeed_landing(self, now: float) -> None:
        """A speed change during a lazy write: the segment after it starts at the new speed.

        If no delay from now falls exactly where that segment's timer must, a timer at the
        write's end arms it there (as :meth:`_written` would); if not even that instant can
        be hit exactly, the store times the rest of the write (whose end may then move by a
        rounding error).
        """
        self.next_speed = self.job.speed
        if self._arm_after(self.landing, now):
            return
        if exact(now, self.landing):
            timer = self.timer = self.env.timeout(self.landing - now)
            timer.callbacks.append(self._landed)
            return
        self.store.demote(self.job.id)
        assert self.landing != self.landing

    def _landed(self, timer: simpy.Event) -> None:
        """A timer at a lazy write's end (see :meth:`_respeed_landing`): land, plan the next."""
        if timer is not self.timer:
            return
        self.next_speed = self.job.speed
        self._land()
        self._arm()

    def stop(self) -> EpochState:
        """An interrupt ends the epoch now: cancel what is in flight; where it stands."""
        if self.landing == self.landing and self.env.now >= self.landing:
            self._land()
        self.timer = None
        if self.writing:
            self.store.cancel(self.job.id)
            self.stall += self.env.now - self.t0
        else:
            self._advance()
        return EpochState(self.work, self.stall, self.ckpts, self.committed)

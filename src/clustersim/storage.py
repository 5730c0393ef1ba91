"""The shared checkpoint store as a fluid fair-share (processor-sharing) server.

:class:`SharedStore` owns the writes in flight: each has bytes left and an event that fires
when it completes. The store's write bandwidth (times an outage/degradation factor) is shared
equally among the writes in flight, so a job's checkpoint takes longer when others write too.
Only the earliest completion is scheduled; every arrival, departure or bandwidth change
advances all writes to the present and reschedules (O(writers) per change).

A write alone on the store may be *lazy* (:meth:`SharedStore.write_lazily`): its completion
time is known when it starts, so no timer is scheduled for it. The writer accounts for the
completion itself, when it next acts; the store treats the write as in flight before that
time and as gone after it. Should anything change the store while the write is in flight (a
second writer, a bandwidth change, a cancel), the write is made an ordinary one at that
instant, with the same arithmetic, and the writer is told (its ``demote`` callback). At the
very instant a lazy write ends it has ended: whatever happens then finds the store without it
(with a timer, the order of the two events at that instant would decide).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import simpy

__all__ = ["SharedStore"]

_RESIDUE = 1e-9  # a write with less than this share of its bytes left is complete


class _Write:
    """One write in flight: bytes left, its size, and how its writer learns it is done.

    ``done`` is the event the writer waits on, or the function to call.
    """

    __slots__ = ("done", "left", "size")

    def __init__(self, size: float, done: simpy.Event | Callable[[], None]) -> None:
        self.size = size
        self.left = size
        self.done = done


_Lazy = tuple[int, float, float, float, Callable[[], None], Callable[[], None]]


class SharedStore:
    """Writes in flight on the shared store and their fair shares of its bandwidth."""

    __slots__ = ("_last", "_lazy", "_timer", "bandwidth", "env", "factor", "lazy", "writers")

    def __init__(self, env: simpy.Environment, bandwidth: float, lazy: bool = True) -> None:
        self.env = env
        self.bandwidth = bandwidth
        self.factor = 1.0
        self.writers: dict[int, _Write] = {}
        self._last = env.now
        self._timer: simpy.Event | None = None  # the one completion timer that counts
        self.lazy = lazy
        """Whether :meth:`write_lazily` may take a write (off: every write has a timer)."""
        self._lazy: _Lazy | None = None
        """The lazy write, if any (it may have ended): key, end, start, bytes, ``then``,
        ``demote``."""

    @property
    def rate_each(self) -> float:
        """Bytes per second each write in flight gets now."""
        n = len(self.writers)
        return self.bandwidth * self.factor / n if n else self.bandwidth * self.factor

    def write(self, key: int, n_bytes: float) -> simpy.Event:
        """Start writing ``n_bytes`` for ``key``; the event fires when the write completes."""
        done = self.env.event()
        if n_bytes <= 0:  # nothing to write: no write's share changes
            self._advance()
            done.succeed()
            return done
        self._settle()
        self._advance()
        self.writers[key] = _Write(float(n_bytes), done)
        self._reschedule()
        return done

    def write_then(self, key: int, n_bytes: float, then: Callable[[], None]) -> None:
        """Start writing ``n_bytes`` (> 0) for ``key``; call ``then()`` when it completes.

        No event per write: the store's completion timer calls ``then`` after its own
        bookkeeping, in the order an event succeeded then would have been processed.
        """
        assert n_bytes > 0, "a write of nothing completes at once: use write()"
        self._settle()
        if self.writers:
            self._advance()
            self.writers[key] = _Write(float(n_bytes), then)
            self._reschedule()
            return
        # Alone on the store (the common case): _advance and _reschedule for one writer,
        # with the same arithmetic (its rate is the whole bandwidth: x / 1 == x).
        self._last = self.env.now
        size = float(n_bytes)
        self.writers[key] = _Write(size, then)
        rate = self.bandwidth * self.factor
        if rate <= 0:
            self._timer = None
            return
        dt = size / rate if math.isfinite(rate) else 0.0
        timer = self._timer = self.env.timeout(max(0.0, dt))
        timer.callbacks.append(self._fire)

    def lazy_end(self, n_bytes: float, now: float) -> float | None:
        """When a write of ``n_bytes`` (> 0) started ``now`` could end as a lazy one, or None.

        ``now`` is the current instant. It can when lazy writes are on, no other write is in
        flight, the bandwidth is finite and non-zero, and the write would complete at its
        first timer (the completion test of :meth:`_fire_one` passes there). The time
        returned is the instant that timer would fall at.
        """
        if not self.lazy or self.writers:
            return None
        lazy = self._lazy
        if lazy is not None and now < lazy[1]:
            return None
        rate = self.bandwidth * self.factor
        if not 0 < rate < math.inf:
            return None
        size = float(n_bytes)
        dt = size / rate
        end = now + dt if dt > 0 else now  # as SimPy schedules the timer: now + max(0, dt)
        dt = end - now
        left = size - rate * dt if dt > 0 else size  # as _fire_one at end, above 0 or not
        if left <= size * _RESIDUE or end + left / rate <= end:
            return end
        return None

    def write_lazily(
        self,
        key: int,
        n_bytes: float,
        end: float,
        then: Callable[[], None],
        demote: Callable[[], None],
    ) -> None:
        """Start a lazy write: :meth:`lazy_end` returned ``end`` at this instant.

        No timer is scheduled: the writer accounts for the completion at ``end`` itself,
        and the store forgets the write once ``end`` has passed. If the store changes
        before ``end`` (another write, a bandwidth change, a cancel), ``demote()`` is called
        and the write goes on as an ordinary one (as if begun by :meth:`write_then`), with
        ``then()`` called when it completes.
        """
        self._timer = None
        self._lazy = (key, end, self.env.now, float(n_bytes), then, demote)

    def demote(self, key: int) -> None:
        """Make ``key``'s lazy write in flight an ordinary one, with a completion timer."""
        lazy = self._lazy
        assert lazy is not None and lazy[0] == key and self.env.now < lazy[1]
        self._settle()
        self._advance()
        self._reschedule()

    def _settle(self) -> None:
        """Bring a lazy write up to now: forgotten if it has ended, else made ordinary.

        Only for callers that change the store: they advance the writes and re-arm the timer.
        """
        lazy = self._lazy
        if lazy is None:
            return
        self._lazy = None
        key, end, start, size, then, demote = lazy
        if self.env.now >= end:  # it completed at end, before whatever happens now
            return
        # The only write in flight: it has moved since its start (what _advance counts from).
        self.writers[key] = _Write(size, then)
        self._last = start
        demote()

    def cancel(self, key: int) -> None:
        """Abandon ``key``'s write (its job failed or the run ended); nothing if it has none.

        Another key's lazy write is left as it is: made ordinary here, it would have no timer.
        """
        lazy = self._lazy
        if lazy is not None and lazy[0] == key:
            self._settle()
        if key in self.writers:
            self._advance()
            del self.writers[key]
            self._reschedule()

    def set_factor(self, factor: float) -> None:
        """Scale the bandwidth to ``factor`` of nominal (0 stalls every write)."""
        self._settle()
        self._advance()
        self.factor = factor
        self._reschedule()

    def _fire_one(self) -> None:
        """:meth:`_fire` with one write in flight: the same arithmetic, without the loops."""
        ((key, w),) = self.writers.items()
        now = self.env.now
        dt = now - self._last
        self._last = now
        rate = self.bandwidth * self.factor  # its share: the whole bandwidth (x / 1 == x)
        if dt > 0:
            w.left = max(0.0, w.left - rate * dt)
        if w.left <= w.size * _RESIDUE or (rate > 0 and now + w.left / rate <= now):
            del self.writers[key]
            self._timer = None
            if isinstance(w.done, simpy.Event):
                w.done.succeed()
            else:
                w.done()
        else:
            self._reschedule()

    def _advance(self) -> None:
        now = self.env.now
        dt = now - self._last
        self._last = now
        if dt <= 0 or not self.writers:
            return
        moved = self.rate_each * dt
        for w in self.writers.values():
            w.left = max(0.0, w.left - moved)

    def _reschedule(self) -> None:
        """Arm a timer for the earliest completion; any earlier timer no longer counts."""
        self._timer = None
        if not self.writers:
            return
        rate = self.rate_each
        if rate <= 0:
            return  # outage: nothing completes until the bandwidth comes back
        left = min(w.left for w in self.writers.values())
        dt = left / rate if math.isfinite(rate) else 0.0
        timer = self._timer = self.env.timeout(max(0.0, dt))
        timer.callbacks.append(self._fire)

    def _fire(self, timer: simpy.Event) -> None:
        if timer is not self._timer:
            return  # superseded by a later change
        if len(self.writers) == 1:
            self._fire_one()
            return
        self._advance()
        now, rate = self.env.now, self.rate_each
        # Done: (almost) nothing left, or what is left would take less time than the clock
        # can resolve at this instant (else the store re-arms a zero-length timer forever).
        done = [
            k
            for k, w in self.writers.items()
            if w.left <= w.size * _RESIDUE or (rate > 0 and now + w.left / rate <= now)
        ]
        calls: list[Callable[[], None]] = []
        for key in done:
            finished = self.writers.pop(key).done
            if isinstance(finished, simpy.Event):
                finished.succeed()
            else:
                calls.append(finished)
        self._reschedule()
        for then in calls:
            then()

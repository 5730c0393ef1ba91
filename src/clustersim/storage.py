"""The shared checkpoint store as a fluid fair-share (processor-sharing) server.

:class:`SharedStore` owns the writes in flight: each has bytes left and an event that fires
when it completes. The store's write bandwidth (times an outage/degradation factor) is shared
equally among the writes in flight, so a job's checkpoint takes longer when others write too.
Only the earliest completion is scheduled; every arrival, departure or bandwidth change
advances all writes to the present and reschedules (O(writers) per change).
"""

from __future__ import annotations

import math

import simpy

__all__ = ["SharedStore"]

_RESIDUE = 1e-9  # a write with less than this share of its bytes left is complete


class _Write:
    """One write in flight: bytes left, its size, and the event its writer waits on."""

    __slots__ = ("done", "left", "size")

    def __init__(self, size: float, done: simpy.Event) -> None:
        self.size = size
        self.left = size
        self.done = done


class SharedStore:
    """Writes in flight on the shared store and their fair shares of its bandwidth."""

    __slots__ = ("_gen", "_last", "bandwidth", "env", "factor", "writers")

    def __init__(self, env: simpy.Environment, bandwidth: float) -> None:
        self.env = env
        self.bandwidth = bandwidth
        self.factor = 1.0
        self.writers: dict[int, _Write] = {}
        self._last = env.now
        self._gen = 0

    @property
    def rate_each(self) -> float:
        """Bytes per second each write in flight gets now."""
        n = len(self.writers)
        return self.bandwidth * self.factor / n if n else self.bandwidth * self.factor

    def write(self, key: int, n_bytes: float) -> simpy.Event:
        """Start writing ``n_bytes`` for ``key``; the event fires when the write completes."""
        self._advance()
        done = self.env.event()
        if n_bytes <= 0:
            done.succeed()
            return done
        self.writers[key] = _Write(float(n_bytes), done)
        self._reschedule()
        return done

    def cancel(self, key: int) -> None:
        """Abandon ``key``'s write (its job failed or the run ended)."""
        if key in self.writers:
            self._advance()
            del self.writers[key]
            self._reschedule()

    def set_factor(self, factor: float) -> None:
        """Scale the bandwidth to ``factor`` of nominal (0 stalls every write)."""
        self._advance()
        self.factor = factor
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
        self._gen += 1
        if not self.writers:
            return
        rate = self.rate_each
        if rate <= 0:
            return  # outage: nothing completes until the bandwidth comes back
        left = min(w.left for w in self.writers.values())
        dt = left / rate if math.isfinite(rate) else 0.0
        gen = self._gen
        timer = self.env.timeout(max(0.0, dt))
        timer.callbacks.append(lambda _: self._fire(gen))

    def _fire(self, gen: int) -> None:
        if gen != self._gen:
            return  # superseded by a later change
        self._advance()
        now, rate = self.env.now, self.rate_each
        # Done: (almost) nothing left, or what is left would take less time than the clock
        # can resolve at this instant (else the store re-arms a zero-length timer forever).
        done = [
            k
            for k, w in self.writers.items()
            if w.left <= w.size * _RESIDUE or (rate > 0 and now + w.left / rate <= now)
        ]
        for key in done:
            self.writers.pop(key).done.succeed()
        self._reschedule()

"""The facility: a power cap (hold or throttle) and the staggered restart of epochs.

:class:`Facility` owns what the facility imposes on the cluster's power (docs/power.md):

* **The cap's gate.** With ``facility.power_cap`` the dispatcher asks :meth:`Facility.admit`
  before it starts a job: the job is held in the queue when its GPUs computing, added to what
  every node (those in repair as if back up and idle) and every GPU already held by a job may
  draw, would take facility power (IT × PUE) above the cap. Held GPUs count at computing
  watts (``hold``) or at the lowest GPU power limit (``throttle``), whatever their phase now,
  so that neither the recovery or start-up of a job admitted before nor a repair can push
  facility power over the cap.
* **The throttle.** With ``cap_policy: throttle`` every GPU of a running epoch is capped to
  the watts ``p`` that keep facility power, with every running epoch computing, at the cap
  (never below ``min_gpu_power``), and runs at ``(p / computing) ** throttle_exponent`` of
  its speed: a speed factor served to :class:`~clustersim.engine.degradation.Degradations`
  (the one place job speeds are computed), so the time it costs is the ``slowdown`` term of
  the GPU-seconds identity, charged to the cause ``power-cap``. ``p`` is recomputed at the
  instant of every change of node states or running epochs; its history is kept so that the
  power meter can price each epoch's computing seconds at the watts actually drawn.
* **The ramp clock.** With ``facility.ramp_limit`` an epoch start (a first start or a
  restart) that raises facility power by ``ΔP`` is spread over ``n`` equal steps a
  ``power.swings.min_window`` apart, ``n − 1 = ⌈ΔP / (ramp_limit × min_window)⌉`` (so that the
  staircase rises by at most the limit over its span), queued behind the ramps reserved
  before it: the job's GPUs run filler work up the first ``n − 1`` steps, and its epoch
  starts when the ramp is complete (the wait is part of its recovery, step ``wait``). Under
  a throttling cap the ramp rises only up to the cap (the throttle takes the rest).

The facility writes no power steps itself: it hands them to the power meter, the only
writer of the series.
"""

from __future__ import annotations

import bisect
import math
from array import array
from collections.abc import Callable
from typing import Any

import numpy as np
import simpy

from clustersim.config import PowerConfig
from clustersim.config.power import FacilityConfig, idle_floor_w
from clustersim.events import RunEnded
from clustersim.job import Job

from .power import PowerMeter

__all__ = ["CAP_CAUSE", "Facility"]

CAP_CAUSE = "power-cap"
"""The cause the throttle's slowdown GPU-seconds are charged to."""


class Facility:
    """The cap's gate and throttle, the ramp clock, and their integrals (one replication)."""

    def __init__(
        self,
        env: simpy.Environment,
        cfg: FacilityConfig,
        power: PowerConfig,
        meter: PowerMeter,
        *,
        gpus_per_node: int,
        respeed: Callable[[Job], None],
    ) -> None:
        self.env = env
        self.cfg = cfg
        self.meter = meter
        self.gpus_per_node = gpus_per_node
        self.respeed = respeed
        self.closing = False
        self.pue = power.pue
        w = power.gpu.watts()
        self.computing_w = w["computing"]
        self.busy_w = max(w["computing"], w["checkpoint"])
        """What a held GPU may draw at most under ``hold``: computing, or a checkpoint stall
        priced above it."""
        self.recovery_w = w["recovery"]
        self.idle_w = w["idle"]
        self.cap_it_w = math.inf if cfg.power_cap is None else cfg.power_cap / power.pue
        """The cap on IT watts (the facility cap / PUE)."""
        n_nodes = meter.cluster.topology.n_nodes
        self.idle_floor_it_w = idle_floor_w(power, n_nodes, gpus_per_node) / power.pue
        """IT watts of every node up and idle (the config's idle floor, without PUE)."""
        self.throttle = cfg.power_cap is not None and cfg.cap_policy == "throttle"
        self.min_gpu_w = min(float(cfg.min_gpu_power or 0.0), self.computing_w)
        self.alpha = cfg.throttle_exponent
        self.gpu_w = self.computing_w
        """The GPU power limit of running epochs now (computing watts: not throttled)."""
        self.speed = 1.0
        """The throttle's speed factor now."""
        self.hist_t = array("d", [0.0])
        self.hist_d = array("d", [0.0])
        """When the throttle changed, and the watts per GPU it saved from then on."""
        self._since = 0.0
        self._pending = False
        self.refused_gpus = 0
        self.refusals = 0
        """Start decisions the cap refused."""
        self.at_cap_s = 0.0
        """Time the cap was binding: a start refused (since the pass that refused it) or the
        running GPUs throttled."""
        self.held_gpu_s = 0.0
        """Integral of the GPUs of the starts refused at the last pass (hold's lost throughput)."""
        self.slow_gpu_s = 0.0
        """Σ over epochs of their GPUs × ∫ (1 − throttle speed) dt while running: the
        throttle's slowdown (the whole ``slowdown`` term when nothing else slows a job)."""
        self.lowest_gpu_w = self.computing_w
        self.ramps_on = cfg.ramp_limit is not None
        self.ramp_it_w_per_s = math.inf if cfg.ramp_limit is None else cfg.ramp_limit / power.pue
        self.ramp_step_s = float(power.swings.min_window)
        self.ramp_end = 0.0
        self._ramps: dict[int, tuple[float, int, float]] = {}
        self.ramps = 0
        """Epoch starts that were ramped."""
        self.ramp_wait_s = 0.0
        """Seconds jobs waited for their ramp (reserved; an interrupted ramp counts whole)."""

    @property
    def saved_j(self) -> float:
        """IT joules the throttle saved (priced by the meter, epoch by epoch)."""
        return self.meter.throttle_saved_j

    @property
    def filler_j(self) -> float:
        """IT joules of the ramps' filler work (priced by the meter)."""
        return self.meter.filler_j

    # ----------------------------------------------------------------- integrals
    def accrue(self) -> None:
        """Integrate the time at the cap and the GPUs held by it up to now."""
        now = self.env.now
        dt = now - self._since
        self._since = now
        if dt <= 0.0:
            return
        if self.refused_gpus or self.speed < 1.0:
            self.at_cap_s += dt
        self.held_gpu_s += self.refused_gpus * dt

    def close(self) -> None:
        """Integrate up to the end of the run; nothing changes afterwards."""
        self.accrue()
        self.closing = True
        self.refused_gpus = 0

    # ----------------------------------------------------------------- the gate
    def begin_pass(self) -> None:
        """A dispatcher pass begins: the refusals of the last one are over."""
        if self.refused_gpus:
            self.accrue()
            self.refused_gpus = 0

    def admit(self, job: Job) -> bool:
        """Whether starting ``job`` keeps the facility's committed power within the cap."""
        if self.cap_it_w == math.inf:
            return True
        meter = self.meter
        per_gpu = self.min_gpu_w if self.throttle else self.busy_w
        gpus = job.slot_gpus or job.nodes * self.gpus_per_node
        committed = (
            meter.node_level_w()
            + meter.repaired_node_w()
            + meter.held_gpus() * (per_gpu - self.recovery_w)
        )
        if committed + gpus * (per_gpu - self.idle_w) <= self.cap_it_w:
            return True
        self.refuse(job)
        return False

    def refuse(self, job: Job) -> None:
        """Count ``job`` as held by the cap in this pass (refused, or queued behind a refusal)."""
        self.accrue()
        self.refused_gpus += job.slot_gpus or job.nodes * self.gpus_per_node
        self.refusals += 1

    def ever_admits(self, job: Job) -> bool:
        """Whether ``job`` fits under the cap at all: alone, every other node idle."""
        if self.cap_it_w == math.inf:
            return True
        per_gpu = self.min_gpu_w if self.throttle else self.busy_w
        gpus = job.slot_gpus or job.nodes * self.gpus_per_node
        return self.idle_floor_it_w + gpus * (per_gpu - self.idle_w) <= self.cap_it_w

    # ----------------------------------------------------------------- the throttle
    def power_factor(self, job: Job) -> float:
        """The throttle's speed factor (the same for every running job)."""
        return self.speed

    def changed(self) -> None:
        """Node states or running epochs changed: recompute the throttle once, at this instant."""
        if self._pending or self.closing:
            return
        self._pending = True
        ev = self.env.event()
        ev.callbacks.append(self._recompute)
        ev.succeed()

    def _recompute(self, _: Any = None) -> None:
        self._pending = False
        if self.closing:
            return
        meter = self.meter
        gpus = meter.running_gpus
        base = meter.node_level_w()
        c, r = self.computing_w, self.recovery_w
        p = c
        if gpus > 0 and base + gpus * (c - r) > self.cap_it_w:
            p = min(c, max(self.min_gpu_w, r + (self.cap_it_w - base) / gpus))
        if p == self.gpu_w:
            return
        self.accrue()
        self.gpu_w = p
        self.lowest_gpu_w = min(self.lowest_gpu_w, p)
        self.speed = 1.0 if p >= c else (p / c) ** self.alpha
        self.hist_t.append(self.env.now)
        self.hist_d.append(c - p)
        for job in list(meter.running.values()):
            self.respeed(job)

    def epoch_ended(self, ev: RunEnded) -> None:
        """Charge an ending epoch's time under the throttle to :attr:`slow_gpu_s`."""
        job = self.meter.running.get(ev.job)
        if job is None:
            return
        record = job.epochs[-1]
        stop = min(record.end, ev.t)
        at, saved = self.saved_w(record.start, stop)
        if not at:
            return
        c = self.computing_w
        speed = ((c - np.asarray(saved)) / c) ** self.alpha
        widths = np.diff(np.asarray([*at, stop], dtype=np.float64))
        # The epoch's wall time under the throttle, less what it would have taken at full
        # speed, is at most the epoch's whole slowdown: with storage contention checkpoint
        # writes run at the store's pace, not the GPUs', so they are not slowed.
        slow_s = min(float(np.sum((1.0 - speed) * widths)), ev.slow_s)
        self.slow_gpu_s += ev.gpus * slow_s

    def saved_w(self, start: float, stop: float) -> tuple[list[float], list[float]]:
        """The throttle's saving per GPU over ``[start, stop)``: change times and levels.

        The first pair is ``(start, saving at start)``; empty if nothing was saved.
        """
        i = bisect.bisect_right(self.hist_t, start) - 1
        j = bisect.bisect_left(self.hist_t, stop)
        times = [start, *self.hist_t[i + 1 : j]]
        levels = [self.hist_d[i], *self.hist_d[i + 1 : j]]
        if not any(levels):
            return [], []
        return times, levels

    # ----------------------------------------------------------------- the ramp
    def ramp_delay(self, job: Job) -> float:
        """Reserve ``job``'s ramp on the facility's ramp clock; the seconds until it is done."""
        now = self.env.now
        gpus = job.held_nodes * (job.slot_gpus or self.gpus_per_node)
        rise = gpus * (self.computing_w - self.recovery_w)
        if self.throttle:  # the epoch will be throttled: ramp only up to the cap
            meter = self.meter
            level = meter.node_level_w() + meter.running_gpus * (self.gpu_w - self.recovery_w)
            rise = min(rise, max(0.0, self.cap_it_w - level))
        if self.ramp_it_w_per_s == math.inf or rise <= 0:
            return 0.0
        dt = self.ramp_step_s
        per_step = self.ramp_it_w_per_s * dt
        # n steps a dt apart span (n − 1) dt: one more step than rise / per_step keeps the
        # staircase's rise over its span at most the limit. Even a single small step holds the
        # clock for one step, so that no two starts rise within one window together.
        n = 1 if rise <= per_step else math.ceil(rise / per_step * (1 - 1e-12)) + 1
        begin = max(now, self.ramp_end)
        self.ramp_end = begin + n * dt
        self._ramps[job.id] = (begin, n, rise / n)
        self.ramps += 1
        self.ramp_wait_s += self.ramp_end - now
        return self.ramp_end - now

    def ramp_ended(self, job: Job) -> None:
        """``job``'s ramp is over (its epoch starts now) or was interrupted: emit its filler.

        The filler rises by one step a ``min_window`` after the ramp's start, up to ``n − 1``
        steps; it ends now, when the epoch's own step takes over (or the job stopped).
        """
        ramp = self._ramps.pop(job.id, None)
        if ramp is None:
            return
        begin, n, step = ramp
        now = self.env.now
        at = begin + self.ramp_step_s * np.arange(1, n, dtype=np.float64)
        at = at[at < now]
        if not len(at):
            return
        self.meter.add_steps(np.append(at, now), np.append(np.full(len(at), step), -step * len(at)))
        self.meter.filler_j += float(step * np.sum(now - at))

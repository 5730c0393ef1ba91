"""The power meter: the facility's power over time, as the deltas of an exact step function.

:class:`PowerMeter` owns the power series (the only writer of it). Power is a function of
node states (written by the allocator and the fleet) and of job phases (written by each
job's process), so the meter follows both without a sampling event:

* **Node levels.** The recorder calls :meth:`PowerMeter.tick` after each of its ticks, which
  come before every node change; the level read at one tick has held since the previous one,
  so a change of it is a step at the previous tick's time. Every up node draws its idle GPUs
  plus host and network; a node in maintenance its ``maintenance`` GPUs plus host and
  network; a node in repair or quarantined its GPUs' ``down`` or ``quarantined`` watts; and
  every GPU a job holds draws ``recovery − idle`` more (start-up, recovery, waiting for
  replacements).
* **Epochs.** A running epoch is summarised in closed form when it ends
  (:class:`~clustersim.events.RunEnded`), so its steps are emitted then, back-dated: from its
  start to its end its GPUs draw ``computing − recovery`` more; each checkpoint stall draws
  ``checkpoint − computing`` for the stall's length from the wall time it began (mapped
  through the epoch's speed marks); a drain at its end draws ``checkpoint − recovery``.

A job's stalls are steps of their own only if one stall moves facility power by at least
``power.swings.stall_steps_min`` (and at most :data:`MAX_STALL_STEPS` such steps are kept per
run); otherwise, and for epochs whose checkpoints were simulated one by one on the shared
store, the epoch's stall energy is spread evenly over it. Either way the integral is exactly
the energy of the GPU-seconds ledger (docs/power.md).

With a facility (:mod:`clustersim.engine.facility`) two more kinds of step arrive: the
ramps' filler work (:meth:`PowerMeter.add_steps`, priced in :attr:`PowerMeter.filler_j`) and
the throttle's saving, applied to each epoch's computing seconds when it ends (its stalls are
then spread over it) and priced in :attr:`PowerMeter.throttle_saved_j`.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable

import numpy as np
import simpy
from numpy.typing import NDArray

from clustersim.checkpoint import checkpoints_before_finish, time_to_finish
from clustersim.cluster import Cluster
from clustersim.config import PowerConfig
from clustersim.events import RunEnded, RunStarted
from clustersim.job import EpochRecord, Job, JobPhase
from clustersim.power.steps import StepFunction

__all__ = ["MAX_STALL_STEPS", "PowerMeter"]

MAX_STALL_STEPS = 8_000_000
"""Per-stall steps kept per run (128 MB of times and deltas); later epochs are averaged."""

Saving = Callable[[float, float], tuple[list[float], list[float]]]
"""The throttle's saving per GPU over an interval: change times and watts (empty: none)."""


class PowerMeter:
    """The facility power series of one replication, as back-dated deltas in watts (IT)."""

    def __init__(
        self,
        env: simpy.Environment,
        cluster: Cluster,
        cfg: PowerConfig,
        *,
        gpus_per_node: int,
        down_planned: set[int],
        quarantined: set[int],
        jobs: list[Job],
    ) -> None:
        self.env = env
        self.cluster = cluster
        self.pue = cfg.pue
        w = cfg.gpu.watts()
        self.gpus_per_node = gpus_per_node
        self._up_node_w = gpus_per_node * w["idle"] + cfg.node_w
        self._maintenance_node_w = gpus_per_node * w["maintenance"] + cfg.node_w
        self._down_node_w = gpus_per_node * w["down"]
        self._quarantined_node_w = gpus_per_node * w["quarantined"]
        self._held_w = w["recovery"] - w["idle"]
        self._running_w = w["computing"] - w["recovery"]
        self._stall_w = w["checkpoint"] - w["computing"]
        self._drain_w = w["checkpoint"] - w["recovery"]
        self._stall_steps_min_w = float(cfg.swings.stall_steps_min or 0.0)
        self._down_planned = down_planned
        self._quarantined = quarantined
        self._jobs = jobs
        self._by_id: dict[int, Job] = {}
        self._times = array("d")
        self._deltas = array("d")
        self._chunks: list[tuple[NDArray[np.float64], NDArray[np.float64]]] = []
        self.stall_steps = 0
        """Per-stall steps emitted so far."""
        self.running_gpus = 0
        """GPUs of the epochs running now (started, not yet ended)."""
        self.running: dict[int, Job] = {}
        """The jobs whose epochs run now, by id."""
        self.saving: Saving | None = None
        """The throttle's saving per GPU (None: no throttle; set by the facility's wiring)."""
        self.filler_j = 0.0
        """IT joules of the ramps' filler work (steps added by the facility)."""
        self.throttle_saved_j = 0.0
        """IT joules the throttle saved on running epochs' computing seconds."""
        self._level = 0.0
        self._last_tick = 0.0

    # ----------------------------------------------------------------- node levels
    def node_level_w(self) -> float:
        """IT watts of node states now: up, in maintenance, down, quarantined; held GPUs' extra."""
        c = self.cluster
        planned = len(self._down_planned)
        quarantined = len(self._quarantined)
        up = c.n_free + c.n_spare + c.n_allocated
        held_gpus = c.n_allocated * self.gpus_per_node - c.slack_gpus
        return (
            up * self._up_node_w
            + planned * self._maintenance_node_w
            + (c.n_down - planned - quarantined) * self._down_node_w
            + quarantined * self._quarantined_node_w
            + held_gpus * self._held_w
        )

    def repaired_node_w(self) -> float:
        """IT watts the nodes in repair would add, back up and idle (a cap's headroom)."""
        c = self.cluster
        in_repair = c.n_down - len(self._down_planned) - len(self._quarantined)
        return in_repair * (self._up_node_w - self._down_node_w)

    def held_gpus(self) -> int:
        """GPUs held by jobs now (allocated, less the free GPUs of shared nodes)."""
        c = self.cluster
        return int(c.n_allocated * self.gpus_per_node - c.slack_gpus)

    def add_steps(self, times: NDArray[np.float64], deltas: NDArray[np.float64]) -> None:
        """Steps computed elsewhere (the facility's ramps): watts, IT, at any time."""
        self._chunks.append((times, deltas))

    def tick(self) -> None:
        """After the recorder's tick: the level read now began at the previous tick."""
        level = self.node_level_w()
        if level != self._level:
            self._times.append(self._last_tick)
            self._deltas.append(level - self._level)
            self._level = level
        self._last_tick = self.env.now

    def present_w(self) -> float:
        """IT watts now, with every running epoch computing.

        A stall is known only when its epoch ends, so this is the level a facility power cap
        must keep headroom for (the hook of phase 2's cap; docs/power.md).
        """
        return self.node_level_w() + self.running_gpus * self._running_w

    # ----------------------------------------------------------------- epochs
    def run_record(self, ev: RunStarted | RunEnded) -> None:
        """An epoch started or ended (the recorder's hook)."""
        if isinstance(ev, RunStarted):
            job = self._job(ev.job)
            self.running_gpus += job.held_nodes * (job.slot_gpus or self.gpus_per_node)
            self.running[job.id] = job
        else:
            self.run_ended(ev)

    def run_ended(self, ev: RunEnded) -> None:
        """An epoch's closed-form accounting: emit its running, stall and drain steps."""
        job = self._job(ev.job)
        if job.phase not in (JobPhase.RUNNING, JobPhase.DRAINING):
            return  # work rolled back while recovering (silent data corruption): no epoch
        self.running_gpus -= ev.gpus
        self.running.pop(job.id, None)
        record = job.epochs[-1]
        start, stop = record.start, min(record.end, ev.t)
        drain_s = ev.t - stop
        running_s = stop - start
        stall_s = ev.stall_s - drain_s
        level, dip_w, drain_w = self._epoch_w(ev, running_s, stall_s, drain_s)
        times, deltas = self._times, self._deltas
        if drain_s > 0:
            times.extend((stop, ev.t))
            deltas.extend((drain_w, -drain_w))
            if self.saving is not None:
                self._capped_drain(stop, ev.t, ev.gpus)
        if running_s <= 0:
            return
        saving: tuple[list[float], list[float]] = ([], [])
        if self.saving is not None:
            saving = self.saving(start, stop)
        per_stall = (
            stall_s > 0
            and record.checkpoints is None
            and abs(dip_w) * self.pue >= self._stall_steps_min_w
            and self.stall_steps < MAX_STALL_STEPS
        )
        if stall_s > 0 and not per_stall:
            level += dip_w * min(1.0, stall_s / running_s)  # stalls spread over the epoch
        times.extend((start, stop))
        deltas.extend((level, -level))
        if saving[0]:
            spread = 0.0 if per_stall else min(1.0, max(0.0, stall_s) / running_s)
            self._throttled(saving, stop, ev.gpus * (1.0 - spread))
        if per_stall:
            self._stall_dips(record, stop, ev.reason == "finished", dip_w, saving, ev.gpus)

    def _epoch_w(
        self, ev: RunEnded, running_s: float, stall_s: float, drain_s: float
    ) -> tuple[float, float, float]:
        """An ended epoch's IT watts: running, one stall, its drain.

        Running is over ``recovery``, a stall over ``computing``, a drain over ``recovery``;
        the per-cohort meter also tallies the epoch here.
        """
        gpus = ev.gpus
        return gpus * self._running_w, gpus * self._stall_w, gpus * self._drain_w

    def _throttled(
        self, saving: tuple[list[float], list[float]], stop: float, computing: float
    ) -> None:
        """The throttle's saving on an epoch: ``computing`` GPUs (stalls spread) × its watts."""
        at, watts = saving
        levels = np.asarray(watts, dtype=np.float64) * -computing
        self._chunks.append(
            (
                np.asarray([*at, stop], dtype=np.float64),
                np.diff(levels, prepend=0.0, append=0.0),
            )
        )
        widths = np.diff(np.asarray([*at, stop], dtype=np.float64))
        self.throttle_saved_j -= float(np.sum(levels * widths))

    def _capped_drain(self, start: float, stop: float, gpus: int) -> None:
        """Under the throttle a draining GPU draws its stall watts up to the GPU's cap."""
        assert self.saving is not None
        at, saved = self.saving(start, stop)
        if not at:
            return
        excess = np.maximum(0.0, self._stall_w + np.asarray(saved, dtype=np.float64)) * gpus
        if not excess.any():
            return
        edges = np.asarray([*at, stop], dtype=np.float64)
        self._chunks.append((edges, np.diff(-excess, prepend=0.0, append=0.0)))
        self.throttle_saved_j += float(np.sum(excess * np.diff(edges)))

    def _stall_dips(
        self,
        record: EpochRecord,
        stop: float,
        finished: bool,
        dip_w: float,
        saving: tuple[list[float], list[float]],
        gpus: int,
    ) -> None:
        """One step down and one up per checkpoint stall of a closed-form epoch.

        Under the throttle a stalled GPU draws its stall watts up to the GPU's cap at the
        stall's start (held over the stall, which lasts seconds): the dip is from the capped
        computing watts, and never a rise.
        """
        interval, stall, remaining = record.interval, record.stall, record.remaining
        n = checkpoints_before_finish(remaining, interval)
        if n == 0 or stall <= 0:
            return
        total = time_to_finish(remaining, interval, stall)
        marks = record.marks
        w_last, v_last, s_last = marks[-1]
        v_end = total if finished else min(total, v_last + (stop - w_last) * s_last)
        k = np.arange(min(n, int(v_end // (interval + stall)) + 1), dtype=np.float64)
        begin = k * (interval + stall) + interval
        begin = begin[begin < v_end]
        length = np.minimum(stall, v_end - begin)
        if len(marks) == 1 and s_last == 1.0:  # full speed throughout: wall = start + virtual
            at = w_last + begin
        else:
            wall, virtual, speed = np.asarray(marks, dtype=np.float64).T
            seg = np.searchsorted(virtual, begin, side="right") - 1
            rate = speed[seg]
            at = wall[seg] + np.divide(
                begin - virtual[seg], rate, out=np.zeros_like(begin), where=rate > 0
            )
        dips = np.full(len(at), dip_w)
        if saving[0]:
            times, watts = np.asarray(saving[0]), np.asarray(saving[1])
            saved = gpus * watts[np.searchsorted(times, at, side="right") - 1]
            capped = np.minimum(dips + saved, 0.0)  # a stalled GPU draws at most the cap
            self.throttle_saved_j -= float(np.sum((capped - dips) * length))
            dips = capped
        self._chunks.append((np.concatenate((at, at + length)), np.concatenate((dips, -dips))))
        self.stall_steps += 2 * len(at)

    def _job(self, job_id: int) -> Job:
        if job_id not in self._by_id:
            self._by_id = {job.id: job for job in self._jobs}
        return self._by_id[job_id]

    # ----------------------------------------------------------------- the series
    def steps(self, end_s: float) -> StepFunction:
        """The facility power step function over ``[0, end_s]`` (IT power × PUE)."""
        times = [np.array(self._times, dtype=np.float64)]
        deltas = [np.array(self._deltas, dtype=np.float64)]
        for t, d in self._chunks:
            times.append(t)
            deltas.append(d)
        return StepFunction.from_deltas(
            np.concatenate(times), np.concatenate(deltas), end_s, self.pue
        )

    @property
    def n_deltas(self) -> int:
        """Deltas held (node levels, epochs, stalls): the meter's memory is 16 bytes each."""
        return len(self._times) + sum(len(t) for t, _ in self._chunks)

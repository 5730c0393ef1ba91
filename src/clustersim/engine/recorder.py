"""The recorder: the one typed event log, its streaming tally, and the node-level ledgers.

:class:`Recorder` owns every record the simulation writes (kept in :attr:`Recorder.log` when
asked, always folded into :attr:`Recorder.tally`), the time-weighted integrals of node states
that the GPU-seconds identity uses (:attr:`Recorder.node_s`) and the binned time series of
GPUs by state (:attr:`Recorder.series`). It reads node counts from the allocator and the
fleet's sets of planned-down and quarantined nodes; it writes none of them.

Every component calls :meth:`Recorder.tick` before it changes a node's state, so that the
integrals are exact step functions of time without a sampling event. Two hooks pass the same
moments on to a component that follows node states too (the power meter,
:mod:`clustersim.engine.power`): :attr:`Recorder.on_tick` after every tick and
:attr:`Recorder.on_run_record` for every :class:`~clustersim.events.RunStarted` and
:class:`~clustersim.events.RunEnded` record.
"""

from __future__ import annotations

from collections.abc import Callable

import simpy

from clustersim.cluster import Cluster
from clustersim.events import Event, RunEnded, RunStarted
from clustersim.metrics import LogTally

__all__ = ["SERIES_KEYS", "SERIES_POINTS", "Recorder"]

SERIES_POINTS = 500
"""Bins of the node-level time series over the horizon (each value is a time average)."""
SERIES_KEYS = (
    "t_s",
    "gpus_allocated",
    "gpus_free",
    "gpus_spare",
    "gpus_in_repair",
    "gpus_maintenance",
    "gpus_quarantined",
)
"""The time series' columns: bin start time and the mean GPUs in each state over the bin."""
_RUN_RECORDS = frozenset({RunStarted, RunEnded})


class Recorder:
    """The event log, its tally, the node-state integrals and the time series."""

    def __init__(
        self,
        env: simpy.Environment,
        cluster: Cluster,
        *,
        horizon_s: float,
        gpus_per_node: int,
        down_planned: set[int],
        quarantined: set[int],
        keep_log: bool = True,
    ) -> None:
        self.env = env
        self.cluster = cluster
        self.gpus_per_node = gpus_per_node
        self.log: list[Event] = []
        self.keep_log = keep_log
        """Keep every record in :attr:`log` (else only :attr:`tally` sees them)."""
        self.tally = LogTally()
        self._down_planned = down_planned
        self._quarantined = quarantined
        self._last_tick = 0.0
        self.node_s = {"idle": 0.0, "down": 0.0, "allocated": 0.0, "slack_gpu": 0.0, "out": 0.0}
        """Node-seconds idle (free or spare), down, allocated and out of service (not yet
        installed or retired, docs/fleet.md); and ``slack_gpu``, the GPU-seconds of shared
        nodes' free GPUs (allocated nodes' GPUs that no job holds)."""
        # Node levels sampled on a fixed grid (the time series of docs/results.md).
        self.series_step_s = horizon_s / SERIES_POINTS
        self._series_next = 0.0
        self._state_s = [0.0] * (len(SERIES_KEYS) - 1)  # node-s per state (slot 0 unused)
        self._bin_mark = [0.0] * len(SERIES_KEYS)  # per-state node-s, then slack GPU-s
        self.series: dict[str, list[float]] = {k: [] for k in SERIES_KEYS}
        self.on_tick: Callable[[], None] | None = None
        """Called at the end of every :meth:`tick` (before the node change it precedes)."""
        self.on_run_record: Callable[[RunStarted | RunEnded], None] | None = None
        """Called with every epoch's start and end record as it is written."""
        self.on_record: Callable[[Event], None] | None = None
        """Called with every record as it is written (the per-period ledger's feed)."""

    def record(self, event: Event) -> None:
        """Write one record: fold it into the tally, and keep it if the log is kept."""
        self.tally.add(event)
        if self.keep_log:
            self.log.append(event)
        if self.on_record is not None:
            self.on_record(event)
        if self.on_run_record is not None and type(event) in _RUN_RECORDS:
            self.on_run_record(event)  # type: ignore[arg-type]

    @property
    def down_node_s(self) -> dict[str, float]:
        """Node-seconds in maintenance and quarantined, to the last tick.

        Both are parts of ``node_s["down"]``; the rest of it was in repair.
        """
        return {"maintenance": self._state_s[4], "quarantined": self._state_s[5]}

    def tick(self) -> None:
        """Integrate node-state levels up to now (call before any node changes state).

        ``node_s`` holds the integrals the GPU-seconds identity uses; ``_state_s`` the finer
        per-state integrals behind the time series, whose bins close only when ``now`` passes
        a bin boundary.
        """
        now = self.env.now
        if now >= self._series_next + self.series_step_s:
            self.close_bins(now)
        dt = now - self._last_tick
        if dt > 0:
            c = self.cluster
            free, spare, down = c.n_free, c.n_spare, c.n_down
            self.node_s["idle"] += (free + spare) * dt
            self.node_s["down"] += down * dt
            self.node_s["allocated"] += c.n_allocated * dt
            self.node_s["slack_gpu"] += c.slack_gpus * dt
            self.node_s["out"] += c.n_out * dt
            acc = self._state_s
            planned = len(self._down_planned)
            quarantined = len(self._quarantined)  # quarantined nodes never come back up
            acc[1] += free * dt
            acc[2] += spare * dt
            acc[3] += (down - planned - quarantined) * dt
            acc[4] += planned * dt
            acc[5] += quarantined * dt
            self._last_tick = now
        if self.on_tick is not None:
            self.on_tick()

    def _state_integrals_at(self, t: float) -> list[float]:
        """Per-state node-second integrals extended (at current levels) from the last tick to t."""
        c = self.cluster
        dt = t - self._last_tick
        planned = len(self._down_planned)
        quarantined = len(self._quarantined)
        levels = (
            c.n_allocated,
            c.n_free,
            c.n_spare,
            c.n_down - planned - quarantined,
            planned,
            quarantined,
        )
        out = [a + v * dt for a, v in zip(self._state_s, levels, strict=True)]
        out[0] = self.node_s["allocated"] + c.n_allocated * dt
        out.append(self.node_s["slack_gpu"] + c.slack_gpus * dt)  # in GPU-seconds
        return out

    def close_bins(self, now: float, final: bool = False) -> None:
        """Record the mean GPUs per state over every bin that ends by ``now``."""
        gpn = self.gpus_per_node
        step = self.series_step_s
        while len(self.series["t_s"]) < SERIES_POINTS + 1:
            start = self._series_next
            end = start + step
            if end > now:
                if not final or now <= start:
                    return
                end = now  # the last, partial bin
            at_end = self._state_integrals_at(end)
            width = end - start
            self.series["t_s"].append(start)
            slack = at_end[-1] - self._bin_mark[-1]  # shared nodes' free GPUs count as free
            for i, key in enumerate(SERIES_KEYS[1:]):
                gpu_s = (at_end[i] - self._bin_mark[i]) * gpn
                if slack:
                    gpu_s += -slack if i == 0 else slack if i == 1 else 0.0
                self.series[key].append(gpu_s / width)
            self._bin_mark = at_end
            self._series_next = end

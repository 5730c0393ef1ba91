"""The headline metrics of a run as a typed mapping: :class:`Summary`.

Owns the names and types of the ``summary`` object of ``clustersim run --json``
(docs/results.md defines every key): a ``dict``, so that it serialises, compares and indexes
exactly like the JSON, whose keys are also typed attributes (``summary.ettr`` is
``summary["ettr"]``, with NaN as ``None``). The values are computed elsewhere
(:func:`clustersim.metrics.measure`, averaged by :class:`clustersim.experiment.RunResult`).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["Summary"]


class Summary(dict[str, Any]):
    """The ``summary`` object of a result: a ``dict`` with a typed attribute per key.

    Counts are ``int`` for one replication and means (``float``) for several; ``*_ci95`` are
    ``(low, high)`` 95 % intervals of the mean, ``None`` for one replication. A key added to
    the metrics before it has an attribute here is still reachable as ``summary["key"]``.
    """

    __slots__ = ()

    def _ratio(self, key: str) -> float | None:
        """A value that may be undefined: ``None`` for a missing value or NaN."""
        value = self.get(key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        return float(value)

    def _count(self, key: str) -> float:
        """A count or amount: an ``int`` stays one (a single replication's count)."""
        value = self[key]
        return value if isinstance(value, int) else float(value)

    def _interval(self, key: str) -> tuple[float, float] | None:
        value = self.get(f"{key}_ci95")
        return None if value is None else (float(value[0]), float(value[1]))

    @property
    def ettr(self) -> float | None:
        """Scenario ETTR: useful GPU-s over held GPU-s from first start (None: none started)."""
        return self._ratio("ettr")

    @property
    def ettr_ci95(self) -> tuple[float, float] | None:
        """95 % interval of the mean ETTR across replications."""
        return self._interval("ettr")

    @property
    def goodput(self) -> float | None:
        """Useful GPU-seconds over all GPU-seconds (every GPU, spares included)."""
        return self._ratio("goodput")

    @property
    def goodput_ci95(self) -> tuple[float, float] | None:
        """95 % interval of the mean goodput."""
        return self._interval("goodput")

    @property
    def utilisation(self) -> float | None:
        """Allocated GPU-seconds over all GPU-seconds (a time-weighted level)."""
        return self._ratio("utilisation")

    @property
    def utilisation_computing(self) -> float | None:
        """GPU-seconds in training steps (useful, lost or slowed) over all GPU-seconds."""
        return self._ratio("utilisation_computing")

    @property
    def gpus_held_per_requested(self) -> float | None:
        """GPUs held over GPUs asked for, time-weighted (above 1: jobs hold whole nodes)."""
        return self._ratio("gpus_held_per_requested")

    @property
    def interruptions_total(self) -> float:
        """Interruptions of jobs (``JobInterrupted`` records), planned ones included."""
        return self._count("interruptions_total")

    @property
    def interruptions_total_ci95(self) -> tuple[float, float] | None:
        """95 % interval of the mean number of interruptions."""
        return self._interval("interruptions_total")

    @property
    def interruptions_unexpected(self) -> float:
        """Interruptions by unplanned causes."""
        return self._count("interruptions_unexpected")

    @property
    def interruptions_planned(self) -> float:
        """Interruptions by planned maintenance."""
        return self._count("interruptions_planned")

    @property
    def interruptions_by_cause(self) -> dict[str, float]:
        """Interruptions per cause (only causes that interrupted something)."""
        return dict(self.get("interruptions_by_cause") or {})

    @property
    def node_failures_total(self) -> float:
        """Node failures (``NodeFailed`` records; free and spare nodes too)."""
        return self._count("node_failures_total")

    @property
    def lost_gpu_hours_by_cause(self) -> dict[str, float]:
        """Redone work plus recovery, GPU-hours, per cause."""
        return dict(self.get("lost_gpu_hours_by_cause") or {})

    @property
    def gpu_hours_wasted(self) -> float:
        """Allocated GPU-hours that were not useful compute (stalls, recovery, lost, slow)."""
        return self._count("gpu_hours_wasted")

    @property
    def gpu_hours_wasted_ci95(self) -> tuple[float, float] | None:
        """95 % interval of the mean wasted GPU-hours."""
        return self._interval("gpu_hours_wasted")

    @property
    def energy_wasted_mwh(self) -> float:
        """Energy of the wasted GPU-hours, MWh."""
        return self._count("energy_wasted_mwh")

    @property
    def energy_wasted_mwh_ci95(self) -> tuple[float, float] | None:
        """95 % interval of the mean wasted energy, MWh."""
        return self._interval("energy_wasted_mwh")

    @property
    def energy_total_mwh(self) -> float:
        """Energy of every GPU over the simulated time, MWh."""
        return self._count("energy_total_mwh")

    @property
    def cost_wasted_usd(self) -> float:
        """Wasted GPU-hours at ``cost.usd_per_gpu_hour``, US dollars."""
        return self._count("cost_wasted_usd")

    @property
    def mean_gpus_down(self) -> float:
        """GPUs down (repair, maintenance, quarantine), time-weighted mean."""
        return self._count("mean_gpus_down")

    @property
    def gpu_hours_slowdown(self) -> float:
        """GPU-hours lost to slowdowns (stragglers, degraded links)."""
        return self._count("gpu_hours_slowdown")

    @property
    def nodes_quarantined(self) -> float:
        """Nodes retired by lemon quarantine."""
        return self._count("nodes_quarantined")

    @property
    def jobs_submitted(self) -> float:
        """Jobs submitted before the end of the run."""
        return self._count("jobs_submitted")

    @property
    def jobs_unplaceable(self) -> float:
        """Jobs that can never be placed (larger than the cluster, or than the non-spares)."""
        return self._count("jobs_unplaceable")

    @property
    def jobs_started(self) -> float:
        """Jobs placed at least once."""
        return self._count("jobs_started")

    @property
    def jobs_finished(self) -> float:
        """Jobs that completed all their work."""
        return self._count("jobs_finished")

    @property
    def mean_jct_s(self) -> float | None:
        """Mean job completion time of finished jobs, seconds."""
        return self._ratio("mean_jct_s")

    @property
    def mean_queue_wait_s(self) -> float | None:
        """Mean wait from submission to first start of started jobs, seconds."""
        return self._ratio("mean_queue_wait_s")

    @property
    def sim_time_s(self) -> float:
        """Simulated time, seconds (the horizon, or the last finish)."""
        return self._count("sim_time_s")

    @property
    def events(self) -> float:
        """Records in the event log of a replication."""
        return self._count("events")

    @property
    def replications(self) -> int:
        """Replications the summary averages."""
        return int(self.get("replications", 1))

"""Per-period metrics of long runs: failure rates by cause and cohort, goodput, repairs.

:class:`PeriodLedger` (only with ``run.period``) owns the tallies of consecutive periods of
``run.period`` from time 0: unplanned node failures by cause and by cohort, job
interruptions, nodes quarantined, and the exact time integrals of GPUs in repair and GPUs
allocated (it follows node levels through the recorder's tick, as the power meter does).
Useful GPU-seconds come from each training epoch's record, spread evenly over the epoch's
wall time (exact per epoch, uniform within it). It reads the allocator's counts and the
fleet's sets; it writes nothing else. docs/ageing.md defines every column.

With fleet changes (expansions, retirements or refresh; docs/fleet.md) it also integrates
the GPUs in service; rates are then per in-service node-day (a cohort's from its install
and retirement times), goodput is over the GPUs in service, and each row gains
``gpus_in_service``, ``energy_mwh``, ``installed``, ``retired`` and ``replaced``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np
import simpy

from clustersim.cluster import Cluster
from clustersim.cohorts import Cohorts
from clustersim.events import (
    Event,
    JobInterrupted,
    NodeFailed,
    NodeQuarantined,
    NodesInstalled,
    NodesReplaced,
    NodesRetired,
    RunEnded,
)
from clustersim.power.steps import J_PER_MWH, StepFunction

__all__ = ["PeriodLedger"]

DAY_S = 86400.0


class _Period:
    """One period's running tallies."""

    __slots__ = (
        "allocated_gpu_s",
        "by_cause",
        "by_cohort",
        "installed",
        "interruptions",
        "quarantined",
        "repair_gpu_s",
        "replaced",
        "retired",
        "service_gpu_s",
        "useful_gpu_s",
    )

    def __init__(self) -> None:
        self.by_cause: dict[str, int] = defaultdict(int)
        self.by_cohort: dict[int, int] = defaultdict(int)
        self.interruptions = 0
        self.quarantined = 0
        self.repair_gpu_s = 0.0
        self.allocated_gpu_s = 0.0
        self.useful_gpu_s = 0.0
        self.service_gpu_s = 0.0
        self.installed = 0
        self.retired = 0
        self.replaced = 0


class PeriodLedger:
    """Tallies per period of ``period_s``: failures, interruptions, repairs, goodput."""

    def __init__(
        self,
        env: simpy.Environment,
        cluster: Cluster,
        cohorts: Cohorts,
        *,
        period_s: float,
        gpus_per_node: int,
        planned_causes: set[str],
        down_planned: set[int],
        quarantined: set[int],
        energy_mwh_per_gpu_s: float | None = None,
    ) -> None:
        self.env = env
        self.cluster = cluster
        self.cohorts = cohorts
        self.period_s = period_s
        self.gpus_per_node = gpus_per_node
        self._planned = planned_causes
        self._down_planned = down_planned
        self._quarantined = quarantined
        self._last = 0.0
        self._periods: list[_Period] = []
        self.changes = energy_mwh_per_gpu_s is not None
        """Whether the fleet changes (the in-service columns; energy priced flat unless the
        power series is given to :meth:`rows`)."""
        self._mwh_per_gpu_s = energy_mwh_per_gpu_s or 0.0

    def _at(self, index: int) -> _Period:
        while len(self._periods) <= index:
            self._periods.append(_Period())
        return self._periods[index]

    def _index(self, t: float) -> int:
        """The period holding ``t``: ``i * period_s <= t < (i + 1) * period_s`` as floats.

        ``t // period_s`` alone can put a boundary ``t = (i + 1) * period_s`` (a rounded
        product) in period ``i`` (e.g. ``5 * 30.4166666667d``), where :meth:`_spread` would
        then never advance.
        """
        i = int(t // self.period_s)
        return i + 1 if (i + 1) * self.period_s <= t else i

    def _spread(self, start: float, end: float, amount_per_s: float, field: str) -> None:
        """Add ``amount_per_s`` x the overlap of ``[start, end)`` with each period."""
        t = start
        while t < end:
            i = self._index(t)
            stop = min(end, (i + 1) * self.period_s)
            p = self._at(i)
            setattr(p, field, getattr(p, field) + amount_per_s * (stop - t))
            t = stop

    def tick(self) -> None:
        """Integrate GPUs in repair and allocated up to now (before a node changes state)."""
        now = self.env.now
        if now <= self._last:
            return
        c = self.cluster
        gpn = self.gpus_per_node
        repair = c.n_down - len(self._down_planned) - len(self._quarantined)
        self._spread(self._last, now, repair * gpn, "repair_gpu_s")
        self._spread(self._last, now, c.n_allocated * gpn, "allocated_gpu_s")
        if self.changes:
            in_service = c.topology.n_nodes - c.n_out
            self._spread(self._last, now, in_service * gpn, "service_gpu_s")
        self._last = now

    def record(self, ev: Event) -> None:
        """Fold one record into its period."""
        if isinstance(ev, NodeFailed):
            if ev.cause not in self._planned:
                p = self._at(self._index(ev.t))
                p.by_cause[ev.cause] += 1
                p.by_cohort[self.cohorts.cohort_of(ev.node)] += 1
        elif isinstance(ev, JobInterrupted):
            if not ev.planned:
                self._at(self._index(ev.t)).interruptions += 1
        elif isinstance(ev, NodeQuarantined):
            self._at(self._index(ev.t)).quarantined += 1
        elif isinstance(ev, NodesInstalled):
            self._at(self._index(ev.t)).installed += len(ev.nodes)
        elif isinstance(ev, NodesRetired):
            self._at(self._index(ev.t)).retired += len(ev.nodes)
        elif isinstance(ev, NodesReplaced):
            self._at(self._index(ev.t)).replaced += len(ev.nodes)
        elif isinstance(ev, RunEnded):
            wall = ev.work_s + ev.stall_s + ev.slow_s
            useful = (ev.work_s - ev.lost_s) * ev.gpus
            if wall > 0:
                self._spread(ev.t - wall, ev.t, useful / wall, "useful_gpu_s")
            elif useful:
                self._at(self._index(ev.t)).useful_gpu_s += useful

    def rows(self, end_s: float, power: StepFunction | None = None) -> list[dict[str, Any]]:
        """One row per period up to ``end_s`` (the last one may be partial).

        With fleet changes, ``power`` (the facility power series) prices each period's energy;
        without it the flat ``cost.mwh_per_gpu_year`` per GPU in service does.
        """
        self.tick()
        n_periods = max(1, math.ceil(end_s / self.period_s - 1e-12)) if end_s > 0 else 0
        cohorts = self.cohorts
        n_nodes = sum(cohorts.counts)
        gpus = n_nodes * self.gpus_per_node
        out: list[dict[str, Any]] = []
        quarantined_total = 0
        energy: list[float] = []
        if self.changes and power is not None and n_periods:
            edges = np.minimum(np.arange(n_periods + 1) * self.period_s, end_s)
            edges[-1] = end_s
            energy = (power.bin_means(edges) * np.diff(edges) / J_PER_MWH).tolist()
        for i in range(n_periods):
            p = self._at(i)
            start = i * self.period_s
            length = min(end_s, start + self.period_s) - start
            days = length / DAY_S
            node_days = n_nodes * days
            cohort_days = [count * days for count in cohorts.counts]
            service_gpu_s = gpus * length
            if self.changes:
                service_gpu_s = p.service_gpu_s
                node_days = service_gpu_s / self.gpus_per_node / DAY_S
                cohort_days = [
                    count * cohorts.in_service_s(c, start, start + length) / DAY_S
                    for c, count in enumerate(cohorts.counts)
                ]
            per_k = 1000.0 / node_days if node_days > 0 else 0.0
            quarantined_total += p.quarantined
            failures = sum(p.by_cause.values())
            row: dict[str, Any] = {
                "start_s": start,
                "days": days,
                "node_failures": failures,
                "failures_per_1000_node_days": failures * per_k,
                "by_cause": {k: p.by_cause[k] * per_k for k in sorted(p.by_cause)},
                "by_cohort": {
                    name: p.by_cohort.get(c, 0) * 1000.0 / cohort_days[c]
                    if cohort_days[c] > 0
                    else 0.0
                    for c, name in enumerate(cohorts.names)
                },
                "interruptions": p.interruptions,
                "gpus_in_repair": p.repair_gpu_s / length if length > 0 else 0.0,
                "goodput": p.useful_gpu_s / service_gpu_s if service_gpu_s > 0 else 0.0,
                "ettr": p.useful_gpu_s / p.allocated_gpu_s if p.allocated_gpu_s > 0 else None,
                "quarantined": p.quarantined,
                "quarantined_total": quarantined_total,
            }
            if self.changes:
                row["gpus_in_service"] = service_gpu_s / length if length > 0 else 0.0
                row["energy_mwh"] = energy[i] if energy else service_gpu_s * self._mwh_per_gpu_s
                row["installed"] = p.installed
                row["retired"] = p.retired
                row["replaced"] = p.replaced
            out.append(row)
        return out

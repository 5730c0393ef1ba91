"""What :func:`clustersim.sweep` returns: :class:`SweepResult`, a sweep's records as data.

Owns the public shape of a finished sweep: the base scenario, the grid, the point records of
:func:`clustersim.sweep.runner.sweep` (docs/sweeps.md), paired differences against a
baseline, the ``clustersim sweep --json`` object, DataFrames of the points and of their
replications (:mod:`clustersim.frames`), and the command line's table in a console or
notebook. It computes nothing new: records and differences come from the runner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from clustersim.config import Scenario
from clustersim.experiment import CI_KEYS
from clustersim.frames import frame, knob_column, summary_row
from clustersim.summary import Summary
from clustersim.sweep.runner import paired

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import RenderableType

__all__ = ["SweepResult"]


@dataclass(frozen=True, slots=True)
class SweepResult:
    """A finished sweep: one record per grid point, in grid order, and how long it took.

    ``records`` are the point records of docs/sweeps.md (``point``: the knobs as typed,
    ``values``: parsed, ``summary``, ``gpu_seconds``, ``per_replication``); ``baseline`` is
    the reference of the paired differences (``None``: the first point). ``to_pandas()`` has
    one row per point (knobs, then the summary's columns), ``reps_frame()`` one per point and
    replication, ``paired_frame()`` the paired differences from the baseline.
    """

    scenario: Scenario
    grid: dict[str, list[str]]
    reps: int
    seed: int
    records: list[dict[str, Any]]
    baseline: dict[str, str] | None
    wall_s: float
    """Wall-clock seconds of this call (points resumed from a results file cost nothing)."""

    @property
    def summaries(self) -> list[Summary]:
        """Each point's summary, typed (``result.summaries[0].ettr``)."""
        return [Summary(rec["summary"]) for rec in self.records]

    def paired(self, baseline: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Paired differences (point − reference) per metric, with 95 % CIs.

        ``baseline`` as for :func:`clustersim.sweep.paired`; default: this sweep's.
        """
        return paired(self.records, self.baseline if baseline is None else baseline)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``clustersim sweep --json`` (``run``: the wall time)."""
        return {
            "grid": self.grid,
            "reps": self.reps,
            "seed": self.seed,
            "records": self.records,
            "paired": self.paired(),
            "run": {"wall_s": self.wall_s},
        }

    def _knobs(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """A point's knobs in base units, the unit in the name (``checkpoint.interval_s``)."""
        return {knob_column(key): record["values"][key] for key in self.grid}

    def to_pandas(self) -> pd.DataFrame:
        """One row per point: its knobs (base units: ``checkpoint.interval_s``), its summary."""
        return frame({**self._knobs(r), **summary_row(r["summary"])} for r in self.records)

    def reps_frame(self) -> pd.DataFrame:
        """One row per point and replication: knobs, replication, that replication's values."""
        return frame(
            {**self._knobs(r), **rep} for r in self.records for rep in r["per_replication"]
        )

    def paired_frame(self) -> pd.DataFrame:
        """One row per point: its knobs, and per metric the paired difference from its reference.

        For each interval metric (``ettr``, ``goodput``, ...): ``METRIC_diff`` (the mean of
        the per-replication differences point − reference), ``METRIC_diff_ci95_low`` and
        ``_high``; ``pairs`` the replications paired. The reference point's own row is 0.
        """
        rows = []
        for record, diff in zip(self.records, self.paired(), strict=True):
            row = self._knobs(record)
            for key in CI_KEYS:
                d = diff[key] or {"mean": None, "ci95": None, "pairs": 0}
                low, high = d["ci95"] or (None, None)
                row |= {f"{key}_diff": d["mean"], f"{key}_diff_ci95_low": low}
                row |= {f"{key}_diff_ci95_high": high, "pairs": d["pairs"]}
            rows.append(row)
        return frame(rows)

    def __rich__(self) -> RenderableType:
        """The table of ``clustersim sweep``."""
        from clustersim.sweep.report import sweep_table

        return sweep_table(
            self.scenario.name, self.grid, self.reps, self.seed, self.records, self.paired()
        )

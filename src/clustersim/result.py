"""The public results of :func:`clustersim.run` and :func:`clustersim.validate`.

Owns the shape a library user sees: :class:`Result` is a run's
:class:`~clustersim.experiment.RunResult` (the same value the renderers, sweeps and plans use)
with the accessors of the JSON contract (docs/results.md) as typed attributes, DataFrames of
each table (:mod:`clustersim.frames`; pandas only when asked for) and a rich rendering equal
to the command line's summary. :class:`Validation` holds the cases of ``clustersim validate``
as data. Neither computes a metric: the values come from :mod:`clustersim.experiment` and
:mod:`clustersim.analysis.validate`.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import orjson

from clustersim.config import UsageError
from clustersim.experiment import RunResult
from clustersim.frames import frame, summary_row
from clustersim.metrics import JobRow

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import RenderableType

    from clustersim.analysis.validate import CaseResult, Estimate

__all__ = ["Result", "Validation"]

HTML_WIDTH = 110
"""Characters per line of a result drawn in a notebook."""


def _html(renderable: Any) -> str:
    """``renderable`` as HTML, for a notebook's rich display (``_repr_html_``)."""
    from rich.console import Console

    console = Console(record=True, file=io.StringIO(), width=HTML_WIDTH, force_jupyter=False)
    console.print(renderable)
    return console.export_html(inline_styles=True, code_format="<pre>{code}</pre>")


class Result(RunResult):
    """What :func:`clustersim.run` returns: a run's results, the scenario and the seed.

    Attributes mirror the JSON of ``clustersim run --json`` (docs/results.md): ``summary``
    (typed: ``result.summary.ettr``), ``gpu_hours``, ``causes``, ``jobs`` and ``timeseries``
    (replication 0), ``events`` (replication 0's log, if the run kept it), ``scenario`` (fully
    resolved: ``clustersim.run(result.scenario)`` reproduces the result), ``seed`` and ``run``
    (wall time and speed, the only part that is not a function of scenario and seed).
    ``to_json()`` is the command line's JSON. The ``*_frame()`` methods give each table as a
    pandas DataFrame, every replication in it (a ``replication`` column), units in the column
    names; ``to_pandas()`` is the summary as one row. Shown in a console or a notebook, it is
    the command line's summary.
    """

    __slots__ = ()

    @classmethod
    def _of(cls, result: RunResult) -> Result:
        """The public result of an internal one (the same values, not copied)."""
        return cls(result.scenario, result.seed, result.replications, result.events, result.run)

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"Result(scenario={self.scenario.name!r}, seed={self.seed}, "
            f"reps={len(self.replications)}, ettr={s.ettr!r}, goodput={s.goodput!r})"
        )

    @property
    def gpu_hours(self) -> dict[str, float]:
        """The GPU-seconds identity in GPU-hours (``total``, ``useful``, ``checkpoint``, ...)."""
        return {key: value / 3600.0 for key, value in self.gpu_seconds.items()}

    @property
    def jobs(self) -> list[JobRow]:
        """Replication 0's per-job rows (``jobs_frame()`` has every replication's)."""
        return list(self.replications[0].jobs)

    @property
    def timeseries(self) -> dict[str, list[float]]:
        """Replication 0's GPUs by node state over time (``t_s``, ``gpus_allocated``, ...)."""
        return dict(self.replications[0].timeseries)

    @property
    def unplaceable(self) -> dict[str, list[str]]:
        """Replication 0's jobs that can never be placed, by reason (empty if none)."""
        return dict(self.replications[0].unplaceable)

    def to_json(self, *, jobs: bool = True) -> str:
        """The JSON object of ``clustersim run --json`` (``jobs=False``: ``--no-jobs``)."""
        return orjson.dumps(self.to_dict(jobs=jobs), option=orjson.OPT_INDENT_2).decode() + "\n"

    def to_pandas(self) -> pd.DataFrame:
        """The summary as a one-row DataFrame (scenario, seed, then the summary's columns)."""
        head = {"scenario": self.scenario.name, "seed": self.seed}
        return frame([{**head, **summary_row(self.summary)}])

    def reps_frame(self) -> pd.DataFrame:
        """One row per replication: its summary's values (no intervals: one sample each)."""
        return frame(
            {"replication": i, **summary_row(m.summary)} for i, m in enumerate(self.replications)
        )

    def jobs_frame(self) -> pd.DataFrame:
        """One row per job and replication: the ``jobs`` rows of every replication."""
        columns = ["replication", *JobRow.__dataclass_fields__]
        return frame(
            (
                {"replication": i, **asdict(job)}
                for i, m in enumerate(self.replications)
                for job in m.jobs
            ),
            columns,
        )

    def causes_frame(self) -> pd.DataFrame:
        """One row per cause: the ``causes`` table averaged over replications."""
        return frame({"cause": name, **values} for name, values in self.causes.items())

    def timeseries_frame(self) -> pd.DataFrame:
        """One row per time bin and replication: GPUs by node state (``t_s`` the bin start)."""
        rows = []
        for i, m in enumerate(self.replications):
            series = m.timeseries
            for k in range(len(series.get("t_s", ()))):
                rows.append(
                    {"replication": i, **{key: values[k] for key, values in series.items()}}
                )
        return frame(rows)

    def events_frame(self) -> pd.DataFrame:
        """Replication 0's event log, one row per record (``type``, ``t``, its fields).

        Raises:
            UsageError: the run did not keep its events (``clustersim.run(..., events=True)``).
        """
        if self.events is None:
            raise UsageError("the run kept no events: run it with events=True")
        return frame({"type": type(ev).__name__, **asdict(ev)} for ev in self.events)

    def __rich__(self) -> RenderableType:
        """The command line's summary: head, GPU-hours, causes and jobs tables."""
        from clustersim.output.terminal import render_result

        return render_result(self)

    def _repr_html_(self) -> str:
        return _html(self)


@dataclass(frozen=True, slots=True)
class Validation:
    """What :func:`clustersim.validate` returns: each case's rows as data, and the verdict.

    ``cases`` are the :class:`~clustersim.analysis.validate.CaseResult` s (each with its
    ``rows``: quantity, formula, DES and MC estimates, published value, status); ``passed`` is
    whether no row failed; ``wall_s`` how long they took. ``to_dict()`` is ``validate --json``,
    ``to_markdown()`` the report of docs/validation.md, ``to_pandas()`` one row per row.
    """

    cases: tuple[CaseResult, ...]
    quick: bool
    wall_s: float

    @property
    def passed(self) -> bool:
        """Whether every case passed."""
        return all(case.passed for case in self.cases)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``clustersim validate --json``."""
        from clustersim.analysis.validate import to_dict

        return to_dict(list(self.cases))

    def to_markdown(self) -> str:
        """The markdown report (docs/validation.md is this, generated)."""
        from clustersim.analysis.validate import to_markdown

        return to_markdown(list(self.cases), self.quick)

    def to_pandas(self) -> pd.DataFrame:
        """One row per compared quantity: case, quantity, formula, DES and MC, status."""
        rows = []
        for case in self.cases:
            for r in case.rows:
                rows.append(
                    {
                        "case": case.name,
                        "quantity": r.quantity,
                        "formula": r.formula,
                        **_estimate("des", r.des),
                        **_estimate("mc", r.mc),
                        "published": r.published,
                        "source": r.source,
                        "status": r.status,
                        "note": r.note,
                    }
                )
        return frame(rows)

    def __rich__(self) -> RenderableType:
        """The command line's tables, one per case, and the verdict."""
        from clustersim.output.terminal import render_validation

        return render_validation(list(self.cases))

    def _repr_html_(self) -> str:
        return _html(self)


def _estimate(prefix: str, e: Estimate | None) -> dict[str, Any]:
    """An estimate as ``PREFIX_mean``, ``PREFIX_ci95_low``, ``PREFIX_ci95_high``, ``PREFIX_n``."""
    if e is None:
        return {f"{prefix}_{k}": None for k in ("mean", "ci95_low", "ci95_high", "n")}
    return {
        f"{prefix}_mean": e.mean,
        f"{prefix}_ci95_low": e.low,
        f"{prefix}_ci95_high": e.high,
        f"{prefix}_n": e.n,
    }

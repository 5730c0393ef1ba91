"""What :func:`clustersim.plan` returns: :class:`PlanResult`, a plan's JSON object as data.

Owns the public shape of a finished plan: the object of ``clustersim plan --json``
(docs/planning.md) with the recommendation of each scale, DataFrames of the DES-confirmed
points, of the fast-path screen and of the DES replications (:mod:`clustersim.frames`), the
markdown report and the command line's tables in a console or notebook. The search itself is
:func:`clustersim.plan.planner.plan`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from clustersim.frames import frame, knob_column
from clustersim.plan.report import render, to_markdown

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import RenderableType

__all__ = ["PlanResult"]


@dataclass(frozen=True, slots=True)
class PlanResult:
    """A finished plan: for each scale, the cheapest settings that reach the target ETTR.

    ``data`` is the JSON object of ``clustersim plan --json`` (docs/planning.md);
    ``recommendations`` each scale's confirmed pick (``None`` where none met the target).
    ``to_pandas()`` has one row per DES-confirmed point, ``screen_frame()`` the fast path's
    shortlist, ``reps_frame()`` one row per DES replication; knob columns hold base units,
    named with them (``checkpoint.interval_s``).
    """

    data: dict[str, Any]
    wall_s: float
    """Wall-clock seconds of the plan."""

    @property
    def scales(self) -> list[dict[str, Any]]:
        """Each scale's plan (``gpus``, ``status``, ``recommendation``, ``des_points``, ...)."""
        return list(self.data["scales"])

    @property
    def recommendations(self) -> list[dict[str, Any] | None]:
        """Each scale's recommended point, or ``None`` where no point met the target."""
        return [scale["recommendation"] for scale in self.data["scales"]]

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``clustersim plan --json`` (``run``: the wall time)."""
        return {**self.data, "run": {"wall_s": self.wall_s}}

    def to_markdown(self) -> str:
        """The markdown report of ``clustersim plan --out plan.md``."""
        return to_markdown(self.data)

    def _points(self, key: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """``(columns of the scale and the point's knobs, point)`` for each scale's ``key`` list."""
        for scale in self.data["scales"]:
            for point in scale[key]:
                yield {"gpus": scale["gpus"], **_knobs(point["values"])}, point

    def to_pandas(self) -> pd.DataFrame:
        """One row per DES-confirmed point: scale, knobs, cost, fast-path and DES ETTR."""
        rows = []
        for scale in self.data["scales"]:
            picked = scale["recommendation"]
            for point in scale["des_points"]:
                des = point["des"]
                low, high = des["ettr_ci95"] or (None, None)
                rows.append(
                    {
                        "gpus": scale["gpus"],
                        **_knobs(point["values"]),
                        "cost_usd_month": point["cost_usd_month"],
                        "analytic_ettr": point["analytic_ettr"],
                        "mc_ettr": (point["mc"] or {}).get("ettr"),
                        "des_ettr": des["ettr"],
                        "des_ettr_ci95_low": low,
                        "des_ettr_ci95_high": high,
                        "des_replications": des["replications"],
                        "meets": point["meets"],
                        "pareto": point["pareto"],
                        "recommended": picked is not None and picked["values"] == point["values"],
                    }
                )
        return frame(rows)

    def screen_frame(self) -> pd.DataFrame:
        """The fast path's shortlist of each scale: knobs, cost, exact and Monte Carlo ETTR."""
        return frame(
            {
                **head,
                "cost_usd_month": point["cost_usd_month"],
                "analytic_ettr": point["analytic_ettr"],
                "mc_ettr": (point["mc"] or {}).get("ettr"),
            }
            for head, point in self._points("screen")
        )

    def reps_frame(self) -> pd.DataFrame:
        """One row per DES replication of each confirmed point: scale, knobs, its ETTR."""
        return frame(
            {**head, "replication": i, "ettr": ettr}
            for head, point in self._points("des_points")
            for i, ettr in enumerate(point["des"]["ettr_per_replication"])
        )

    def __rich__(self) -> RenderableType:
        """The tables of ``clustersim plan``."""
        return render(self.data)  # type: ignore[no-any-return]


def _knobs(values: Mapping[str, float]) -> dict[str, float]:
    """Knob values in base units, each column named with its unit."""
    return {knob_column(path): value for path, value in sorted(values.items())}

"""Parameter sweeps: many grid points × replications on any ``concurrent.futures.Executor``.

* :mod:`~clustersim.sweep.grid`: what a grid means (``--grid`` specs, points, each point's
  scenario and parsed knob values);
* :mod:`~clustersim.sweep.runner`: running points on an executor (Dask, a process pool or
  serially), aggregating them, paired differences, and :func:`sweep` for a whole grid;
* :mod:`~clustersim.sweep.results`: results files (append as you go, resume, CSV/Parquet);
* :mod:`~clustersim.sweep.plot`: figures of a results file (matplotlib, the ``plot`` extra).

The stable API is re-exported here: :func:`executor`, :func:`run_points`, :func:`sweep`,
:func:`paired` and the grid helpers. The package is callable, as the issue's API asks:
``clustersim.sweep(scenario, grid, reps, seed)`` runs :func:`sweep`, while
``clustersim.sweep.executor`` and the rest stay attributes (``clustersim/__init__.py`` imports
the package on first use, so that ``import clustersim`` stays light).
"""

from __future__ import annotations

import concurrent.futures as cf
import sys
import types
from collections.abc import Mapping, Sequence
from typing import Any

from clustersim.config import Scenario
from clustersim.sweep.grid import (
    Grid,
    Point,
    grid_points,
    knob_value,
    parse_grid,
    point_scenario,
    split_values,
)
from clustersim.sweep.runner import (
    SerialExecutor,
    executor,
    paired,
    point_record,
    run_points,
    sweep,
)

__all__ = [
    "Grid",
    "Point",
    "SerialExecutor",
    "executor",
    "grid_points",
    "knob_value",
    "paired",
    "parse_grid",
    "point_record",
    "point_scenario",
    "run_points",
    "split_values",
    "sweep",
]


class _CallableModule(types.ModuleType):
    """The sweep package made callable, as the issue's API asks.

    ``clustersim.sweep(scenario, grid, reps, seed)`` runs :func:`sweep`, while
    ``clustersim.sweep.executor`` and the rest stay package attributes.
    """

    def __call__(
        self,
        scenario: Scenario,
        grid: Mapping[str, Sequence[str]],
        reps: int,
        seed: int,
        executor: cf.Executor | None = None,
        **options: Any,
    ) -> list[dict[str, Any]]:
        return sweep(scenario, grid, reps, seed, executor, **options)


sys.modules[__name__].__class__ = _CallableModule

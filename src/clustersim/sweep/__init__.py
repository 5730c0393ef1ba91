"""Parameter sweeps: many grid points × replications on any ``concurrent.futures.Executor``.

* :mod:`~clustersim.sweep.grid`: what a grid means (``--grid`` specs, points, each point's
  scenario and parsed knob values);
* :mod:`~clustersim.sweep.runner`: running points on an executor (Dask, a process pool or
  serially), aggregating them, paired differences, and :func:`sweep` for a whole grid;
* :mod:`~clustersim.sweep.results`: results files (append as you go, resume, CSV/Parquet);
* :mod:`~clustersim.sweep.plot`: figures of a results file (matplotlib, the ``plot`` extra).

* :mod:`~clustersim.sweep.result`: :class:`~clustersim.sweep.result.SweepResult`, what the
  public API returns;
* :mod:`~clustersim.sweep.report`: the table of a sweep for people.

The stable API is re-exported here: :func:`executor`, :func:`run_points`, :func:`sweep`,
:func:`paired` and the grid helpers. The package is callable: ``clustersim.sweep(scenario,
grid, reps, seed, ...)`` is the public :func:`clustersim.api.sweep` (a
:class:`~clustersim.sweep.result.SweepResult`), while ``clustersim.sweep.executor`` and the
rest stay attributes (``clustersim/__init__.py`` imports the package on first use, so that
``import clustersim`` stays light). A subpackage named like a function would otherwise replace
the function on the package ``clustersim`` as soon as it is imported.
"""

from __future__ import annotations

import sys

from clustersim.callable_package import CallablePackage
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


sys.modules[__name__].__class__ = CallablePackage

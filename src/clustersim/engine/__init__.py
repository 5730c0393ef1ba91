"""The discrete-event engine: a few components, each the only writer of one kind of state.

See :mod:`clustersim.engine.simulation` for the wiring and ``docs/architecture.md`` for the
picture. ``Simulation`` is the entry point: build it from a scenario, call ``run()``, and
hand it to :func:`clustersim.metrics.measure`.
"""

from __future__ import annotations

from clustersim.engine.recorder import SERIES_KEYS, SERIES_POINTS
from clustersim.engine.simulation import ProgressCallback, Simulation

__all__ = ["SERIES_KEYS", "SERIES_POINTS", "ProgressCallback", "Simulation"]

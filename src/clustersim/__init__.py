"""clustersim: a discrete-event simulator of very large GPU training clusters.

It schedules gang-scheduled training jobs onto a topology of nodes, racks and pods, injects
failures, and measures what they cost (checkpoint overhead, lost work, restart time, ETTR,
goodput, GPU-hours and energy wasted)::

    import clustersim as cs

    scenario = cs.load("single-job", **{"checkpoint.interval": "10m"})
    result = cs.run(scenario, reps=4, seed=1)
    result.summary.ettr, result.jobs_frame()

The names in ``__all__`` are the public API (docs/api.md); they live in
:mod:`clustersim.api` and are imported on first use, so that ``import clustersim`` loads
nothing heavy (no numpy, pydantic, rich or pandas). ``clustersim.sweep`` and
``clustersim.plan`` are packages that can be called like the functions they are named after.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clustersim.version import __version__

if TYPE_CHECKING:
    from clustersim.api import (
        ClusterSimError,
        ClusterSimWarning,
        ConfigError,
        PlanResult,
        Problem,
        Progress,
        ResourceError,
        Result,
        RunStats,
        Scenario,
        Summary,
        SweepResult,
        UsageError,
        Validation,
        load,
        plan,
        presets,
        run,
        sweep,
        validate,
    )

__all__ = [
    "ClusterSimError",
    "ClusterSimWarning",
    "ConfigError",
    "PlanResult",
    "Problem",
    "Progress",
    "ResourceError",
    "Result",
    "RunStats",
    "Scenario",
    "Summary",
    "SweepResult",
    "UsageError",
    "Validation",
    "__version__",
    "load",
    "plan",
    "presets",
    "run",
    "sweep",
    "validate",
]


def __getattr__(name: str) -> object:
    """Import a public name from :mod:`clustersim.api` on first use (PEP 562)."""
    if name == "sweep":
        import clustersim.sweep

        return clustersim.sweep
    if name == "plan":
        import clustersim.plan

        return clustersim.plan
    if name in __all__:
        from clustersim import api

        return getattr(api, name)
    raise AttributeError(f"module 'clustersim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

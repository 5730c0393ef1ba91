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

from clustersim.version import __version__

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a few ms at start-up)
if TYPE_CHECKING:  # what __getattr__ gives, as the type checker should see it
    from clustersim.api import Progress, load, plan, presets, run, sweep, validate
    from clustersim.config import ConfigError, Problem, Scenario, UsageError
    from clustersim.errors import ClusterSimError, ClusterSimWarning, ResourceError
    from clustersim.experiment import RunStats
    from clustersim.plan.result import PlanResult
    from clustersim.result import Result, Validation
    from clustersim.summary import Summary
    from clustersim.sweep.result import SweepResult

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
    """Import a public name on first use (PEP 562): from :mod:`clustersim.api`, or its package."""
    if name == "sweep":
        import clustersim.sweep

        return clustersim.sweep
    if name == "plan":
        import clustersim.plan

        return clustersim.plan
    if name == "SweepResult":
        from clustersim.sweep.result import SweepResult

        return SweepResult
    if name == "PlanResult":
        from clustersim.plan.result import PlanResult

        return PlanResult
    if name in __all__:
        from clustersim import api

        return getattr(api, name)
    raise AttributeError(f"module 'clustersim' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public names (for completion in a console or notebook) and the module's own."""
    return sorted({*globals(), *__all__} - {"TYPE_CHECKING"})

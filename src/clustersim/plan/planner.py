"""The entry point of ``clustersim plan``: every scale planned in turn, in one JSON object.

:func:`plan` owns the order across scales: it shares the DES budget between them, scales the
scenario to each size, has :func:`clustersim.plan.search.plan_scale` plan it, and adds the
cost model and the run's identity.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from clustersim.config import ConfigError, Scenario
from clustersim.plan.core import PlanOptions, SerialExecutor, _Budget, _context, never_starts
from clustersim.plan.knobs import default_price, scale_scenario
from clustersim.plan.search import plan_scale
from clustersim.version import __version__

__all__ = ["plan"]


def plan(
    scenario: Scenario,
    options: PlanOptions,
    *,
    executor: Executor | None = None,
    progress: Callable[[float, float], None] | None = None,
) -> dict[str, Any]:
    """Plan ``scenario`` for ``options.target`` at its own size or at each ``options.scales``.

    Returns the JSON object of ``clustersim plan --json`` (docs/planning.md). The DES runs
    through ``executor`` (default: serial, in this process) and never exceeds
    ``options.budget`` replications in all.

    Raises:
        ConfigError: a job of the scenario (at some scale) can never start (exit 65).
    """
    pool = executor if executor is not None else SerialExecutor()
    budget = _Budget(options.budget, options.reps, progress=progress)
    sizes: list[int | None] = list(options.scales) or [None]
    scales: list[dict[str, Any]] = []
    scaled = [scenario if gpus is None else scale_scenario(scenario, gpus) for gpus in sizes]
    for gpus, sc in zip(sizes, scaled, strict=True):  # before any work: one line, exit 65
        reason = never_starts(sc)
        if reason is not None:
            at = "" if gpus is None else f" at {gpus:,} GPUs"
            raise ConfigError([f"plan {scenario.name}{at}: {reason}"])
    for i, sc in enumerate(scaled):
        budget.limit = budget.used + (budget.total - budget.used) // (len(sizes) - i)
        scales.append(plan_scale(_context(sc, options, pool, budget)))
    prices = {
        r.knob.path: {
            "unit": r.knob.unit,
            "kind": r.knob.cost,
            "usd_per_unit_month": options.prices.get(r.knob.path, default_price(r.knob, scenario)),
        }
        for r in options.knobs
    }
    return {
        "clustersim_version": __version__,
        "scenario": scenario.name,
        "seed": options.seed,
        "target": {"metric": "ettr", "value": options.target},
        "meets_rule": "DES 95 % CI lower bound >= target",
        "budget": options.budget,
        "reps_per_point": options.reps,
        "des_replications": budget.used,
        "mc_replications_per_point": options.mc_reps,
        "cost_model": prices,
        "scales": scales,
    }

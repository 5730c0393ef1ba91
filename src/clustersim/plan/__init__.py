"""``clustersim plan``: the cheapest knob settings that reach a target ETTR, found and confirmed.

The search owns three stages per scale (docs/planning.md):

1. **Screen** every combination of the priced knobs (bandwidth, init time, detection) on the
   fast path: the exact single-job model (``analytic.exact_ettr`` with the job's MTBF, stall
   and mean restart, derated for planned maintenance), then the vectorised Monte Carlo
   (``mc``, DES semantics) on the cheapest combinations near the target where the scenario's
   fault kinds allow it. The checkpoint interval is free, so each combination gets the grid
   interval the exact model likes best. The fast path assumes a replacement is always at hand,
   so it cannot see spares.
2. **Confirm** candidates with the DES, cheapest first (spare levels included), each with
   ``reps`` replications under common random numbers (replication ``i`` of every candidate
   draws the same failures), until three meet the target, the candidates run out, or the DES
   budget (replications in all) is spent. A candidate *meets* the target when the lower bound
   of its DES 95 % interval does; one whose mean meets it but whose interval does not yet gets
   the next replication indices, up to four times ``reps``.
3. If nothing meets it: the best configuration the knobs allow, and the failure-rate
   multiplier that would be needed (bisection on the fast path, then the DES at that
   multiplier and a few smaller ones while the budget lasts).

Modules: :mod:`~clustersim.plan.knobs` (the knobs, their ranges and prices, scaling),
:mod:`~clustersim.plan.core` (fast path, DES points, budget), :mod:`~clustersim.plan.search`
(one scale's stages), :mod:`~clustersim.plan.planner` (:func:`plan`, every scale) and
:mod:`~clustersim.plan.report` (markdown and rich tables of a result).

:func:`plan` returns one JSON-ready dict; it never prints. :mod:`~clustersim.plan.result`
holds :class:`~clustersim.plan.result.PlanResult`, what the public API returns. The package is
callable: ``clustersim.plan(scenario, target, ...)`` is the public :func:`clustersim.api.plan`
(as :mod:`clustersim.sweep` is, and for the same reason).
"""

import sys

from clustersim.callable_package import CallablePackage
from clustersim.plan.core import (
    PlanOptions,
    SerialExecutor,
    des_point,
    des_reps,
    fast_model,
    summarise,
)
from clustersim.plan.planner import plan

__all__ = [
    "PlanOptions",
    "SerialExecutor",
    "des_point",
    "des_reps",
    "fast_model",
    "plan",
    "summarise",
]


sys.modules[__name__].__class__ = CallablePackage

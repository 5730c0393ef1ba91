"""What every validation case is made of: estimates, rows, case results, shared scenarios.

A case returns a :class:`CaseResult` of :class:`Row` s; a row compares a formula with DES and
MC :class:`Estimate` s and a published value. Here too are the estimators the cases share
(the ratio-of-sums ETTR, a Student-t mean, a paired difference under common random numbers)
and :func:`single_job`, the single-job scenario set to a job MTBF, stall, restart and interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from clustersim.analysis import mc
from clustersim.config import Scenario, load_scenario
from clustersim.experiment import RunResult, ci95
from clustersim.metrics import t_quantile_975

__all__ = [
    "DAY",
    "DESIGN6",
    "HOUR",
    "TABLE5",
    "CaseResult",
    "Estimate",
    "Row",
    "Status",
    "close",
    "des_ettr",
    "estimate",
    "mc_ettr",
    "paired",
    "ratio_estimate",
    "reps_for",
    "single_job",
    "verdict",
]

Status = Literal["PASS", "FAIL", "INFO"]
HOUR = 3600.0
DAY = 86400.0
TABLE5 = "../shared/data/llama3_interruptions.csv"
DESIGN6 = "DESIGN.md §6"


@dataclass(frozen=True, slots=True)
class Estimate:
    """A simulated mean with its 95 % confidence interval and the sample it came from."""

    mean: float
    low: float
    high: float
    n: int

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies inside the interval."""
        return self.low <= value <= self.high


@dataclass(frozen=True, slots=True)
class Row:
    """One compared quantity."""

    quantity: str
    formula: float | None = None
    des: Estimate | None = None
    mc: Estimate | None = None
    published: float | None = None
    source: str = ""
    status: Status = "INFO"
    note: str = ""


@dataclass(slots=True)
class CaseResult:
    """The rows of one case, its inputs and how many failures its simulations saw."""

    name: str
    title: str
    inputs: dict[str, str]
    rows: list[Row] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No row failed."""
        return all(r.status != "FAIL" for r in self.rows)


def verdict(*checks: bool) -> Status:
    """PASS if every check holds, else FAIL."""
    return "PASS" if all(checks) else "FAIL"


def close(a: float, b: float, tol: float) -> bool:
    """Whether ``a`` and ``b`` differ by at most ``tol``."""
    return abs(a - b) <= tol


def ratio_estimate(useful: np.ndarray, wall: np.ndarray) -> Estimate:
    """ETTR as a ratio of sums over replications, with a delta-method 95 % interval.

    The mean of per-replication ratios is biased upwards for short runs (Jensen: 1/T is
    convex); the ratio of sums is the renewal-reward estimator that converges to the
    formula's long-run ETTR.
    """
    n = len(useful)
    ratio = float(useful.sum() / wall.sum())
    resid = useful - ratio * wall
    se = math.sqrt(float(resid.var(ddof=1)) / n) / float(wall.mean()) if n > 1 else math.inf
    half = t_quantile_975(n - 1) * se
    return Estimate(ratio, ratio - half, ratio + half, n)


def des_ettr(result: RunResult) -> Estimate:
    """The first job's ETTR over a run's replications (ratio of sums, from its first start)."""
    rows = [m.jobs[0] for m in result.replications]
    useful = np.array([r.progress_s for r in rows])
    wall = np.array(
        [
            (
                (r.finish_s if r.finish_s is not None else m.summary["sim_time_s"])
                - (r.first_start_s or 0.0)
            )
            for r, m in zip(rows, result.replications, strict=True)
        ]
    )
    return ratio_estimate(useful, wall)


def mc_ettr(scenario: Scenario, reps: int, seed: int = 1) -> Estimate:
    """The single job's ETTR by the vectorised Monte Carlo over ``reps`` replicas."""
    res = mc.simulate(mc.SingleJobModel.from_scenario(scenario), reps, seed)
    return ratio_estimate(res.progress_s, res.wall_s)


def single_job(
    mtbf_s: float,
    stall_s: float,
    restart_s: float,
    *,
    policy: str = "fixed",
    interval_s: float = HOUR,
    work_s: float = 30 * DAY,
) -> Scenario:
    """The single-job preset set to a job MTBF, stall, restart and interval.

    The whole restart R is charged as detection, so that only failures pay it and the first
    start is free: the formulas describe the steady state, not the start-up. Failures are
    job-scope (no node leaves the job), so the job's hazard is exactly 1/M at all times, as
    the formulas assume; with node-scope failures a recovering job is short of its failed
    nodes until they are replaced, and fails slightly less often.
    """
    base = load_scenario("single-job")
    job = base.workload.jobs[0]
    nodes = job.gpus // base.cluster.gpus_per_node
    fault = {"rate": 1 / (nodes * mtbf_s), "blast_radius": "job"}
    return base.model_copy(
        update={
            "faults": {"node": base.faults["node"].model_copy(update=fault)},
            "checkpoint": base.checkpoint.model_copy(
                update={"policy": policy, "stall": stall_s, "interval": interval_s}
            ),
            "restart": base.restart.model_copy(update={"detection": restart_s, "init": 0.0}),
            "workload": base.workload.model_copy(
                update={"jobs": [job.model_copy(update={"work": work_s})]}
            ),
        }
    )


def reps_for(failures: int, mtbf_s: float, work_s: float, minimum: int = 3) -> int:
    """Replications so that the runs see about ``failures`` failures in all."""
    return max(minimum, math.ceil(failures * mtbf_s / work_s))


def estimate(values: list[float]) -> Estimate:
    """Mean of ``values`` with its Student-t 95 % interval (infinite for one value)."""
    mean = sum(values) / len(values)
    low, high = ci95(values) or [-math.inf, math.inf]
    return Estimate(mean, low, high, len(values))


def paired(base: RunResult, other: RunResult) -> Estimate:
    """Paired difference of job ETTR (other - base) over common-random-number replications."""
    diffs = [
        (o.jobs[0].ettr or 0.0) - (b.jobs[0].ettr or 0.0)
        for b, o in zip(base.replications, other.replications, strict=True)
    ]
    return estimate(diffs)

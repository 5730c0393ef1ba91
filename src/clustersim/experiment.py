"""Running a scenario: replications, aggregation, and the :class:`RunResult` value.

``run(scenario, reps=..., seed=...)`` never prints; it returns a :class:`RunResult` that
carries the fully resolved scenario, the seed, versions, every replication's metrics and the
aggregate (mean with a 95 % interval across replications that stays in the quantity's
range, :func:`ci95`). Replication ``i`` uses
the named streams of ``(seed, i)``, so the same replication index sees the same workload and
failure draws under any other setting (common random numbers). It also times itself
(:class:`RunStats`: wall time, simulated seconds and events per wall second): the one part of a
result that is not a function of the scenario and the seed, kept apart under ``run``.

Showing a result is the output side's business (:func:`clustersim.output.terminal.render_result`
for the terminal); nothing here imports it, so the run API stays below every renderer.
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import simpy

from clustersim.budget import check_budget
from clustersim.config import Scenario
from clustersim.engine import Simulation
from clustersim.events import Event
from clustersim.metrics import (
    GPU_SECONDS_TERMS,
    IDENTITY_RTOL,
    RunMetrics,
    measure,
    t_quantile_975,
)
from clustersim.power.energy import aggregate_power, check_power_identity
from clustersim.summary import Summary
from clustersim.version import __version__

__all__ = ["IdentityError", "RunResult", "RunStats", "ci95", "run", "run_replication"]

CI_KEYS = ("ettr", "goodput", "interruptions_total", "energy_wasted_mwh", "gpu_hours_wasted")
UNIT_RANGE = (0.0, 1.0)
"""Ratios (ETTR, goodput): their interval is a logit-transformed t interval, inside (0, 1)."""
NON_NEGATIVE = (0.0, math.inf)
"""Counts and amounts: their t interval is clipped at 0."""
CI_RANGES = {
    "ettr": UNIT_RANGE,
    "goodput": UNIT_RANGE,
    "interruptions_total": NON_NEGATIVE,
    "energy_wasted_mwh": NON_NEGATIVE,
    "gpu_hours_wasted": NON_NEGATIVE,
}


class IdentityError(AssertionError):
    """The GPU-seconds identity (INV-2) failed: a bug in the simulator, never in the input."""


@dataclass(frozen=True, slots=True)
class RunStats:
    """How a run went on this machine: wall time, and how fast it simulated.

    Not a function of the scenario and the seed (the only such part of a result): the
    byte-identical comparisons of INV-9 and the golden files leave it out.
    """

    wall_s: float
    """Wall-clock seconds of all replications (building, simulating and measuring)."""
    sim_s: float
    """Simulated seconds, summed over the replications."""
    events: int
    """Event records written, summed over the replications."""

    @property
    def sim_s_per_wall_s(self) -> float | None:
        """Simulated seconds per wall-clock second (``None`` if too fast to time)."""
        return self.sim_s / self.wall_s if self.wall_s > 0 else None

    @property
    def events_per_s(self) -> float | None:
        """Event records per wall-clock second (``None`` if too fast to time)."""
        return self.events / self.wall_s if self.wall_s > 0 else None

    def to_dict(self) -> dict[str, Any]:
        """The ``run`` object of the JSON (docs/results.md)."""
        return {
            "wall_s": self.wall_s,
            "sim_s": self.sim_s,
            "events": self.events,
            "sim_s_per_wall_s": self.sim_s_per_wall_s,
            "events_per_s": self.events_per_s,
        }


@dataclass(slots=True)
class RunResult:
    """The value a run returns: resolved scenario, seed, per-replication and aggregate metrics.

    ``run`` is how the run went (wall time and speed); ``None`` for a result put together
    from metrics computed elsewhere (a sweep's point).
    """

    scenario: Scenario
    seed: int
    replications: list[RunMetrics]
    events: list[Event] | None = None
    run: RunStats | None = None

    @property
    def summary(self) -> Summary:
        """Aggregate summary: means over replications, with ``*_ci95`` intervals."""
        reps = [m.summary for m in self.replications]
        out: dict[str, Any] = {}
        for key, value in reps[0].items():
            if len(reps) == 1:  # keep counts as integers; no interval from one sample
                out[key] = value
                if key in CI_KEYS:
                    out[f"{key}_ci95"] = None
            elif isinstance(value, dict):
                keys = sorted({k for r in reps for k in r[key]})
                out[key] = {k: _mean([r[key].get(k, 0) for r in reps]) for k in keys}
            elif isinstance(value, int | float) or value is None:
                out[key] = _mean([r[key] for r in reps])
                if key in CI_KEYS:
                    out[f"{key}_ci95"] = ci95([r[key] for r in reps], CI_RANGES[key])
            else:
                out[key] = value
        out["replications"] = len(reps)
        return Summary(out)

    @property
    def gpu_seconds(self) -> dict[str, float]:
        """GPU-seconds identity terms, averaged over replications."""
        keys = self.replications[0].gpu_seconds
        return {k: float(np.mean([m.gpu_seconds[k] for m in self.replications])) for k in keys}

    @property
    def recovery_gpu_seconds(self) -> dict[str, float]:
        """Recovery GPU-seconds by step (detect, wait, init, load), averaged."""
        keys = self.replications[0].recovery_gpu_seconds
        return {
            k: float(np.mean([m.recovery_gpu_seconds[k] for m in self.replications])) for k in keys
        }

    @property
    def causes(self) -> dict[str, dict[str, Any]]:
        """Per-cause table averaged over replications."""
        if len(self.replications) == 1:
            return self.replications[0].causes
        reps = self.replications
        names = sorted({c for m in reps for c in m.causes})
        labels = ("category", "planned")
        out: dict[str, dict[str, Any]] = {}
        for c in names:
            rows = [m.causes.get(c, {}) for m in reps]
            # A cause's keys in any replication (a slowdown cause's ``slowdown_gpu_h`` too).
            keys = list(dict.fromkeys(k for r in rows for k in r))
            # Tallies average over all replications (absent = 0); the mean recovery time
            # averages only where that cause caused recoveries. Labels are copied.
            out[c] = {
                k: _mean([r.get(k, 0.0) for r in rows]) or 0.0 for k in keys if k not in labels
            }
            present = next(r for r in rows if r)
            for k in labels:
                if k in present:
                    out[c][k] = present[k]
            out[c]["mean_recovery_s"] = (
                _mean([r["mean_recovery_s"] for r in rows if r.get("mean_recovery_s")]) or 0.0
            )
        total = sum(v["interruptions"] for v in out.values())
        for v in out.values():
            v["share"] = v["interruptions"] / total if total else 0.0
        return out

    def to_dict(self, *, jobs: bool = True) -> dict[str, Any]:
        """The JSON contract (``docs/results.md``)."""
        out: dict[str, Any] = {
            "clustersim_version": __version__,
            "versions": versions(),
            "seed": self.seed,
            "scenario": self.scenario.model_dump(mode="json"),
            "summary": self.summary,
            "gpu_seconds": self.gpu_seconds,
            "recovery_gpu_seconds": self.recovery_gpu_seconds,
            "causes": self.causes,
            "per_replication": [
                {"replication": i, **{k: m.summary[k] for k in CI_KEYS}}
                for i, m in enumerate(self.replications)
            ],
        }
        if jobs:
            out["jobs"] = [asdict(row) for row in self.replications[0].jobs]
        out["timeseries"] = self.replications[0].timeseries
        if self.replications[0].periods:
            out["periods"] = self.replications[0].periods
        if self.run is not None:
            out["run"] = self.run.to_dict()
        if self.replications[0].power:
            out["power"] = aggregate_power([m.power for m in self.replications])
        if self.replications[0].network:
            out["network"] = self.replications[0].network
        return out


def versions() -> dict[str, str]:
    """Versions that affect results (for reproducing a run from its output alone)."""
    return {
        "clustersim": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "simpy": getattr(simpy, "__version__", "unknown"),
    }


def _mean(values: list[Any]) -> float | None:
    xs = [float(v) for v in values if v is not None and not _isnan(v)]
    return sum(xs) / len(xs) if xs else None


def _isnan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


def ci95(values: list[Any], feasible: tuple[float, float] | None = None) -> list[float] | None:
    """Two-sided 95 % confidence interval of the mean; None for < 2 values.

    Without ``feasible`` it is the Student-t interval. With ``feasible == (0, 1)`` (a ratio
    such as ETTR) it is the t interval on the logit scale, by the delta method
    (``logit(m) ± t·s/(√n·m(1−m))``, mapped back): inside ``(0, 1)`` and asymmetric near a
    bound, close to the plain t interval when that is well inside. Any other ``feasible``
    range clips the t interval to it (counts: never below 0). docs/results.md states this.
    """
    xs = [float(v) for v in values if v is not None and not _isnan(v)]
    if len(xs) < 2:
        return None
    arr = np.asarray(xs)
    half = t_quantile_975(len(xs) - 1) * float(arr.std(ddof=1)) / math.sqrt(len(xs))
    mean = float(arr.mean())
    if feasible == UNIT_RANGE and 0.0 < mean < 1.0:
        centre = math.log(mean / (1.0 - mean))
        half_logit = half / (mean * (1.0 - mean))  # delta method: d logit(m)/dm = 1/(m(1−m))
        return [_expit(centre - half_logit), _expit(centre + half_logit)]
    low, high = mean - half, mean + half
    if feasible is not None:
        low, high = max(low, feasible[0]), min(high, feasible[1])
    return [low, high]


def _expit(x: float) -> float:
    """The inverse logit, without overflow for large ``|x|``."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def run_replication(
    scenario: Scenario,
    replication: int,
    seed: int,
    progress: Callable[[float, float], None] | None = None,
    *,
    keep_log: bool = True,
) -> tuple[RunMetrics, list[Event]]:
    """Run one replication; check the GPU-seconds identity; return metrics and the log.

    With ``keep_log=False`` the records are folded into the metrics as they are written and
    not kept (the returned log is empty): the same metrics in a fraction of the memory.
    """
    sim = Simulation(scenario, replication=replication, seed=seed, keep_log=keep_log)
    sim.run(progress)
    metrics = measure(sim)
    metrics.periods = sim.periods()
    check_identity(metrics.gpu_seconds)
    check_power_identity(metrics.power)
    return metrics, sim.log


def check_identity(gs: dict[str, float]) -> None:
    """Check INV-2, the GPU-seconds identity.

    useful + checkpoint + recovery + lost + slowdown + idle + down == total, and the allocated
    GPU-seconds derived from the log equal the independently integrated ones.
    """
    parts = sum(gs[k] for k in GPU_SECONDS_TERMS)
    scale = max(1.0, gs["total"])
    if abs(parts - gs["total"]) > IDENTITY_RTOL * scale:
        raise IdentityError(
            f"GPU-seconds identity broken: parts {parts!r} != total {gs['total']!r}"
        )
    if abs(gs["allocated"] - gs["allocated_measured"]) > IDENTITY_RTOL * scale:
        raise IdentityError(
            f"allocated GPU-seconds from the log {gs['allocated']!r} != measured "
            f"{gs['allocated_measured']!r}"
        )


def run(
    scenario: Scenario,
    *,
    reps: int | None = None,
    seed: int | None = None,
    keep_events: bool = False,
    progress: Callable[[float, float], None] | None = None,
) -> RunResult:
    """Run ``reps`` replications of ``scenario`` (defaults from ``scenario.run``)."""
    n = scenario.run.replications if reps is None else reps
    check_budget(scenario, n)
    root = scenario.run.seed if seed is None else seed
    resolved = scenario.model_copy(
        update={"run": scenario.run.model_copy(update={"seed": root, "replications": n})}
    )
    results: list[RunMetrics] = []
    first_log: list[Event] | None = None
    start = time.perf_counter()
    for i in range(n):

        def rep_progress(now: float, horizon: float, i: int = i) -> None:
            if progress is not None:
                progress(i + min(1.0, now / horizon), float(n))

        metrics, log = run_replication(
            resolved,
            i,
            root,
            rep_progress if progress else None,
            keep_log=keep_events and i == 0,
        )
        results.append(metrics)
        if keep_events and i == 0:
            first_log = log
    stats = RunStats(
        wall_s=time.perf_counter() - start,
        sim_s=sum(float(m.summary["sim_time_s"]) for m in results),
        events=sum(int(m.summary["events"]) for m in results),
    )
    return RunResult(resolved, root, results, first_log, stats)

"""The public API: what ``import clustersim`` offers, and what the command line is built on.

Owns the entry points and their promises (docs/api.md): :func:`load` a scenario with overrides,
:func:`presets`, :func:`run` it into a :class:`~clustersim.result.Result`, :func:`sweep` a
grid into a :class:`~clustersim.sweep.result.SweepResult`, :func:`plan` for a target ETTR into
a :class:`~clustersim.plan.result.PlanResult`, and :func:`validate` against formulas and
published numbers into a :class:`~clustersim.result.Validation`. They never print and never
exit: bad input raises a :class:`~clustersim.errors.ClusterSimError`, and what is worth saying
but not an error is a :class:`~clustersim.errors.ClusterSimWarning`. The work itself is done
below (:mod:`clustersim.experiment`, :mod:`clustersim.sweep.runner`, :mod:`clustersim.plan`,
:mod:`clustersim.analysis.validate`); the package ``clustersim`` imports this module on first
use of one of its names, so that ``import clustersim`` stays light.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clustersim import experiment
from clustersim.config import MAX_INT, Scenario, UsageError, list_presets
from clustersim.config import ConfigError as ConfigError
from clustersim.config import Problem as Problem
from clustersim.config.compose import load_scenario
from clustersim.config.inert import warn_inert
from clustersim.config.overrides import overrides_from
from clustersim.errors import ClusterSimError as ClusterSimError
from clustersim.errors import ClusterSimWarning
from clustersim.errors import ResourceError as ResourceError
from clustersim.experiment import RunStats as RunStats
from clustersim.result import Result, Validation
from clustersim.summary import Summary as Summary
from clustersim.version import __version__ as __version__

if TYPE_CHECKING:  # imported when called: the sweep and plan packages are not needed to run
    import concurrent.futures as cf

    from clustersim.plan.result import PlanResult
    from clustersim.sweep.result import SweepResult

__all__ = ["Progress", "load", "plan", "presets", "run", "sweep", "validate"]
"""The functions defined here. The package's ``__all__`` is the public API: these, and the
types and errors this module imports from where they are defined, which the package reaches
through this module (``from x import y as y``: re-exported on purpose), but for
``SweepResult`` and ``PlanResult``, which stay with their packages until asked for."""

INERT_CHECK_POINTS = 256
"""Grid points whose scenarios are checked for knobs that have no effect (the first ones)."""
Progress = bool | Callable[[float, float], None] | None
"""``progress=``: ``True`` for a bar on stderr, a callable ``(done, total)``, or none."""


@contextmanager
def _progress(
    progress: Progress, label: str = "simulating", unit: str | None = None
) -> Iterator[Callable[[float, float], None] | None]:
    """The ``(done, total)`` callback that ``progress=`` asks for."""
    if callable(progress):
        yield progress
    elif progress:
        from clustersim.output.progress import progress_bar

        with progress_bar(label, unit, always=True) as update:
            yield update
    else:
        yield None


def _count(name: str, value: int | None, low: int) -> None:
    """Refuse a count that is not a whole number from ``low`` to ``MAX_INT``."""
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_INT
    ):
        raise UsageError(f"{name} must be a whole number from {low} to 2**62, got {value!r}")


def load(
    source: str | os.PathLike[str],
    set: Mapping[str, Any] | Iterable[str] | None = None,
    **overrides: Any,
) -> Scenario:
    """A scenario from a preset name or a YAML/TOML/JSON file, with overrides applied.

    Overrides take the dotted keys and human units of ``--set``:
    ``load("llama3-405b", **{"checkpoint.interval": "10m"})``, or as a mapping
    ``load("llama3-405b", set={"checkpoint.policy": "fixed", "run.seed": 7})``; ``set`` may
    also be ``--set`` strings (``["checkpoint.interval=10m"]``, values read as YAML). The
    mapping applies first, then the keywords. An override that has no effect (an interval
    under a policy that sets its own) is a :class:`~clustersim.errors.ClusterSimWarning`.

    Args:
        source: a preset name (see :func:`presets`) or a path; a string is a path if it
            names an existing file, holds a path separator or ends in ``.yaml``, ``.yml``,
            ``.json`` or ``.toml``.
        set: overrides as a mapping of dotted keys to values, or ``--set`` strings.
        **overrides: more overrides, dotted keys given as ``**{"a.b": value}``.

    Returns:
        The frozen, fully validated scenario (``Scenario.replace`` derives others).

    Raises:
        ConfigError: bad data in the file (``err.file``, ``err.line``, ``err.path``).
        UsageError: an unknown preset, a missing file, a key that names no field, a value
            the model rejects.
    """
    given = overrides_from(set, overrides)
    scenario = load_scenario(source, given)
    warn_inert([scenario], [".".join(o.segments) for o in given], stacklevel=2)
    return scenario


def presets() -> dict[str, str]:
    """The built-in scenarios: name → the first line of its description, sorted by name."""
    return dict(list_presets())


def run(
    scenario: Scenario,
    *,
    reps: int | None = None,
    seed: int | None = None,
    events: bool = False,
    progress: Progress = False,
) -> Result:
    """Simulate ``reps`` replications of ``scenario``; replication ``i`` draws from ``(seed, i)``.

    The same replication index sees the same workload and failure draws under any other
    setting (common random numbers), so two results of one seed compare pair by pair.

    Args:
        scenario: what to simulate (:func:`load`).
        reps: replications (default: the scenario's ``run.replications``, 1 unless set).
        seed: the root seed (default: the scenario's ``run.seed``, 0 unless set).
        events: keep replication 0's event log (``result.events``, ``events_frame()``).
        progress: ``True`` for a progress bar on stderr, or a callable ``(done, total)``.

    Returns:
        The result, with the scenario resolved (``run.seed`` and ``run.replications`` set to
        what ran): ``run(result.scenario)`` reproduces it.

    Raises:
        ResourceError: the scenario would exceed ``run.max_events`` or ``run.max_memory``.
        UsageError: ``reps`` or ``seed`` out of range.
    """
    if not isinstance(scenario, Scenario):
        raise TypeError(
            f"run() takes a Scenario, not {type(scenario).__name__}: run(load({scenario!r}))"
        )
    _count("reps", reps, 1)
    _count("seed", seed, 0)
    with _progress(progress) as update:
        done = experiment.run(scenario, reps=reps, seed=seed, keep_events=events, progress=update)
    result = Result._of(done)
    _warn_unplaceable(result)
    return result


def _warn_unplaceable(result: Result) -> None:
    """A warning per reason a job can never be placed; says why a run lasted 0 s."""
    count = 0
    for reason, names in result.unplaceable.items():
        count += len(names)
        shown = ", ".join(names[:5]) + (f", ... ({len(names) - 5} more)" if len(names) > 5 else "")
        noun = "job" if len(names) == 1 else "jobs"
        _warn(f"{len(names)} {noun} never placed, {reason}: {shown}")
    summary = result.replications[0].summary
    note = result.scenario.scheduler.single_account_warning(result.replications[0].accounts)
    if note is not None:
        _warn(note)
    if summary["jobs_submitted"] == 0:
        _warn("no job is submitted before the end of the run (run.horizon)")
    elif summary["sim_time_s"] == 0 and count >= summary["jobs_submitted"]:
        _warn("simulated 0 s: no job can ever be placed")


def _warn(message: str) -> None:
    """A :class:`ClusterSimWarning` pointing at the caller of the public function."""
    warnings.warn(message, ClusterSimWarning, stacklevel=4)


def validate(
    cases: str | Sequence[str] | None = None,
    *,
    quick: bool = False,
    progress: Progress = False,
) -> Validation:
    """Run the validation cases: simulation vs formula vs published numbers, as data.

    Args:
        cases: case names (``validate --list``); default: all of them, in registry order.
        quick: fewer replications (the whole set in under a minute).
        progress: ``True`` for a progress bar on stderr, or a callable ``(done, total)``.

    Raises:
        UsageError: an unknown case name.
    """
    from clustersim.analysis.validate import CASES, run_cases

    names = [cases] if isinstance(cases, str) else list(cases or ())
    unknown = [name for name in names if name not in CASES]
    if unknown:
        raise UsageError(f"unknown validation case {unknown[0]!r} (known: {', '.join(CASES)})")
    start = time.perf_counter()
    with _progress(progress, "validating", "cases") as update:
        results = run_cases(
            names or None,
            quick=quick,
            progress=(lambda i, n, _name: update(float(i), float(n))) if update else None,
        )
    return Validation(tuple(results), quick, time.perf_counter() - start)


def sweep(
    scenario: Scenario,
    grid: Mapping[str, Sequence[Any]],
    reps: int | None = None,
    seed: int | None = None,
    *,
    baseline: Mapping[str, Any] | None = None,
    executor: cf.Executor | None = None,
    workers: int | None = None,
    address: str | None = None,
    out: str | os.PathLike[str] | None = None,
    batch: int | None = None,
    progress: Progress = False,
    source: str | None = None,
) -> SweepResult:
    """Run every combination of the grid's values, ``reps`` replications each.

    Replication ``i`` of every point draws from ``(seed, i)`` (common random numbers), so
    the paired differences against ``baseline`` are much tighter than independent intervals.

    Args:
        scenario: the base scenario; each point's values are applied as overrides.
        grid: dotted key → values to try, e.g. ``{"checkpoint.interval": ["5m", "10m"]}``;
            a string is read as on the command line (``"5m"``), other values as data
            (``8``, ``True``, ``{"pods": 2}``). Points are the product, first key outermost.
        reps: replications per point (default: the scenario's ``run.replications``).
        seed: the root seed (default: the scenario's ``run.seed``).
        baseline: the reference of the paired differences, some or all grid keys → one of
            their values (default: the first point).
        executor: a ``concurrent.futures.Executor`` to run on (used, not closed).
        workers: without ``executor``: local workers (default: the CPUs; ``1``: serially in
            this process).
        address: without ``executor``: a Dask scheduler (``tcp://host:8786``).
        out: a results file (``.jsonl``, ``.csv``, ``.parquet``) appended as points finish;
            a re-run resumes from it.
        batch: replications per task (default: chosen for load balance).
        progress: ``True`` for a progress bar on stderr, or a callable ``(done, total)``.
        source: the preset or file name to record in ``out`` (default: the scenario's name).

    Raises:
        UsageError: a bad grid key or value, baseline, ``reps``, ``seed`` or executor option.
        ResourceError: a point too big to simulate.
    """
    from clustersim.sweep.grid import grid_of, grid_points, point_scenario
    from clustersim.sweep.result import SweepResult
    from clustersim.sweep.runner import sweep as run_sweep

    _count("reps", reps, 1)
    _count("seed", seed, 0)
    cells = grid_of(grid)
    base = _sweep_baseline(baseline, cells)
    points = grid_points(cells)[:INERT_CHECK_POINTS]
    warn_inert((point_scenario(scenario, p) for p in points), list(cells), stacklevel=2)
    n = scenario.run.replications if reps is None else reps
    root = scenario.run.seed if seed is None else seed
    start = time.perf_counter()
    with _progress(progress, "sweep", "points") as update:
        records = run_sweep(
            scenario,
            cells,
            n,
            root,
            executor,
            address=address,
            workers=workers,
            out=None if out is None else Path(out),
            source=source or scenario.name,
            progress=update,
            batch=batch,
        )
    return SweepResult(scenario, cells, n, root, records, base, time.perf_counter() - start)


def _sweep_baseline(
    baseline: Mapping[str, Any] | None, grid: Mapping[str, list[str]]
) -> dict[str, str] | None:
    """The baseline as the grid's text values; every key a grid key, every value on its list."""
    from clustersim.sweep.grid import grid_text

    if baseline is None:
        return None
    out: dict[str, str] = {}
    for key, value in baseline.items():
        if key not in grid:
            raise UsageError(f"baseline {key!r}: not a grid key ({', '.join(grid)})")
        text = grid_text(value)
        if text not in grid[key]:
            raise UsageError(f"baseline {key}={text}: not one of {key}'s grid values")
        out[key] = text
    return out


def plan(
    scenario: Scenario,
    target: float,
    *,
    knobs: Sequence[str] | None = None,
    budget: int = 200,
    reps: int = 4,
    mc_reps: int = 400,
    seed: int = 0,
    scales: Sequence[int | str] = (),
    prices: Mapping[str, float] | None = None,
    executor: cf.Executor | None = None,
    workers: int | None = None,
    address: str | None = None,
    progress: Progress = False,
) -> PlanResult:
    """The cheapest knob settings that reach ``target`` ETTR, found fast and confirmed by the DES.

    Args:
        scenario: the scenario to plan (its largest job is the one planned for).
        target: the ETTR to reach, strictly between 0 and 1.
        knobs: the knobs to turn, as ``clustersim plan --knob`` takes them
            (``"checkpoint.interval"``, ``"storage.write_bandwidth=1TB/s:8TB/s"``,
            ``"cluster.spare_nodes=0,8,16"``); default: interval, write bandwidth, spares
            and init time.
        budget: DES replications in all.
        reps: DES replications per point (at least 2).
        mc_reps: Monte Carlo replications per fast-path point (at least 2).
        seed: the root seed of the DES and the Monte Carlo.
        scales: plan at each job size in GPUs (``16384`` or ``"16k"``) instead of the
            scenario's own.
        prices: monthly USD per display unit of a knob (docs/planning.md); default prices
            otherwise.
        executor: where DES points run (used, not closed); default: serially here.
        workers: without ``executor``: run DES points on this many local workers.
        address: without ``executor``: run DES points on the Dask scheduler there.
        progress: ``True`` for a progress bar on stderr, or a callable ``(done, total)``.

    Raises:
        UsageError: a bad target, knob, price, scale or count.
        ConfigError: a job of the scenario (at some scale) can never start.
        ResourceError: the Monte Carlo's arrays would exceed the run's memory budget.
    """
    from clustersim.budget import MC_CHUNK_REPS, check_mc_budget
    from clustersim.plan.core import PlanOptions
    from clustersim.plan.knobs import DEFAULT_KNOBS, parse_scales, requests_for
    from clustersim.plan.planner import plan as run_plan
    from clustersim.plan.result import PlanResult
    from clustersim.sweep.runner import executor as open_executor

    if not (isinstance(target, int | float) and 0.0 < target < 1.0):
        raise UsageError(f"target {target!r}: the ETTR target must lie strictly between 0 and 1")
    _count("budget", budget, 1)
    _count("reps", reps, 2)
    _count("mc_reps", mc_reps, 2)
    _count("seed", seed, 0)
    requested = requests_for(list(knobs or DEFAULT_KNOBS))
    given_prices = dict(prices or {})
    unknown = sorted(set(given_prices) - {k.knob.path for k in requested})
    if unknown:
        raise UsageError(f"price {unknown[0]!r}: not one of the knobs")
    sizes = [s for item in scales for s in parse_scales(str(item))]
    check_mc_budget(  # up front, before any point: the Monte Carlo's result arrays alone
        mc_reps,
        2.0,
        min(mc_reps, MC_CHUNK_REPS),
        max_events=scenario.run.max_events,
        max_memory=scenario.run.max_memory,
    )
    options = PlanOptions(
        target=float(target),
        knobs=tuple(requested),
        budget=budget,
        seed=seed,
        reps=reps,
        scales=tuple(sizes),
        prices=given_prices,
        mc_reps=mc_reps,
    )
    start = time.perf_counter()
    pool = (
        nullcontext(executor)
        if executor is not None
        else open_executor(address=address, workers=workers if workers or address else 1)
    )
    with pool as ex, _progress(progress, "planning") as update:
        data = run_plan(scenario, options, executor=ex, progress=update)
    return PlanResult(data, time.perf_counter() - start)

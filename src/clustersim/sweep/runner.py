"""Running a sweep: many grid points × replications on any ``concurrent.futures.Executor``.

This module owns running a sweep: cutting each point's replications into batches, running
them on an executor, and aggregating a finished point into one *point record* exactly as
:func:`experiment.run` would (replication ``i`` of every point draws from the streams of
``(seed, i)``: common random numbers), plus the paired differences between points. What a
grid means (points, each point's scenario through the loader's ``--set`` path, parsed knob
values) is :mod:`clustersim.sweep.grid`; files and resuming belong to
:mod:`clustersim.sweep.results`; the terminal to :mod:`clustersim.commands.sweep`. The
package :mod:`clustersim.sweep` re-exports the stable API below and is itself callable.

Stable API (also used by ``clustersim plan``):

* :func:`executor` — a context manager yielding a ``concurrent.futures.Executor``: a Dask
  ``LocalCluster`` sized to the machine, an existing Dask cluster (``address`` or env
  ``DASK_SCHEDULER_ADDRESS``), a process pool when Dask is not installed, or an in-process
  serial executor for ``workers=1``.
* :func:`run_points` — runs a list of points and yields ``(point, record)`` as each finishes.
* :func:`sweep` — the whole grid, optionally resumable into a results file; returns records.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import logging
import math
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from clustersim.budget import check_budget
from clustersim.config import Scenario, UsageError
from clustersim.errors import ClusterSimWarning
from clustersim.experiment import CI_KEYS, CI_RANGES, UNIT_RANGE, RunResult, ci95, run_replication
from clustersim.metrics import RunMetrics
from clustersim.sweep.grid import Point, grid_points, knob_value, point_scenario

__all__ = [
    "SerialExecutor",
    "executor",
    "paired",
    "point_record",
    "run_points",
    "sweep",
]


TASKS_PER_WORKER = 4
"""Aim for this many batches per worker when a sweep has few points (load balance)."""
IN_FLIGHT_PER_WORKER = 2
"""Batches submitted ahead per worker: enough to hide scheduling, few enough to stop fast."""
ADDRESS_ENV = "DASK_SCHEDULER_ADDRESS"
CLOSE_TIMEOUT_S = 5.0
CONNECT_TIMEOUT = "10s"
"""How long to try to reach a Dask scheduler given by address."""


# --- executors ----------------------------------------------------------------------------


class SerialExecutor(cf.Executor):
    """Runs each task in the calling process when it is submitted (``workers=1``)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        """Run ``fn(*args, **kwargs)`` now; return a finished future."""
        future: cf.Future[Any] = cf.Future()
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # delivered through the future, like any executor
            future.set_exception(exc)
        else:
            future.set_result(result)
        return future


def _ignore_sigint() -> None:
    """Pool workers leave Ctrl-C to the driver, which stops them (no traceback per worker).

    A forked worker inherits the CLI's handlers; SIGTERM gets its default back, so the
    worker ends quietly.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextmanager
def executor(address: str | None = None, workers: int | None = None) -> Iterator[cf.Executor]:
    """A ``concurrent.futures.Executor`` to run sweep batches on; closed on exit.

    Args:
        address: a Dask scheduler (``tcp://host:8786``); default: env
            ``DASK_SCHEDULER_ADDRESS``, else a new local cluster.
        workers: size of a local cluster or process pool (default: the machine's CPUs);
            ``1`` runs everything serially in this process. Ignored with an address.

    Raises:
        UsageError: bad ``workers``, an address without Dask installed, or no scheduler there.
    """
    if workers is not None and workers < 1:
        raise UsageError(f"--workers must be >= 1, got {workers}")
    address = address or os.environ.get(ADDRESS_ENV) or None
    check_address(address)
    if address is None and workers == 1:
        yield SerialExecutor()
        return
    try:
        import distributed
    except ImportError:
        if address is not None:
            raise UsageError(
                f"--address {address}: Dask is not installed: pip install 'clustersim[sweep]'"
            ) from None
        yield from _process_pool(workers or os.cpu_count() or 1)
        return
    yield from _dask(distributed, address, workers or os.cpu_count() or 1)


def check_address(address: str | None) -> None:
    """Refuse a Dask scheduler address that cannot be one, before anything is started.

    Raises:
        UsageError: no port, an unknown scheme, or not text at all.
    """
    if address is None:
        return
    try:
        from distributed.comm.addressing import get_address_host_port, parse_address
    except ImportError:  # no Dask: executor() says so
        return
    try:
        scheme, _ = parse_address(address)
        if scheme != "inproc":
            get_address_host_port(address)
    except (ValueError, TypeError) as exc:
        raise UsageError(
            f"--address {address!r}: not a Dask scheduler address ({exc}); "
            "expected e.g. tcp://host:8786"
        ) from None


def _process_pool(workers: int) -> Iterator[cf.Executor]:
    pool = cf.ProcessPoolExecutor(max_workers=workers, initializer=_ignore_sigint)
    try:
        yield pool
    except BaseException:
        # Stop now: running batches are thrown away (their points were not written yet).
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _dask(distributed: Any, address: str | None, workers: int) -> Iterator[cf.Executor]:
    cluster: Any = None
    try:
        if address is None:
            with _sigint_ignored(), _local_worker_config():
                cluster = distributed.LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,  # the simulator is pure Python: one process per core
                    processes=True,
                    dashboard_address=None,
                    # No dashboard; its HTTP server (health routes) on a free port, so a
                    # busy 8787 (another cluster) gives no warning.
                    scheduler_kwargs={"dashboard_address": ":0"},
                    silence_logs=logging.CRITICAL,
                )
            client = distributed.Client(cluster)
        else:
            client = distributed.Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        if cluster is not None:
            cluster.close()
        where = address or "a local cluster"
        raise UsageError(f"cannot start or reach the Dask scheduler at {where}: {exc}") from None
    try:
        # pure=False: batches are never deduplicated by Dask's argument hashing.
        yield client.get_executor(pure=False)
    finally:
        client.close(timeout=CLOSE_TIMEOUT_S)
        if cluster is not None:
            cluster.close(timeout=CLOSE_TIMEOUT_S)


_starting_workers = False
"""True while local workers are forked: the child then resets its signal handlers."""


def _after_fork_in_child() -> None:
    """A forked local worker leaves Ctrl-C to the driver and dies quietly on SIGTERM.

    It inherits the CLI's Python handlers (which raise KeyboardInterrupt); a spawned worker
    would have had the defaults. Only forks made while workers start are touched.
    """
    if _starting_workers:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@contextmanager
def _local_worker_config() -> Iterator[None]:
    """Dask settings for the local workers: forked, unprofiled, with fewer periodic wake-ups.

    A spawned worker imports Dask and clustersim afresh: about 3 s before a two-worker
    cluster is up, against well under a second forked, which is most of the fixed cost of a
    small sweep (docs/sweeps.md). The fork happens in Dask's event-loop thread while the main
    thread waits; the child starts its own loop. Setting ``distributed.worker.multiprocessing-
    method`` to anything but ``spawn`` keeps your choice. The profiler samples every worker
    10 ms and slowed simulations by about 10 %.
    """
    global _starting_workers
    import dask

    key = "distributed.worker.multiprocessing-method"
    settings: dict[str, Any] = {
        "distributed.worker.profile.enabled": False,
        # Fewer wake-ups of each worker's event loop, which take the GIL from the simulation
        # thread: the 20 ms tick (only used to warn of a blocked loop), the memory monitor
        # (spilling; a batch's results are kilobytes) and the system monitor (dashboards).
        "distributed.admin.tick.interval": "500ms",
        "distributed.worker.memory.monitor-interval": "1s",
        "distributed.admin.system-monitor.interval": "5s",
    }
    fork = sys.platform == "linux" and dask.config.get(key, "spawn") == "spawn"
    if fork:
        settings[key] = "fork"
    _starting_workers = fork
    try:
        with dask.config.set(settings):
            yield
    finally:
        _starting_workers = False


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore Ctrl-C while local workers start, so that they inherit SIG_IGN.

    A Ctrl-C at the terminal goes to the whole process group; workers that ignore it leave
    the stopping to this process (one line, no traceback per worker), which closes them. A
    Ctrl-C during those seconds of start-up is lost.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _executor_workers(ex: cf.Executor) -> int:
    """How many tasks ``ex`` runs at once (1 if it cannot say)."""
    if isinstance(ex, SerialExecutor):
        return 1
    client = getattr(ex, "_client", None)
    if client is not None:
        return max(1, int(sum(client.nthreads().values())))
    return max(1, int(getattr(ex, "_max_workers", 1) or 1))


# --- running ------------------------------------------------------------------------------


def _resolved(scenario: Scenario, reps: int, seed: int) -> Scenario:
    """The scenario with ``run.seed``/``run.replications`` set, as :func:`experiment.run` does."""
    run = scenario.run.model_copy(update={"seed": seed, "replications": reps})
    return scenario.model_copy(update={"run": run})


def _run_batch(scenario: Scenario, seed: int, start: int, stop: int) -> list[RunMetrics]:
    """Replications ``start..stop-1`` of one point (runs on a worker); lean metrics back."""
    out = []
    for i in range(start, stop):
        metrics, _log = run_replication(scenario, i, seed, keep_log=False)
        out.append(replace(metrics, jobs=[], timeseries={}))
    return out


def _batches(reps: int, n_points: int, workers: int, batch: int | None) -> list[range]:
    """Replication ranges of one point: whole points when there are many, else split."""
    if batch is None:
        per_point = max(1, math.ceil(TASKS_PER_WORKER * workers / max(1, n_points)))
        batch = math.ceil(reps / min(reps, per_point))
    return [range(a, min(reps, a + batch)) for a in range(0, reps, batch)]


def point_record(
    index: int, point: Point, scenario: Scenario, seed: int, metrics: list[RunMetrics]
) -> dict[str, Any]:
    """One finished point: its knobs (as typed and parsed) and the aggregate of its runs."""
    result = RunResult(scenario, seed, metrics)
    return {
        "type": "point",
        "index": index,
        "point": dict(point),
        "values": {key: knob_value(scenario, key) for key in point},
        "reps": len(metrics),
        "seed": seed,
        "summary": result.summary,
        "gpu_seconds": result.gpu_seconds,
        "per_replication": [
            {"replication": i, **{k: m.summary[k] for k in CI_KEYS}} for i, m in enumerate(metrics)
        ],
    }


def run_points(
    scenario: Scenario,
    points: list[dict[str, str]],
    reps: int,
    seed: int,
    executor: cf.Executor,
    *,
    indices: Sequence[int] | None = None,
    batch: int | None = None,
) -> Iterator[tuple[dict[str, str], dict[str, Any]]]:
    """Run ``reps`` replications of every point; yield ``(point, record)`` as each finishes.

    Replications are batched into tasks (a whole point per task when there are many points,
    else a point split so every worker gets about :data:`TASKS_PER_WORKER` tasks), and only
    a few batches per worker are in flight, so stopping the iterator stops the sweep soon.
    Points finish roughly in order, not exactly. Every point is built and checked (scenario,
    budget) before anything runs.

    Args:
        scenario: the base scenario; each point's values are applied as ``--set`` overrides.
        points: the points, e.g. from :func:`grid_points`.
        reps: replications per point; replication ``i`` uses the streams of ``(seed, i)``.
        seed: the root seed.
        executor: where batches run (see :func:`executor`).
        indices: the ``index`` recorded for each point (default ``0, 1, ...``).
        batch: replications per task (default: chosen as above).

    Raises:
        UsageError: a bad grid key or value. BudgetExceeded: a point too big to simulate.
    """
    if reps < 1:
        raise UsageError(f"--reps must be >= 1, got {reps}")
    numbers = list(range(len(points))) if indices is None else list(indices)
    scenarios = [_resolved(point_scenario(scenario, p), reps, seed) for p in points]
    for sc in scenarios:
        check_budget(sc, reps)
    ranges = _batches(reps, len(points), _executor_workers(executor), batch)
    tasks = iter([(k, r) for k in range(len(points)) for r in ranges])
    window = IN_FLIGHT_PER_WORKER * _executor_workers(executor)
    parts: dict[int, dict[int, list[RunMetrics]]] = {k: {} for k in range(len(points))}
    pending: dict[cf.Future[list[RunMetrics]], tuple[int, range]] = {}
    warned = False  # fair share over one account: said once per sweep
    try:
        while True:
            for k, r in itertools.islice(tasks, max(0, window - len(pending))):
                future = executor.submit(_run_batch, scenarios[k], seed, r.start, r.stop)
                pending[future] = (k, r)
            if not pending:
                return
            done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: (pending[f][0], pending[f][1].start)):
                k, r = pending.pop(future)
                parts[k][r.start] = future.result()
                if len(parts[k]) == len(ranges):
                    metrics = [m for start in sorted(parts[k]) for m in parts[k][start]]
                    del parts[k]
                    note = scenarios[k].scheduler.single_account_warning(metrics[0].accounts)
                    if note is not None and not warned:
                        warned = True
                        warnings.warn(note, ClusterSimWarning, stacklevel=2)
                    yield (
                        points[k],
                        point_record(numbers[k], points[k], scenarios[k], seed, metrics),
                    )
    finally:
        for future in pending:
            future.cancel()


def paired(
    records: Sequence[Mapping[str, Any]], baseline: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """Paired differences (point − reference) per replication, with 95 % CIs.

    The reference of a point is the point with ``baseline``'s values for the knobs it names
    and the point's own values for the others (so a partial baseline compares within each
    row of the grid); the default baseline is the first record's point. With common random
    numbers the pairs share their failure draws, so these intervals are much tighter than the
    difference of two independent intervals. A point without its reference among the
    records gets ``None`` differences.
    """
    if not records:
        return []
    base = dict(records[0]["point"]) if baseline is None else dict(baseline)
    by_point = {tuple(sorted(r["point"].items())): r for r in records}
    out = []
    for rec in records:
        ref_point = {**rec["point"], **{k: v for k, v in base.items() if k in rec["point"]}}
        ref = by_point.get(tuple(sorted(ref_point.items())))
        row: dict[str, Any] = {"index": rec["index"], "point": rec["point"], "vs": ref_point}
        for key in CI_KEYS:
            row[key] = None if ref is None else _difference(rec, ref, key)
        out.append(row)
    return out


def _difference(rec: Mapping[str, Any], ref: Mapping[str, Any], key: str) -> dict[str, Any]:
    own = {r["replication"]: r[key] for r in rec["per_replication"]}
    diffs = [
        own[r["replication"]] - r[key]
        for r in ref["per_replication"]
        if r["replication"] in own and own[r["replication"]] is not None and r[key] is not None
    ]
    mean = sum(diffs) / len(diffs) if diffs else None
    feasible = (-1.0, 1.0) if CI_RANGES[key] == UNIT_RANGE else None  # a difference of ratios
    return {"mean": mean, "ci95": ci95(diffs, feasible), "pairs": len(diffs)}


def sweep(
    scenario: Scenario,
    grid: Mapping[str, Sequence[str]],
    reps: int,
    seed: int,
    executor: cf.Executor | None = None,
    *,
    address: str | None = None,
    workers: int | None = None,
    out: Path | None = None,
    source: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch: int | None = None,
) -> list[dict[str, Any]]:
    """Run the whole grid; return one record per point, in grid order.

    With ``out`` (``.jsonl``, ``.csv`` or ``.parquet``) every finished point is appended to
    the results file at once and a re-run skips the points already there (see
    :mod:`clustersim.sweep.results`); ``source`` (the preset or file name) is recorded beside the
    resolved scenario. ``progress(done, total)`` is called as points finish. Without an
    ``executor`` one is opened with :func:`executor`'s defaults (only if something is left
    to run).
    """
    from clustersim.sweep import results as store

    points = grid_points(grid)
    if reps < 1:
        raise UsageError(f"--reps must be >= 1, got {reps}")
    for p in points:  # a bad key, value or size is reported before any file is touched
        check_budget(_resolved(point_scenario(scenario, p), reps, seed), reps)
    if executor is None:
        check_address(address or os.environ.get(ADDRESS_ENV) or None)
    header = store.header(scenario, grid, reps, seed, source)
    results = store.ResultsFile.open(out, header) if out is not None else None
    try:
        done = dict(results.records) if results is not None else {}
        todo = [k for k in range(len(points)) if k not in done]
        if progress is not None:
            progress(len(done), len(points))
        if todo:
            with _open_executor(address, workers) if executor is None else _keep(executor) as ex:
                run = run_points(
                    scenario, [points[k] for k in todo], reps, seed, ex, indices=todo, batch=batch
                )
                for _point, record in run:
                    if results is not None:
                        results.append(record)
                    done[record["index"]] = record
                    if progress is not None:
                        progress(len(done), len(points))
        if results is not None:
            results.finish()
    except BaseException:
        if results is not None:
            results.close()
            results.discard_if_empty()  # a failed start leaves no header-only file behind
        raise
    finally:
        if results is not None:
            results.close()
    return [done[k] for k in sorted(done)]


_open_executor = executor


@contextmanager
def _keep(ex: cf.Executor) -> Iterator[cf.Executor]:
    """A caller's executor: used, not closed."""
    yield ex

"""Benchmark runner: wall time, events/s and peak RSS per named size, against raw SimPy.

Each configuration runs in a fresh Python subprocess (so peak RSS is that configuration's),
``--repeat k`` times, and the best of k is reported. In the same subprocess, just before the
model, a raw-SimPy baseline (one process yielding bare ``env.timeout`` events) is timed best of
k, so the engine ratio *model SimPy events/s ÷ raw SimPy events/s* compares two rates measured
on the same machine under the same load.

What is counted:

* **model events**: ``sim.tally.records``, the typed records the model writes (the run keeps
  only their tally, as ``clustersim run`` does without ``--events``).
* **simpy events**: events SimPy processed, read from the environment without wrapping it:
  every scheduled event takes the next id of ``env._eid``; those still in ``env._queue`` at the
  end were never processed. No subclass or patch is needed, so the run measured is the product.
* **wall**: ``time.perf_counter`` around ``Simulation(...)`` plus ``.run()``; **run**: ``.run()``
  alone; **run CPU**: ``time.process_time`` of ``.run()``, which other processes on a shared
  machine disturb less than wall time. Building the ``Scenario`` (pydantic, YAML) and
  ``metrics.measure`` are timed apart.

While a configuration runs, an interval timer samples (wall, simulated time, log length) once a
second, so a run killed at ``--timeout`` still reports how far it got, and the report can plot
wall time against simulated days. The sampler costs one signal per second.

Usage::

    uv run python bench/run.py                       # the quick set
    uv run python bench/run.py --all --repeat 3      # everything, best of 3
    uv run python bench/run.py --config hpcsim-day --profile hpcsim-day --out hpc.json
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import hashlib
import io
import json
import os
import platform
import pstats
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import simpy
from configurations import CONFIGS, QUICK, SCALE_GPUS, SCALE_JOBS, describe

import clustersim
from clustersim.engine import Simulation

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
SCHEMA = 1
RAW_EVENTS = 1_000_000
RAW_SLICES = 3
"""Bare-SimPy measurements of RAW_EVENTS / RAW_SLICES timeouts each, before and after the model."""
SAMPLE_EVERY_S = 1.0
DEFAULT_TIMEOUT_S = 900.0
PROFILE_TOP = 15

# Issue 22's targets (the report reads them from the result file). RSS figures are MiB
# (getrusage); "2 GB" is taken as 2 * 10**9 bytes = 1,907 MiB. The contention target is a
# same-run before/after ratio of CPU time measured by bench/ab.py, not by this runner.
TARGETS = {
    "llama3_wall_s": 0.5,
    "fleet_350k_wall_s": 120.0,
    "fleet_350k_rss_mb": 2e9 / 2**20,
    "year_131k_wall_s": 30.0,
    "year_131k_rss_mb": 500.0,
    "engine_ratio": 0.1,
    "contention_speedup": 2.0,
    "event_exponent_max": 1.1,
}


# ----------------------------------------------------------------------------- measuring
PRODUCT_DIRS = ("src/clustersim", "scheduler", "faults")


def code_fingerprint() -> str:
    """Short hash of the product's Python sources, so results from different code show up.

    Other people edit the product while benchmarks run; each configuration's process records
    the fingerprint of the code it imported, and the report flags a run that mixes versions.
    """
    digest = hashlib.sha256()
    root = BENCH_DIR.parent
    for directory in PRODUCT_DIRS:
        for path in sorted((root / directory).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def simpy_events_processed(env: simpy.Environment) -> int:
    """Events ``env`` has processed: ids handed out minus events still queued.

    ``Environment.schedule`` gives every event the next value of the ``itertools.count`` in
    ``env._eid``; ``step`` pops them off ``env._queue``. Reading the counter's repr does not
    advance it.
    """
    issued = int(repr(env._eid)[len("count(") : -1])
    return issued - len(env._queue)


def raw_simpy_rate(n_events: int) -> tuple[float, int, float]:
    """SimPy alone: one process yielding ``n_events`` bare timeouts.

    Returns events per wall second, events processed, and events per CPU second.
    """
    env = simpy.Environment()

    def loop(env: simpy.Environment, n: int) -> Any:
        timeout = env.timeout
        for _ in range(n):
            yield timeout(1.0)

    env.process(loop(env, n_events))
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    env.run()
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    events = simpy_events_processed(env)
    return events / elapsed, events, events / max(cpu, 1e-9)


def raw_simpy_heap_rate(n_events: int, n_procs: int = 1000) -> float:
    """Events/s of SimPy with ``n_procs`` concurrent processes (a heap as deep as a model's)."""
    env = simpy.Environment()
    per = max(1, n_events // n_procs)

    def loop(env: simpy.Environment, delay: float) -> Any:
        timeout = env.timeout
        for _ in range(per):
            yield timeout(delay)

    for i in range(n_procs):
        env.process(loop(env, 1.0 + i / n_procs))
    gc.collect()
    t0 = time.perf_counter()
    env.run()
    return simpy_events_processed(env) / (time.perf_counter() - t0)


def rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20


def current_rss_mb() -> float:
    """Resident set size now, in MiB (from /proc; the peak where /proc is missing)."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return rss_mb()


class Sampler:
    """Samples (wall s, simulated s, log length, simpy events) of the running simulation.

    Driven by ``SIGALRM`` from an interval timer, so the simulation itself is not touched. On
    ``SIGTERM`` it prints what it has (the partial result) and exits.
    """

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self.sim: Simulation | None = None
        self.t0 = 0.0
        self.c0 = 0.0
        self.trace: list[list[float]] = []
        self.partial: dict[str, Any] = {}

    def start(self, sim: Simulation, t0: float, c0: float) -> None:
        self.sim, self.t0, self.c0, self.trace = sim, t0, c0, []
        signal.setitimer(signal.ITIMER_REAL, self.every_s, self.every_s)

    def stop(self) -> list[list[float]]:
        signal.setitimer(signal.ITIMER_REAL, 0.0, 0.0)
        self.sample()
        self.sim = None
        return self.trace

    def sample(self, *_: Any) -> None:
        sim = self.sim
        if sim is not None:
            self.trace.append(
                [
                    round(time.perf_counter() - self.t0, 4),
                    float(sim.env.now),
                    sim.tally.records,
                    simpy_events_processed(sim.env),
                    round(time.process_time() - self.c0, 4),
                ]
            )

    def terminate(self, *_: Any) -> None:
        self.sample()
        out = {**self.partial, "status": "timeout", "trace": self.trace, "peak_rss_mb": rss_mb()}
        if self.trace:
            wall, now, log_len, simpy_n, cpu = self.trace[-1]
            out.update(
                {
                    "reached_sim_days": now / 86400,
                    "reached_wall_s": wall,
                    "reached_model_events": log_len,
                    "reached_simpy_events": simpy_n,
                    "reached_cpu_s": cpu,
                }
            )
            raw = self.partial.get("raw_simpy_events_per_s")
            if wall > 0 and raw:
                out["simpy_events_per_s"] = simpy_n / wall
                out["model_events_per_s"] = log_len / wall
                out["engine_ratio"] = simpy_n / wall / raw
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()
        os._exit(3)


def measure_config(
    name: str, repeat: int, raw_events: int, max_repeat_s: float = 60.0
) -> dict[str, Any]:
    """Run one configuration ``repeat`` times in this process; return its measurements.

    A run longer than ``max_repeat_s`` is not repeated: at that length, best-of-k buys
    little precision for a lot of time.
    """
    base_rss = current_rss_mb()
    fingerprint = code_fingerprint()
    # The bare-SimPy reference is measured before and again after the model (RAW_SLICES
    # slices each side) and the engine ratio divides by the median slice: one measurement
    # before a minute-long run moved the ratio with the machine's speed at that second
    # (llama3: 0.014 and 0.008 for the same code, its raw rate 1.07 and 1.80 M events/s).
    slice_events = max(1, raw_events // RAW_SLICES)
    raw = [raw_simpy_rate(slice_events) for _ in range(RAW_SLICES)]
    heap_rate = max(raw_simpy_heap_rate(raw_events) for _ in range(repeat))
    t0 = time.perf_counter()
    scenario = CONFIGS[name].build()
    build_scenario_s = time.perf_counter() - t0
    out: dict[str, Any] = {
        "name": name,
        "series": CONFIGS[name].series,
        "code": fingerprint,
        "size": describe(scenario),
        "build_scenario_s": build_scenario_s,
        # the slices before the model only, until the slices after it are measured
        "raw_simpy_events_per_s": float(np.median([r[0] for r in raw])),
        "raw_simpy_heap1k_events_per_s": heap_rate,
        "rss_before_mb": base_rss,
    }
    sampler = Sampler(SAMPLE_EVERY_S)
    sampler.partial = out
    signal.signal(signal.SIGALRM, sampler.sample)
    signal.signal(signal.SIGTERM, sampler.terminate)
    walls: list[float] = []
    runs: list[float] = []
    cpus: list[float] = []
    model_events: list[int] = []
    simpy_events: list[int] = []
    trace: list[list[float]] = []
    sim: Simulation | None = None
    for rep in range(repeat):
        if sim is not None:
            del sim
            gc.collect()
        t0 = time.perf_counter()
        sim = Simulation(scenario, seed=0, keep_log=False)
        t1, c1 = time.perf_counter(), time.process_time()
        sampler.start(sim, t1, c1)
        sim.run()
        t2, c2 = time.perf_counter(), time.process_time()
        rep_trace = sampler.stop()
        if rep == 0:
            trace = rep_trace
        walls.append(t2 - t0)
        runs.append(t2 - t1)
        cpus.append(c2 - c1)
        model_events.append(sim.tally.records)
        simpy_events.append(simpy_events_processed(sim.env))
        out["completed_wall_s"] = walls
        if t2 - t0 > max_repeat_s:
            break
    assert sim is not None
    out["peak_rss_mb"] = rss_mb()
    raw += [raw_simpy_rate(slice_events) for _ in range(RAW_SLICES)]
    raw_rate = float(np.median([r[0] for r in raw]))
    raw_cpu_rate = float(np.median([r[2] for r in raw]))
    out["raw_simpy_events_per_s"] = raw_rate
    out["raw_simpy_events_per_cpu_s"] = raw_cpu_rate
    out["raw_simpy_events_per_s_slices"] = [r[0] for r in raw]
    out["raw_simpy_events"] = sum(r[1] for r in raw)
    t0 = time.perf_counter()
    metrics_error = None
    summary: dict[str, Any] = {}
    try:
        from clustersim.metrics import measure

        summary = measure(sim).summary
    except Exception as err:  # the product is edited concurrently; report, don't crash
        metrics_error = f"{type(err).__name__}: {err}"
    metrics_s = time.perf_counter() - t0
    best_run = min(runs)
    out.update(
        {
            "status": "ok",
            "repeat": len(walls),
            "wall_s": min(walls),
            "run_s": best_run,
            "wall_first_s": walls[0],
            "wall_s_all": walls,
            "run_s_all": runs,
            "run_cpu_s": min(cpus),
            "run_cpu_s_all": cpus,
            "metrics_s": metrics_s,
            "metrics_error": metrics_error,
            "model_events": model_events[0],
            "simpy_events": simpy_events[0],
            "deterministic": len(set(model_events)) == 1 and len(set(simpy_events)) == 1,
            "model_events_per_s": model_events[0] / best_run,
            "simpy_events_per_s": simpy_events[0] / best_run,
            "engine_ratio": simpy_events[0] / best_run / raw_rate,
            "engine_ratio_cpu": simpy_events[0] / min(cpus) / raw_cpu_rate,
            "sim_days": sim.end_s / 86400,
            "jobs_finished": sim.finished,
            "jobs_queued_at_end": len(sim.queue),
            "utilisation": summary.get("utilisation"),
            "goodput": summary.get("goodput"),
            "interruptions": summary.get("interruptions_total"),
            "trace": trace,
        }
    )
    return out


def profile_config(name: str, top: int = PROFILE_TOP) -> dict[str, Any]:
    """cProfile one run (construction + run); the top functions by cumulative and self time."""
    scenario = CONFIGS[name].build()
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    sim = Simulation(scenario, seed=0, keep_log=False)
    sim.run()
    profiler.disable()
    wall = time.perf_counter() - t0
    stats = pstats.Stats(profiler)
    root = str(BENCH_DIR.parent) + os.sep

    def rows(key: str) -> list[dict[str, Any]]:
        index = 3 if key == "cum" else 2
        ordered = sorted(stats.stats.items(), key=lambda kv: kv[1][index])
        out = []
        for (filename, line, func), (cc, nc, tt, ct, _) in reversed(ordered[-top:]):
            where = filename.replace(root, "").replace(sys.prefix + os.sep, "")
            site = where.rfind("site-packages" + os.sep)
            if site >= 0:
                where = where[site + len("site-packages") + 1 :]
            out.append(
                {
                    "function": f"{where}:{line}({func})",
                    "calls": nc if nc == cc else f"{nc}/{cc}",
                    "tottime_s": round(tt, 4),
                    "cumtime_s": round(ct, 4),
                }
            )
        return out

    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
    return {
        "config": name,
        "code": code_fingerprint(),
        "profiled_wall_s": wall,
        "model_events": sim.tally.records,
        "simpy_events": simpy_events_processed(sim.env),
        "by_cumulative": rows("cum"),
        "by_self": rows("self"),
        "text": text.getvalue(),
    }


# ----------------------------------------------------------------------------- orchestration
def machine_info() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu_model = platform.processor() or ""
    mem_gb = None
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 2**20, 1)
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": cpu_model,
        "cpu_count": os.cpu_count(),
        "cpu_usable": usable,
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "numpy": np.__version__,
        "simpy": getattr(simpy, "__version__", "unknown"),
        "clustersim": clustersim.__version__,
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def run_child(args: list[str], timeout_s: float) -> dict[str, Any]:
    """Run ``run.py <args>`` in a fresh interpreter; SIGTERM it at ``timeout_s``."""
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    with tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        try:
            stdout, _ = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)
            try:
                stdout, _ = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                stdout, _ = proc.communicate()
        elapsed = time.perf_counter() - t0
        err.seek(0)
        stderr = err.read()
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    if lines:
        result: dict[str, Any] = json.loads(lines[-1])
    else:
        result = {"status": "error", "error": stderr.strip().splitlines()[-5:]}
    result["subprocess_s"] = elapsed
    if result.get("status") == "timeout":
        result["timeout_s"] = timeout_s
    return result


def select(args: argparse.Namespace) -> list[str]:
    """Configuration names to run, in a stable order, without duplicates."""
    if args.all:
        names = list(CONFIGS)
    else:
        names = list(args.config or [])
        if args.scaling:
            names += [*SCALE_GPUS, *SCALE_JOBS]
        if not names:
            names = list(QUICK)
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        known = ", ".join(CONFIGS)
        raise SystemExit(f"run.py: unknown configuration(s) {', '.join(unknown)} (known: {known})")
    skip = set(args.skip or [])
    return [n for n in dict.fromkeys(names) if n not in skip]


def log(message: str) -> None:
    """Progress to stderr (results go to the JSON file)."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def summarise_line(res: dict[str, Any]) -> str:
    """One human line per configuration for the terminal."""
    name = res.get("name", "?")
    if res.get("status") == "ok":
        return (
            f"{name:18s} wall {res['wall_s']:8.3f} s  run {res['run_s']:8.3f} s  "
            f"events {res['model_events']:>9,d} model / {res['simpy_events']:>9,d} simpy  "
            f"{res['simpy_events_per_s']:>9,.0f} ev/s  ratio {res['engine_ratio']:.3f}  "
            f"RSS {res['peak_rss_mb']:6.0f} MiB"
        )
    if res.get("status") == "timeout":
        return (
            f"{name:18s} TIMEOUT after {res.get('reached_wall_s', 0):.0f} s at simulated day "
            f"{res.get('reached_sim_days', 0):.1f} of {res['size']['days']:.0f} "
            f"({res.get('reached_model_events', 0):,} model events)"
        )
    return f"{name:18s} ERROR {res.get('error')}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", action="append", metavar="NAME", help="repeatable")
    parser.add_argument("--all", action="store_true", help="every configuration")
    parser.add_argument("--scaling", action="store_true", help="add both scaling series")
    parser.add_argument("--skip", action="append", metavar="NAME", help="leave a config out")
    parser.add_argument("--repeat", type=int, default=3, metavar="K", help="best of K (3)")
    parser.add_argument("--raw-events", type=int, default=RAW_EVENTS, metavar="N")
    parser.add_argument(
        "--max-repeat-s",
        type=float,
        default=60.0,
        metavar="S",
        help="do not repeat a run that took longer than S seconds (60)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="S",
        help=f"wall budget per configuration subprocess ({DEFAULT_TIMEOUT_S:.0f} s)",
    )
    parser.add_argument(
        "--profile", action="append", metavar="NAME", help="also cProfile NAME (repeatable)"
    )
    parser.add_argument("--out", default="latest.json", help="file name under bench/results/")
    parser.add_argument("--list", action="store_true", help="list configurations and exit")
    parser.add_argument("--child", metavar="NAME", help=argparse.SUPPRESS)
    parser.add_argument("--child-profile", metavar="NAME", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        result = measure_config(args.child, max(1, args.repeat), args.raw_events, args.max_repeat_s)
        sys.stdout.write(json.dumps(result) + "\n")
        return 0
    if args.child_profile:
        sys.stdout.write(json.dumps(profile_config(args.child_profile)) + "\n")
        return 0
    if args.list:
        for name, cfg in CONFIGS.items():
            size = describe(cfg.build())
            sys.stdout.write(
                f"{name:18s} {size['gpus']:>7,d} GPUs {size['jobs']:>8,d} jobs "
                f"{size['days']:6.1f} days  load {size['offered_load']:.2f}\n"
            )
        return 0

    names = select(args)
    out_path = RESULTS_DIR / args.out
    out_path.parent.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_info(),
        "code_at_start": code_fingerprint(),
        "settings": {
            "repeat": args.repeat,
            "raw_events": args.raw_events,
            "timeout_s": args.timeout,
            "max_repeat_s": args.max_repeat_s,
            "sample_every_s": SAMPLE_EVERY_S,
        },
        "targets": TARGETS,
        "configs": {},
        "profiles": {},
    }
    for name in names:
        log(f"[bench] {name} ...")
        child_args = ["--child", name, "--repeat", str(args.repeat)]
        child_args += ["--raw-events", str(args.raw_events)]
        child_args += ["--max-repeat-s", str(args.max_repeat_s)]
        res = run_child(child_args, args.timeout)
        res.setdefault("name", name)
        report["configs"][name] = res
        log("[bench] " + summarise_line(res))
        _write(out_path, report)
    for name in args.profile or []:
        log(f"[bench] profiling {name} ...")
        prof = run_child(["--child-profile", name], args.timeout)
        report["profiles"][name] = prof
        _write(out_path, report)
    raws = [c.get("raw_simpy_events_per_s") for c in report["configs"].values()]
    raws = [r for r in raws if r]
    if raws:
        report["raw_simpy_events_per_s_median"] = float(np.median(raws))
    report["elapsed_s"] = (datetime.now(UTC) - started).total_seconds()
    report["code_at_end"] = code_fingerprint()
    codes = {c.get("code") for c in report["configs"].values() if c.get("code")}
    if len(codes) > 1 or report["code_at_end"] != report["code_at_start"]:
        log("[bench] WARNING: the product code changed during this run; results mix versions")
    _write(out_path, report)
    log(f"[bench] wrote {out_path}")
    return 0


def _write(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically (temp file + rename), so a killed run leaves the last good file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(path)


if __name__ == "__main__":
    raise SystemExit(main())

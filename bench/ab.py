"""Same-run before/after: one bench configuration under two checkouts, alternately.

Each repetition runs the configuration once with the ``before`` code and once with the
``after`` code, each in a fresh Python subprocess, the two sides alternating so that a burst
of load on the shared machine hits both alike. A side's code is chosen with ``PYTHONPATH``
(``<root>/src:<root>``), which Python searches before the editable install of the venv that
runs this script. The scenario is built by *this* checkout's ``bench/configurations.py`` for
both sides, so both simulate the same thing.

Caveat: ``clustersim.scheduler`` and ``clustersim.faults`` are not under ``src/``; the
editable install maps them to the checkout whose venv runs the script (here ``scheduler/``
and ``faults/`` of the ``after`` checkout), and ``PYTHONPATH`` does not change that. Both
sides therefore use the ``after`` scheduling policies and fault models; the file each side
loaded them from is recorded (``scheduler_file``). Between f9d8f61 and session 5 only
``scheduler/tiresias.py`` changed there (the livelock fix), and no bench configuration uses
Tiresias.

Measured per run: CPU seconds (``time.process_time``) of ``Simulation(...).run()`` alone (CPU
time is disturbed far less than wall time by other processes), SimPy events scheduled (the
environment's event-id counter), model records (``sim.tally.records``) and the peak RSS of
the subprocess. The table gives the best CPU time of each side and after ÷ before.

Usage::

    uv run python bench/ab.py llama3 meta24k-month hpcsim-day --repeat 3
    uv run python bench/ab.py fleet-350k-year --days 30 --repeat 1 --before /tmp/wt-before
    uv run python bench/ab.py year-131k --repeat 1 --out ab-session5.json   # merges by key

Results are merged into ``bench/results/<--out>`` (default ``ab.json``), one entry per
configuration and horizon, so several invocations can fill one file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"

CHILD = r"""
import hashlib, json, resource, sys, time
sys.path.insert(0, "bench")
import configurations as C
import clustersim
import clustersim.metrics
import clustersim.scheduler
from clustersim.engine.simulation import Simulation
s = C.build(sys.argv[1], float(sys.argv[2]))
sim = Simulation(s, replication=0, seed=0, keep_log=False)
t = time.process_time()
sim.run()
dt = time.process_time() - t
tally = getattr(sim, "tally", None)
summary = clustersim.metrics.measure(sim).summary
blob = json.dumps(summary, sort_keys=True, default=repr).encode()
compiled = sorted(
    name for name, m in list(sys.modules.items())
    if name.startswith("clustersim") and (getattr(m, "__file__", None) or "").endswith(".so")
)
print(json.dumps({
    "cpu": dt,
    "events": next(sim.env._eid) if hasattr(sim.env, "_eid") else 0,
    "records": getattr(tally, "records", None),
    "summary_sha256": hashlib.sha256(blob).hexdigest(),
    "jobs_finished": summary.get("jobs_finished"),
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "clustersim_file": clustersim.__file__,
    "scheduler_file": clustersim.scheduler.__file__,
    "compiled": compiled,
}))
"""
"""The measured subprocess: argv = configuration, horizon in days (0 = the configuration's).

Besides the CPU time of ``.run()`` it reports a SHA-256 of the metrics summary (``measure`` is
called after the timed part), so that "the same simulation" is checked, not assumed, and
which ``clustersim`` modules were compiled extensions (``bench/mypyc_ab.py``)."""


def run_side(root: Path, config: str, days: float, pythonpath: str | None = None) -> dict[str, Any]:
    """One fresh subprocess running ``config`` with the code of ``root``.

    ``pythonpath`` defaults to a checkout's ``<root>/src:<root>``; a package tree laid out
    as installed (``bench/mypyc_build.sh``) passes ``<tree>``.
    """
    path = pythonpath if pythonpath is not None else f"{root / 'src'}:{root}"
    out = subprocess.run(
        [sys.executable, "-c", CHILD, config, repr(days)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": path},
        cwd=ROOT,
        check=False,
    )
    if out.returncode:
        raise SystemExit(f"{config} with {root} failed:\n{out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    if not result["clustersim_file"].startswith(str(root)):
        raise SystemExit(f"{root} was not imported: {result['clustersim_file']}")
    return result


def instructions(root: Path, config: str, days: float, pythonpath: str | None = None) -> int:
    """User-space instructions of one :data:`CHILD` subprocess under valgrind (cachegrind, no
    cache model); ``pythonpath`` as in :func:`run_side`.

    Load-independent, unlike CPU time on a shared machine (where the same run's CPU time
    scatters by 20 % and more); instructions are not time, so this is a cross-check of a
    CPU-time ratio, not a replacement for it. The process builds the scenario too: subtract
    a run to a horizon of ~0 s (:func:`run_instructions`).
    """
    path = pythonpath if pythonpath is not None else f"{root / 'src'}:{root}"
    env = {**os.environ, "PYTHONPATH": path}
    return valgrind_instructions([sys.executable, "-c", CHILD, config, repr(days)], env)


def valgrind_instructions(cmd: list[str], env: dict[str, str]) -> int:
    """User-space instructions of ``cmd`` (run here) under cachegrind without a cache model."""
    valgrind = [
        "valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"
    ]  # fmt: skip
    out = subprocess.run(
        [*valgrind, *cmd], capture_output=True, text=True, env=env, cwd=ROOT, check=False
    )
    if out.returncode:
        raise SystemExit(f"valgrind {' '.join(cmd[-2:])}:\n{out.stderr[-2000:]}")
    for line in out.stderr.splitlines():
        if "I" in line and "refs:" in line:
            return int(line.split("refs:")[1].strip().replace(",", ""))
    raise SystemExit(f"no instruction count from valgrind:\n{out.stderr[-2000:]}")


def run_instructions(
    config: str, days: float, sides: tuple[tuple[str, Path, str | None], ...]
) -> dict[str, Any]:
    """Instructions of ``.run()`` per side: a run to the horizon minus one to ~0 s.

    ``sides`` are (name, root, pythonpath) triples as :func:`instructions` takes them; the
    ratio is the second side's count over the first's.
    """
    res: dict[str, Any] = {"config": config, "days": days if days > 0 else None}
    for side, root, path in sides:
        full = instructions(root, config, days, path)
        empty = instructions(root, config, 1e-6, path)
        res[side] = {"full": full, "empty": empty, "run": full - empty}
        sys.stderr.write(f"[ab] {config} {side}: {full - empty:,} instructions in .run()\n")
    (first, *_), (second, *_) = sides[0], sides[-1]
    res["ratio"] = res[second]["run"] / res[first]["run"]
    res["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    return res


def common_arguments(parser: argparse.ArgumentParser, pair: str) -> None:
    """The arguments every two-sided comparison takes (``pair`` names its sides)."""
    parser.add_argument("configs", nargs="+", help="names from bench/configurations.py")
    parser.add_argument(
        "--days", type=float, default=0.0, help="horizon in days (default: the configuration's)"
    )
    parser.add_argument("--repeat", type=int, default=3, help=f"{pair} pairs (best of)")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions under valgrind instead of CPU time (load-independent; ~30x "
        "slower; one run to the horizon and one to ~0 s per side)",
    )


def measure(
    config: str, days: float, repeat: int, before: Path, after: Path, log: bool = True
) -> dict[str, Any]:
    """Alternate ``repeat`` before/after pairs; best CPU time of each side and the ratio."""
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    for _ in range(repeat):
        for side, root in (("before", before), ("after", after)):
            res = run_side(root, config, days)
            runs[side].append(res)
            if log:
                sys.stderr.write(f"[ab] {config} {side}: {res['cpu']:.2f} s CPU\n")
    b = min(r["cpu"] for r in runs["before"])
    a = min(r["cpu"] for r in runs["after"])
    return {
        "config": config,
        "days": days if days > 0 else None,
        "repeat": repeat,
        "before_cpu_s": b,
        "after_cpu_s": a,
        "ratio": a / b,
        "speedup": b / a,
        "before_events": runs["before"][0]["events"],
        "after_events": runs["after"][0]["events"],
        "before_records": runs["before"][0]["records"],
        "after_records": runs["after"][0]["records"],
        "before_peak_rss_mb": max(r["peak_rss_mb"] for r in runs["before"]),
        "after_peak_rss_mb": max(r["peak_rss_mb"] for r in runs["after"]),
        "runs": runs,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_avg": os.getloadavg()[0],
    }


def git_head(root: Path) -> str | None:
    """The commit checked out at ``root`` (None when it is not a git checkout)."""
    out = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() or None


METHOD = (
    "alternating fresh subprocesses, PYTHONPATH=<root>/src:<root>; best CPU s of .run(); "
    "clustersim.scheduler/faults come from the running venv's editable install"
)


def save(path: Path, key: str, res: dict[str, Any], method: str = METHOD) -> None:
    """Merge one result into ``path``, read afresh so that concurrent runs keep theirs."""
    data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    data.setdefault("results", {})[key] = res
    data["machine"] = {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    data["method"] = method
    path.write_text(json.dumps(data, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common_arguments(parser, "before/after")
    parser.add_argument("--before", type=Path, default=Path("/tmp/wt-before"))
    parser.add_argument("--after", type=Path, default=ROOT)
    parser.add_argument("--out", default="ab.json", help="file under bench/results/ (merged)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    for root in (args.before, args.after):
        if not (root / "src" / "clustersim").is_dir():
            parser.error(f"{root} has no src/clustersim")
    path = RESULTS_DIR / args.out
    if args.instructions:
        for config in args.configs:
            sides = (("before", args.before.resolve(), None), ("after", args.after.resolve(), None))
            res = run_instructions(config, args.days, sides)
            key = (config if args.days <= 0 else f"{config}@{args.days:g}d") + "/instructions"
            save(path, key, res)
            print(f"{key}: after / before = {res['ratio']:.3f} instructions in .run()")
        return 0
    for config in args.configs:
        res = measure(config, args.days, args.repeat, args.before.resolve(), args.after.resolve())
        res["before_root"] = str(args.before)
        res["before_commit"] = git_head(args.before)
        res["after_root"] = str(args.after)
        res["after_commit"] = git_head(args.after)
        key = config if args.days <= 0 else f"{config}@{args.days:g}d"
        save(path, key, res)
        print(
            f"{key}: before {res['before_cpu_s']:.2f} s ({res['before_events']:,} ev) "
            f"after {res['after_cpu_s']:.2f} s ({res['after_events']:,} ev) "
            f"ratio {res['ratio']:.3f} (speed-up {res['speedup']:.2f}x)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

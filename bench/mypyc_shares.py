"""Where ``.run()``'s time goes, by file, under cProfile: the ceiling of what mypyc can buy.

mypyc speeds up the Python bytecode of the modules it compiles; time in C (numpy, builtins,
``heapq``) and in modules left as Python (SimPy, the rest of the engine) stays. This groups
the self time (``tottime``) of one pure-Python run by where the function lives, so that the
compiled modules' share bounds the gain (Amdahl). cProfile inflates many small calls, so the
shares are rough.

Usage::

    PYTHONPATH=/tmp/mx/pure uv run python bench/mypyc_shares.py year-131k --days 30
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import configurations as C

from clustersim.engine.simulation import Simulation

COMPILED_B = (
    "clustersim/cluster.py",
    "clustersim/engine/lifecycle.py",
    "clustersim/engine/dispatcher.py",
    "clustersim/engine/fleet.py",
    "clustersim/engine/accounts.py",
    "clustersim/engine/recorder.py",
    "clustersim/engine/degradation.py",
    "clustersim/job.py",
    "clustersim/checkpoint.py",
    "clustersim/metrics.py",
    "clustersim/scheduler/easy_backfill.py",
)


def group(filename: str) -> str:
    """The bucket of a profiled function's file."""
    if filename == "~" or filename.startswith("<"):
        return "C (numpy, builtins, heapq, ...)"
    if "/simpy/" in filename:
        return "SimPy"
    for mod in COMPILED_B:
        if filename.endswith(mod):
            return "compiled in round (b): " + mod.removeprefix("clustersim/")
    if "/clustersim/" in filename:
        return "other clustersim (left as Python)"
    return "other Python (stdlib, numpy's Python, ...)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--days", type=float, default=0.0)
    args = parser.parse_args()
    s = C.build(args.config, args.days)
    sim = Simulation(s, replication=0, seed=0, keep_log=False)
    prof = cProfile.Profile()
    prof.runcall(sim.run)
    stats = pstats.Stats(prof)
    by: dict[str, float] = defaultdict(float)
    for (filename, _line, _name), row in stats.stats.items():  # type: ignore[attr-defined]
        by[group(filename)] += row[2]  # tottime
    total = sum(by.values())
    print(f"{args.config} ({args.days or 'full'} d): {total:.2f} s self time under cProfile")
    comp = sum(v for k, v in by.items() if k.startswith("compiled"))
    for k, v in sorted(by.items(), key=lambda kv: -kv[1]):
        print(f"  {v:7.2f} s  {100 * v / total:5.1f} %  {k}")
    print(f"  compiled in round (b), together: {comp:.2f} s, {100 * comp / total:.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

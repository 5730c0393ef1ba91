"""The allocator alone, before/after: replay one run's ``Cluster`` calls on two ``cluster.py``.

A whole-run A/B (``ab.py``) moves ±10 % between pairs on the shared 2-core machine, too much
to see a change worth 5 % of a run. This tool isolates the node-state layer: it runs a bench
configuration once, records every top-level call that changes a ``Cluster`` (allocate,
release, replacements, failures, repairs, maintenance batches, installs and retirements)
with its arguments and result, then replays that log on a fresh ``Cluster`` built from each
of two ``cluster.py`` files (loaded side by side in one process), alternately:

* **differential**: each side must return exactly the recorded result of every call (same
  nodes, same placements) and pass ``Cluster.check()`` at the end — a faster allocator is
  checked against the one that produced the log on a real year-scale trace;
* **timing**: best CPU seconds (``time.process_time``, garbage collector off) of each side's
  replay, and their ratio.

Usage::

    uv run python bench/replay_cluster.py year-131k --days 30 --before /tmp/wt-before
    uv run python bench/replay_cluster.py fleet-350k-year --days 30 --repeat 5 \\
        --before /tmp/a --after /tmp/b --log /tmp/fleet30.pkl   # reuse a recorded log
    uv run python bench/replay_cluster.py year-131k --days 45 --log /tmp/y45.pkl --instructions

``--instructions`` counts, instead of timing, the user-space instructions each side's replay
executes (valgrind's cachegrind without a cache model, in a subprocess per side: one run
replaying the whole log minus one replaying none), which the machine's load does not move;
it needs ``--log``.

The log is recorded with this checkout's code (``src/``); ``cluster.py`` imports only
``clustersim.topology`` from the package, so any two checkouts' files can be compared.
"""

from __future__ import annotations

import argparse
import copy
import functools
import gc
import importlib.util
import os
import pickle
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent

MUTATORS = (
    "allocate",
    "allocate_slot",
    "close_shared",
    "vacate_slot",
    "release",
    "take_replacements",
    "fail",
    "fail_many",
    "repair_many",
    "fail_rack",
    "repair",
    "install",
    "retire",
)
"""The ``Cluster`` methods that change node state (recorded when called from outside)."""

Call = tuple[str, tuple[Any, ...], Any]


def record(config: str, days: float) -> tuple[tuple[tuple[Any, ...], dict[str, Any]], list[Call]]:
    """Run ``config`` and return the first ``Cluster``'s constructor arguments and call log."""
    sys.path.insert(0, str(BENCH_DIR))
    import configurations

    import clustersim.cluster as cluster_module
    from clustersim.engine.simulation import Simulation

    cls = cluster_module.Cluster
    inits: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    log: list[Call] = []
    depth = [0]
    original_init = cls.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        inits.append((copy.deepcopy(args), copy.deepcopy(kwargs)))
        depth[0] += 1
        try:
            original_init(self, *args, **kwargs)
        finally:
            depth[0] -= 1

    def wrap(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def recorded(self: Any, *args: Any) -> Any:
            top = depth[0] == 0
            kept = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
            depth[0] += 1
            try:
                result = method(self, *args)
            finally:
                depth[0] -= 1
            if top:
                log.append(
                    (name, kept, result.copy() if isinstance(result, np.ndarray) else result)
                )
            return result

        return recorded

    originals = {name: getattr(cls, name) for name in MUTATORS}
    cls.__init__ = init  # type: ignore[method-assign]
    for name, method in originals.items():
        setattr(cls, name, wrap(name, method))
    try:
        scenario = configurations.build(config, days)
        Simulation(scenario, replication=0, seed=0, keep_log=False).run()
    finally:
        cls.__init__ = original_init  # type: ignore[method-assign]
        for name, method in originals.items():
            setattr(cls, name, method)
    return inits[0], log


def load(path: Path, name: str) -> ModuleType:
    """Import ``path`` (a ``cluster.py``) as module ``name``."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def normal(value: Any) -> Any:
    """A result in a form comparable across the two modules' classes."""
    if hasattr(value, "racks") and hasattr(value, "nodes"):  # a Placement
        return ("placement", tuple(value.nodes), value.racks, value.pods)
    if isinstance(value, np.ndarray):
        return ("array", value.tolist())
    if hasattr(value, "name") and hasattr(value, "value"):  # a NodeState
        return int(value)
    return value


def replay(
    module: ModuleType,
    init: tuple[tuple[Any, ...], dict[str, Any]],
    log: list[Call],
    *,
    check: bool,
) -> float:
    """Replay ``log`` on a fresh cluster of ``module``; CPU seconds (asserts results if asked)."""
    args, kwargs = init
    cluster = module.Cluster(*args, **kwargs)
    gc.disable()
    t0 = time.process_time()
    try:
        for i, (name, call_args, expected) in enumerate(log):
            result = getattr(cluster, name)(*call_args)
            if check and normal(result) != normal(expected):
                raise AssertionError(f"call {i} {name}{str(call_args)[:80]}: result differs")
    finally:
        elapsed = time.process_time() - t0
        gc.enable()
    if check:
        cluster.check()
    return elapsed


CHILD = r"""
import gc, pickle, sys
sys.path.insert(0, sys.argv[1])
import replay_cluster as R
from pathlib import Path
init, log = pickle.loads(Path(sys.argv[2]).read_bytes())
module = R.load(Path(sys.argv[3]), "_replay_side")
args, kwargs = init
cluster = module.Cluster(*args, **kwargs)
gc.disable()
for name, call_args, _ in log[: int(sys.argv[4])]:
    getattr(cluster, name)(*call_args)
"""


def instructions(log: Path, cluster_py: Path, calls: int) -> int:
    """User-space instructions of a subprocess replaying the first ``calls`` calls of ``log``."""
    from ab import valgrind_instructions  # bench/ab.py, beside this file

    env = {**os.environ, "PYTHONHASHSEED": "0"}  # set iteration orders alike in every run
    child = [sys.executable, "-c", CHILD, str(BENCH_DIR), str(log), str(cluster_py), str(calls)]
    return valgrind_instructions(child, env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="a name from bench/configurations.py")
    parser.add_argument("--days", type=float, default=30.0, help="horizon in days (30)")
    parser.add_argument("--repeat", type=int, default=5, help="alternating pairs (best of)")
    parser.add_argument("--before", type=Path, default=Path("/tmp/wt-before"))
    parser.add_argument("--after", type=Path, default=ROOT)
    parser.add_argument("--log", type=Path, help="pickle of the call log (reused if present)")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions (valgrind), not time"
    )
    args = parser.parse_args(argv)
    if args.instructions and args.log is None:
        parser.error("--instructions needs --log")
    if args.log is not None and args.log.exists():
        init, log = pickle.loads(args.log.read_bytes())
    else:
        init, log = record(args.config, args.days)
        if args.log is not None:
            args.log.write_bytes(pickle.dumps((init, log)))
    sides = {
        side: load(root / "src" / "clustersim" / "cluster.py", f"_replay_{side}")
        for side, root in (("before", args.before), ("after", args.after))
    }
    for module in sides.values():
        replay(module, init, log, check=True)
    sys.stdout.write(f"{len(log):,} calls; both sides return every recorded result\n")
    if args.instructions:
        counts = {}
        for side, root in (("before", args.before), ("after", args.after)):
            path = root / "src" / "clustersim" / "cluster.py"
            counts[side] = instructions(args.log, path, len(log)) - instructions(args.log, path, 0)
            sys.stdout.write(f"{side}: {counts[side]:,} instructions in the replay\n")
        sys.stdout.write(f"after / before = {counts['after'] / counts['before']:.3f}\n")
        return 0
    best = dict.fromkeys(sides, float("inf"))
    for _ in range(args.repeat):
        for side, module in sides.items():
            best[side] = min(best[side], replay(module, init, log, check=False))
    sys.stdout.write(
        f"before {best['before']:.3f} s CPU, after {best['after']:.3f} s CPU, "
        f"speed-up x{best['before'] / best['after']:.2f} (best of {args.repeat})\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

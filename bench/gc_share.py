"""How much of a run the garbage collector takes: CPU seconds per generation, in and after it.

Instruction counts (``ab.py --instructions``) under-count the collector: a full collection
walks the whole heap and waits on memory more than it executes. This measures its CPU time
directly, with ``gc.callbacks``, in ``Simulation.run`` and then in ``measure`` (where the
collection the run left pending falls), for a configuration run to a number of days with
or without the event log kept (``Simulation``'s default and the CLI's ``--events`` keep it;
the bench does not).

Usage::

    uv run python bench/gc_share.py year-131k 365 --log      # the event log kept
    uv run python bench/gc_share.py year-131k 365            # as the bench runs it
"""

from __future__ import annotations

import argparse
import collections
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import configurations

from clustersim.engine.simulation import Simulation
from clustersim.metrics import measure


class CollectorClock:
    """CPU seconds and counts of the collections of each generation since the last reset."""

    def __init__(self) -> None:
        self.seconds: collections.Counter[int] = collections.Counter()
        self.counts: collections.Counter[int] = collections.Counter()
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.process_time()
        else:
            self.seconds[info["generation"]] += time.process_time() - self._start
            self.counts[info["generation"]] += 1

    def report(self) -> str:
        """Total CPU seconds and, per generation, collections and seconds; then reset."""
        per = ", ".join(
            f"gen {g}: {self.counts[g]} in {self.seconds[g]:.2f} s" for g in sorted(self.counts)
        )
        text = f"{sum(self.seconds.values()):.2f} s ({per or 'none'})"
        self.seconds.clear()
        self.counts.clear()
        return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="a name from bench/configurations.py")
    parser.add_argument("days", type=float)
    parser.add_argument("--log", action="store_true", help="keep the event log")
    args = parser.parse_args(argv)
    sim = Simulation(configurations.build(args.config, args.days), seed=0, keep_log=args.log)
    clock = CollectorClock()
    gc.callbacks.append(clock)
    start = time.process_time()
    sim.run()
    run_s = time.process_time() - start
    in_run = clock.report()
    start = time.process_time()
    measure(sim)
    measure_s = time.process_time() - start
    log = "log kept" if args.log else "no log"
    sys.stdout.write(
        f"{args.config}@{args.days:g}d, {log}: run() {run_s:.2f} s CPU, collector {in_run}; "
        f"measure() {measure_s:.2f} s, collector {clock.report()}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

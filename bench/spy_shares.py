"""Where a run's time goes, by module: shares of a py-spy sampling profile of ``.run()``.

cProfile's per-call overhead inflates code that makes many small calls, which is all of
clustersim's hot path; a sampling profiler does not. This reads py-spy's raw (collapsed
stack) output and charges each sample to the innermost frame of clustersim's own code
(``src/clustersim``, ``scheduler/``, ``faults/``), split by what that frame was running:
its own lines (numpy's C code included, which py-spy shows as the calling line), SimPy, or
another library. Only samples under ``Simulation.run`` count, so building the scenario is
left out. py-spy is not a dependency of the project: install it anywhere
(``pip install py-spy``).

Usage::

    py-spy record -r 250 -f raw -o /tmp/y45.raw -- .venv/bin/python bench/spy_run.py year-131k 45
    uv run python bench/spy_shares.py /tmp/y45.raw
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

OWN = ("clustersim", "scheduler/", "faults/")


def shares(raw: Path) -> tuple[int, dict[str, collections.Counter[str]]]:
    """Samples under ``Simulation.run`` and, per module of ours, samples by what ran."""
    total = 0
    by_module: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not any("Simulation.run" in frame for frame in frames):
            continue
        n = int(count)
        total += n
        owner = "(outside clustersim)"
        for frame in reversed(frames):
            path = frame.rpartition("(")[2].partition(":")[0]
            if any(mark in path for mark in OWN):
                owner = path.rpartition("/")[2]
                break
        leaf = frames[-1].rpartition("(")[2].partition(":")[0]
        what = "simpy" if "simpy" in leaf else "own" if leaf.endswith(owner) else "other"
        by_module[owner][what] += n
    return total, by_module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", type=Path, help="py-spy record -f raw output")
    args = parser.parse_args(argv)
    total, by_module = shares(args.raw)
    if not total:
        sys.stderr.write("no sample under Simulation.run\n")
        return 1
    rows = sorted(by_module.items(), key=lambda item: -sum(item[1].values()))
    sys.stdout.write(f"{total} samples under Simulation.run\n")
    for module, parts in rows:
        share = sum(parts.values()) / total
        if share < 0.005:
            continue
        detail = ", ".join(f"{k} {v / total:.1%}" for k, v in parts.most_common())
        sys.stdout.write(f"{share:6.1%}  {module:24s} {detail}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

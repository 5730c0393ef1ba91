"""Run one bench configuration to a horizon in days: the process to profile from outside.

Usage::

    uv run python bench/spy_run.py year-131k 45        # prints .run()'s CPU seconds
    py-spy record -r 250 -f raw -o /tmp/y45.raw -- .venv/bin/python bench/spy_run.py year-131k 45
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import configurations

from clustersim.engine.simulation import Simulation


def main(argv: list[str]) -> int:
    name, days = argv[0], float(argv[1])
    sim = Simulation(configurations.build(name, days), replication=0, seed=0, keep_log=False)
    start = time.process_time()
    sim.run()
    sys.stdout.write(f"{name}@{days:g}d: .run() {time.process_time() - start:.2f} s CPU\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

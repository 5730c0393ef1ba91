"""The cost of tracking power: one size run with and without a ``power`` section, one process.

Usage: ``uv run python bench/power_ratio.py [--config year-131k] [--repeat 1]``. Runs the
size alternately off, on, off, on ... (``--repeat`` pairs) and prints the best run CPU
time of each and their ratio (issue #20: tracking power may cost at most 20 %).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from configurations import CONFIGS

from clustersim.config import Scenario
from clustersim.engine.simulation import Simulation
from clustersim.metrics import measure


def timed(scenario: Scenario) -> tuple[float, float]:
    """CPU and wall seconds of ``Simulation(...).run()`` plus ``measure`` (seed 0)."""
    c0, w0 = time.process_time(), time.perf_counter()
    sim = Simulation(scenario, seed=0, keep_log=False)
    sim.run()
    measure(sim)
    return time.process_time() - c0, time.perf_counter() - w0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the pairs and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default="year-131k")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    off = CONFIGS[args.config].build()
    on = Scenario.model_validate({**off.model_dump(), "power": {"profile": "h100-sxm"}})
    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.repeat):
        for name, scenario in (("off", off), ("on", on)):
            cpu, wall = timed(scenario)
            sys.stderr.write(f"{args.config} power {name}: cpu {cpu:.1f} s, wall {wall:.1f} s\n")
            if name not in best or cpu < best[name][0]:
                best[name] = (cpu, wall)
    out = {
        "config": args.config,
        "cpu_off_s": best["off"][0],
        "cpu_on_s": best["on"][0],
        "wall_off_s": best["off"][1],
        "wall_on_s": best["on"][1],
        "ratio_cpu": best["on"][0] / best["off"][0],
    }
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

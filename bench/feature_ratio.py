"""The cost of a model feature: one size run with and without it, alternately in one process.

Usage: ``uv run python bench/feature_ratio.py [--feature power] [--config year-131k]
[--repeat 1]``. ``--config`` is a size of ``configurations.py`` or a preset name. Runs the
size alternately off, on, off, on ... (``--repeat`` pairs) and prints the best run CPU time
of each and their ratio. Features:

- ``power``: without, and with a ``power`` section (``h100-sxm``); issue #20: tracking power
  may cost at most 20 % on ``year-131k``.
- ``network``: ``network.model: none``, and the scenario's own network model (``fair-share``
  when it has none); issue #19: ``meta-24k-shared`` at most 1.5× with the model on,
  ``llama3-405b`` under 0.5 s of simulation with it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from configurations import CONFIGS

import clustersim
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


def pair(feature: str, config: str) -> tuple[Scenario, Scenario]:
    """The size without and with the feature."""
    base = CONFIGS[config].build() if config in CONFIGS else clustersim.load(config)
    data = base.model_dump()
    if feature == "power":
        off = Scenario.model_validate({**data, "power": None})
        return off, Scenario.model_validate({**data, "power": {"profile": "h100-sxm"}})
    network = dict(data.get("network") or {})
    on_model = network.get("model") if network.get("model", "none") != "none" else "fair-share"
    off = Scenario.model_validate({**data, "network": {**network, "model": "none"}})
    return off, Scenario.model_validate({**data, "network": {**network, "model": on_model}})


def main(argv: Sequence[str] | None = None) -> int:
    """Run the pairs and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feature", choices=("power", "network"), default="power")
    parser.add_argument("--config", default="year-131k")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    off, on = pair(args.feature, args.config)
    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.repeat):
        for name, scenario in (("off", off), ("on", on)):
            cpu, wall = timed(scenario)
            sys.stderr.write(
                f"{args.config} {args.feature} {name}: cpu {cpu:.2f} s, wall {wall:.2f} s\n"
            )
            if name not in best or cpu < best[name][0]:
                best[name] = (cpu, wall)
    out = {
        "config": args.config,
        "feature": args.feature,
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

"""Write a synthetic failure trace with known parameters, for ``clustersim trace fit``.

    uv run python bench/fit_example.py OUT.csv [--nodes 2048] [--days 54] [--seed 0]

Two causes on per-node renewals from time 0: ``gpu`` exponential at 2 per 1,000 node-days,
and ``infant`` Weibull with shape 0.5 and a mean of 300 node-days per failure (3.33 per
1,000 node-days). The file carries ``# nodes:`` and ``# window:`` lines.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from clustersim.cli import write_atomic

DAY = 86400.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--nodes", type=int, default=2048)
    parser.add_argument("--days", type=float, default=54.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    end = args.days * DAY
    rows: list[tuple[float, int, str]] = []
    gaps = rng.exponential(1000 * DAY / 2.0, (args.nodes, 20))
    scale = 300 * DAY / math.gamma(1 + 1 / 0.5)
    weib = scale * rng.weibull(0.5, (args.nodes, 60))
    for cause, block in (("gpu", gaps), ("infant", weib)):
        for node, row in enumerate(np.cumsum(block, axis=1)):
            rows += [(float(t), node, cause) for t in row[row <= end]]
    rows.sort()
    lines = [f"# nodes: {args.nodes}", f"# window: {args.days:g}d", "time,component,cause,duration"]
    lines += [f"{t:.0f},{node},{cause}," for t, node, cause in rows]
    write_atomic([(args.out, ("\n".join(lines) + "\n").encode("utf-8"))])
    print(f"{len(rows):,} rows -> {args.out}")


if __name__ == "__main__":
    main()

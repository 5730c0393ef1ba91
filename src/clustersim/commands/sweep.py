"""``clustersim sweep``: a grid of ``--set`` values × replications, on Dask or a process pool.

Parses the flags, opens the executor, runs :func:`clustersim.sweep.sweep` (resumable into
``--out``), shows points done and the ETA on stderr, and prints the summary table (mean and
95 % CI per point, paired differences against the baseline) or, with ``--json``, one object.
Dask and pyarrow are imported only when the sweep runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from clustersim.commands import COMMANDS
from clustersim.commands.common import Parser, add_overrides, positive_int

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    """Add ``sweep`` to the top-level parser."""
    p: Parser = sub.add_parser(
        "sweep",
        help=COMMANDS["sweep"],
        description="Run every combination of the --grid values, --reps replications each, "
        "with common random numbers (replication i of every point uses the streams of "
        "(seed, i)). With --out the results are appended as each point finishes, and the "
        "same command resumes an interrupted sweep.",
    )
    p.add_argument("scenario", help="preset name or scenario file")
    p.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="PATH=V1,V2,...",
        help="a knob and its values, e.g. --grid checkpoint.interval=5m,10m,30m (repeatable)",
    )
    add_overrides(p, "override a scenario field at every point")
    p.add_argument("--reps", type=positive_int, help="replications per point (run.replications)")
    p.add_argument("--seed", type=_seed, help="root seed (default: run.seed)")
    p.add_argument(
        "--out", type=Path, metavar="FILE", help="results file: .jsonl, .csv or .parquet"
    )
    p.add_argument(
        "--address",
        metavar="URL",
        help="Dask scheduler, e.g. tcp://host:8786 (default: env DASK_SCHEDULER_ADDRESS, "
        "else a local cluster)",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        help="local workers (default: the CPUs; 1 runs serially in this process)",
    )
    p.add_argument(
        "--baseline",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="the reference for paired differences (default: the first point); naming only "
        "some knobs compares within each row of the grid",
    )
    p.add_argument("--batch", type=positive_int, help="replications per task (default: auto)")
    p.add_argument("--json", action="store_true", help="print one JSON object to stdout")
    p.set_defaults(handler=run)


def _seed(text: str) -> int:
    from clustersim.commands.common import non_negative_int

    return non_negative_int(text)


def run(args: argparse.Namespace) -> int:
    """Run the sweep; print the table or JSON."""
    import orjson

    from clustersim import api
    from clustersim.commands.console import StdoutConsole
    from clustersim.config import UsageError
    from clustersim.output.progress import progress_bar
    from clustersim.sweep import parse_grid

    grid = parse_grid(args.grid)
    if not grid:
        raise UsageError("sweep: give at least one --grid PATH=V1,V2,...")
    baseline = _baseline(args.baseline, grid)
    scenario = api.load(args.scenario, set=args.overrides)
    with progress_bar("sweep", unit="points") as progress:
        result = api.sweep(
            scenario,
            grid,
            args.reps,
            args.seed,
            baseline=baseline,
            address=args.address,
            workers=args.workers,
            out=args.out,
            source=str(args.scenario),
            progress=progress,
            batch=args.batch,
        )
    if args.json:
        text = orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2).decode()
        sys.stdout.write(text + "\n")
    else:
        from clustersim.output.terminal import table_width

        StdoutConsole(highlight=False, width=table_width(sys.stdout)).print(result)
    return 0


def _baseline(specs: list[str], grid: dict[str, list[str]]) -> dict[str, str] | None:
    from clustersim.config import UsageError

    if not specs:
        return None
    out: dict[str, str] = {}
    for spec in specs:
        key, sep, value = spec.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or key not in grid:
            raise UsageError(f"--baseline {spec}: expected a grid knob=value ({', '.join(grid)})")
        if value not in grid[key]:
            raise UsageError(f"--baseline {spec}: {value!r} is not one of {key}'s grid values")
        out[key] = value
    return out

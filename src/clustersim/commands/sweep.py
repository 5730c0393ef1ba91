"""``clustersim sweep``: a grid of ``--set`` values × replications, on Dask or a process pool.

Parses the flags, opens the executor, runs :func:`clustersim.sweep.sweep` (resumable into
``--out``), shows points done and the ETA on stderr, and prints the summary table (mean and
95 % CI per point, paired differences against the baseline) or, with ``--json``, one object.
Dask and pyarrow are imported only when the sweep runs.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path
from typing import Any

from clustersim.commands.common import (
    Parser,
    StdoutConsole,
    add_overrides,
    positive_int,
    progress_bar,
)

INERT_CHECK_POINTS = 256
"""Grid points whose scenarios are checked for knobs that have no effect (the first ones)."""

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    """Add ``sweep`` to the top-level parser."""
    p: Parser = sub.add_parser(
        "sweep",
        help="run a grid of --set values x replications (Dask, process pool or serial)",
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

    from clustersim.config import UsageError, load_scenario
    from clustersim.config.inert import override_paths, warn_inert
    from clustersim.sweep import grid_points, paired, parse_grid, point_scenario, sweep

    grid = parse_grid(args.grid)
    if not grid:
        raise UsageError("sweep: give at least one --grid PATH=V1,V2,...")
    baseline = _baseline(args.baseline, grid)
    scenario = load_scenario(args.scenario, args.overrides)
    warn_inert([scenario], override_paths(args.overrides))
    points = itertools.islice(grid_points(grid), INERT_CHECK_POINTS)
    warn_inert((point_scenario(scenario, p) for p in points), list(grid))
    reps = args.reps or scenario.run.replications
    seed = scenario.run.seed if args.seed is None else args.seed
    with progress_bar("sweep", unit="points") as progress:
        records = sweep(
            scenario,
            grid,
            reps,
            seed,
            address=args.address,
            workers=args.workers,
            out=args.out,
            source=str(args.scenario),
            progress=progress,
            batch=args.batch,
        )
    diffs = paired(records, baseline)
    if args.json:
        payload = {"grid": grid, "reps": reps, "seed": seed, "records": records, "paired": diffs}
        sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        from clustersim.output.terminal import table_width

        console = StdoutConsole(highlight=False, width=table_width(sys.stdout))
        console.print(_table(scenario.name, grid, reps, seed, records, diffs))
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


def _table(
    name: str,
    grid: dict[str, list[str]],
    reps: int,
    seed: int,
    records: list[dict[str, Any]],
    diffs: list[dict[str, Any]],
) -> Any:
    from rich import box
    from rich.table import Table

    from clustersim.output.terminal import few_replications

    table = Table(
        title=f"clustersim sweep · {name} · {len(records)} points × {reps} replications · "
        f"seed {seed} (mean ± 95 % CI{few_replications(reps)}; Δ paired vs the baseline)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for key in grid:
        table.add_column(key, overflow="fold")
    for column in ("ETTR", "Δ ETTR", "goodput", "interruptions", "GPU-h wasted"):
        # "0.6741 ± 0.1959" wraps after the mean at a narrow width rather than losing the ±
        table.add_column(column, justify="right", overflow="fold")
    for rec, diff in zip(records, diffs, strict=True):
        s = rec["summary"]
        table.add_row(
            *[rec["point"][key] for key in grid],
            _pm(s.get("ettr"), s.get("ettr_ci95"), ".4f"),
            _delta(diff["ettr"], rec["point"] == diff["vs"]),
            _pm(s.get("goodput"), s.get("goodput_ci95"), ".4f"),
            _pm(s.get("interruptions_total"), s.get("interruptions_total_ci95"), ".1f"),
            _pm(s.get("gpu_hours_wasted"), s.get("gpu_hours_wasted_ci95"), ",.0f"),
        )
    return table


def _pm(mean: float | None, ci: list[float] | None, fmt: str) -> str:
    if mean is None:
        return "-"
    if not ci:
        return format(mean, fmt)
    up, down = ci[1] - mean, mean - ci[0]
    plain = fmt.lstrip("+")
    if abs(up - down) > 0.05 * max(up, down):  # a range-respecting interval is asymmetric
        return f"{format(mean, fmt)} +{format(up, plain)} −{format(down, plain)}"
    return f"{format(mean, fmt)} ± {format((ci[1] - ci[0]) / 2, plain)}"


def _delta(diff: dict[str, Any] | None, is_baseline: bool) -> str:
    if is_baseline:
        return "baseline"
    if diff is None or diff["mean"] is None:
        return "-"
    return _pm(diff["mean"], diff["ci95"], "+.4f")

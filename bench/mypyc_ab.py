"""Pure Python against mypyc-compiled: one configuration on two package trees, alternately.

An experiment for issue 22 ("a compiled core ... only if ..."), not a product path: how much
faster is ``Simulation.run()`` when the hot modules are compiled with mypyc? The two trees are
out-of-tree copies of the package laid out as it is installed (``<tree>/clustersim`` =
``src/clustersim`` + ``scheduler/`` as ``clustersim/scheduler`` + ``faults/`` as
``clustersim/faults``), one left as Python and one with some modules compiled (``.so`` next to
the ``.py``); ``bench/mypyc_build.sh`` makes both. A side is chosen with ``PYTHONPATH=<tree>``,
which Python searches before the editable install of the venv running this script; because
the trees hold ``scheduler/`` and ``faults/`` inside the package, both sides load them from
their own tree too (each run records the files it loaded and which modules were ``.so``).

Each repetition runs the configuration once per side, each in a fresh subprocess, the sides
alternating (as ``bench/ab.py``). Measured per run: CPU seconds (``time.process_time``) of
``.run()`` alone, SimPy events scheduled, model records, peak RSS, and a SHA-256 of
``clustersim.metrics.measure(sim).summary`` (JSON, sorted keys, floats by ``repr``), so that
"the same simulation" is checked, not assumed.

Usage::

    bash bench/mypyc_build.sh                      # /tmp/mx/pure, /tmp/mx/a, /tmp/mx/b
    uv run python bench/mypyc_ab.py year-131k --days 30 --repeat 3 --compiled /tmp/mx/b
    uv run python bench/mypyc_ab.py llama3 hpcsim-day --repeat 3 --compiled /tmp/mx/b
    uv run python bench/mypyc_ab.py hpcsim-day --instructions --compiled /tmp/mx/b  # valgrind

Results are merged into ``bench/results/<--out>`` (default ``mypyc.json``).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ab  # bench/ is the script's directory, first on sys.path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"


def run_side(tree: Path, config: str, days: float) -> dict[str, Any]:
    """One fresh subprocess running ``config`` with the package under ``tree``."""
    return ab.run_side(tree, config, days, pythonpath=str(tree))


def count_run(config: str, days: float, pure: Path, compiled: Path) -> dict[str, Any]:
    """Instructions of ``.run()`` per side (``bench/ab.py``'s :func:`run_instructions`)."""
    sides = (("pure", pure, str(pure)), ("compiled", compiled, str(compiled)))
    return ab.run_instructions(config, days, sides)


def measure(config: str, days: float, repeat: int, pure: Path, compiled: Path) -> dict[str, Any]:
    """Alternate ``repeat`` pure/compiled pairs; best CPU time of each side and the ratio."""
    runs: dict[str, list[dict[str, Any]]] = {"pure": [], "compiled": []}
    for _ in range(repeat):
        for side, tree in (("pure", pure), ("compiled", compiled)):
            res = run_side(tree, config, days)
            runs[side].append(res)
            sys.stderr.write(
                f"[mypyc-ab] {config} {side}: {res['cpu']:.2f} s CPU, {res['events']:,} ev, "
                f"{res['records']:,} rec, summary {res['summary_sha256'][:12]}, "
                f"{len(res['compiled'])} .so modules\n"
            )
    p = min(r["cpu"] for r in runs["pure"])
    c = min(r["cpu"] for r in runs["compiled"])
    same = {
        key: len({r[key] for side in runs.values() for r in side}) == 1
        for key in ("events", "records", "summary_sha256")
    }
    return {
        "config": config,
        "days": days if days > 0 else None,
        "repeat": repeat,
        "pure_cpu_s": p,
        "compiled_cpu_s": c,
        "ratio": c / p,
        "speedup": p / c,
        "same": same,
        "events": runs["pure"][0]["events"],
        "records": runs["pure"][0]["records"],
        "compiled_modules": runs["compiled"][0]["compiled"],
        "pure_peak_rss_mb": max(r["peak_rss_mb"] for r in runs["pure"]),
        "compiled_peak_rss_mb": max(r["peak_rss_mb"] for r in runs["compiled"]),
        "runs": runs,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_avg": os.getloadavg()[0],
    }


METHOD = (
    "alternating fresh subprocesses, PYTHONPATH=<tree> (package tree incl. scheduler/faults); "
    "best CPU s of .run(); pure tree vs mypyc-compiled tree"
)


def save(path: Path, key: str, res: dict[str, Any]) -> None:
    """Merge one result into ``path`` (``bench/ab.py``'s file format)."""
    ab.save(path, key, res, METHOD)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ab.common_arguments(parser, "pure/compiled")
    parser.add_argument("--pure", type=Path, default=Path("/tmp/mx/pure"))
    parser.add_argument("--compiled", type=Path, default=Path("/tmp/mx/b"))
    parser.add_argument("--out", default="mypyc.json", help="file under bench/results/ (merged)")
    parser.add_argument("--tag", default="", help="suffix of the result key (e.g. the round)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    for tree in (args.pure, args.compiled):
        if not (tree / "clustersim" / "scheduler").is_dir():
            parser.error(f"{tree} has no clustersim/scheduler (see bench/mypyc_build.sh)")
    path = RESULTS_DIR / args.out
    if args.instructions:
        for config in args.configs:
            res = count_run(config, args.days, args.pure.resolve(), args.compiled.resolve())
            key = config if args.days <= 0 else f"{config}@{args.days:g}d"
            key += f"/instructions{'/' + args.tag if args.tag else ''}"
            save(path, key, res)
            print(
                f"{key}: pure {res['pure']['run']:,} compiled {res['compiled']['run']:,} "
                f"instructions in .run(), ratio {res['ratio']:.3f}"
            )
        return 0
    for config in args.configs:
        res = measure(config, args.days, args.repeat, args.pure.resolve(), args.compiled.resolve())
        res["pure_tree"] = str(args.pure)
        res["compiled_tree"] = str(args.compiled)
        key = config if args.days <= 0 else f"{config}@{args.days:g}d"
        key += f"/{args.tag}" if args.tag else ""
        save(path, key, res)
        same = ", ".join(f"{k} {'same' if v else 'DIFFER'}" for k, v in res["same"].items())
        print(
            f"{key}: pure {res['pure_cpu_s']:.2f} s, compiled {res['compiled_cpu_s']:.2f} s, "
            f"ratio {res['ratio']:.3f} (speed-up {res['speedup']:.2f}x); {res['events']:,} ev, "
            f"{res['records']:,} rec; {same}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

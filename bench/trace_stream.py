"""Streaming figures for workload traces (docs/traces.md, "Measurements").

    uv run python bench/trace_stream.py generate /tmp/trace-1m.swf --jobs 1000000
    uv run python bench/trace_stream.py info /tmp/trace-1m.swf
    uv run python bench/trace_stream.py generate /tmp/trace-100k.swf --jobs 100000
    uv run python bench/trace_stream.py simulate /tmp/trace-100k.swf --time-scale 1.0

``generate`` streams a synthetic SWF file (Poisson arrivals over ``--window``, power-of-two
sizes with most jobs small and a few of 256-2,048 GPUs, lognormal run times with a 1 h median)
through ``write_swf`` one job at a time, from a seeded ``numpy`` generator. ``info`` runs
``clustersim trace info`` on a file under ``/usr/bin/time -v`` and prints wall time and peak
RSS. ``simulate`` runs the ``meta-24k-shared`` preset with its workload replaced by the
trace (``--set 'workload={trace: ..., jobs: [], generator: null}'``) the same way and prints
the headline results.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from clustersim.traces.record import TraceJob
from clustersim.traces.swf import write_swf

SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)
PROBS = (0.30, 0.10, 0.10, 0.30, 0.06, 0.05, 0.04, 0.02, 0.015, 0.01, 0.004, 0.001)
BLOCK = 65_536


def synthetic_jobs(n: int, window_s: float, seed: int) -> Iterator[TraceJob]:
    """``n`` jobs over ``window_s`` seconds, drawn in blocks (constant memory)."""
    rng = np.random.default_rng(seed)
    probs = np.array(PROBS) / sum(PROBS)
    submit = 0.0
    mean_gap = window_s / n
    done = 0
    while done < n:
        k = min(BLOCK, n - done)
        gaps = rng.exponential(mean_gap, k)
        sizes = rng.choice(len(SIZES), size=k, p=probs)
        runs = np.minimum(3600.0 * np.exp(1.5 * rng.standard_normal(k)), 7 * 86400.0)
        waits = rng.exponential(60.0, k)
        users = rng.integers(1, 500, k)
        for i in range(k):
            submit += float(gaps[i])
            sub = float(round(submit))
            start = sub + round(float(waits[i]))
            run = float(max(1, round(float(runs[i]))))
            yield TraceJob(
                id=str(done + i + 1),
                user=str(int(users[i])),
                gpus=SIZES[int(sizes[i])],
                submit_s=sub,
                start_s=start,
                end_s=start + run,
                run_s=run,
                state="COMPLETED",
            )
        done += k


def _timed(argv: list[str]) -> tuple[str, float, float]:
    """Run ``argv`` under ``/usr/bin/time -v``: (stdout, wall seconds, peak RSS MiB)."""
    proc = subprocess.run(
        ["/usr/bin/time", "-v", *argv], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", proc.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    assert wall is not None and rss is not None, proc.stderr
    hours = int(wall.group(1) or 0)
    seconds = hours * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    return proc.stdout, seconds, int(rss.group(1)) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate")
    gen.add_argument("out", type=Path)
    gen.add_argument("--jobs", type=int, default=1_000_000)
    gen.add_argument("--window-days", type=float, default=30.0)
    gen.add_argument("--seed", type=int, default=0)
    info = sub.add_parser("info")
    info.add_argument("trace", type=Path)
    sim = sub.add_parser("simulate")
    sim.add_argument("trace", type=Path)
    sim.add_argument("--time-scale", type=float, default=1.0)
    sim.add_argument("--horizon", default="30d")
    args = parser.parse_args()
    if args.command == "generate":
        with args.out.open("w", encoding="utf-8") as out:
            jobs = synthetic_jobs(args.jobs, args.window_days * 86400.0, args.seed)
            count = write_swf(jobs, out)
        print(f"{count:,} jobs -> {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    elif args.command == "info":
        out, wall, rss = _timed(["clustersim", "trace", "info", str(args.trace), "--json"])
        summary = json.loads(out)
        print(f"trace info: {summary['jobs']:,} jobs, {summary['gpu_hours']:,.0f} GPU-h")
        print(f"wall {wall:.1f} s, peak RSS {rss:.0f} MiB")
    else:
        trace = (  # a mapping merges into workload: clear the preset's own jobs and generator
            f"{{trace: {{path: {args.trace.resolve()}, time_scale: {args.time_scale}}}, "
            "jobs: [], generator: null}"
        )
        argv = [
            "clustersim",
            "run",
            "meta-24k-shared",
            "--set",
            f"workload={trace}",
            "--set",
            f"run.horizon={args.horizon}",
            "--json",
            "--no-jobs",
        ]
        out, wall, rss = _timed(argv)
        result = json.loads(out)
        summary = result.get("summary", result)
        print(
            json.dumps(
                {k: summary[k] for k in sorted(summary) if not isinstance(summary[k], dict | list)},
                indent=1,
            )
        )
        print(f"wall {wall:.1f} s, peak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()

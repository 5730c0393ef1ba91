"""Write a scenario's workload (e.g. a ``generator.shape: rsc1`` one) as an SWF file.

    uv run python bench/synthetic_swf.py SCENARIO OUT.swf [--seed N]

Prints the calibration figures (share of jobs under 8 GPUs, share of GPU time in jobs of
256 GPUs or more, GPU-hours per job) measured on the generated jobs beside the shape's exact
expectation. Stands in for a ``clustersim trace generate`` command.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from clustersim.cli import write_atomic
from clustersim.loader import load_scenario
from clustersim.rng import Streams
from clustersim.traces.synthetic import SHAPES, expected_shares, job_shares, write_workload_swf
from clustersim.workload import build_workload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario")
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    seed = scenario.run.seed if args.seed is None else args.seed
    jobs = build_workload(scenario, Streams(seed))
    text = io.StringIO()
    count = write_workload_swf(jobs, text)
    write_atomic([(args.out, text.getvalue().encode("utf-8"))])
    small, large, gpu_h = job_shares([j.gpus for j in jobs], [j.work_s for j in jobs])
    print(f"{count:,} jobs -> {args.out}")
    print(
        f"measured: jobs < 8 GPUs {small:.4f}, GPU time in >= 256 GPUs {large:.4f}, "
        f"{gpu_h:.1f} GPU-h/job"
    )
    gen = scenario.workload.generator
    if gen is not None and gen.shape is not None:
        e_small, e_large, e_gpu_h = expected_shares(SHAPES[gen.shape])
        print(
            f"expected: jobs < 8 GPUs {e_small:.4f}, GPU time in >= 256 GPUs {e_large:.4f}, "
            f"{e_gpu_h:.1f} GPU-h/job (before work_scale / max_gpus)"
        )


if __name__ == "__main__":
    main()

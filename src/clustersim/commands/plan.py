"""``clustersim plan``: what knob settings reach a target ETTR, cheapest first (docs/planning.md).

This module only parses flags, calls :func:`clustersim.api.plan` and renders its result (rich
tables on stdout, ``--json`` one object, ``--out`` markdown written atomically). Heavy imports
happen inside :func:`run`.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from clustersim.commands import COMMANDS
from clustersim.commands.common import add_overrides, non_negative_int, positive_int

__all__ = ["register", "run"]

DEFAULT_KNOBS = (
    "checkpoint.interval, storage.write_bandwidth, cluster.spare_nodes, restart.init_time"
)
"""For the help text (``clustersim.plan.knobs.DEFAULT_KNOBS``; not imported: it is heavy)."""


def register(sub: Any) -> None:
    """Add ``plan`` to the top-level parser."""
    p = sub.add_parser("plan", help=COMMANDS["plan"])
    p.add_argument("scenario", help="preset name or scenario file")
    p.add_argument("--target", required=True, metavar="ettr=X", help="e.g. --target ettr=0.90")
    p.add_argument(
        "--knob",
        action="append",
        default=[],
        metavar="PATH[=lo:hi|=v1,v2]",
        help=f"a knob to turn (repeatable; default: {DEFAULT_KNOBS})",
    )
    p.add_argument("--budget", type=positive_int, default=200, help="DES replications in all")
    p.add_argument("--reps", type=positive_int, default=4, help="DES replications per point")
    p.add_argument("--mc-reps", type=positive_int, default=400, help="MC replications per point")
    p.add_argument("--seed", type=non_negative_int, default=0, help="root seed (default 0)")
    p.add_argument("--scale", metavar="16k,32k,..", help="plan at each job size (GPUs)")
    p.add_argument(
        "--price",
        action="append",
        default=[],
        metavar="KNOB=USD",
        help="monthly price per unit of a knob (see docs/planning.md)",
    )
    add_overrides(p, "override a scenario field before planning")
    p.add_argument("--json", action="store_true", help="print one JSON object to stdout")
    p.add_argument("--out", type=Path, metavar="FILE.md", help="write the markdown report here")
    p.add_argument("--workers", type=positive_int, help="parallel DES workers (default: serial)")
    p.add_argument("--address", help="Dask scheduler address for the DES (needs clustersim.sweep)")
    p.set_defaults(handler=run)


def parse_target(text: str) -> float:
    """Parse ``ettr=X`` with 0 < X < 1 (UsageError otherwise)."""
    from clustersim.config import UsageError

    metric, sep, value = text.partition("=")
    if metric.strip().lower() != "ettr" or not sep:
        raise UsageError(f"--target {text!r}: expected ettr=X, e.g. ettr=0.90")
    try:
        x = float(value)
    except ValueError:
        raise UsageError(f"--target {text!r}: {value!r} is not a number") from None
    if not (math.isfinite(x) and 0.0 < x < 1.0):
        raise UsageError(f"--target {text!r}: the ETTR target must lie strictly between 0 and 1")
    return x


def run(args: argparse.Namespace) -> int:
    """Plan and report; returns the exit code."""
    import orjson

    from clustersim import api
    from clustersim.commands.console import StdoutConsole
    from clustersim.config import UsageError
    from clustersim.files import check_writable, write_atomic
    from clustersim.output.progress import progress_bar
    from clustersim.plan.knobs import parse_price, parse_scales, requests_for

    target = parse_target(args.target)
    knobs = [r.knob.path for r in requests_for(args.knob)]  # the flags' own messages first
    prices = dict(parse_price(p) for p in args.price)
    unknown = sorted(set(prices) - set(knobs or _default_knobs()))
    if unknown:
        raise UsageError(f"--price {unknown[0]!r}: not one of the --knob knobs")
    scales = parse_scales(args.scale) if args.scale else []
    if args.reps < 2:
        raise UsageError("--reps must be at least 2 (a confidence interval needs two)")
    if args.mc_reps < 2:
        raise UsageError("--mc-reps must be at least 2")
    check_writable([args.out])
    scenario = api.load(args.scenario, set=args.overrides)
    with progress_bar() as progress:
        result = api.plan(
            scenario,
            target,
            knobs=args.knob or None,
            budget=args.budget,
            reps=args.reps,
            mc_reps=args.mc_reps,
            seed=args.seed,
            scales=scales,
            prices=prices,
            workers=args.workers,
            address=args.address,
            progress=progress,
        )
    if args.out is not None:
        write_atomic([(args.out, result.to_markdown().encode("utf-8"))])
    if args.json:
        text = orjson.dumps(
            result.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY
        )
        sys.stdout.write(text.decode("utf-8") + "\n")
        sys.stdout.flush()
    else:
        from clustersim.output.terminal import table_width

        StdoutConsole(highlight=False, width=table_width(sys.stdout)).print(result)
    return 0


def _default_knobs() -> tuple[str, ...]:
    from clustersim.plan.knobs import DEFAULT_KNOBS as KNOBS

    return KNOBS

"""``clustersim trace``: inspect, convert and fit workload and failure traces.

``info`` and ``convert`` read job traces (``clustersim.traces``); ``fit`` fits per-cause
failure-time distributions to a failure trace (``clustersim.traces.fit``).
"""

from __future__ import annotations

import argparse
from typing import Any

from clustersim.cli import Parser

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    """Add ``trace`` and its subcommands to the top-level parser."""
    parser = sub.add_parser("trace", help="inspect, convert and fit workload/failure traces")
    tsub = parser.add_subparsers(dest="trace_command", required=True, parser_class=Parser)
    _register_info_convert(tsub)
    _register_fit(tsub)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Dispatch to the chosen ``trace`` subcommand."""
    if args.trace_command == "fit":
        return _run_fit(args)
    return _run_info_convert(args)


# --- info / convert (job traces) -------------------------------------------------------


def _register_info_convert(tsub: Any) -> None:
    tsub.add_parser("info", help="jobs, GPU-hours, size histogram and time span of a trace")
    tsub.add_parser("convert", help="convert a job trace to SWF or CSV")


def _run_info_convert(args: argparse.Namespace) -> int:
    from clustersim.loader import UsageError

    raise UsageError(f"trace {args.trace_command}: not implemented yet")


# --- fit (failure traces) --------------------------------------------------------------


def _register_fit(tsub: Any) -> None:
    from pathlib import Path

    from clustersim.cli import positive_int

    fit = tsub.add_parser("fit", help="fit per-cause exponential/Weibull failure distributions")
    fit.add_argument("trace", type=Path, help="failure trace: CSV or .jsonl (docs/traces.md)")
    fit.add_argument(
        "--nodes",
        type=positive_int,
        help="node count: fit per-node renewals, rates per node-day (default: '# nodes:' line)",
    )
    fit.add_argument(
        "--window",
        metavar="DURATION",
        help="observation window from 0, e.g. 54d (default: '# window:' line, else last row)",
    )
    fit.add_argument("--json", action="store_true", help="print one JSON object to stdout")
    fit.add_argument("--out", type=Path, metavar="FILE", help="write the faults: YAML section")


def _run_fit(args: argparse.Namespace) -> int:
    import sys

    import orjson
    from rich.console import Console

    from clustersim.cli import write_atomic
    from clustersim.loader import UsageError
    from clustersim.traces.fit import fit_trace
    from clustersim.units import parse_duration

    window_s = None
    if args.window is not None:
        try:
            window_s = parse_duration(args.window)
        except (ValueError, TypeError, OverflowError) as err:
            raise UsageError(f"--window {args.window}: {err}") from None
        if window_s <= 0:
            raise UsageError(f"--window {args.window}: must be positive")
    if not args.trace.exists():
        raise UsageError(f"{args.trace}: no such file")
    if not args.trace.is_file():
        raise UsageError(f"{args.trace}: not a file")
    out = args.out
    if out is not None and (not out.parent.is_dir() or out.is_dir()):
        raise UsageError(f"cannot write {out}: no such directory, or it is a directory")
    result = fit_trace(args.trace, nodes=args.nodes, window_s=window_s)
    yaml_text = result.faults_yaml() if result.nodes is not None or out is not None else None
    if out is not None and yaml_text is not None:
        write_atomic([(out, yaml_text.encode("utf-8"))])
    if args.json:
        payload = result.to_dict()
        payload["faults_yaml"] = yaml_text
        sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    # Piped output gets a fixed width wide enough for the table (a terminal its own).
    Console(highlight=False, width=None if sys.stdout.isatty() else 120).print(result)
    if yaml_text is None:
        sys.stderr.write("clustersim: note: give --nodes N for a faults: section\n")
    else:
        sys.stdout.write("\n" + yaml_text)
    return 0

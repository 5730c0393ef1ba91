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
    tsub.add_parser("fit", help="fit per-cause exponential/Weibull failure distributions")


def _run_fit(args: argparse.Namespace) -> int:
    from clustersim.loader import UsageError

    raise UsageError("trace fit: not implemented yet")

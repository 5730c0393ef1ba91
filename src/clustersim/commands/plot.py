"""``clustersim plot``: draw a sweep's results file (``clustersim.sweep.plot``) as a PNG.

matplotlib is imported only when the figure is drawn; without it the command is a one-line
usage error naming the ``plot`` extra.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from clustersim.commands import COMMANDS

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    """Add ``plot`` to the top-level parser."""
    p = sub.add_parser("plot", help=COMMANDS["plot"])
    p.add_argument("results", type=Path, help="sweep results: .jsonl, .csv or .parquet")
    p.add_argument("--x", required=True, metavar="KNOB", help="grid knob on the x axis")
    p.add_argument(
        "--y", default="summary.ettr", metavar="FIELD", help="record field (summary.ettr)"
    )
    p.add_argument("--hue", metavar="KNOB", help="grid knob that splits the lines")
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="FILE.png",
        help="figure to write: .png, .svg or .pdf",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Read the results, draw, write the PNG atomically."""
    from clustersim.commands.common import check_writable, write_atomic
    from clustersim.config import UsageError
    from clustersim.output.plots import PlotUnavailable, figure_format
    from clustersim.sweep.plot import sweep_png
    from clustersim.sweep.results import read_results

    out: Path = args.out
    fmt = figure_format(out)
    check_writable([out])
    header, records = read_results(args.results)
    try:
        png = sweep_png(header, records, args.x, args.y, args.hue, fmt)
    except PlotUnavailable as exc:
        raise UsageError(str(exc)) from None
    write_atomic([(out, png)])
    return 0

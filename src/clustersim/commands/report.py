"""``clustersim report``: one HTML or Markdown page of a ``clustersim run --json`` result.

Reads RUN.json, renders it with :mod:`clustersim.output.page` and writes the page (and, for
Markdown, the timeline PNG beside it) atomically.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from clustersim.commands import COMMANDS

__all__ = ["register", "run"]

MAX_RUN_BYTES = 256 << 20


def register(sub: Any) -> None:
    """Add ``report`` to the top-level parser."""
    p = sub.add_parser("report", help=COMMANDS["report"])
    p.add_argument(
        "run_json", type=Path, metavar="RUN.json", help="output of clustersim run --json"
    )
    p.add_argument(
        "--out", type=Path, required=True, metavar="FILE", help="report.html or report.md"
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Render and write the report."""
    import orjson

    from clustersim.commands.common import check_writable, write_atomic
    from clustersim.config import ConfigError, UsageError
    from clustersim.output.page import render, validate_run

    out: Path = args.out
    fmt = {".html": "html", ".htm": "html", ".md": "md"}.get(out.suffix.lower())
    if fmt is None:
        raise UsageError(
            f"{out}: unsupported report type {out.suffix or '(none)'!r}; use .html or .md"
        )
    check_writable([out, out.with_name(out.stem + "-gpus-down.png") if fmt == "md" else None])
    source: Path = args.run_json
    try:
        with source.open("rb") as fh:
            data = fh.read(MAX_RUN_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"{source}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_RUN_BYTES:
        raise ConfigError([f"{source}:1:1: the file is larger than {MAX_RUN_BYTES:,} bytes"])
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ConfigError([f"{source}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}"]) from None
    result = validate_run(parsed, str(source))
    png_path = out.with_name(out.stem + "-gpus-down.png")
    try:
        page, png = render(result, fmt, png_path.name)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        # validate_run checks every field the page reads; this is the backstop for one missed
        raise ConfigError([f"{source}:1:1: cannot render this run result: {exc!r}"]) from None
    files = [(out, page.encode("utf-8"))]
    if fmt == "md" and png is not None:
        files.append((png_path, png))
    write_atomic(files)
    return 0

"""``clustersim trace``: inspect, convert and fit workload and failure traces.

``info`` and ``convert`` read job traces (``clustersim.traces``); ``fit`` fits per-cause
failure-time distributions to a failure trace (``clustersim.traces.fit``).
"""

from __future__ import annotations

import argparse
from typing import Any

from clustersim.commands import COMMANDS
from clustersim.commands.common import Parser

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    """Add ``trace`` and its subcommands to the top-level parser."""
    parser = sub.add_parser("trace", help=COMMANDS["trace"])
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


_READ_FORMATS = ("swf", "helios", "philly", "alibaba")  # clustersim.traces.formats.FORMATS
_WRITE_FORMATS = ("swf", "csv")
_OUT_EXTENSIONS = {".swf": "swf", ".csv": "csv"}


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text!r}")
    return value


def _reading_options(parser: Any) -> None:
    parser.add_argument(
        "--on-bad-line",
        choices=("error", "skip"),
        default="error",
        help="stop at the first bad line (default, exit 65) or skip bad lines and count them",
    )
    parser.add_argument(
        "--gpus-per-processor",
        type=_positive_float,
        default=1.0,
        metavar="X",
        help="SWF only: GPUs = ceil(processors x X) (default 1)",
    )


def _register_info_convert(tsub: Any) -> None:
    from pathlib import Path

    info = tsub.add_parser("info", help="jobs, GPU-hours, size histogram and time span of a trace")
    info.add_argument(
        "trace", type=Path, help="job trace (SWF, Helios CSV, Philly JSON, Alibaba CSV)"
    )
    info.add_argument("--format", choices=_READ_FORMATS, help="input format (default: detect)")
    info.add_argument("--json", action="store_true", help="print one JSON object to stdout")
    _reading_options(info)
    convert = tsub.add_parser("convert", help="convert a job trace to SWF or CSV")
    convert.add_argument("input", type=Path, help="job trace to read")
    convert.add_argument("output", type=Path, help="file to write (.swf or .csv, or give --to)")
    convert.add_argument(
        "--from", dest="from_format", choices=_READ_FORMATS, help="input format (default: detect)"
    )
    convert.add_argument(
        "--to",
        dest="to_format",
        choices=_WRITE_FORMATS,
        help="output format (default: by extension)",
    )
    _reading_options(convert)


def _run_info_convert(args: argparse.Namespace) -> int:
    if args.trace_command == "info":
        return _run_info(args)
    return _run_convert(args)


def _input_format(path: Any, given: str | None) -> str:
    from clustersim.config import UsageError
    from clustersim.traces.formats import detect_format

    if not path.exists():
        raise UsageError(f"{path}: no such file")
    if not path.is_file():
        raise UsageError(f"{path}: not a file")
    if given is not None:
        return given
    fmt = detect_format(path)
    if fmt is None:
        known = ", ".join(_READ_FORMATS)
        raise UsageError(f"{path}: cannot tell the trace format; give --format ({known})")
    return fmt


def _read(args: argparse.Namespace, path: Any, fmt: str, stats: Any) -> Any:
    """The jobs of the trace at ``path`` (streamed), read as the command's options say.

    ``--on-bad-line`` and ``--gpus-per-processor`` apply; ``stats`` counts what is read.
    """
    from clustersim.traces.formats import read_trace

    return read_trace(
        path,
        fmt,
        on_bad_line=args.on_bad_line,
        stats=stats,
        gpus_per_processor=args.gpus_per_processor,
    )


def _report_skips(stats: Any) -> None:
    import sys

    if stats.skipped:
        plural = "s" if stats.skipped != 1 else ""
        sys.stderr.write(
            f"clustersim: skipped {stats.skipped} bad line{plural} (first: {stats.first_skipped})\n"
        )


def _run_info(args: argparse.Namespace) -> int:
    import sys

    import orjson

    from clustersim.traces.record import ReadStats
    from clustersim.traces.summary import TraceSummary

    fmt = _input_format(args.trace, args.format)
    stats = ReadStats()
    summary = TraceSummary(path=str(args.trace), format=fmt)
    jobs = _read(args, args.trace, fmt, stats)
    for job in jobs:
        summary.add(job)
    _report_skips(stats)
    payload = summary.to_dict(stats)
    if args.json:
        sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(_info_text(payload))
    return 0


def _when(seconds: float | None) -> str:
    import datetime as dt

    if seconds is None:
        return "-"
    if seconds >= 1e8:  # Unix epoch seconds (after 1973): show the date
        moment = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
        return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{seconds:,.0f} s"


def _info_text(info: dict[str, Any]) -> str:
    dropped = ", ".join(f"{n} {why}" for why, n in info["dropped"].items()) or "none"
    users = f"{info['users']:,}{'+' if info['users_capped'] else ''}"
    rows = [
        ("trace", f"{info['path']} ({info['format']})"),
        (
            "jobs",
            f"{info['jobs']:,} ({info['jobs_with_run_time']:,} with a run time; "
            f"dropped: {dropped}; bad lines skipped: {info['skipped_lines']:,})",
        ),
        ("GPU-hours", f"{info['gpu_hours']:,.1f}"),
        ("users", users),
        ("max GPUs", f"{info['max_gpus']:,}"),
        ("first submit", _when(info["first_submit_s"])),
        ("last submit", _when(info["last_submit_s"])),
        ("last end", _when(info["last_end_s"])),
        ("span", f"{info['span_s'] / 86400:,.2f} days"),
    ]
    lines = [f"{name:<13}{value}" for name, value in rows]
    lines.append("sizes (GPUs: jobs)")
    for bucket, count in info["sizes"].items():
        size = int(bucket)
        label = str(size) if size <= 2 else f"{size // 2 + 1}-{size}"
        lines.append(f"  {label:>13}: {count:,}")
    lines.append("states")
    for state, count in info["states"].items():
        lines.append(f"  {state:>13}: {count:,}")
    return "\n".join(lines) + "\n"


def _run_convert(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from clustersim.config import UsageError
    from clustersim.files import atomic_open, check_writable
    from clustersim.traces.formats import EPOCH_FORMATS, write_trace
    from clustersim.traces.record import ReadStats

    fmt = _input_format(args.input, args.from_format)
    out: Path = args.output
    to = args.to_format or _OUT_EXTENSIONS.get(out.suffix.lower())
    if to is None:
        raise UsageError(f"{out}: cannot tell the output format from its name; give --to swf|csv")
    check_writable([out])
    stats = ReadStats()
    jobs = _read(args, args.input, fmt, stats)
    with atomic_open(out, text=True) as fh:  # a temporary file, renamed over OUT at the end
        count = write_trace(
            jobs,
            fh,
            to,
            gpus_per_processor=args.gpus_per_processor,
            origin_s=None if fmt in EPOCH_FORMATS else 0.0,
            source=str(args.input),
        )
    _report_skips(stats)
    dropped = "".join(f", dropped {n} ({why})" for why, n in sorted(stats.dropped.items()))
    sys.stderr.write(f"clustersim: wrote {count:,} jobs to {out} ({to}){dropped}\n")
    return 0


# --- fit (failure traces) --------------------------------------------------------------


def _register_fit(tsub: Any) -> None:
    from pathlib import Path

    from clustersim.commands.common import positive_int

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

    from clustersim.commands.console import StdoutConsole
    from clustersim.config import UsageError, single_line
    from clustersim.config.units import parse_duration
    from clustersim.files import check_writable, write_atomic
    from clustersim.traces.fit import fit_trace

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
    check_writable([out])
    result = fit_trace(args.trace, nodes=args.nodes, window_s=window_s)
    for warning in result.warnings():
        sys.stderr.write(f"clustersim: warning: {single_line(warning)}\n")
    yaml_text = result.faults_yaml() if result.nodes is not None or out is not None else None
    if out is not None and yaml_text is not None:
        write_atomic([(out, yaml_text.encode("utf-8"))])
    if args.json:
        payload = result.to_dict()
        payload["faults_yaml"] = yaml_text
        sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    # Piped output gets a fixed width wide enough for the table (a terminal its own).
    StdoutConsole(highlight=False, width=None if sys.stdout.isatty() else 120).print(result)
    if yaml_text is None:
        sys.stderr.write("clustersim: note: give --nodes N for a faults: section\n")
    else:
        sys.stdout.write("\n" + yaml_text)
    return 0

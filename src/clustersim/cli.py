"""The ``clustersim`` command line: argparse subcommands over the API (:mod:`clustersim.api`).

Results go to stdout (a rich summary, or exactly one JSON object with ``--json``); progress
and errors go to stderr. Exit codes: 0 success, 2 usage error (bad flag, unknown preset or
``--set`` key), 65 bad data (scenario file, input file), 70 internal error, 71 out of memory,
74 an output could not be written (full disk, closed stdout). No traceback is shown for bad
input, and output files are written atomically (temp file + rename), so a failed run leaves
no partial file behind.
"""

from __future__ import annotations

import argparse
import errno
import gc
import io
import os
import signal
import sys
import warnings
from collections.abc import Collection, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from clustersim.commands import COMMANDS
from clustersim.commands.common import (
    EXIT_DATA,
    EXIT_IOERR,
    EXIT_OSERR,
    EXIT_SOFTWARE,
    EXIT_USAGE,
    Parser,
    add_overrides,
    non_negative_int,
    positive_int,
)
from clustersim.errors import ClusterSimWarning
from clustersim.version import __version__

if TYPE_CHECKING:
    from clustersim.result import Result

__all__ = ["main"]

# Subcommands that live in their own module in ``clustersim.commands`` (named, with their
# help, in ``commands.COMMANDS``). Each module defines ``register(sub)`` (adds its parser,
# with ``set_defaults(handler=run)``) and ``run(args) -> int``; it imports nothing heavy at
# module level. Errors are raised as UsageError/ConfigError and reported by main(). They
# import their helpers from ``commands.common``, never this module.
#
# Start-up (bench/STARTUP.md): this module imports only the standard library,
# ``commands.common`` (argparse helpers), ``clustersim.errors`` and the version, so that
# ``--version``, ``--help`` and a usage error load no numpy, pydantic, ruamel.yaml or rich.
# The parser is built for the command being run: its module registers the real subparser,
# every other command gets a bare one that only lists it in ``--help``. Whatever a command
# needs is imported inside the function that runs it (``tests/unit/test_startup.py`` checks
# this).


def _build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The parser for ``argv``: the built-in commands, and the module command it names."""
    parser = Parser(
        prog="clustersim",
        description="Discrete-event simulator of large GPU training clusters under failures.",
    )
    parser.add_argument("--version", action="version", version=f"clustersim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    run = sub.add_parser("run", help="run a scenario (a preset name or a YAML/TOML/JSON file)")
    run.add_argument("scenario", help="preset name (see `clustersim presets`) or scenario file")
    run.add_argument("--seed", type=non_negative_int, help="root seed (default: run.seed)")
    run.add_argument("--reps", type=positive_int, help="replications (default: run.replications)")
    add_overrides(run, "override a scenario field, e.g. --set checkpoint.interval=10m")
    run.add_argument("--json", action="store_true", help="print one JSON object to stdout")
    run.add_argument("--no-jobs", action="store_true", help="omit per-job rows from --json")
    run.add_argument(
        "--events", type=Path, metavar="FILE", help="write replication 0's event log as JSON lines"
    )
    run.add_argument("--out", type=Path, metavar="FILE", help="also write the JSON result here")
    run.add_argument(
        "--plot",
        type=Path,
        metavar="FILE.png",
        help="write a figure of GPUs by state over time: .png, .svg or .pdf (needs the 'plot' "
        "extra: matplotlib)",
    )
    run.add_argument(
        "--strict",
        action="store_true",
        help="exit 65 (bad data) if some job can never be placed (it is warned about anyway)",
    )
    run.add_argument(
        "--check-invariants",
        action="store_true",
        help="assert GPU conservation after every event (slow; for debugging)",
    )

    sub.add_parser("presets", help="list the built-in presets")

    val = sub.add_parser("validate", help="simulation vs formula vs published numbers")
    val.add_argument("--quick", action="store_true", help="fewer replications (under a minute)")
    val.add_argument(
        "--case",
        action="append",
        default=[],
        metavar="NAME",
        help="run only this case (repeatable); see --list",
    )
    val.add_argument("--list", action="store_true", help="list the cases and exit")
    fmt = val.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print one JSON object")
    fmt.add_argument("--markdown", action="store_true", help="print the markdown report")

    show = sub.add_parser("show", help="print a resolved scenario as YAML")
    show.add_argument("scenario")
    add_overrides(show, "override a scenario field")

    chosen = _chosen_commands(argv)
    for name, help_text in COMMANDS.items():
        if name in chosen:
            _command_module(name).register(sub)
        else:  # listed in --help and among the choices; argparse never parses with it
            sub.add_parser(name, help=help_text)
    return parser


def _chosen_commands(argv: Sequence[str]) -> Collection[str]:
    """The module commands whose own parsers ``argv`` may reach.

    The top-level parser's options (``-h``, ``--version``) take no value, so the first
    argument that does not start with ``-`` is the command argparse dispatches to (no command
    name starts with ``-``, and argparse matches command names exactly). After a ``--``, every
    module registers: rare enough not to reason about.
    """
    for arg in argv:
        if arg == "--":
            return COMMANDS.keys()
        if not arg.startswith("-"):
            return {arg} & COMMANDS.keys()
    return ()


def _command_module(name: str) -> ModuleType:
    """Import the module of a command named in ``commands.COMMANDS``."""
    if name == "trace":
        from clustersim.commands import trace

        return trace
    if name == "sweep":
        from clustersim.commands import sweep

        return sweep
    if name == "plot":
        from clustersim.commands import plot

        return plot
    if name == "report":
        from clustersim.commands import report

        return report
    if name == "plan":
        from clustersim.commands import plan

        return plan
    raise AssertionError(f"commands.COMMANDS names {name!r}, which has no module here")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = _build_parser(sys.argv[1:] if argv is None else argv)
    stop = _Stop()
    previous = stop.install()
    if sys.stdout is None:  # started with stdout closed: writing results must fail loudly
        sys.stdout = _ClosedStream()
    try:
        with warnings.catch_warnings():  # restores the filters and showwarning on the way out
            warnings.simplefilter("always", ClusterSimWarning)
            warnings.showwarning = _show_warning
            args = parser.parse_args(argv)
            code = _dispatch(args)
        sys.stdout.flush()  # inside the try: a full or closed stdout is an I/O error here
        return code
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        stop.stopping = True  # first: a second Ctrl-C/SIGTERM from here on is ignored
        sys.stderr.write("clustersim: interrupted\n")
        return 130
    except Exception as exc:
        reported = _report_error(exc)
        if reported is not None:
            return reported
        if os.environ.get("CLUSTERSIM_DEBUG"):  # a bug, never bad input: one line unless debugging
            raise
        from clustersim.config import single_line

        sys.stderr.write(
            f"clustersim: internal error (please report; CLUSTERSIM_DEBUG=1 shows the "
            f"traceback): {type(exc).__name__}: {single_line(str(exc))}\n"
        )
        return EXIT_SOFTWARE
    finally:
        stop.stopping = True
        stop.restore(previous)


def _report_error(exc: Exception) -> int | None:
    """Say what went wrong on stderr and return the exit code; ``None`` for a bug.

    The error classes are imported here, not at start-up: the config package that defines
    UsageError and ConfigError loads pydantic. MemoryError is handled first, before any import
    (none of the classes below is a MemoryError), so that running out of memory cannot fail
    again in an import.
    """
    if isinstance(exc, MemoryError):
        _say(
            "clustersim: error: out of memory; shrink the scenario (fewer nodes, jobs, "
            "replications) or lower run.max_memory so the resource guard refuses it up front"
        )
        return EXIT_OSERR
    from clustersim.config import ConfigError, UsageError, single_line
    from clustersim.errors import ResourceError
    from clustersim.files import OutputError

    if isinstance(exc, UsageError):
        sys.stderr.write(f"clustersim: error: {exc}\n")
        return EXIT_USAGE
    if isinstance(exc, ConfigError):
        for line in exc.messages:
            sys.stderr.write(f"{line}\n")
        return EXIT_DATA
    if isinstance(exc, ResourceError):  # its message may quote the scenario's name: one line
        sys.stderr.write(f"clustersim: error: {single_line(str(exc))}\n")
        return EXIT_DATA
    if isinstance(exc, OutputError):
        _say(f"clustersim: error: {exc}")
        return EXIT_IOERR
    if isinstance(exc, OSError):  # stdout closed or full, or a device that failed mid-write
        _silence_stdout()
        _say(f"clustersim: error: cannot write output: {exc.strerror or exc}")
        return EXIT_IOERR
    if isinstance(exc, AssertionError):
        from clustersim.experiment import IdentityError

        if isinstance(exc, IdentityError):
            sys.stderr.write(f"clustersim: internal error (please report): {exc}\n")
            return EXIT_SOFTWARE
    return None


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "presets":
        return _cmd_presets()
    if args.command == "validate":
        return _cmd_validate(args)
    if args.command == "show":
        from clustersim import api
        from clustersim.config import dump_yaml

        sys.stdout.write(dump_yaml(api.load(args.scenario, set=args.overrides)))
        return 0
    handler = getattr(args, "handler", None)
    if handler is not None:
        return int(handler(args))
    return _cmd_run(args)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """The library's warnings as one ``clustersim: warning:`` line each on stderr."""
    if issubclass(category, ClusterSimWarning):
        from clustersim.config import single_line

        sys.stderr.write(f"clustersim: warning: {single_line(str(message))}\n")
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


class _ClosedStream(io.TextIOBase):
    """Stands in for a stdout that was closed before the process started."""

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")


def _silence_stdout() -> None:
    """After stdout failed, point it at /dev/null so the exit-time flush cannot fail again."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass


def _say(line: str) -> None:
    """Write one line to stderr, if there is a stderr to write to."""
    try:
        if sys.stderr is not None:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
    except (OSError, ValueError):
        pass


class _Stop:
    """SIGINT/SIGTERM handler for :func:`main`: either ends a run like Ctrl-C.

    The first signal raises KeyboardInterrupt (no partial file, one line, exit 130). Once
    ``stopping`` is set (main is shutting down) further signals are ignored, so a second
    Ctrl-C or SIGTERM cannot raise a traceback out of main's ``except`` or ``finally``.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)  # restored in this order: Ctrl-C's last

    def __init__(self) -> None:
        self.stopping = False

    def __call__(self, signum: int, frame: object) -> None:
        if not self.stopping:
            raise KeyboardInterrupt

    def install(self) -> dict[signal.Signals, Any]:
        """Handle both signals (unless ignored, as in a background job); return the old handlers."""
        previous = {sig: signal.getsignal(sig) for sig in self.SIGNALS}
        for sig, handler in previous.items():
            if handler is not signal.SIG_IGN:
                signal.signal(sig, self)
        return previous

    def restore(self, previous: dict[signal.Signals, Any]) -> None:
        """Put the old handlers back (SIG_DFL for one not set from Python)."""
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)


def _cmd_presets() -> int:
    from clustersim.commands.console import StdoutConsole
    from clustersim.commands.preset_index import indexed_presets

    presets = indexed_presets()  # without parsing YAML, unless a preset changed since indexed
    if presets is None:
        from clustersim import api

        presets = api.presets()
    console = StdoutConsole()
    for name, description in presets.items():
        console.print(f"[bold]{name}[/bold]  {description}", highlight=False)
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    if args.list:
        from clustersim.analysis.validate import CASES

        for name, case in CASES.items():
            doc = (case.__doc__ or "").strip().splitlines()[0]
            sys.stdout.write(f"{name}  {doc}\n")
        return 0
    import orjson

    from clustersim import api
    from clustersim.commands.console import StdoutConsole
    from clustersim.output.progress import progress_bar

    with progress_bar() as progress:
        validation = api.validate(args.case, quick=args.quick, progress=progress)
    if args.json:
        payload = orjson.dumps(validation.to_dict(), option=orjson.OPT_INDENT_2)
        sys.stdout.write(payload.decode("utf-8") + "\n")
    elif args.markdown:
        sys.stdout.write(validation.to_markdown())
    else:
        StdoutConsole(highlight=False).print(validation)
    return 0 if validation.passed else 1


_BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")
"""What OpenBLAS (NumPy's BLAS in its wheels) reads, in this order, for its thread count."""


class _SimulatorImport:
    """Importing the simulator for ``run`` in a fresh process: no collector, one BLAS thread.

    Owns nothing past the ``with`` block; it saves start-up time only (bench/STARTUP.md,
    session 6), never changes a result:

    * The garbage collector is off while the imports run (hundreds of modules, classes and
      pydantic models, which live as long as the process): none of it is garbage, so
      collections there would only scan it. Only in a process that has not imported the
      simulator yet. (They are not frozen here: the run freezes what exists when it starts,
      the imports included, and only while nothing else is frozen; engine/collector.py.)
    * NumPy's OpenBLAS starts a thread per core when it loads, and the threads spin for a
      while waiting for work that ``run`` never gives them (its only BLAS calls are dot
      products of a few cohorts, below OpenBLAS's threading size): 40 to 100 ms of CPU taken
      from the main thread on a busy machine. Unless the user set a thread count, OpenBLAS
      is told to use one thread while NumPy loads; the variable is removed again afterwards,
      so child processes see the environment the user gave.
    """

    def __enter__(self) -> None:
        self.fresh = "clustersim.api" not in sys.modules
        self.gc_enabled = gc.isenabled()
        self.blas_set = self.fresh and not any(name in os.environ for name in _BLAS_THREADS)
        if self.fresh:
            gc.disable()
        if self.blas_set:
            os.environ[_BLAS_THREADS[0]] = "1"

    def __exit__(self, *exc: object) -> None:
        if self.blas_set:
            os.environ.pop(_BLAS_THREADS[0], None)
        if self.fresh and self.gc_enabled:
            gc.enable()


def _cmd_run(args: argparse.Namespace) -> int:
    with _SimulatorImport():
        from clustersim import api
        from clustersim.config import UsageError
        from clustersim.files import check_writable, write_atomic
        from clustersim.output.progress import progress_bar

    overrides = list(args.overrides)
    if args.check_invariants:
        overrides.append("run.check_invariants=true")
    scenario = api.load(args.scenario, set=overrides)
    check_writable([args.events, args.out, args.plot])
    if args.plot is not None:
        from clustersim.output.plots import figure_format

        figure_format(args.plot)  # before the run: an unsupported type is a usage error
    with progress_bar() as progress:
        result = api.run(
            scenario,
            reps=args.reps,
            seed=args.seed,
            events=args.events is not None,
            progress=progress,
        )
    unplaceable = sum(len(names) for names in result.unplaceable.values())
    if unplaceable and args.strict:
        sys.stderr.write(f"clustersim: error: jobs that can never be placed: {unplaceable}\n")
        return EXIT_DATA
    text = result.to_json(jobs=not args.no_jobs).encode("utf-8")
    files: list[tuple[Path, bytes]] = []
    if args.events is not None:
        files.append((args.events, _events_jsonl(result)))
    if args.out is not None:
        files.append((args.out, text))
    if args.plot is not None:
        from clustersim.output.plots import PlotUnavailable, figure_format, timeseries_png

        try:
            figure = timeseries_png
            if result.replications[0].periods:  # a long run: the per-period figure
                from clustersim.output.periods import periods_png

                figure = periods_png
            files.append((args.plot, figure(result, figure_format(args.plot))))
        except PlotUnavailable as exc:
            raise UsageError(str(exc)) from None
    write_atomic(files)
    if args.json:
        sys.stdout.write(text.decode("utf-8"))
        sys.stdout.flush()
    else:
        from clustersim.commands.console import StdoutConsole

        StdoutConsole(highlight=False).print(result)
    return 0


def _events_jsonl(result: Result) -> bytes:
    import dataclasses

    import orjson

    lines = []
    for event in result.events or []:
        record = {"type": type(event).__name__, **dataclasses.asdict(event)}
        lines.append(orjson.dumps(record))
    return b"\n".join(lines) + b"\n"

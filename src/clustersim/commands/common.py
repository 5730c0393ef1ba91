"""What ``cli.py`` and the command modules share: argparse helpers, output files, progress.

Owns the one-line usage-error parser, the ``--set`` option and integer argument types, atomic
writing of output files and the delayed progress bar on stderr. It sits below both ``cli.py``
and ``clustersim.commands.*``, so that the command modules need not import ``cli.py`` (which
imports them).
"""

from __future__ import annotations

import argparse
import errno
import sys
import time
from collections.abc import Callable
from typing import Any, NoReturn

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from clustersim.config import MAX_INT, single_line
from clustersim.files import check_writable, write_atomic

__all__ = [
    "EXIT_DATA",
    "EXIT_IOERR",
    "EXIT_OSERR",
    "EXIT_SOFTWARE",
    "EXIT_USAGE",
    "Parser",
    "add_overrides",
    "check_writable",
    "non_negative_int",
    "positive_int",
    "progress_bar",
    "write_atomic",
]

EXIT_USAGE = 2
EXIT_DATA = 65
EXIT_SOFTWARE = 70
EXIT_OSERR = 71
EXIT_IOERR = 74
PROGRESS_DELAY_S = 1.0


class StdoutConsole(Console):
    """A rich console for results on stdout whose broken pipe is an I/O error (exit 74).

    rich's default reaction to a reader closing the pipe is ``SystemExit(1)``; raising
    ``BrokenPipeError`` instead lets ``cli.main`` report it like any failed write.
    """

    def on_broken_pipe(self) -> None:
        """Stop writing and raise the broken pipe as an ``OSError``."""
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        """Write ``message`` as one line on stderr and exit with the usage code."""
        sys.stderr.write(f"{self.prog}: error: {single_line(message)}\n")
        raise SystemExit(EXIT_USAGE)


def add_overrides(parser: argparse.ArgumentParser, help_text: str) -> None:
    """The repeatable ``--set PATH=VALUE`` option (into ``args.overrides``) every command has."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help=help_text,
    )


def _bounded_int(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
    if value > MAX_INT:
        raise argparse.ArgumentTypeError(f"must be <= 2**62, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """An argparse type: an integer from 0 to :data:`~clustersim.config.MAX_INT`."""
    return _bounded_int(text, 0)


def positive_int(text: str) -> int:
    """An argparse type: an integer from 1 to :data:`~clustersim.config.MAX_INT`."""
    return _bounded_int(text, 1)


class progress_bar:
    """A rich progress bar on stderr that appears only if the run lasts over a second.

    ``label`` names what is counted; with ``unit`` (e.g. ``"points"``) the bar shows
    ``done/total unit`` instead of a percentage.
    """

    def __init__(self, label: str = "simulating", unit: str | None = None) -> None:
        self._console = Console(stderr=True)
        self._progress: Progress | None = None
        self._task: Any = None
        self._t0 = time.monotonic()
        self._label, self._unit = label, unit

    def __enter__(self) -> Callable[[float, float], None] | None:
        if not self._console.is_terminal:
            return None
        return self._update

    def _update(self, done: float, total: float) -> None:
        if self._progress is None:
            if time.monotonic() - self._t0 < PROGRESS_DELAY_S:
                return
            counted = (
                (MofNCompleteColumn(), TextColumn(self._unit))
                if self._unit
                else (TextColumn("{task.percentage:>3.0f}%"),)
            )
            self._progress = Progress(
                TextColumn(self._label),
                BarColumn(),
                *counted,
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=self._console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self._label, total=total)
        self._progress.update(self._task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

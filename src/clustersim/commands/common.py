"""What ``cli.py`` and the command modules share: argparse helpers, output files, progress.

Owns the one-line usage-error parser, the ``--set`` option and integer argument types; it
passes on the atomic writing of output files (:mod:`clustersim.files`) and the delayed progress
bar on stderr (:mod:`clustersim.output.progress`). It sits below both ``cli.py``
and ``clustersim.commands.*``, so that the command modules need not import ``cli.py`` (which
imports them).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:  # what __getattr__ gives, as the type checker should see it
    from clustersim.commands.console import StdoutConsole
    from clustersim.files import check_writable, write_atomic
    from clustersim.output.progress import progress_bar

__all__ = [
    "EXIT_DATA",
    "EXIT_IOERR",
    "EXIT_OSERR",
    "EXIT_SOFTWARE",
    "EXIT_USAGE",
    "Parser",
    "StdoutConsole",
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


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        """Write ``message`` as one line on stderr and exit with the usage code."""
        from clustersim.config import single_line

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
    from clustersim.config import MAX_INT

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


def __getattr__(name: str) -> object:
    """Pass on the heavier helpers on first use (PEP 562), so building the parser stays light.

    Every command builds the whole parser (``cli._build_parser``), so this module must not
    import rich, pydantic or numpy at module level: ``StdoutConsole`` (rich), the output files
    (:mod:`clustersim.files`, which needs the config package) and the progress bar (rich) are
    imported when a command first asks for them.
    """
    if name == "StdoutConsole":
        from clustersim.commands.console import StdoutConsole

        return StdoutConsole
    if name in ("check_writable", "write_atomic"):
        from clustersim import files

        return getattr(files, name)
    if name == "progress_bar":
        from clustersim.output.progress import progress_bar

        return progress_bar
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

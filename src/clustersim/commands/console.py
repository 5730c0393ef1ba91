"""The rich console that results are printed on (stdout), apart so that rich loads only then.

Owns :class:`StdoutConsole`. It lives in its own module because defining it imports rich,
which ``--version``, the parser and ``presets``' index need not load; the commands import it
when they print (``commands.common`` passes it on lazily).
"""

from __future__ import annotations

import errno

from rich.console import Console

__all__ = ["StdoutConsole"]


class StdoutConsole(Console):
    """A rich console for results on stdout whose broken pipe is an I/O error (exit 74).

    rich's default reaction to a reader closing the pipe is ``SystemExit(1)``; raising
    ``BrokenPipeError`` instead lets ``cli.main`` report it like any failed write.
    """

    def on_broken_pipe(self) -> None:
        """Stop writing and raise the broken pipe as an ``OSError``."""
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

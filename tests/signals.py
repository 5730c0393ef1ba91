"""Start a test's subprocess as a terminal would, with SIGINT and SIGTERM at their defaults.

A command that a non-interactive shell starts in the background inherits SIGINT ignored
(POSIX), and CPython leaves an ignored SIGINT ignored. A test that sends Ctrl-C to its child
would then watch the child ignore it: that would say how the suite was launched (a CI step
run with ``&``), not how clustersim handles a Ctrl-C. :func:`as_from_a_terminal` prefixes a
command with a short Python shim that sets both signals to their defaults and ``exec``s the
command (dispositions survive ``exec``; the process, its id and session stay the same). No
``preexec_fn``, which is unsafe beside threads.
"""

from __future__ import annotations

import sys

_SHIM = (
    "import os, signal, sys\n"
    "signal.signal(signal.SIGINT, signal.SIG_DFL)\n"
    "signal.signal(signal.SIGTERM, signal.SIG_DFL)\n"
    "os.execvp(sys.argv[1], sys.argv[1:])\n"
)


def as_from_a_terminal(cmd: list[str]) -> list[str]:
    """``cmd`` run with SIGINT and SIGTERM at their defaults, whatever this process inherited."""
    return [sys.executable, "-c", _SHIM, *cmd]

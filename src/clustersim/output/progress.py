"""Progress on stderr: a rich bar that appears only if the work lasts over a second.

Owns the one progress display of the command line and of the API's ``progress=True``
(:func:`clustersim.run`, ``sweep``, ``plan``, ``validate``). It writes to stderr, never to
stdout, so a result on stdout stays byte-identical with or without it. rich is imported only
where stderr may be a terminal, so that a ``--json`` run into a pipe loads none of it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

__all__ = ["PROGRESS_DELAY_S", "progress_bar"]

PROGRESS_DELAY_S = 1.0
"""The bar appears only once the work has lasted this long (no flash for quick runs)."""


class progress_bar:
    """A rich progress bar on stderr that appears only if the work lasts over a second.

    ``label`` names what is counted; with ``unit`` (e.g. ``"points"``) the bar shows
    ``done/total unit`` instead of a percentage. Used as ``with progress_bar() as update:``,
    it gives ``update(done, total)``, or ``None`` when stderr is not a terminal, unless
    ``always`` (the API's ``progress=True``: a notebook's stderr is not a terminal, and rich
    draws the bar there its own way).
    """

    def __init__(self, label: str = "simulating", unit: str | None = None, *, always: bool = False):
        self._console: Console | None = None
        self._progress: Progress | None = None
        self._task: Any = None
        self._t0 = time.monotonic()
        self._label, self._unit, self._always = label, unit, always

    def __enter__(self) -> Callable[[float, float], None] | None:
        if self._console is None:
            if not (self._always or _may_be_a_terminal(sys.stderr)):
                return None  # decided without importing rich (10 ms): stderr is a pipe or file
            from rich.console import Console

            self._console = Console(stderr=True)
        if not (self._always or self._console.is_terminal):
            return None
        return self._update

    def _update(self, done: float, total: float) -> None:
        if self._progress is None:
            if time.monotonic() - self._t0 < PROGRESS_DELAY_S:
                return
            # Imported only once the bar is drawn: most runs end before it would appear.
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

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


def _may_be_a_terminal(stream: TextIO | None) -> bool:
    """False only where rich's ``Console.is_terminal`` is certainly False for ``stream``.

    rich takes a stream for a terminal if ``TTY_COMPATIBLE=1``, if ``FORCE_COLOR`` is set to
    anything but the empty string, or if the stream says it is a TTY (it answers False for
    IDLE and Jupyter whatever these say). So with neither variable set and a stream that is
    not a TTY, no bar is drawn and rich need not be imported; in every other case rich
    decides.
    """
    if os.environ.get("TTY_COMPATIBLE") == "1" or "FORCE_COLOR" in os.environ:
        return True
    try:
        return stream is not None and stream.isatty()
    except (ValueError, AttributeError):  # closed, or not a file at all: rich says False too
        return False

"""The two errors of the config edge, and the one-line rule every message follows.

:class:`ConfigError` is bad data in a scenario file (exit 65), :class:`UsageError` bad use of
the command line or the API (exit 2); both are :class:`~clustersim.errors.ClusterSimError`.
Every message has the form ``file:line:col: dotted.path: message``; :class:`Problem` is one
such message taken apart, so that a program can find the file, line and path without parsing.
:func:`single_line` escapes line breaks and other control characters so that each message on
stderr is exactly one line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from clustersim.errors import ClusterSimError

__all__ = ["ConfigError", "Problem", "UsageError", "single_line"]

_LOCATED = re.compile(
    r"(?P<file>.+?):(?P<line>[0-9]+):(?:(?P<column>[0-9]+):)? "
    r"(?:(?P<path>[A-Za-z0-9_][\w.\-\[\]]*): )?(?P<message>.*)",
    re.DOTALL,
)

_ESCAPES: dict[int, str] = {
    code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if code != 0x09
}
_ESCAPES.update({ord("\n"): "\\n", ord("\r"): "\\r", 0x2028: "\\u2028", 0x2029: "\\u2029"})


def single_line(text: str) -> str:
    r"""``text`` with line breaks and other control characters backslash-escaped.

    Every message on stderr is exactly one line, even when it quotes a key, a ``--set`` string
    or an argument that holds a line break (which is shown as ``\\n``).
    """
    return str(text).translate(_ESCAPES)


@dataclass(frozen=True, slots=True)
class Problem:
    """One located problem: ``file:line:col: path: message`` taken apart.

    ``line`` and ``column`` count from 1; ``column`` is ``None`` for formats located by line
    only (traces), ``path`` is the dotted path in the document (``checkpoint.interval``) or
    ``None`` when the problem is about the file as a whole. A message that is not located at
    all (``plan NAME: ...``) has ``file`` and ``line`` ``None`` too.
    """

    file: str | None
    line: int | None
    column: int | None
    path: str | None
    message: str

    @classmethod
    def parse(cls, text: str) -> Problem:
        """Take apart one message of the ``file:line[:col]: [path: ]message`` form."""
        m = _LOCATED.fullmatch(text)
        if m is None:
            return cls(None, None, None, None, text)
        column = int(m["column"]) if m["column"] else None
        return cls(m["file"], int(m["line"]), column, m["path"], m["message"])


class ConfigError(ClusterSimError):
    """Bad data in a scenario or input file: every problem found, one line each.

    ``messages`` are the lines as the command line prints them (``file:line:col: path: msg``);
    ``problems`` the same taken apart, and ``file``, ``line``, ``column`` and ``path`` those of
    the first problem, so that ``except ConfigError as err: err.path`` names the field.
    """

    exit_code: ClassVar[int] = 65

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages: list[str] = [single_line(message) for message in messages]
        self.problems: tuple[Problem, ...] = tuple(Problem.parse(m) for m in self.messages)
        super().__init__("\n".join(self.messages))

    @property
    def _first(self) -> Problem:
        return self.problems[0] if self.problems else Problem(None, None, None, None, "")

    @property
    def file(self) -> str | None:
        """The file of the first problem (a preset is ``presets/NAME.yaml``)."""
        return self._first.file

    @property
    def line(self) -> int | None:
        """The line of the first problem, from 1."""
        return self._first.line

    @property
    def column(self) -> int | None:
        """The column of the first problem, from 1."""
        return self._first.column

    @property
    def path(self) -> str | None:
        """The dotted path of the first problem's field (``checkpoint.interval``), if any."""
        return self._first.path


class UsageError(ClusterSimError):
    """A bad request: preset name, override key or value, file path or extension; one line.

    On the command line it is a usage error (exit 2); from the API it is raised by
    :func:`clustersim.load` and friends for a name or an override that cannot apply.
    """

    exit_code: ClassVar[int] = 2

    def __init__(self, message: str) -> None:
        super().__init__(single_line(message))

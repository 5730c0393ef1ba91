"""The two errors of the config edge, and the one-line rule every message follows.

:class:`ConfigError` is bad data in a scenario file (exit 65), :class:`UsageError` bad use of
the command line (exit 2); :func:`single_line` escapes line breaks and other control characters
so that each message on stderr is exactly one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

__all__ = ["ConfigError", "UsageError", "single_line"]

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


class ConfigError(Exception):
    """Bad data in a scenario file: every problem found, one ``file:line:col: path: msg`` each."""

    exit_code: ClassVar[int] = 65

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages: list[str] = [single_line(message) for message in messages]
        super().__init__("\n".join(self.messages))


class UsageError(Exception):
    """Bad command-line use (preset name, ``--set``, file path or extension); one line."""

    exit_code: ClassVar[int] = 2

    def __init__(self, message: str) -> None:
        super().__init__(single_line(message))

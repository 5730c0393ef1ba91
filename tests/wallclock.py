"""The wall-clock part of a result, removed, so that two runs of one seed compare byte for byte.

A run times itself (``run`` in the JSON, "in 0.21 s (...)" on the terminal's ``simulated``
line, docs/results.md); everything else is a function of the scenario and the seed (INV-9).
"""

from __future__ import annotations

import json
import re

WALL_KEY = "run"
"""The top-level JSON key of the timing (``scenario.run`` is the scenario's own section)."""
_TERMINAL = re.compile(r"\s+in\s+[0-9.,]+\s(?:s|min|h|d)(?:\s+\([^)]*events/s\))?[ ]*")
"""The timing at the end of the ``simulated`` line, and the padding after it, wrapped or not
(greedy wrapping lays out the words before it the same whatever its length)."""


def without_wall(text: str) -> str:
    """``text`` (a ``--json`` object or the terminal summary) without its wall-clock part."""
    try:
        data = json.loads(text)
    except ValueError:
        return _TERMINAL.sub("", text)
    if isinstance(data, dict):
        data.pop(WALL_KEY, None)
    return json.dumps(data, indent=2)


def wall_free(data: dict[str, object]) -> dict[str, object]:
    """A parsed result without its top-level wall-clock object."""
    return {k: v for k, v in data.items() if k != WALL_KEY}

"""Generated blocks of a doc page: the text between `<!-- name:begin -->` and its end marker.

Doc tests read a block to compare it with what its commands print now, and replace it when
they regenerate the page (``CLUSTERSIM_REGEN_DOCS=1``).
"""

from __future__ import annotations

import re

__all__ = ["between", "replace_between"]


def between(text: str, name: str, page: str) -> str:
    """The block ``name`` of ``text`` (the page ``page``, named if the markers are missing)."""
    m = re.search(rf"<!-- {name}:begin -->\n(.*?)\n<!-- {name}:end -->", text, flags=re.S)
    assert m, f"{page} lacks the {name} markers"
    return m.group(1)


def replace_between(text: str, name: str, body: str) -> str:
    """``text`` with the block ``name`` replaced by ``body`` (markers kept)."""
    return re.sub(
        rf"(<!-- {name}:begin -->\n).*?(\n<!-- {name}:end -->)",
        lambda m: m.group(1) + body + m.group(2),
        text,
        flags=re.S,
    )

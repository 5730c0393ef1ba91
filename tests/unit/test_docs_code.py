"""Every code block of docs/api.md and docs/tutorial.md runs, and prints what the page shows.

Each file's ```` ```python ```` blocks run in order in one namespace (as a notebook would), in
a temporary directory, with matplotlib drawing off screen. An ```` ```output ```` block right
after a python block is what that block prints; it is compared on the Python the golden files
are recorded with (3.11: Python 3.12's float ``sum()`` can change a last printed digit), and
rewritten instead with ``CLUSTERSIM_REGEN_DOCS=1`` (review the diff). The pages hold no other
kind of block, so no example escapes the check.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("docs/api.md", "docs/tutorial.md")
REGEN = os.environ.get("CLUSTERSIM_REGEN_DOCS") == "1"
COMPARE_ON = (3, 11)
FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```\n", re.DOTALL | re.MULTILINE)


def blocks(text: str) -> list[re.Match[str]]:
    """The fenced blocks of a markdown page, in order."""
    return list(FENCE.finditer(text))


@pytest.mark.parametrize("page", PAGES)
def test_every_block_runs_and_prints_what_the_page_shows(
    page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    path = ROOT / page
    text = path.read_text(encoding="utf-8")
    found = blocks(text)
    assert {m["lang"] for m in found} <= {"python", "output"}, "only python and output blocks"
    assert any(m["lang"] == "python" for m in found)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    replacements: list[tuple[re.Match[str], str]] = []
    for i, block in enumerate(found):
        if block["lang"] != "python":
            assert i > 0 and found[i - 1]["lang"] == "python", "an output block follows code"
            continue
        line = text.count("\n", 0, block.start()) + 2
        code = compile(block["body"], f"{page}:{line}", "exec")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(code, namespace)
        after = found[i + 1] if i + 1 < len(found) else None
        if after is None or after["lang"] != "output" or text[block.end() : after.start()].strip():
            continue
        if REGEN:
            replacements.append((after, printed.getvalue()))
        elif sys.version_info[:2] == COMPARE_ON:
            assert printed.getvalue() == after["body"], f"{page}:{line}: the output differs"
    if REGEN and replacements:
        for match, output in reversed(replacements):
            text = text[: match.start("body")] + output + text[match.end("body") :]
        path.write_text(text, encoding="utf-8")

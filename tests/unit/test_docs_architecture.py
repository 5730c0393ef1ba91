"""Every path and dotted name in ``docs/architecture.md`` exists, so the map cannot go stale.

Backticked text is checked by its shape:

* a path (contains ``/`` or ends in a file suffix such as ``.py`` or ``.md``) must exist,
  relative to the repository root; ``../shared/`` paths point outside the repository and
  are skipped;
* a dotted name starting with ``clustersim.`` must resolve: the longest importable module
  prefix is imported and the rest is looked up attribute by attribute.

Anything else in backticks (flags, code such as ``decide(view, queue)``, config keys) is not
checked. Names of things that do not exist yet (the next issues' components) are written
without backticks.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
SUFFIX = re.compile(r"\.(py|md|yaml|toml|json|csv)$")


def backticked(text: str) -> list[str]:
    """The inline code spans of a markdown text, fenced blocks left out."""
    prose = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return re.findall(r"`([^`\n]+)`", prose)


def is_path(token: str) -> bool:
    """Whether a code span reads as a file or folder path."""
    return " " not in token and ("/" in token or bool(SUFFIX.search(token)))


def is_dotted(token: str) -> bool:
    """Whether a code span reads as a dotted clustersim name."""
    return re.fullmatch(r"clustersim(\.[A-Za-z_][A-Za-z0-9_]*)+", token) is not None


def resolves(dotted: str) -> bool:
    """Whether ``dotted`` names an importable module or an attribute of one."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def missing(text: str, root: Path = ROOT) -> list[str]:
    """The paths and dotted names of ``text`` that do not exist."""
    out = []
    for token in backticked(text):
        if is_path(token):
            if token.startswith("../shared/"):
                continue
            if not (root / token.rstrip("/")).exists():
                out.append(token)
        elif is_dotted(token) and not resolves(token):
            out.append(token)
    return out


def test_every_path_and_name_in_the_doc_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    gone = missing(text)
    assert not gone, f"docs/architecture.md names what does not exist: {gone}"


def test_the_doc_names_enough_to_be_checked() -> None:
    # A broken extractor would pass the test above by finding nothing.
    tokens = backticked(DOC.read_text(encoding="utf-8"))
    assert sum(map(is_path, tokens)) >= 20
    assert sum(map(is_dotted, tokens)) >= 20


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("`src/clustersim/cluster.py` and `clustersim.cluster.Cluster`", []),
        ("`src/clustersim/engine/nothing.py`", ["src/clustersim/engine/nothing.py"]),
        ("`clustersim.cluster.Nothing`", ["clustersim.cluster.Nothing"]),
        ("`clustersim.nomodule`", ["clustersim.nomodule"]),
        ("`faults/` `scheduler/__init__.py` `../shared/DESIGN.md`", []),
        ("`--set a.b=c` `decide(view, queue)` `storage.contention`", []),
        ("```\nsrc/nothing.py `not/checked.py`\n```\n", []),
    ],
)
def test_the_check_finds_what_is_missing(text: str, expected: list[str]) -> None:
    assert missing(text) == expected

"""No module in ``src/clustersim`` over ~500 lines without a reason written at its top.

A module longer than :data:`MAX_LINES` must say why it is one module in a paragraph of its
docstring that starts with ``Size:`` (STYLE.md: one module per concept, none much over 400
lines; issue 16). Split it, or write the reason down.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "clustersim"
MAX_LINES = 500


def has_size_reason(source: str) -> bool:
    """Whether the module docstring has a paragraph starting with ``Size:``."""
    doc = ast.get_docstring(ast.parse(source)) or ""
    return any(para.lstrip().startswith("Size:") for para in doc.split("\n\n"))


def test_long_modules_say_why_they_are_one_module() -> None:
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        if lines > MAX_LINES and not has_size_reason(text):
            missing.append(f"{path.relative_to(ROOT)} ({lines} lines)")
    assert not missing, (
        f"over {MAX_LINES} lines without a 'Size:' paragraph in the module docstring: "
        + ", ".join(missing)
    )


def test_the_check_reads_the_docstring_only() -> None:
    assert has_size_reason('"""Owns x.\n\nSize: one mechanism."""\n')
    assert not has_size_reason('"""Owns x."""\n# Size: a comment is not the docstring\n')
    assert not has_size_reason('"""Owns x; Size: not at the start of a paragraph."""\n')

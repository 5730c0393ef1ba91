"""The import graph of clustersim has no circles: no two modules import each other.

Every ``.py`` file under ``src/clustersim``, ``scheduler/`` and ``faults/`` is parsed with
:mod:`ast` (nothing is imported or run). An edge goes from a module to each clustersim module it
imports anywhere in the file: at module level, under ``if TYPE_CHECKING:``, or inside a
function, since a lazy import still means that the two modules know each other.
``from x import y`` points at ``x.y`` when that is a module and at ``x`` otherwise; relative
imports are resolved against the importing module's package. Importing ``a.b.c`` is an edge to
``a.b.c`` only, not to the packages ``a`` and ``a.b`` that Python also initialises, so that a
package's ``__init__`` may re-export its modules' names. A strongly connected component of more
than one module is a circle; the test names its modules and the imports that close it.
Imports by name at run time (``importlib.import_module``, ``__import__``) would hide edges from
this walk, so they are refused too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {
    "clustersim": ROOT / "src" / "clustersim",
    "clustersim.scheduler": ROOT / "scheduler",
    "clustersim.faults": ROOT / "faults",
}
"""Import name of each source folder (setuptools' package-dir mapping in pyproject.toml)."""

KNOWN_CIRCLES: list[frozenset[str]] = []
"""Circles tolerated: none (the engine split removed engine <-> job <-> metrics). Never add."""


def module_files(sources: dict[str, Path] = SOURCES) -> dict[str, Path]:
    """Every module's dotted name and its file, for folders given by their import names."""
    modules: dict[str, Path] = {}
    for name, folder in sources.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join([name, *parts])] = path
    return modules


def _imports(module: str, path: Path, modules: dict[str, Path]) -> Iterator[str]:
    """The clustersim modules that one file imports, anywhere in it."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                while parts and ".".join(parts) not in modules:
                    parts.pop()
                if parts:
                    yield ".".join(parts)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                if f"{base}.{alias.name}" in modules:
                    yield f"{base}.{alias.name}"
                elif base in modules:
                    yield base


def import_graph(sources: dict[str, Path] = SOURCES) -> dict[str, set[str]]:
    """Each module and the other modules of ``sources`` that it imports."""
    modules = module_files(sources)
    return {
        name: {target for target in _imports(name, path, modules) if target != name}
        for name, path in modules.items()
    }


def circles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def describe(circle: frozenset[str], graph: dict[str, set[str]]) -> str:
    """One circle as its modules and the imports among them."""
    edges = [f"    {a} -> {b}" for a in sorted(circle) for b in sorted(graph[a] & circle)]
    return "\n".join([f"  {{{', '.join(sorted(circle))}}}:", *edges])


def test_the_walk_sees_every_package() -> None:
    graph = import_graph()
    # A broken mapping would find no circles because it found no modules or no edges.
    for name in ["clustersim.cli", "clustersim.scheduler.fifo", "clustersim.faults.base"]:
        assert name in graph
    assert "clustersim.views" in graph["clustersim.scheduler.fifo"]
    assert "clustersim.faults.base" in graph["clustersim.faults.poisson"]


def test_no_module_imports_itself_back() -> None:
    graph = import_graph()
    new = [c for c in circles(graph) if c not in KNOWN_CIRCLES]
    assert not new, "import circles:\n" + "\n".join(describe(c, graph) for c in new)


def test_no_module_imports_by_name_at_run_time() -> None:
    found = []
    for name, path in module_files().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            func = node.func if isinstance(node, ast.Call) else None
            called = getattr(func, "attr", None) or getattr(func, "id", None)
            if called in ("import_module", "__import__"):
                found.append(f"{name}:{node.lineno}")
    assert not found, f"imports the graph cannot see: {found}"


def test_circles_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert circles(graph) == [frozenset({"a", "b", "c"})]


def test_every_kind_of_import_is_an_edge(tmp_path: Path) -> None:
    files = {
        "__init__.py": "from pkg.sub import thing\n",
        "a.py": "import pkg.b\n",
        "b.py": "def f():\n    from . import c\n",  # a relative import inside a function
        "c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .sub.d import X\n",
        "sub/__init__.py": "thing = 1\n",
        "sub/d.py": "from .. import a\nfrom pkg.sub import thing\nfrom ..b import f\n",
        "e.py": "from pkg import sub\nimport os\nfrom os import path\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = import_graph({"pkg": tmp_path})
    assert graph == {
        "pkg": {"pkg.sub"},
        "pkg.a": {"pkg.b"},
        "pkg.b": {"pkg.c"},
        "pkg.c": {"pkg.sub.d"},
        "pkg.sub": set(),
        "pkg.sub.d": {"pkg.a", "pkg.sub", "pkg.b"},
        "pkg.e": {"pkg.sub"},
    }
    assert circles(graph) == [frozenset({"pkg.a", "pkg.b", "pkg.c", "pkg.sub.d"})]

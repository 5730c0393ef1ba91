"""Sweep grids: ``--grid`` values into points, and each point's scenario and knob values.

This module owns the meaning of a grid: ``knob=v1,v2`` specs (commas inside brackets, braces
and quotes do not split), the product of the knobs' values (first knob outermost), a point's
scenario built through the loader's ``--set`` path (so units like ``5m`` work and a bad key
is the same usage error as a bad ``--set``), and a knob's parsed value in base units.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from clustersim.config import Scenario, UsageError, dump_json_scenario, load_scenario_text
from clustersim.config.overrides import canonical_path

__all__ = [
    "RESERVED_KNOBS",
    "Grid",
    "Point",
    "grid_of",
    "grid_points",
    "grid_text",
    "knob_value",
    "parse_grid",
    "point_scenario",
    "split_values",
]

Point = dict[str, str]
"""One grid point: knob (dotted scenario path) → its value as typed (``"5m"``)."""
Grid = dict[str, list[str]]
"""Knob → the values to try, in order; points are the product, first knob outermost."""
RESERVED_KNOBS = ("run.seed", "run.replications")


def split_values(text: str) -> list[str]:
    """Split ``a,b,c`` at commas outside brackets, braces and quotes (YAML flow values)."""
    values: list[str] = []
    depth, quote, start = 0, "", 0
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            values.append(text[start:i].strip())
            start = i + 1
    values.append(text[start:].strip())
    return values


def parse_grid(specs: Sequence[str]) -> Grid:
    """``["checkpoint.interval=5m,10m", ...]`` → a grid; one key per spec, never twice."""
    grid: Grid = {}
    for spec in specs:
        key, sep, rest = spec.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--grid {spec}: expected dotted.path=value1,value2,...")
        _add_knob(grid, key, split_values(rest), f"--grid {spec}")
    return grid


def grid_text(value: Any) -> str:
    """One grid value as ``--grid`` text: a string as it is, other data as JSON (``8``)."""
    return value if isinstance(value, str) else orjson.dumps(value).decode("utf-8")


def grid_of(grid: Mapping[str, Sequence[Any]]) -> Grid:
    """The API's grid (dotted key → values, strings or data) as ``--grid`` text values.

    Raises:
        UsageError: an empty grid, a key given as one string of values, an empty or repeated
            value, or keys that overlap (``cluster`` and ``cluster.pods``).
    """
    out: Grid = {}
    for key, values in grid.items():
        if isinstance(values, str) or not isinstance(values, Sequence):
            raise UsageError(f"grid {key!r}: expected a list of values, got {values!r}")
        try:
            texts = [grid_text(v) for v in values]
        except TypeError as exc:
            raise UsageError(f"grid {key!r}: {exc}") from None
        _add_knob(out, str(key).strip(), texts, f"grid {key!r}")
    if not out:
        raise UsageError("grid: give at least one key and its values")
    return out


def _add_knob(grid: Grid, key: str, values: list[str], label: str) -> None:
    """Add one knob to ``grid``, refusing what would make points repeat or silently clash."""
    if key in grid:
        raise UsageError(f"{label}: {key!r} is already a grid key")
    for other in grid:
        if _overlaps(key, other):
            raise UsageError(
                f"{label}: overlaps the grid key {other!r} (both set "
                f"{min(key, other, key=len)!r} or a field inside it; give one of them)"
            )
    if not values or any(not v for v in values):
        raise UsageError(f"{label}: an empty value")
    if len(set(values)) != len(values):
        raise UsageError(f"{label}: a value is listed twice")
    grid[key] = values


def _overlaps(a: str, b: str) -> bool:
    """Whether one dotted key is the other or a section holding it (``cluster``, ``cluster.pods``).

    A mapping value merges into its section, so such knobs could set the same field: the
    later one would win silently and points would repeat under different labels.
    """
    short, long = sorted((canonical_path(a).split("."), canonical_path(b).split(".")), key=len)
    return long[: len(short)] == short


def grid_points(grid: Mapping[str, Sequence[str]]) -> list[Point]:
    """Every combination of the grid's values, first key outermost (an empty grid: one point)."""
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


def point_scenario(base: Scenario, point: Mapping[str, str]) -> Scenario:
    """``base`` with the point's values applied as ``--set key=value`` overrides.

    Raises:
        UsageError: an unknown key or a value the model rejects (a bad ``--grid``).
    """
    for key in point:
        if key in RESERVED_KNOBS:
            raise UsageError(f"--grid {key}: use --seed / --reps instead")
    document = orjson.dumps(dump_json_scenario(base)).decode("utf-8")
    overrides = [f"{key}={value}" for key, value in point.items()]
    try:
        return load_scenario_text(document, f"{base.name} (resolved)", "json", overrides)
    except UsageError as exc:
        raise UsageError(f"--grid: {str(exc).removeprefix('--set ')}") from None


def knob_value(scenario: Scenario, key: str) -> Any:
    """The parsed value of ``key`` in ``scenario``, base units (``interval=5m`` → 300.0)."""
    node: Any = scenario
    for seg in canonical_path(key).split("."):
        if isinstance(node, BaseModel):
            node = getattr(node, seg)
        elif isinstance(node, list | tuple):
            node = node[int(seg)]
        else:
            node = node[seg]
    if isinstance(node, BaseModel):
        return node.model_dump(mode="json")
    if isinstance(node, float) and not math.isfinite(node):
        return str(node)  # "inf": JSON has no infinity
    return to_jsonable_python(node)

"""Scenario composition: a file or preset plus ``--set`` overrides into one validated Scenario.

This module owns the rest of the config edge after parsing (:mod:`clustersim.config.parse`):
finding a scenario (a file path or a built-in preset), applying ``--set dotted.path=value``
overrides to the raw document, validating it with :class:`clustersim.config.Scenario`, and
turning every problem into one line of the form ``file:line:col: dotted.path: message`` (bad
data, :class:`ConfigError`, exit 65) or ``--set path=value: message`` (bad command line,
:class:`UsageError`, exit 2). It also writes a resolved scenario back out as YAML that
re-loads to an equal Scenario.
"""

from __future__ import annotations

import difflib
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import NoneType, UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.scalarstring import LiteralScalarString

from clustersim.config.errors import ConfigError, UsageError
from clustersim.config.models import Scenario
from clustersim.config.parse import (
    FORMAT_BY_EXTENSION,
    MAX_FILE_BYTES,
    MAX_MESSAGES,
    Loc,
    PositionMap,
    _error_lines,
    _line_col,
    _load_yaml,
    _one_line,
    _plain,
    _Refused,
    _repr,
    _shorten,
    _shorten_problem,
    _too_large,
    load_document,
)

__all__ = [
    "PRESET_PACKAGE",
    "dump_json_scenario",
    "dump_yaml",
    "list_presets",
    "load_scenario",
    "load_scenario_text",
    "preset_text",
]

PRESET_PACKAGE = "clustersim.config.presets"


@dataclass(frozen=True, slots=True)
class _Override:
    """One applied ``--set``: the text as typed, its path, and the shortest path it created."""

    text: str
    path: Loc
    origin: Loc


def _parse_override(text: str) -> tuple[list[str], Any]:
    key, sep, value_text = text.partition("=")
    segments = key.strip().split(".")
    if not sep or not all(segments):
        raise UsageError(f"--set {text}: expected dotted.path=value (e.g. run.seed=7)")
    if len(value_text) > MAX_FILE_BYTES:
        raise UsageError(f"--set {key}=...: the value is over {MAX_FILE_BYTES:,} characters")
    try:
        parsed = _load_yaml(value_text)
    except _Refused as err:
        raise UsageError(f"--set {text}: {_one_line(err.problem)}") from None
    except YAMLError as err:
        problem = _shorten_problem(_one_line(getattr(err, "problem", None) or str(err)))
        raise UsageError(f"--set {text}: cannot parse the value: {problem}") from None
    except (RecursionError, ValueError, TypeError, LookupError, AttributeError, ArithmeticError):
        raise UsageError(f"--set {text}: cannot parse the value") from None
    bad: list[tuple[Loc, str]] = []
    value = _plain(parsed, (), bad)
    if bad:
        raise UsageError(f"--set {text}: {bad[0][1]}")
    return segments, value


def _unwrap(tp: Any) -> Any:
    """Strip ``Annotated`` and ``X | None`` down to the type that says how to descend."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, UnionType):
            members = [arg for arg in get_args(tp) if arg is not NoneType]
            if len(members) != 1:
                return tp
            tp = members[0]
        else:
            return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _model_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every dotted field path reachable through nested models (list items as ``0``)."""
    paths = []
    for name, field in model.model_fields.items():
        path, tp = f"{prefix}{name}", _unwrap(field.annotation)
        paths.append(path)
        if get_origin(tp) is list:
            tp, path = _unwrap(get_args(tp)[0]), f"{path}.0"
        if _is_model(tp):
            paths.extend(_model_paths(tp, f"{path}."))
    return paths


def _apply_override(document: dict[str, Any], text: str) -> _Override:
    """Set one ``--set`` value in ``document``; the path must name a field of the model."""
    segments, value = _parse_override(text)
    tp: Any = Scenario
    node: Any = document
    path: list[str | int] = []
    origin: Loc | None = None
    for depth, seg in enumerate(segments):
        tp = _unwrap(tp)
        where = ".".join(map(str, path)) or "the scenario"
        key: str | int
        if _is_model(tp):
            if seg not in tp.model_fields:
                raise UsageError(f"--set {text}: {_unknown_key(tp, segments, depth)}")
            key, tp = seg, tp.model_fields[seg].annotation
            if not isinstance(node, dict):
                raise UsageError(f"--set {text}: {where} is not a mapping in the scenario")
        elif get_origin(tp) is list:
            size = len(node) if isinstance(node, list) else 0
            if not seg.isdigit():
                raise UsageError(f"--set {text}: {where} is a list; {seg!r} is not an index")
            if int(seg) >= size:
                raise UsageError(
                    f"--set {text}: list index {seg} out of range ({where} has {size} items)"
                )
            key, tp = int(seg), get_args(tp)[0]
        elif get_origin(tp) is dict:
            if not isinstance(node, dict) or seg not in node:
                known = ", ".join(sorted(node)) if isinstance(node, dict) and node else "none"
                raise UsageError(
                    f"--set {text}: {where} has no key {seg!r} (present: {known}); "
                    f"set the whole mapping with --set {where}={{...}}"
                )
            key, tp = seg, get_args(tp)[1]
        else:
            raise UsageError(f"--set {text}: {where} is a value, not a mapping")
        path.append(key)
        if depth == len(segments) - 1:
            node[key] = _merged(node[key] if _has(node, key) else None, value, tp)
        elif isinstance(node, dict):
            if node.get(key) is None and _is_model(_unwrap(tp)):
                node[key] = {}  # a section left to its defaults
                origin = origin or tuple(path)
            node = node.get(key)
        else:
            node = node[key]
    return _Override(text=text, path=tuple(path), origin=origin or tuple(path))


def _has(node: Any, key: str | int) -> bool:
    return key in node if isinstance(node, dict) else 0 <= int(key) < len(node)


def _merged(old: Any, new: Any, tp: Any) -> Any:
    """``new`` deep-merged into ``old``, a value of the model type ``tp``.

    A mapping given for a section (a model) changes only the fields it names:
    ``--set 'cluster={pods: 2}'`` keeps the preset's rack layout. Anything else replaces the
    old value whole: lists, scalars, and mappings keyed by name (``faults``), so that setting
    the whole mapping still adds or removes entries. A fault source given another ``kind``
    is replaced too, since the old kind's fields would not apply.
    """
    model = _unwrap(tp)
    if not (isinstance(old, dict) and isinstance(new, dict) and _is_model(model)):
        return new
    if "kind" in new and new["kind"] != old.get("kind"):
        return new
    out = dict(old)
    for key, value in new.items():
        field = model.model_fields.get(key)
        out[key] = _merged(out.get(key), value, field.annotation if field else None)
    return out


def _unknown_key(model: type[BaseModel], segments: list[str], depth: int) -> str:
    """``unknown key 'a.b' (did you mean 'a.c'?)`` using the fields at that level first."""
    dotted = ".".join(segments)
    close = difflib.get_close_matches(segments[depth], list(model.model_fields), n=1)
    if close:
        guess = ".".join([*segments[:depth], close[0], *segments[depth + 1 :]])
    else:
        matches = difflib.get_close_matches(dotted, _model_paths(Scenario), n=1)
        guess = matches[0] if matches else ""
    return f"unknown key {dotted!r}" + (f" (did you mean {guess!r}?)" if guess else "")


def _message(error: Any) -> str:
    """Pydantic's message on one line, with the offending input (shortened) when useful."""
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if error["type"] not in ("missing", "extra_forbidden") and (
        value is None or isinstance(value, str | int | float)
    ):
        full = _repr(value)
        shown = _shorten(full)
        if value is None or isinstance(value, bool):
            shown = json.dumps(value)
        if isinstance(value, str) and full in message:  # a unit parser already quoted it
            message = message.replace(full, shown)
        else:
            message = f"{message} (got {shown})"
    return _one_line(message)


def _override_for(error: Any, overrides: Sequence[_Override]) -> _Override | None:
    """Find the last override that caused ``error``: in what it set or created, or a check above."""
    loc = tuple(error["loc"])
    for override in reversed(overrides):
        if loc[: len(override.origin)] == override.origin:
            return override
        if error["type"] == "value_error" and override.path[: len(loc)] == loc:
            return override
    return None


def _validate(
    document: dict[str, Any],
    positions: PositionMap,
    filename: str,
    overrides: Sequence[_Override],
) -> Scenario:
    try:
        return Scenario.model_validate(document)
    except ValidationError as err:
        errors = err.errors(include_url=False)
    usage: str | None = None  # the first problem a --set caused; the others are counted
    usage_count = 0
    items: list[tuple[int, int, str, str]] = []
    left_out: list[Any] = []  # beyond MAX_MESSAGES: counted, not located (it costs)
    for error in errors:
        loc = tuple(error["loc"])
        dotted = ".".join(map(str, loc))
        override = _override_for(error, overrides)
        if override is not None:
            usage_count += 1
            where = f"{dotted}: " if loc != override.path else ""
            usage = usage or f"--set {override.text}: {where}{_message(error)}"
        elif len(items) < MAX_MESSAGES:
            items.append((*_error_position(error, positions), dotted, _message(error)))
        else:
            left_out.append(error)
    if usage is not None:
        more = f" (and {usage_count - 1} more)" if usage_count > 1 else ""
        raise UsageError(usage + more)
    rest = (*_error_position(left_out[0], positions), len(left_out)) if left_out else None
    raise ConfigError(_error_lines(filename, items, rest))


def _error_position(error: Any, positions: PositionMap) -> tuple[int, int]:
    """Position of a validation error: at the mapping, key or value it is about.

    A missing field points at its mapping, an unknown one at its key, any other at its value.
    """
    loc = tuple(error["loc"])
    if error["type"] == "missing":
        return positions.locate(loc[:-1])
    return positions.locate(loc, at_key=error["type"] == "extra_forbidden")


def load_scenario_text(
    text: str, filename: str, fmt: str = "yaml", overrides: Sequence[str] = ()
) -> Scenario:
    """Validate scenario ``text`` (named ``filename`` in messages) with overrides applied.

    Raises:
        ConfigError: bad data in the text.
        UsageError: a bad ``--set``, or a ``--set`` value the model rejects.
    """
    for text_override in overrides:
        _parse_override(text_override)  # a malformed --set is reported before the file
    document, positions = load_document(text, filename, fmt)
    applied = [_apply_override(document, override) for override in overrides]
    return _validate(document, positions, filename, applied)


def _read_source(source: str | os.PathLike[str]) -> tuple[str, str, str]:
    """``(text, filename, fmt)`` of a scenario file path or a preset name."""
    name = os.fspath(source)
    path = Path(name)
    separators = [sep for sep in (os.sep, os.altsep, "/") if sep]
    suffix = path.suffix.lower()
    try:
        is_file, exists = path.is_file(), path.exists()
    except OSError as err:  # e.g. a name too long for the file system
        raise UsageError(f"{name}: cannot read: {err.strerror or err}") from None
    is_path = isinstance(source, os.PathLike) or is_file or suffix in FORMAT_BY_EXTENSION
    if not (is_path or any(sep in name for sep in separators)):
        return preset_text(name), f"presets/{name}.yaml", "yaml"
    fmt = FORMAT_BY_EXTENSION.get(suffix)
    if not exists:
        raise UsageError(f"{name}: no such file")
    if fmt is None:
        raise UsageError(
            f"{name}: unsupported file type {suffix or '(none)'!r}; use .yaml, .yml, .json or .toml"
        )
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)  # never more than the limit into memory
    except OSError as err:
        raise UsageError(f"{name}: cannot read: {err.strerror or err}") from None
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(name)
    try:
        return data.decode("utf-8-sig"), name, fmt
    except UnicodeDecodeError as err:
        before = data[: err.start].decode("utf-8", "replace")
        line, col = _line_col(before, len(before))
        raise ConfigError([f"{name}:{line}:{col}: the file is not valid UTF-8"]) from None


def load_scenario(source: str | os.PathLike[str], overrides: Sequence[str] = ()) -> Scenario:
    """Load a scenario from a file path or preset name, applying ``--set`` overrides in order.

    ``source`` is a path if it is a path object, an existing file, contains a path separator
    or ends in ``.yaml``/``.yml``/``.json``/``.toml``; otherwise it names a preset.

    Raises:
        ConfigError: bad data in the file (every problem, one line each; exit 65).
        UsageError: unknown preset, bad ``--set``, missing or unreadable file (exit 2).
    """
    text, filename, fmt = _read_source(source)
    scenario = load_scenario_text(text, filename, fmt, overrides)
    if not filename.startswith("presets/"):
        scenario = _resolve_trace_paths(scenario, Path(filename).parent)
    return scenario


def _resolve_trace_paths(scenario: Scenario, base: Path) -> Scenario:
    """Make relative trace paths (fault and workload traces) relative to the scenario file."""
    faults = dict(scenario.faults)
    changed = False
    for name, fault in faults.items():
        if fault.kind == "trace" and fault.path and not Path(fault.path).is_absolute():
            faults[name] = fault.model_copy(update={"path": str(base / fault.path)})
            changed = True
    update: dict[str, Any] = {"faults": faults} if changed else {}
    trace = scenario.workload.trace
    if trace is not None and not Path(trace.path).is_absolute():
        trace = trace.model_copy(update={"path": str(base / trace.path)})
        update["workload"] = scenario.workload.model_copy(update={"trace": trace})
    return scenario.model_copy(update=update) if update else scenario


def _preset_files() -> dict[str, Traversable]:
    root = resources.files(PRESET_PACKAGE)
    return {
        entry.name.removesuffix(".yaml"): entry
        for entry in root.iterdir()
        if entry.name.endswith(".yaml") and entry.is_file()
    }


def preset_text(name: str) -> str:
    """Return the YAML text of the built-in preset ``name``.

    Raises:
        UsageError: no preset has that name (the message lists the known ones).
    """
    files = _preset_files()
    if name not in files:
        known = ", ".join(sorted(files)) or "none installed"
        raise UsageError(f"unknown preset {name!r} (known presets: {known})")
    return files[name].read_text(encoding="utf-8")


def list_presets() -> list[tuple[str, str]]:
    """``(name, first line of description)`` of every built-in preset, sorted by name."""
    result = []
    for name in sorted(_preset_files()):
        document, _ = load_document(preset_text(name), f"presets/{name}.yaml", "yaml")
        lines = str(document.get("description") or "").strip().splitlines()
        result.append((name, lines[0].strip() if lines else ""))
    return result


class _Representer(RoundTripRepresenter):
    """Round-trip representer that writes ``null`` explicitly (not an empty value)."""

    def represent_none(self, data: Any) -> Any:
        """Represent ``None`` as ``null``."""
        return self.represent_scalar("tag:yaml.org,2002:null", "null")


_Representer.add_representer(NoneType, _Representer.represent_none)


def _literal_strings(value: Any) -> Any:
    """Mark multi-line strings for ``|`` block style so descriptions stay readable."""
    if isinstance(value, dict):
        return {key: _literal_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_literal_strings(item) for item in value]
    if isinstance(value, str) and "\n" in value:
        return LiteralScalarString(value)
    return value


def dump_json_scenario(scenario: Scenario) -> dict[str, Any]:
    """Return the resolved scenario as JSON-ready data, units as strings ("54d", "2TB/s")."""
    return scenario.model_dump(mode="json")


def dump_yaml(scenario: Scenario) -> str:
    """Render the resolved scenario as block YAML in model key order; it re-loads equal."""
    yaml = YAML(typ="rt")
    yaml.Representer = _Representer
    yaml.default_flow_style = False
    yaml.width = 1_000_000  # never fold long strings: one value, one line
    yaml.indent(mapping=2, sequence=4, offset=2)
    stream = io.StringIO()
    yaml.dump(_literal_strings(dump_json_scenario(scenario)), stream)
    return stream.getvalue()

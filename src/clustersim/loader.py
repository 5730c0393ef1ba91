"""Scenario loading: a file or preset plus ``--set`` overrides into one validated Scenario.

This module owns the config edge: reading YAML, JSON and TOML scenario files and the built-in
presets, applying ``--set dotted.path=value`` overrides to the raw document, validating it
with :class:`clustersim.config.Scenario`, and turning every problem into one line of the form
``file:line:col: dotted.path: message`` (bad data, :class:`ConfigError`, exit 65) or
``--set path=value: message`` (bad command line, :class:`UsageError`, exit 2). It also writes
a resolved scenario back out as YAML that re-loads to an equal Scenario.
"""

from __future__ import annotations

import difflib
import io
import json
import os
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import NoneType, UnionType
from typing import Annotated, Any, ClassVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.scalarbool import ScalarBoolean
from ruamel.yaml.scalarstring import LiteralScalarString

from clustersim.config import Scenario

__all__ = [
    "FORMAT_BY_EXTENSION",
    "PRESET_PACKAGE",
    "ConfigError",
    "PositionMap",
    "UsageError",
    "dump_json_scenario",
    "dump_yaml",
    "list_presets",
    "load_document",
    "load_scenario",
    "load_scenario_text",
    "preset_text",
]

PRESET_PACKAGE = "clustersim.presets"
FORMAT_BY_EXTENSION: dict[str, str] = {
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".toml": "toml",
}
_MAX_INPUT_CHARS = 60
_STR_TAG = "tag:yaml.org,2002:str"

Loc = tuple[str | int, ...]


class ConfigError(Exception):
    """Bad data in a scenario file: every problem found, one ``file:line:col: path: msg`` each."""

    exit_code: ClassVar[int] = 65

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages: list[str] = list(messages)
        super().__init__("\n".join(self.messages))


class UsageError(Exception):
    """Bad command-line use (preset name, ``--set``, file path or extension); one line."""

    exit_code: ClassVar[int] = 2


class PositionMap:
    """Maps a validation-error location to the 1-based ``(line, col)`` it came from.

    The base class knows no positions and points at the start of the file.
    """

    def locate(self, loc: Loc, *, at_key: bool = False) -> tuple[int, int]:
        """Position of the deepest existing node on ``loc`` (its key if ``at_key``)."""
        return 1, 1


class _YamlPositions(PositionMap):
    """Positions from ruamel's round-trip containers (YAML and JSON)."""

    def __init__(self, root: Any) -> None:
        self._root = root

    def locate(self, loc: Loc, *, at_key: bool = False) -> tuple[int, int]:
        node = self._root
        line, col = (node.lc.line, node.lc.col) if isinstance(node, CommentedMap) else (0, 0)
        for depth, seg in enumerate(loc):
            if isinstance(node, CommentedMap) and seg in node:
                try:
                    last_key = at_key and depth == len(loc) - 1
                    line, col = node.lc.key(seg) if last_key else node.lc.value(seg)
                except (KeyError, TypeError):  # merged (<<) keys carry no position
                    break
                node = node[seg]
            elif isinstance(node, CommentedSeq) and isinstance(seg, int) and seg < len(node):
                line, col = node.lc.item(seg)
                node = node[seg]
            else:
                break
        return line + 1, col + 1


class _TomlPositions(PositionMap):
    """Best-effort positions in TOML text: find each key (or ``[[table]]`` repeat) in turn."""

    def __init__(self, text: str) -> None:
        self._text = text

    def locate(self, loc: Loc, *, at_key: bool = False) -> tuple[int, int]:
        text, offset, found, header = self._text, 0, 0, ""
        for seg in loc:
            if isinstance(seg, int):
                for _ in range(seg if header else 0):
                    offset = text.find(header, offset + 1)
                    if offset < 0:
                        return self._position(found)
                found = offset
                continue
            key = re.compile(rf"(?<![\w-])([\"']?){re.escape(seg)}\1\s*(?=[=.\]])")
            match = key.search(text, offset)
            if match is None:
                break
            offset = found = match.start()
            line_start = text.rfind("\n", 0, offset) + 1
            line_end = text.find("\n", offset)
            line = text[line_start : line_end if line_end >= 0 else len(text)].strip()
            header = line if line.startswith("[[") else ""
        return self._position(found)

    def _position(self, offset: int) -> tuple[int, int]:
        return _line_col(self._text, offset)


def _line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of character ``offset`` in ``text``."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "a string" if isinstance(value, str) else f"a {type(value).__name__}"


def _plain(node: Any, loc: Loc, bad: list[tuple[Loc, str]]) -> Any:
    """Copy ruamel/tomllib data into dict/list/str/int/float/bool/None; collect what isn't."""
    tag = getattr(getattr(node, "tag", None), "value", None)
    if isinstance(node, TaggedScalar) and tag == _STR_TAG:
        return str(node.value)
    if tag is not None and not str(tag).startswith("tag:yaml.org,2002:"):
        bad.append((loc, f"unsupported YAML tag {tag}; use plain data"))
        return None
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if not isinstance(key, str):
                bad.append((loc, f"mapping key {key!r} is not a string"))
                continue
            out[key] = _plain(value, (*loc, key), bad)
        return out
    if isinstance(node, list):
        return [_plain(item, (*loc, i), bad) for i, item in enumerate(node)]
    if node is None or isinstance(node, bool | ScalarBoolean):
        return None if node is None else bool(node)
    for plain_type in (int, float, str):
        if isinstance(node, plain_type):
            return plain_type(node)
    bad.append((loc, f"unsupported value of type {type(node).__name__}; quote it as a string"))
    return None


def _error_lines(filename: str, items: list[tuple[int, int, str, str]]) -> list[str]:
    """``file:line:col: path: message`` lines sorted by position (path omitted when empty)."""
    return [
        f"{filename}:{line}:{col}: {path + ': ' if path else ''}{message}"
        for line, col, path, message in sorted(items, key=lambda item: item[:2])
    ]


def _parse_yaml(text: str, filename: str, fmt: str) -> Any:
    yaml = YAML(typ="rt")
    yaml.version = (1, 2)
    label = fmt.upper()
    try:
        return yaml.load(text)
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = _one_line(err.problem or err.context or "syntax error")
    except ReaderError as err:
        (line, col), problem = _line_col(text, err.position), _one_line(err.reason)
    except YAMLError as err:
        (line, col), problem = (1, 1), _one_line(str(err).splitlines()[0])
    raise ConfigError([f"{filename}:{line}:{col}: invalid {label}: {problem}"])


def _parse_toml(text: str, filename: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        message = str(err)
        match = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
        line, col = (int(match[1]), int(match[2])) if match else _line_col(text, len(text))
        problem = _one_line(message[: match.start()] if match else message)
        raise ConfigError([f"{filename}:{line}:{col}: invalid TOML: {problem}"]) from None


def load_document(text: str, filename: str, fmt: str) -> tuple[dict[str, Any], PositionMap]:
    """Parse scenario ``text`` in ``fmt`` (``yaml``, ``json`` or ``toml``) into plain data.

    Returns the top-level mapping as plain ``dict``/``list``/scalars, and the map from
    validation-error locations back to file positions.

    Raises:
        ConfigError: a syntax error, duplicate key, empty file, a top-level value that is not
            a mapping, or a value that is not plain data (a YAML tag, a date).
    """
    if not text.strip():
        raise ConfigError([f"{filename}:1:1: the file is empty"])
    raw: Any
    positions: PositionMap
    if fmt == "toml":
        raw, positions = _parse_toml(text, filename), _TomlPositions(text)
    else:
        if fmt == "json":
            try:
                json.loads(text)
            except json.JSONDecodeError as err:
                at = f"{filename}:{err.lineno}:{err.colno}"
                raise ConfigError([f"{at}: invalid JSON: {err.msg}"]) from None
        raw = _parse_yaml(text, filename, fmt)
        positions = _YamlPositions(raw)
    if raw is None:
        raise ConfigError([f"{filename}:1:1: the document is empty"])
    if not isinstance(raw, dict):
        line, col = positions.locate(())
        raise ConfigError([f"{filename}:{line}:{col}: expected a mapping, got {_kind(raw)}"])
    bad: list[tuple[Loc, str]] = []
    document = _plain(raw, (), bad)
    if bad:
        items = [(*positions.locate(loc), ".".join(map(str, loc)), msg) for loc, msg in bad]
        raise ConfigError(_error_lines(filename, items))
    return document, positions


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
    yaml = YAML(typ="safe", pure=True)
    yaml.version = (1, 2)
    try:
        parsed = yaml.load(value_text)
    except YAMLError as err:
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise UsageError(f"--set {text}: cannot parse the value: {_one_line(problem)}") from None
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
            node[key] = value
        elif isinstance(node, dict):
            if node.get(key) is None and _is_model(_unwrap(tp)):
                node[key] = {}  # a section left to its defaults
                origin = origin or tuple(path)
            node = node.get(key)
        else:
            node = node[key]
    return _Override(text=text, path=tuple(path), origin=origin or tuple(path))


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
        full = repr(value)
        shown = full if len(full) <= _MAX_INPUT_CHARS else full[: _MAX_INPUT_CHARS - 3] + "..."
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
    usage: list[str] = []
    items: list[tuple[int, int, str, str]] = []
    for error in errors:
        loc, message = tuple(error["loc"]), _message(error)
        dotted = ".".join(map(str, loc))
        override = _override_for(error, overrides)
        if override is not None:
            where = f"{dotted}: " if loc != override.path else ""
            usage.append(f"--set {override.text}: {where}{message}")
            continue
        if error["type"] == "missing":
            line, col = positions.locate(loc[:-1])
        else:
            line, col = positions.locate(loc, at_key=error["type"] == "extra_forbidden")
        items.append((line, col, dotted, message))
    if usage:
        more = f" (and {len(usage) - 1} more)" if len(usage) > 1 else ""
        raise UsageError(usage[0] + more)
    raise ConfigError(_error_lines(filename, items))


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
    is_path = isinstance(source, os.PathLike) or path.is_file() or suffix in FORMAT_BY_EXTENSION
    if not (is_path or any(sep in name for sep in separators)):
        return preset_text(name), f"presets/{name}.yaml", "yaml"
    fmt = FORMAT_BY_EXTENSION.get(suffix)
    if not path.exists():
        raise UsageError(f"{name}: no such file")
    if fmt is None:
        raise UsageError(
            f"{name}: unsupported file type {suffix or '(none)'!r}; use .yaml, .yml, .json or .toml"
        )
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UsageError(f"{name}: cannot read: {err.strerror or err}") from None
    try:
        return data.decode("utf-8-sig"), name, fmt
    except UnicodeDecodeError as err:
        line, col = _line_col(data[: err.start].decode("utf-8", "replace"), err.start)
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
    return load_scenario_text(text, filename, fmt, overrides)


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

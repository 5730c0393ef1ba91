"""Overrides: dotted paths set to new values in a scenario document, then validated.

This module owns what ``--set dotted.path=value`` means, for the command line (the value is
YAML text, :func:`parse_override`) and for the Python API (a Python value,
:func:`python_override`, as in ``clustersim.load("single-job", **{"checkpoint.interval":
"10m"})``): finding the field the path names in the model (with a "did you mean" for a typo),
deep-merging a mapping given for a section, validating the document, and blaming each
validation error on the override that caused it (:class:`UsageError`, exit 2) or locating it in
the file (:class:`ConfigError`, exit 65). The model is a parameter (the root model class), so
that the models can use it (``Scenario.replace``) without this module importing them.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import NoneType, UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from ruamel.yaml.error import YAMLError

from clustersim.config.errors import ConfigError, UsageError
from clustersim.config.parse import (
    MAX_FILE_BYTES,
    MAX_MESSAGES,
    Loc,
    PositionMap,
    _error_lines,
    _load_yaml,
    _one_line,
    _plain,
    _Refused,
    _repr,
    _shorten,
    _shorten_problem,
)

__all__ = [
    "ALIASES",
    "Override",
    "apply_overrides",
    "canonical_path",
    "field_of",
    "overrides_from",
    "parse_override",
    "python_override",
    "validate_document",
]

M = TypeVar("M", bound=BaseModel)


ALIASES: dict[tuple[str, ...], tuple[str, ...]] = {
    ("scheduler", "placement"): ("cluster", "placement"),
}
"""Paths that name another field: ``scheduler.placement`` is ``cluster.placement`` (the
placement rule is a scheduling choice; the issues and users look for it there)."""


def canonical_path(path: str) -> str:
    """The dotted path ``path`` names (``scheduler.placement`` → ``cluster.placement``)."""
    segments = tuple(path.split("."))
    return ".".join(ALIASES.get(segments, segments))


@dataclass(frozen=True, slots=True)
class Override:
    """One override before it is applied: its path, its value and its name in messages.

    ``label`` is how messages name it: ``--set checkpoint.interval=10x`` for the command line,
    ``checkpoint.interval='10x'`` for the API.
    """

    label: str
    segments: tuple[str, ...]
    value: Any


@dataclass(frozen=True, slots=True)
class _Applied:
    """One applied override: its label, its path, and the shortest path it created."""

    label: str
    path: Loc
    origin: Loc


def parse_override(text: str) -> Override:
    """The command line's ``--set dotted.path=value``, the value read as YAML.

    Raises:
        UsageError: no ``=``, an empty path segment, or a value that does not parse.
    """
    key, sep, value_text = text.partition("=")
    segments = tuple(key.strip().split("."))
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
    return Override(f"--set {text}", segments, value)


def python_override(key: str, value: Any) -> Override:
    """An API override: ``key`` a dotted path, ``value`` plain Python data.

    Strings keep the human units of the files (``"10m"``, ``"2TB/s"``) and are not read as
    YAML; numbers, booleans, ``None``, lists, tuples and mappings are taken as they are, a
    path object as its string, and a config model (``CheckpointConfig(...)``) as its fields.

    Raises:
        UsageError: an empty path segment, or a value that is not plain data.
    """
    segments = tuple(str(key).strip().split("."))
    label = f"{key}={_shorten(_repr(value))}"
    if not all(segments):
        raise UsageError(f"{label}: expected a dotted path such as 'checkpoint.interval'")
    bad: list[tuple[Loc, str]] = []
    plain = _plain(_python_data(value), (), bad)
    if bad:
        where = ".".join(map(str, bad[0][0]))
        raise UsageError(f"{label}: {where + ': ' if where else ''}{bad[0][1]}")
    return Override(label, segments, plain)


def _python_data(value: Any) -> Any:
    """Python values the overrides accept, as the dict/list/scalar data a file would give."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        return {k: _python_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_python_data(v) for v in value]
    return value


def overrides_from(
    given: Mapping[str, Any] | Iterable[str] | None, keywords: Mapping[str, Any]
) -> list[Override]:
    """The overrides of an API call, in order: ``given`` first, then the keyword arguments.

    ``given`` is a mapping of dotted paths to Python values, or ``--set``-style
    ``"path=value"`` strings (values read as YAML, as on the command line).
    """
    out: list[Override] = []
    if isinstance(given, Mapping):
        out += [python_override(k, v) for k, v in given.items()]
    elif isinstance(given, str):
        out.append(parse_override(given))
    elif given is not None:
        out += [parse_override(text) for text in given]
    out += [python_override(k, v) for k, v in keywords.items()]
    return out


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


def field_of(root: type[BaseModel], path: str) -> FieldInfo | None:
    """The model field a dotted path names (list items as ``0``, mapping entries by key).

    ``None`` if the path names no field (a mapping key, an index past a section).
    """
    tp: Any = root
    found: FieldInfo | None = None
    for seg in canonical_path(path).split("."):
        tp = _unwrap(tp)
        if _is_model(tp) and seg in tp.model_fields:
            found = tp.model_fields[seg]
            tp = found.annotation
        elif get_origin(tp) in (list, dict):
            found, tp = None, get_args(tp)[-1]
        else:
            return None
    return found


def apply_overrides(
    document: dict[str, Any], overrides: Sequence[Override], root: type[BaseModel]
) -> list[_Applied]:
    """Set every override in ``document`` (a model's plain data) in order."""
    return [_apply_override(document, override, root) for override in overrides]


def _apply_override(
    document: dict[str, Any], override: Override, root: type[BaseModel]
) -> _Applied:
    """Set one override in ``document``; the path must name a field of ``root``."""
    text, value = override.label, override.value
    segments = ALIASES.get(override.segments, override.segments)
    if segments != override.segments:  # the file may give the alias: the override wins
        *parents, last = override.segments
        section: Any = document
        for seg in parents:
            section = section.get(seg) if isinstance(section, dict) else None
        if isinstance(section, dict):
            section.pop(last, None)
    tp: Any = root
    node: Any = document
    path: list[str | int] = []
    origin: Loc | None = None
    for depth, seg in enumerate(segments):
        tp = _unwrap(tp)
        where = ".".join(map(str, path)) or "the scenario"
        key: str | int
        if _is_model(tp):
            if seg not in tp.model_fields:
                raise UsageError(f"{text}: {_unknown_key(tp, segments, depth, root)}")
            key, tp = seg, tp.model_fields[seg].annotation
            if not isinstance(node, dict):
                raise UsageError(f"{text}: {where} is not a mapping in the scenario")
        elif get_origin(tp) is list:
            size = len(node) if isinstance(node, list) else 0
            if not seg.isdigit():
                raise UsageError(f"{text}: {where} is a list; {seg!r} is not an index")
            if int(seg) >= size:
                raise UsageError(
                    f"{text}: list index {seg} out of range ({where} has {size} items)"
                )
            key, tp = int(seg), get_args(tp)[0]
        elif get_origin(tp) is dict:
            # A new entry is given whole (faults.tor={kind: switch, ...}, a share: 2); a field
            # of a key that is not there (faults.nod.rate=1) is a typo until shown otherwise.
            adding = depth == len(segments) - 1
            if not isinstance(node, dict) or (seg not in node and not adding):
                known = ", ".join(sorted(node)) if isinstance(node, dict) and node else "none"
                raise UsageError(
                    f"{text}: {where} has no key {seg!r} (present: {known}); give a new"
                    f" entry whole ({where}.{seg}={{...}}) or set the whole mapping"
                    f" ({where}={{...}})"
                )
            key, tp = seg, get_args(tp)[1]
        else:
            raise UsageError(f"{text}: {where} is a value, not a mapping")
        path.append(key)
        if depth == len(segments) - 1:
            node[key] = _merged(node[key] if _has(node, key) else None, value, tp)
        elif isinstance(node, dict):
            inner = _unwrap(tp)
            if node.get(key) is None and (_is_model(inner) or get_origin(inner) is dict):
                node[key] = {}  # a section (or a mapping) left to its defaults
                origin = origin or tuple(path)
            node = node.get(key)
        else:
            node = node[key]
    return _Applied(label=text, path=tuple(path), origin=origin or tuple(path))


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


def _unknown_key(
    model: type[BaseModel], segments: Sequence[str], depth: int, root: type[BaseModel]
) -> str:
    """``unknown key 'a.b' (did you mean 'a.c'?)`` using the fields at that level first."""
    dotted = ".".join(segments)
    close = difflib.get_close_matches(segments[depth], list(model.model_fields), n=1)
    if close:
        guess = ".".join([*segments[:depth], close[0], *segments[depth + 1 :]])
    else:
        matches = difflib.get_close_matches(dotted, _model_paths(root), n=1)
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
        elif f"got {full}" not in message:  # a validator may have named it already
            message = f"{message} (got {shown})"
    return _one_line(message)


def _override_for(error: Any, overrides: Sequence[_Applied]) -> _Applied | None:
    """Find the last override that caused ``error``: in what it set or created, or a check above."""
    loc = tuple(error["loc"])
    for override in reversed(overrides):
        if loc[: len(override.origin)] == override.origin:
            return override
        if error["type"] == "value_error" and override.path[: len(loc)] == loc:
            return override
    return None


def validate_document(
    root: type[M],
    document: dict[str, Any],
    positions: PositionMap,
    filename: str,
    overrides: Sequence[_Applied] = (),
) -> M:
    """``document`` validated as ``root``; every problem on one line, blamed or located.

    Raises:
        UsageError: the first problem an override caused (the others are counted).
        ConfigError: the problems of the document itself, at their file positions.
    """
    try:
        return root.model_validate(document)
    except ValidationError as err:
        errors = err.errors(include_url=False)
    usage: str | None = None  # the first problem an override caused; the others are counted
    usage_count = 0
    items: list[tuple[int, int, str, str]] = []
    left_out: list[Any] = []  # beyond MAX_MESSAGES: counted, not located (it costs)
    for error in errors:
        loc = tuple(error["loc"])
        dotted = ".".join(map(str, loc))
        override = _override_for(error, overrides)
        if override is not None:
            usage_count += 1
            where = f"{dotted}: " if loc and loc != override.path else ""
            usage = usage or f"{override.label}: {where}{_message(error)}"
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
    A whole-scenario check (no location) whose message begins with a dotted path points at it.
    """
    loc = tuple(error["loc"])
    named = None if loc else re.match(r"([a-z_]+(?:\.[a-z_0-9]+)*): ", _message(error))
    if named:
        loc = tuple(int(p) if p.isdigit() else p for p in named[1].split("."))
    if error["type"] == "missing":
        return positions.locate(loc[:-1])
    return positions.locate(loc, at_key=error["type"] == "extra_forbidden")

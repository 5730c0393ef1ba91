"""Scenario parsing: YAML, JSON and TOML text into plain data, with positions for errors.

This module owns reading a scenario document: parsing it (YAML 1.2 through ruamel, which keeps
line and column of every node; JSON checked strictly, then read the same way; TOML through
``tomllib``), copying it into plain ``dict``/``list``/scalars, the map from a validation
error's location back to its ``line:col`` (:class:`PositionMap`), and the sorted
``file:line:col: dotted.path: message`` lines of a :class:`ConfigError`. Applying overrides,
validating and presets are :mod:`clustersim.config.compose`.

Input is hostile until validated, so reading is bounded: files over :data:`MAX_FILE_BYTES`,
nesting deeper than :data:`MAX_NESTING` and documents of more than :data:`MAX_VALUES` values
(YAML aliases expanded) are refused with a located one-line error before they can exhaust the
stack, memory or time, and at most :data:`MAX_MESSAGES` problems are listed (docs/config.md,
"Input limits").

Size: one module (over 500 lines) because the bounded reader is one mechanism: the ruamel
scanner, composer and constructor subclasses that enforce the limits, the position map they
fill and the error lines that read it share private helpers and ruamel internals that should
not leak into a second module. What is not reading (overrides, validation, presets) is
already :mod:`clustersim.config.compose`.
"""

from __future__ import annotations

import json
import math
import re
import sys
import tomllib
import warnings
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.composer import Composer
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError, YAMLFutureWarning, YAMLWarning
from ruamel.yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.scalarbool import ScalarBoolean
from ruamel.yaml.scanner import RoundTripScanner

from clustersim.config.errors import ConfigError

__all__ = [
    "FORMAT_BY_EXTENSION",
    "MAX_FILE_BYTES",
    "MAX_MESSAGES",
    "MAX_NESTING",
    "MAX_VALUES",
    "Loc",
    "PositionMap",
    "load_document",
]

FORMAT_BY_EXTENSION: dict[str, str] = {
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".toml": "toml",
}
MAX_FILE_BYTES = 1 << 20
"""Largest scenario file read (1 MiB); YAML parses at roughly 100 kB/s, so this bounds a load."""
MAX_NESTING = 32
"""Deepest nesting of mappings and lists accepted (a scenario needs 6 levels). Kept low also
because ruamel's scanner spends time per token in proportion to the flow depth."""
MAX_VALUES = 200_000
"""Most values (scalars, keys, lists, mappings) in a YAML or JSON document, counting what each
alias (``*name``) stands for; about what a 1 MiB list of jobs holds. Parsing costs about as
much per value as per 5 bytes, so this bounds token-dense input like the file size does."""
MAX_MESSAGES = 100
"""Most problems listed for one file; one more line counts the rest."""
_MAX_INPUT_CHARS = 60
_CORE = "tag:yaml.org,2002:"
_STR_TAG = _CORE + "str"
_SCALAR_TAGS = frozenset(_CORE + name for name in ("str", "int", "float", "bool", "null"))
_NODE_TAGS: dict[type, frozenset[str]] = {
    # Tags constructed normally; any other tag (or one on the wrong kind of node, like
    # ``!!str [1]``) is kept as a tagged container or TaggedScalar for _plain to report.
    ScalarNode: _SCALAR_TAGS | {_CORE + "timestamp", _CORE + "binary"},
    SequenceNode: frozenset({_CORE + "seq"}),
    MappingNode: frozenset({_CORE + "map"}),
}
_UNKNOWN_TAG = "tag:clustersim,2026:unsupported"  # routes a node to construct_unknown
_NULL_TAG = _CORE + "null"
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_MERGE_TAG = _CORE + "merge"
_IMPLICIT_STR = frozenset({_MERGE_TAG, _CORE + "value"})  # plain ``<<`` and ``=`` values
_SCALAR_KINDS = {
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "null": "null",
    "timestamp": "a timestamp",
    "binary": "base64 binary data",
}
_SURROGATE = re.compile("[\ud800-\udfff]")  # a \ud800 escape: not valid Unicode, unprintable
Loc = tuple[str | int, ...]


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
                last_key = at_key and depth == len(loc) - 1
                where = _lc(node.lc.key if last_key else node.lc.value, seg)
            elif isinstance(node, CommentedSeq) and isinstance(seg, int) and seg < len(node):
                where = _lc(node.lc.item, seg)
            else:
                break
            if where is None:  # merged (<<) keys and items of a tagged list carry no position
                break
            (line, col), node = where, node[seg]
        return line + 1, col + 1


def _lc(lookup: Any, seg: str | int) -> tuple[int, int] | None:
    """Ruamel's recorded 0-based ``(line, col)`` for ``seg``, or None where it kept none."""
    try:
        line, col = lookup(seg)[:2]
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return (line, col) if isinstance(line, int) and isinstance(col, int) else None


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
    if isinstance(value, TaggedScalar | _Unreadable):
        return "a scalar"
    name = "string" if isinstance(value, str) else type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _repr(value: Any) -> str:
    """``repr(value)``; an int too long to print in decimal is described instead."""
    try:
        return repr(value)
    except ValueError:  # an int of over sys.get_int_max_str_digits() digits
        if not isinstance(value, int):
            raise
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1:,} digits"


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_INPUT_CHARS else text[: _MAX_INPUT_CHARS - 3] + "..."


def _short_tag(tag: str) -> str:
    """``!!int`` for ``tag:yaml.org,2002:int``; other tags as written."""
    return "!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag


@dataclass(frozen=True, slots=True)
class _Unreadable:
    """A YAML scalar its tag cannot make a value of (``!!int abc``, a 4,301-digit integer).

    :func:`_plain` reports ``message`` at the scalar's path.
    """

    message: str


def _unreadable(tag: str, value: Any) -> _Unreadable:
    name = tag.removeprefix(_CORE)
    limit = sys.get_int_max_str_digits()
    digits = sum(char.isdigit() for char in str(value))
    if name == "int" and limit and digits > limit:
        return _Unreadable(f"integer of {digits:,} digits is too long (at most {limit:,})")
    kind = _SCALAR_KINDS.get(name, name)
    return _Unreadable(f"cannot read {_shorten(_repr(value))} as {kind} ({_short_tag(tag)})")


def _plain(node: Any, loc: Loc, bad: list[tuple[Loc, str]]) -> Any:
    """Copy ruamel/tomllib data into dict/list/str/int/float/bool/None; collect what isn't."""
    if isinstance(node, _Unreadable):
        bad.append((loc, node.message))
        return None
    tag = getattr(getattr(node, "tag", None), "value", None)
    if isinstance(node, TaggedScalar) and tag == _STR_TAG:
        return str(node.value)
    own = _CORE + ("map" if isinstance(node, dict) else "seq" if isinstance(node, list) else "")
    if tag is not None and tag != own:  # e.g. !!python/object on a mapping, !!str on a list
        tag = str(tag)
        core = tag.removeprefix(_CORE) in ("str", "int", "float", "bool", "null", "map", "seq")
        where = f" on {_kind(node)}" if core else ""
        bad.append((loc, f"unsupported YAML tag {_short_tag(tag)}{where}; use plain data"))
        return None
    if isinstance(node, dict | list) and len(loc) >= MAX_NESTING:
        bad.append((loc, f"nested more than {MAX_NESTING} levels deep"))
        return None
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if isinstance(key, TaggedScalar) and key.tag.value == _STR_TAG:
                key = str(key.value)
            if not isinstance(key, str) or _SURROGATE.search(key):
                bad.append((loc, _bad_key(key)))
                continue
            out[key] = _plain(value, (*loc, key), bad)
        return out
    if isinstance(node, list):
        return [_plain(item, (*loc, i), bad) for i, item in enumerate(node)]
    if node is None or isinstance(node, bool | ScalarBoolean):
        return None if node is None else bool(node)
    if isinstance(node, str) and (surrogate := _SURROGATE.search(node)):
        bad.append((loc, f"{_surrogate(surrogate[0])} in a string is not valid Unicode"))
        return None
    for plain_type in (int, float, str):
        if isinstance(node, plain_type):
            return plain_type(node)
    bad.append((loc, f"unsupported value of type {type(node).__name__}; quote it as a string"))
    return None


def _surrogate(char: str) -> str:
    return f"the lone surrogate \\u{ord(char):04x}"


def _bad_key(key: Any) -> str:
    if isinstance(key, _Unreadable):
        return key.message
    if isinstance(key, str) and (surrogate := _SURROGATE.search(key)):
        return f"mapping key {_shorten(repr(key))}: {_surrogate(surrogate[0])} is not valid Unicode"
    if isinstance(key, TaggedScalar):
        tag = _short_tag(str(key.tag.value))
        return f"mapping key {_shorten(_repr(key.value))} has unsupported YAML tag {tag}"
    return f"mapping key {_shorten(_repr(key))} is not a string"


def _error_lines(
    filename: str,
    items: list[tuple[int, int, str, str]],
    rest: tuple[int, int, int] | None = None,
) -> list[str]:
    """``file:line:col: path: message`` lines sorted by position (path omitted when empty).

    A dotted path over 120 characters (deep nesting, a huge key) keeps its two ends only.
    ``rest`` is ``(line, col, count)`` of the problems left out (:data:`MAX_MESSAGES`): one
    more line, at the first of them, counts them.
    """
    lines = [
        f"{filename}:{line}:{col}: {_shorten_path(path) + ': ' if path else ''}{message}"
        for line, col, path, message in sorted(items, key=lambda item: item[:2])
    ]
    if rest is not None:
        line, col, count = rest
        problems = "problem" if count == 1 else "problems"
        lines.append(f"{filename}:{line}:{col}: and {count:,} more {problems}, not listed")
    return lines


def _shorten_path(path: str) -> str:
    return path if len(path) <= 120 else f"{path[:58]}...{path[-59:]}"


# --------------------------------------------------------------------------- bounded YAML


class _Refused(MarkedYAMLError):
    """Well-formed YAML that is refused: too deep, too many alias values, not YAML 1.2."""


class _Scanner(RoundTripScanner):
    """Scanner that accepts ``%YAML 1.2`` only.

    ``%YAML 1.1`` would switch ruamel to YAML 1.1 rules (``yes`` is true, ``010`` is octal,
    ``1e3`` a string), so it is refused rather than obeyed.
    """

    def scan_yaml_directive_value(self, start_mark: Any) -> Any:
        """The directive's ``(major, minor)``, if it is 1.2."""
        try:
            version = super().scan_yaml_directive_value(start_mark)
        except ValueError:  # a version number of 4,301+ digits
            version = None
        if version != (1, 2):
            shown = "%YAML {}.{}".format(*version) if version else "this %YAML directive"
            problem = f"{shown} is not supported: scenarios are YAML 1.2 (remove the directive)"
            raise _Refused(None, None, problem, start_mark)
        return version

    def fetch_flow_collection_start(self, TokenClass: Any, to_push: str) -> None:
        """Scan a ``[`` or ``{``, refusing it here if it is too deep.

        The composer would refuse it too, but only after the scanner's look-ahead for simple
        keys, whose cost grows with the flow depth (1,000 ``[`` took a second).
        """
        if self.flow_level >= MAX_NESTING:
            problem = f"nested more than {MAX_NESTING} levels deep"
            raise _Refused(None, None, problem, self.reader.get_mark())
        super().fetch_flow_collection_start(TokenClass, to_push)


class _Composer(Composer):
    """Bounds nesting (:data:`MAX_NESTING`) and values (:data:`MAX_VALUES`, aliases expanded).

    Each composed node's size (its values, counting what its aliases stand for) is recorded,
    so an alias costs its target's size; an alias to a node still being composed (``&a [*a]``)
    is recursive and refused. A redefined anchor is valid YAML: no warning.
    """

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.warn_double_anchors = False
        self._sizes: dict[int, int] = {}  # id(node) -> values, aliases expanded
        self._values = 0
        self._nesting = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Compose one node, refusing it if it is nested or expands too far."""
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None:  # (an undefined alias is ruamel's to report)
                self._expand(event, self._sizes.get(id(target)))
            return super().compose_node(parent, index)
        self._values += 1  # counted in reading order, so the error points where it tips over
        if self._values > MAX_VALUES:
            problem = (
                f"the document holds more than {MAX_VALUES:,} values "
                "(for many jobs use a job's count or workload.generator)"
            )
            raise _Refused(None, None, problem, event.start_mark)
        collection = isinstance(event, SequenceStartEvent | MappingStartEvent)
        if collection:
            if self._nesting >= MAX_NESTING:
                problem = f"nested more than {MAX_NESTING} levels deep"
                raise _Refused(None, None, problem, event.start_mark)
            self._nesting += 1
        node = super().compose_node(parent, index)
        if collection:
            self._nesting -= 1
        if isinstance(node, MappingNode):
            _check_merges(node)
            children = [child for pair in node.value for child in pair]
        else:
            children = node.value if isinstance(node, SequenceNode) else []
        self._sizes[id(node)] = 1 + sum(self._sizes.get(id(child), 1) for child in children)
        return node

    def _expand(self, event: Any, size: int | None) -> None:
        if size is None:
            problem = f"alias *{event.anchor} is inside its own anchor (a recursive alias)"
            raise _Refused(None, None, problem, event.start_mark)
        self._values += size
        if self._values > MAX_VALUES:
            problem = (
                f"aliases expand the document to more than {MAX_VALUES:,} values; "
                "write the data out or use fewer aliases"
            )
            raise _Refused(None, None, problem, event.start_mark)


def _check_merges(node: MappingNode) -> None:
    """Refuse a tagged mapping merged with ``<<``: the merge would silently drop its tag."""
    for key, value in node.value:
        if key.tag != _MERGE_TAG:
            continue
        for source in (value, *(value.value if isinstance(value, SequenceNode) else ())):
            tags = _NODE_TAGS.get(type(source))
            if tags is not None and not isinstance(source, ScalarNode) and source.tag not in tags:
                problem = f"unsupported YAML tag {_short_tag(source.tag)} in a merge (<<)"
                raise _Refused(None, None, f"{problem}; use plain data", source.start_mark)


class _Constructor(RoundTripConstructor):
    """Round-trip constructor for plain data only.

    A node whose tag is not a core tag of its kind (``!!python/object:...``, ``!!set``, ``!!str
    [1]``) is built by ``construct_unknown``, keeping the tag for :func:`_plain` to report; a
    scalar its tag cannot make a value of becomes an :class:`_Unreadable`, not an exception
    from deep inside ruamel.
    """

    def construct_non_recursive_object(self, node: Any, tag: str | None = None) -> Any:
        """Construct ``node`` (one level), as above."""
        tag = node.tag if tag is None else tag
        if isinstance(node, ScalarNode) and node.ctag.handle is None and tag in _IMPLICIT_STR:
            return self.construct_scalar(node)  # a plain ``<<`` or ``=`` as a value
        if tag not in _NODE_TAGS.get(type(node), ()):
            return super().construct_non_recursive_object(node, _UNKNOWN_TAG)
        if not isinstance(node, ScalarNode):
            return super().construct_non_recursive_object(node, tag)
        if tag == _NULL_TAG and node.value not in _NULLS:  # ruamel makes None of ``!!null x``
            return _unreadable(tag, node.value)
        try:
            return super().construct_non_recursive_object(node, tag)
        except (YAMLError, ValueError, TypeError, LookupError, AttributeError, ArithmeticError):
            return _unreadable(tag, node.value)


def _load_yaml(text: str) -> Any:
    """``text`` as one YAML 1.2 document of ruamel round-trip containers (positions kept)."""
    yaml = YAML(typ="rt")
    yaml.version = (1, 2)
    yaml.Scanner, yaml.Composer, yaml.Constructor = _Scanner, _Composer, _Constructor
    with warnings.catch_warnings():  # never several lines of Python warning on stderr
        warnings.simplefilter("ignore", YAMLWarning)
        warnings.simplefilter("ignore", YAMLFutureWarning)
        return yaml.load(text)


def _parse_yaml(text: str, filename: str, fmt: str) -> Any:
    label = f"invalid {fmt.upper()}: "
    try:
        return _load_yaml(text)
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = _one_line(err.problem or err.context or "syntax error")
        label = "" if isinstance(err, _Refused) else label
    except ReaderError as err:
        (line, col), problem = _line_col(text, err.position), _one_line(err.reason)
    except YAMLError as err:
        (line, col), problem = (1, 1), _one_line(str(err)) or "syntax error"
    except RecursionError:  # a backstop: the composer bounds nesting well below the limit
        (line, col), problem = (1, 1), "nested too deeply to read"
    except (ValueError, TypeError, LookupError, AttributeError, ArithmeticError) as err:
        problem = f"cannot read it ({type(err).__name__}: {_one_line(str(err))})"
        line, col = 1, 1
    raise ConfigError([f"{filename}:{line}:{col}: {label}{_shorten_problem(problem)}"])


def _shorten_problem(problem: str) -> str:
    return problem if len(problem) <= 200 else problem[:197] + "..."


# --------------------------------------------------------------------------- JSON and TOML

_JSON_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)
_TOML_TOKENS = re.compile(
    r'"""(?:\\.|[^\\])*?"""|\'\'\'.*?\'\'\'|"(?:\\.|[^"\\\n])*"|\'[^\'\n]*\'|#[^\n]*|[\[\]{}]',
    re.DOTALL,
)


def _check_nesting(text: str, tokens: re.Pattern[str], filename: str) -> None:
    """Refuse JSON or TOML ``text`` nested deeper than :data:`MAX_NESTING`, before parsing.

    ``json`` and ``tomllib`` recurse once per level; ``tokens`` skips strings and comments.
    """
    depth = 0
    for match in tokens.finditer(text):
        bracket = match[0]
        if bracket in ("[", "{"):
            depth += 1
            if depth > MAX_NESTING:
                line, col = _line_col(text, match.start())
                problem = f"nested more than {MAX_NESTING} levels deep"
                raise ConfigError([f"{filename}:{line}:{col}: {problem}"])
        elif bracket in ("]", "}"):
            depth = max(depth - 1, 0)


def _check_json(text: str, filename: str) -> None:
    """Strict JSON syntax (the data itself is read by ruamel, for positions)."""
    _check_nesting(text, _JSON_TOKENS, filename)
    try:
        json.loads(text, parse_int=len)  # no int(): a 4,301-digit integer is not a syntax error
    except json.JSONDecodeError as err:
        at = f"{filename}:{err.lineno}:{err.colno}"
        raise ConfigError([f"{at}: invalid JSON: {err.msg}"]) from None
    except RecursionError:  # a backstop: _check_nesting keeps well below the limit
        raise ConfigError([f"{filename}:1:1: nested too deeply to read"]) from None


def _parse_toml(text: str, filename: str) -> dict[str, Any]:
    _check_nesting(text, _TOML_TOKENS, filename)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        message = str(err)
        match = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
        line, col = (int(match[1]), int(match[2])) if match else _line_col(text, len(text))
        problem = _one_line(message[: match.start()] if match else message)
        raise ConfigError([f"{filename}:{line}:{col}: invalid TOML: {problem}"]) from None
    except ValueError as err:  # int() refused an integer of 4,301+ digits
        limit = sys.get_int_max_str_digits()
        long = re.search(rf"[0-9](?:_?[0-9]){{{limit},}}", text) if limit else None
        if long is None:
            problem = f"invalid TOML: {_shorten_problem(_one_line(str(err)))}"
            raise ConfigError([f"{filename}:1:1: {problem}"]) from None
        line, col = _line_col(text, long.start())
        digits = sum(char.isdigit() for char in long[0])
        problem = f"integer of {digits:,} digits is too long (at most {limit:,})"
        raise ConfigError([f"{filename}:{line}:{col}: {problem}"]) from None
    except RecursionError:  # a backstop: _check_nesting keeps well below the limit
        raise ConfigError([f"{filename}:1:1: nested too deeply to read"]) from None


def _too_large(filename: str) -> ConfigError:
    return ConfigError(
        [
            f"{filename}:1:1: the file is larger than {MAX_FILE_BYTES:,} bytes, the limit for a "
            "scenario (for many jobs use a job's count or workload.generator)"
        ]
    )


def load_document(text: str, filename: str, fmt: str) -> tuple[dict[str, Any], PositionMap]:
    """Parse scenario ``text`` in ``fmt`` (``yaml``, ``json`` or ``toml``) into plain data.

    Returns the top-level mapping as plain ``dict``/``list``/scalars, and the map from
    validation-error locations back to file positions.

    Raises:
        ConfigError: a syntax error, duplicate key, empty file, a top-level value that is not
            a mapping, a value that is not plain data (a YAML tag, a date), or input beyond
            the limits (:data:`MAX_FILE_BYTES`, :data:`MAX_NESTING`, :data:`MAX_VALUES`).
    """
    if len(text) > MAX_FILE_BYTES:
        raise _too_large(filename)
    if not text.strip():
        raise ConfigError([f"{filename}:1:1: the file is empty"])
    raw: Any
    positions: PositionMap
    if fmt == "toml":
        raw, positions = _parse_toml(text, filename), _TomlPositions(text)
    else:
        if fmt == "json":
            _check_json(text, filename)
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
        shown, hidden = bad[:MAX_MESSAGES], bad[MAX_MESSAGES:]
        items = [(*positions.locate(loc), ".".join(map(str, loc)), msg) for loc, msg in shown]
        rest = (*positions.locate(hidden[0][0]), len(hidden)) if hidden else None
        raise ConfigError(_error_lines(filename, items, rest))
    return document, positions

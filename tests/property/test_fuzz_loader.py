"""Hostile-input fuzzing of the scenario loader and the command line (issue 7, DESIGN §7).

The property, for YAML, TOML and JSON alike: ``load_scenario(file)`` either returns a
:class:`Scenario` or raises :class:`ConfigError` (exit 65) / :class:`UsageError` (exit 2) whose
messages are each ONE line starting ``<file>:<line>:<col>: `` (a UsageError about the file
itself names the file); no other exception escapes, every call finishes within
``HARD_LIMIT_S`` and raises the process's peak memory by less than ``MAX_RSS_RISE_MB``. The
command line (``--set`` overrides, whole argv lists) never lets an exception escape, exits 0,
1, 2 or 65, and reports a usage error on one line.

Inputs: random bytes and random text; presets mutated as text (truncated, characters and
bytes flipped/inserted/deleted, lines duplicated, BOMs, non-UTF-8 bytes, CR/CRLF line ends)
and as data (values replaced by wrong types, NaN/inf, 1e400, negative and huge numbers up
to 4,301-digit integers, unknown and duplicate keys, nesting on both sides of the loader's
limit, any YAML tag on any node, anchors and aliases); alias bombs on both sides of the
alias-expansion limit; ``--set`` strings; argv lists restricted to ``show``/``presets`` and
tiny ``run``s (``single-job`` and friends with ``--set run.horizon=1h`` last, a few
replications, files written only in a temporary working directory).

Example counts: the Hypothesis profile's (``dev`` 20, ``ci`` 100, ``thorough`` 1000) unless
``CLUSTERSIM_FUZZ_EXAMPLES=N`` is set, e.g. the full run of the issue's "done" criterion::

    CLUSTERSIM_FUZZ_EXAMPLES=10000 uv run pytest tests/property/test_fuzz_loader.py \
        -p no:cacheprovider --hypothesis-show-statistics

Fixed bugs: each has a minimal regression test at the bottom (``test_bug_*``), written as a
strict xfail while the bug was open. The generators no longer keep away from their triggers,
and nothing is tolerated: a message holding a line break (BUG-6) or a Python warning that
would reach stderr (BUG-11) fails the property. A new bug found here gets the same
treatment: a minimal ``xfail(strict=True)`` test, and the generators steer clear of it until
it is fixed.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import os
import re
import resource
import signal
import subprocess
import sys
import tracemalloc
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from strategies import HOSTILE_NUMBERS, hostile_scalars, hostile_values

from clustersim.cli import main
from clustersim.config import (
    ConfigError,
    Scenario,
    UsageError,
    dump_json_scenario,
    list_presets,
    load_document,
    load_scenario,
    load_scenario_text,
    preset_text,
)
from clustersim.config.parse import MAX_FILE_BYTES, MAX_NESTING, MAX_VALUES

# --------------------------------------------------------------------------- settings

DEADLINE_MS = None
"""No per-example time bound: wall-clock deadlines flake on a shared, loaded machine (and under
coverage). A blow-up is caught by memory (``MAX_RSS_RISE_MB``) and a hang by ``HARD_LIMIT_S``."""
HARD_LIMIT_S = 20.0
"""A call still running after this long is interrupted (SIGALRM): a hang fails, never stalls."""
MAX_RSS_RISE_MB = 256
"""A single call may raise the process's peak resident memory by at most this much."""
MAX_ALIAS_PEAK_MB = 64
"""Peak traced allocation allowed while loading one (bounded) alias bomb."""
_EXAMPLES = os.environ.get("CLUSTERSIM_FUZZ_EXAMPLES")

FUZZ = settings(
    max_examples=int(_EXAMPLES) if _EXAMPLES else settings.default.max_examples,
    deadline=DEADLINE_MS,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
    ],
)
"""Profile settings (derandomised in ``ci``) plus the deadline and an example-count override."""

FORMATS = ("yaml", "json", "toml")
EXTENSIONS = {"yaml": (".yaml", ".yml"), "json": (".json",), "toml": (".toml",)}
PRESETS = tuple(name for name, _ in list_presets())
_LOCATION = re.compile(r"([1-9][0-9]*):([1-9][0-9]*): ")


class _Hang(BaseException):
    """Raised by SIGALRM inside a call that overran ``HARD_LIMIT_S`` (not an ``Exception``,
    so no ``except Exception`` in the product can swallow it)."""


@contextlib.contextmanager
def hard_limit(seconds: float) -> Iterator[None]:
    """Interrupt the body with :class:`_Hang` after ``seconds`` of wall time.

    A safety net for the fuzz tests (the Hypothesis deadline is the real bound): an alarm
    that lands in a ``__del__`` or GC callback is swallowed, so tests that expect a hang run
    the code in a subprocess instead (:func:`run_isolated`). Inside another ``hard_limit``
    the outer one stays in force (one process, one timer).
    """

    def _alarm(signum: int, frame: object) -> None:
        raise _Hang(f"still running after {seconds} s")

    if signal.getitimer(signal.ITIMER_REAL)[0]:
        yield
        return
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        while True:  # the alarm may land here too: retry until the timer is off
            try:
                signal.setitimer(signal.ITIMER_REAL, 0)
                break
            except _Hang:
                continue
        signal.signal(signal.SIGALRM, previous)


ISOLATED_TIMEOUT_S = 6.0
"""CPU time for a fresh interpreter (about 1 s of imports) to refuse a hostile input.

A CPU-time limit (``RLIMIT_CPU``), not a wall-clock one: on a loaded machine a fresh
interpreter can wait longer than this for a core without doing any more work."""
ISOLATED_WALL_S = 120.0
"""Wall-clock backstop for a child that sleeps or blocks instead of computing."""
ISOLATED_MEMORY = 2**31
"""Address-space limit (bytes) for that interpreter, so a blow-up fails fast."""


def run_isolated(argv: Sequence[str]) -> tuple[int | None, str]:
    """``clustersim.cli.main(argv)`` in a fresh, memory-limited interpreter.

    Returns the exit code and stderr, or ``(None, "")`` if it overran ``ISOLATED_TIMEOUT_S``.
    """
    code = (
        "import resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({ISOLATED_MEMORY}, {ISOLATED_MEMORY}))\n"
        f"resource.setrlimit(resource.RLIMIT_CPU, ({int(ISOLATED_TIMEOUT_S)}, "
        f"{int(ISOLATED_TIMEOUT_S) + 1}))\n"
        "from clustersim.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code, *argv],
            capture_output=True,
            text=True,
            timeout=ISOLATED_WALL_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, ""
    if proc.returncode in (-signal.SIGXCPU, -signal.SIGKILL):  # over its CPU-time limit
        return None, ""
    return proc.returncode, proc.stderr


@contextlib.contextmanager
def no_stray_warnings() -> Iterator[None]:
    """Fail if the body emits a Python warning: it would print several lines on stderr
    (ruamel's ReusedAnchorWarning and MantissaNoDotYAML1_1Warning did: BUG-11)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for warning in caught:
        kind = warning.category.__name__
        raise AssertionError(f"a warning would reach stderr: {kind}: {warning.message}")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _is_one_line(text: str) -> bool:
    """True if ``text`` holds no line boundary at all (``str.splitlines`` semantics)."""
    return text.splitlines() == [text]


# --------------------------------------------------------------------------- the property


def assert_located(message: str, filename: str, max_line: int) -> None:
    """``message`` is one line ``<filename>:<line>:<col>: ...`` with a plausible line."""
    prefix = f"{filename}:"
    assert isinstance(message, str) and message.startswith(prefix), message
    match = _LOCATION.match(message, len(prefix))
    assert match is not None, f"no line:col: after the file name: {message!r}"
    assert int(match[1]) <= max_line, f"line {match[1]} beyond the {max_line}-line file"
    assert _is_one_line(message), f"multi-line message (BUG-6): {message!r}"


def check_load(path: Path, data: bytes) -> str:
    """Load ``path`` (holding ``data``) and assert the property; return the outcome's name."""
    name = str(path)
    max_line = len(data.decode("utf-8", "replace").splitlines()) + 1
    rss_before = _peak_rss_mb()
    try:
        with hard_limit(HARD_LIMIT_S), no_stray_warnings():
            result = load_scenario(name)
    except ConfigError as err:
        assert err.exit_code == 65
        assert err.messages, "a ConfigError without messages"
        for message in err.messages:
            assert_located(message, name, max_line)
        outcome = "ConfigError"
    except UsageError as err:
        assert err.exit_code == 2
        message = str(err)
        assert _is_one_line(message), f"multi-line usage error: {message!r}"
        assert message.startswith(f"{name}: "), message
        outcome = "UsageError"
    else:
        assert isinstance(result, Scenario)
        outcome = "Scenario"
    rise = _peak_rss_mb() - rss_before
    assert rise < MAX_RSS_RISE_MB, f"peak memory rose by {rise:.0f} MB loading {len(data)} bytes"
    event(f"outcome: {outcome}")
    return outcome


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def write_case(directory: Path, fmt: str, data: bytes, ext_index: int = 0) -> Path:
    extensions = EXTENSIONS[fmt]
    path = directory / f"case{extensions[ext_index % len(extensions)]}"
    path.write_bytes(data)
    return path


def run_cli(argv: Sequence[str]) -> tuple[int, str, str]:
    """``main(argv)`` with stdout/stderr captured, under the hard time limit."""
    out, err = io.StringIO(), io.StringIO()
    with (
        hard_limit(HARD_LIMIT_S),
        no_stray_warnings(),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


# --------------------------------------------------------------------------- documents
# A document tree: ``Pairs`` (a mapping as a list of pairs, so keys may repeat), lists,
# scalars, and YAML-only ``Tagged``/``Anchored``/``Alias`` nodes (emitted as their value, or
# a null, in JSON and TOML).


class Pairs(list[tuple[str, Any]]):
    """A mapping that keeps order and allows duplicate keys."""


@dataclass(frozen=True)
class Tagged:
    tag: str
    value: Any


@dataclass(frozen=True)
class Anchored:
    name: str
    value: Any


@dataclass(frozen=True)
class Alias:
    name: str


@dataclass(frozen=True)
class Literal:
    """A scalar written as-is in every format (an integer too long for ``str(int)``)."""

    text: str


def to_tree(value: Any) -> Any:
    if isinstance(value, dict):
        return Pairs((str(k), to_tree(v)) for k, v in value.items())
    if isinstance(value, list):
        return [to_tree(v) for v in value]
    return value


_BARE_YAML_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BARE_TOML_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, Literal):
        return value.text
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def _yaml_key(key: str) -> str:
    return key if _BARE_YAML_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def yaml_flow(node: Any) -> str:
    """``node`` as one line of YAML flow style."""
    if isinstance(node, Pairs):
        return "{" + ", ".join(f"{_yaml_key(k)}: {yaml_flow(v)}" for k, v in node) + "}"
    if isinstance(node, list):
        return "[" + ", ".join(yaml_flow(v) for v in node) + "]"
    if isinstance(node, Tagged):
        return f"{node.tag} {yaml_flow(node.value)}"
    if isinstance(node, Anchored):
        return f"&{node.name} {yaml_flow(node.value)}"
    if isinstance(node, Alias):
        return f"*{node.name}"
    return _yaml_scalar(node)


def _json(node: Any) -> str:
    if isinstance(node, Literal):
        return node.text
    if isinstance(node, Pairs):
        items = (f"{json.dumps(k, ensure_ascii=False)}: {_json(v)}" for k, v in node)
        return "{" + ", ".join(items) + "}"
    if isinstance(node, list):
        return "[" + ", ".join(_json(v) for v in node) + "]"
    if isinstance(node, Tagged | Anchored):
        return _json(node.value)
    if isinstance(node, Alias):
        return "null"
    return json.dumps(node, ensure_ascii=False)  # NaN / Infinity: Python's JSON extension


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_key(key: str) -> str:
    return key if _BARE_TOML_KEY.fullmatch(key) else _toml_string(key)


def _toml(node: Any) -> str:
    if isinstance(node, Literal):
        return node.text
    if isinstance(node, Pairs):
        items = (f"{_toml_key(k)} = {_toml(v)}" for k, v in node if v is not None)
        return "{" + ", ".join(items) + "}"
    if isinstance(node, list):
        return "[" + ", ".join(_toml(v) for v in node) + "]"
    if isinstance(node, Tagged | Anchored):
        return _toml(node.value)
    if isinstance(node, Alias) or node is None:
        return "{}"  # TOML has no null
    if isinstance(node, bool):
        return "true" if node else "false"
    if isinstance(node, int):
        return str(node)
    if isinstance(node, float):
        if math.isnan(node):
            return "nan"
        if math.isinf(node):
            return "inf" if node > 0 else "-inf"
        return repr(node)
    return _toml_string(str(node))


def emit(tree: Any, fmt: str) -> str:
    """Serialise a document tree: block YAML at the top level, ``[tables]`` in TOML."""
    if fmt == "json":
        return _json(tree) + "\n"
    if not isinstance(tree, Pairs):
        return yaml_flow(tree) + "\n" if fmt == "yaml" else f"value = {_toml(tree)}\n"
    if fmt == "yaml":
        return "".join(f"{_yaml_key(k)}: {yaml_flow(v)}\n" for k, v in tree)

    def lines(pairs: Sequence[tuple[str, Any]]) -> str:  # TOML has no null: None is left out
        return "".join(f"{_toml_key(k)} = {_toml(v)}\n" for k, v in pairs if v is not None)

    head = lines([(k, v) for k, v in tree if not isinstance(v, Pairs)])
    tables = [f"[{_toml_key(k)}]\n" + lines(v) for k, v in tree if isinstance(v, Pairs)]
    return head + "\n".join(tables)


def _preset_document(name: str) -> dict[str, Any]:
    document, _ = load_document(preset_text(name), f"presets/{name}.yaml", "yaml")
    return document


BASE_DOCUMENTS: dict[str, dict[str, Any]] = {name: _preset_document(name) for name in PRESETS}
BASE_DOCUMENTS["resolved-single-job"] = dump_json_scenario(load_scenario("single-job"))
BASE_TREES = tuple(to_tree(doc) for doc in BASE_DOCUMENTS.values())


def base_text(name: str, fmt: str) -> str:
    """The preset's own YAML text (comments, folded strings), or its document as JSON/TOML."""
    if fmt == "yaml" and name in PRESETS:
        return preset_text(name)
    if fmt == "json":
        return json.dumps(BASE_DOCUMENTS[name], indent=2) + "\n"
    return emit(to_tree(BASE_DOCUMENTS[name]), fmt)


# --------------------------------------------------------------------------- mutations


def _all_keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node).union(*(_all_keys(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_all_keys(v) for v in node))
    return set()


KNOWN_KEYS = sorted(set().union(*(_all_keys(doc) for doc in BASE_DOCUMENTS.values())))

TAGS = (
    "!!str",
    "!!int",
    "!!float",
    "!!bool",
    "!!set",
    "!!omap",
    "!!python/object:os.system",
    "!!python/object/apply:os.system",
    "!!python/name:os.system",
    "!foo",
    "!<tag:example.com,2000:x>",
    "!!binary",
    "!!timestamp",
    "!!null",
    "!!map",
    "!!seq",
    "!!merge",
    "!!value",
    "!!pairs",
)
"""Tags put on any node: typed ones on values they do not fit (``!!int`` on a string, BUG-5)
and ``!!str``-like ones on sequences (BUG-10) included; all must end in a located error."""

INVALID_UTF8 = (
    b"\xff",
    b"\xfe",
    b"\xc3\x28",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xe2\x82",
    b"\x80",
)
BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
HUGE_NUMBERS = (
    *(10**30, -(10**30), 10**300, -(10**300), 1e400, -1e400, 1e300, 2**64, -(2**63)),
    *(10**400, -(10**400)),  # beyond float range (BUG-4)
    Literal("1" + "0" * 4300),  # over Python's 4,300-digit int() limit (BUG-3)
    Literal("-" + "9" * 5000),
)


NESTING_DEPTHS = st.one_of(st.integers(1, 2 * MAX_NESTING), st.integers(2 * MAX_NESTING, 200))
"""Nesting depths on both sides of the loader's limit; not much deeper, as this module's own
recursive emitters and mutators must stay clear of the recursion limit (1,000 levels is
BUG-1's own test, below)."""


def nested(depth: int, leaf: Any, mapping: bool) -> Any:
    for _ in range(depth):
        leaf = Pairs([("a", leaf)]) if mapping else [leaf]
    return leaf


def _slots(node: Any) -> list[tuple[Any, int]]:
    """Every (container, index) holding a value, depth first."""
    found: list[tuple[Any, int]] = []
    if isinstance(node, Pairs | list):
        for i, item in enumerate(node):
            found.append((node, i))
            found.extend(_slots(item[1] if isinstance(node, Pairs) else item))
    return found


def _get(container: Any, index: int) -> Any:
    return container[index][1] if isinstance(container, Pairs) else container[index]


def _set(container: Any, index: int, value: Any) -> None:
    if isinstance(container, Pairs):
        container[index] = (container[index][0], value)
    else:
        container[index] = value


def _replace(mapping: Pairs, key: str, value: Any) -> None:
    """Set ``key`` in ``mapping`` in place (appending it if absent)."""
    for i, (k, _) in enumerate(mapping):
        if k == key:
            mapping[i] = (key, value)
            return
    mapping.append((key, value))


def _mappings(node: Any) -> list[Pairs]:
    found: list[Pairs] = [node] if isinstance(node, Pairs) else []
    if isinstance(node, Pairs | list):
        for item in node:
            found.extend(_mappings(item[1] if isinstance(node, Pairs) else item))
    return found


def keys() -> st.SearchStrategy[str]:
    """Known field names, their typos, and random text."""
    known = st.sampled_from(KNOWN_KEYS)
    return st.one_of(
        known,
        st.builds(lambda k, s: k + s, known, st.text(min_size=1, max_size=3)),
        known.map(lambda k: k[:-1] or "x"),
        known.map(str.upper),
        st.text(max_size=12),
    )


@st.composite
def mutated_trees(draw: st.DrawFn) -> Any:
    """A preset document with 1-4 data-level mutations."""
    tree = copy.deepcopy(draw(st.sampled_from(BASE_TREES)))
    anchors = 0
    for _ in range(draw(st.integers(1, 4))):
        slots = _slots(tree)
        kind = draw(
            st.sampled_from(
                (
                    "replace",
                    "huge",
                    "retype",
                    "unknown-key",
                    "delete",
                    "duplicate-key",
                    "nest",
                    "tag",
                    "alias",
                )
            )
        )
        if kind == "unknown-key":
            mapping = draw(st.sampled_from(_mappings(tree)))
            mapping.insert(
                draw(st.integers(0, len(mapping))), (draw(keys()), draw(hostile_values()))
            )
            continue
        if not slots:
            continue
        container, index = slots[draw(st.integers(0, len(slots) - 1))]
        old = _get(container, index)
        if kind == "replace":
            _set(container, index, draw(hostile_values()))
        elif kind == "huge":
            _set(container, index, draw(st.sampled_from(HUGE_NUMBERS + HOSTILE_NUMBERS)))
        elif kind == "retype":
            wrap = draw(st.sampled_from(("list", "map", "str", "null", "bool")))
            new = {
                "list": [old],
                "map": Pairs([("x", old)]),
                "str": yaml_flow(old),
                "null": None,
                "bool": True,
            }[wrap]
            _set(container, index, new)
        elif kind == "delete":
            del container[index]
        elif kind == "duplicate-key" and isinstance(container, Pairs):
            container.insert(index + 1, (container[index][0], draw(hostile_scalars())))
        elif kind == "nest":
            depth = draw(NESTING_DEPTHS)
            _set(container, index, nested(depth, old, draw(st.booleans())))
        elif kind == "tag":
            _set(container, index, Tagged(draw(st.sampled_from(TAGS)), old))
        elif kind == "alias":
            name = f"x{draw(st.integers(0, anchors))}"  # sometimes a repeated anchor name
            anchors += 1
            _set(container, index, Anchored(name, old))
            target, where = slots[draw(st.integers(0, len(slots) - 1))]
            if (target, where) != (container, index):
                _set(target, where, Alias(name))
    return tree


@st.composite
def byte_mutations(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with 1-4 byte-level mutations."""
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(
            st.sampled_from(
                (
                    "truncate",
                    "delete",
                    "insert-text",
                    "insert-bytes",
                    "flip",
                    "duplicate-line",
                    "bom",
                    "line-ends",
                    "indent",
                )
            )
        )
        at = draw(st.integers(0, len(data)))
        if kind == "truncate":
            data = data[:at]
        elif kind == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 16)) :]
        elif kind == "insert-text":
            data = data[:at] + draw(st.text(min_size=1, max_size=4)).encode() + data[at:]
        elif kind == "insert-bytes":
            chunk = draw(
                st.one_of(st.sampled_from(INVALID_UTF8 + BOMS), st.binary(min_size=1, max_size=4))
            )
            data = data[:at] + chunk + data[at:]
        elif kind == "flip" and data:
            i = min(at, len(data) - 1)
            data = data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1 :]
        elif kind == "duplicate-line":
            lines = data.splitlines(keepends=True)
            if lines:
                i = draw(st.integers(0, len(lines) - 1))
                lines.insert(i, lines[i])
                data = b"".join(lines)
        elif kind == "bom":
            data = draw(st.sampled_from(BOMS)) + data
        elif kind == "line-ends":
            data = data.replace(b"\n", draw(st.sampled_from((b"\r\n", b"\r", b"\n\n"))))
        elif kind == "indent":
            lines = data.splitlines(keepends=True)
            if lines:
                i = draw(st.integers(0, len(lines) - 1))
                lines[i] = draw(st.sampled_from((b" ", b"  ", b"\t", b"    "))) + lines[i]
                data = b"".join(lines)
    return data


STRUCTURE = [*"{}[]:,-&*!|>'\"#=.\n\t ?%@`~\\", "- ", ": ", "\n  ", "[[", "]]", '"""']
structured_text = st.lists(
    st.one_of(
        st.sampled_from(STRUCTURE), st.sampled_from(KNOWN_KEYS), st.characters(codec="utf-8")
    ),
    max_size=120,
).map("".join)
"""Random text biased towards the three syntaxes' punctuation and the scenario's keys."""


# --------------------------------------------------------------------------- loader fuzzing


@pytest.mark.parametrize("name", sorted(BASE_DOCUMENTS))
@pytest.mark.parametrize("fmt", FORMATS)
def test_unmutated_bases_load_to_the_same_scenario(fuzz_dir: Path, fmt: str, name: str) -> None:
    """The emitters are right: every base document loads, in every format, to one Scenario."""
    path = write_case(fuzz_dir, fmt, base_text(name, fmt).encode())
    expected = Scenario.model_validate(BASE_DOCUMENTS[name])
    assert load_scenario(str(path)) == expected
    emitted = write_case(fuzz_dir, fmt, emit(to_tree(BASE_DOCUMENTS[name]), fmt).encode())
    assert load_scenario(str(emitted)) == expected


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(data=st.binary(max_size=2000), ext=st.integers(0, 1))
def test_fuzz_random_bytes(fuzz_dir: Path, fmt: str, data: bytes, ext: int) -> None:
    check_load(write_case(fuzz_dir, fmt, data, ext), data)


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(text=st.one_of(st.text(max_size=400), structured_text))
def test_fuzz_random_text(fuzz_dir: Path, fmt: str, text: str) -> None:
    data = text.encode("utf-8")
    check_load(write_case(fuzz_dir, fmt, data), data)


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(st.data())
def test_fuzz_mutated_preset_text(fuzz_dir: Path, fmt: str, data: st.DataObject) -> None:
    """Presets truncated, with bytes flipped/inserted/deleted, BOMs, bad UTF-8, CR line ends."""
    name = data.draw(st.sampled_from(sorted(BASE_DOCUMENTS)))
    raw = data.draw(byte_mutations(base_text(name, fmt).encode()))
    check_load(write_case(fuzz_dir, fmt, raw), raw)


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(tree=mutated_trees(), then=st.data())
def test_fuzz_mutated_preset_values(
    fuzz_dir: Path, fmt: str, tree: Any, then: st.DataObject
) -> None:
    """Wrong types, NaN/inf/1e400, huge and negative numbers, unknown and duplicate keys,
    nesting, tags and aliases in presets; sometimes a byte-level mutation on top."""
    raw = emit(tree, fmt).encode("utf-8", "surrogatepass")
    if then.draw(st.booleans()):
        raw = then.draw(byte_mutations(raw))
    check_load(write_case(fuzz_dir, fmt, raw), raw)


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(
    depth=NESTING_DEPTHS,
    mapping=st.booleans(),
    leaf=hostile_scalars(),
    where=st.sampled_from(("extra", "sources", "workload", "job", "run")),
)
def test_fuzz_nesting_on_both_sides_of_the_limit(
    fuzz_dir: Path, fmt: str, depth: int, mapping: bool, leaf: Any, where: str
) -> None:
    """Nesting up to 200 levels: loaded or refused, never a RecursionError (BUG-1)."""
    deep = nested(depth, leaf, mapping)
    document = to_tree(BASE_DOCUMENTS["single-job"])
    if where == "extra":
        document.append(("deep", deep))
    elif where == "sources":
        _replace(document, "sources", [deep])
    elif where == "workload":
        _replace(document, "workload", deep)
    elif where == "job":
        _replace(dict(dict(document)["workload"])["jobs"][0], "gpus", deep)
    else:
        _replace(dict(document)["run"], "seed", deep)
    raw = emit(document, fmt).encode()
    check_load(write_case(fuzz_dir, fmt, raw), raw)


def alias_bomb(levels: int, width: int, where: str) -> str:
    """A YAML "billion laughs": ``a<i>`` holds ``width`` aliases of ``a<i-1>``."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels + 1)]
    top = f"*a{levels}"
    body = {
        "extra": f"bomb: {top}\nworkload: {{jobs: [{{gpus: 1, work: 1h}}]}}\n",
        "sources": f"sources: {top}\nworkload: {{jobs: [{{gpus: 1, work: 1h}}]}}\n",
        "jobs": f"workload: {{jobs: {top}}}\n",
        "description": f"description: {top}\nworkload: {{jobs: [{{gpus: 1, work: 1h}}]}}\n",
    }[where]
    if where in ("extra", "sources", "description"):  # a0..aN are unknown keys themselves
        return "\n".join(lines) + "\n" + body
    return "x: [" + ", ".join(line.split(": ", 1)[1] for line in lines) + "]\n" + body


@FUZZ
@given(
    levels=st.integers(1, 6),
    width=st.integers(1, 10),
    where=st.sampled_from(("extra", "sources", "jobs", "description")),
    beyond=st.booleans(),
)
def test_fuzz_alias_bombs_are_refused_or_bounded(
    fuzz_dir: Path, levels: int, width: int, where: str, beyond: bool
) -> None:
    """Alias expansions up to 10**4 values load within the deadline and bounded memory; ones
    of 10**6 values or more (far beyond ``MAX_VALUES``; they hung: BUG-2) are refused
    with a located error, as fast."""
    if beyond:
        width = max(width, 2)
        while width ** (levels + 1) < 100 * MAX_VALUES:
            levels += 1
    while not beyond and levels > 1 and width ** (levels + 1) > 10_000:
        levels -= 1
    raw = alias_bomb(levels, width, where).encode()
    tracemalloc.start()
    try:
        outcome = check_load(write_case(fuzz_dir, "yaml", raw), raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MAX_ALIAS_PEAK_MB * 2**20, f"{peak / 2**20:.0f} MB for a {len(raw)}-byte file"
    assert outcome == "ConfigError" or not beyond


# --------------------------------------------------------------------------- --set fuzzing

_RESOLVED = BASE_DOCUMENTS["resolved-single-job"]


def _dotted_paths(node: Any, prefix: str = "") -> list[str]:
    paths = []
    if isinstance(node, dict):
        for key, value in node.items():
            paths.append(prefix + key)
            paths.extend(_dotted_paths(value, f"{prefix}{key}."))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            paths.append(f"{prefix}{i}")
            paths.extend(_dotted_paths(value, f"{prefix}{i}."))
    return paths


SET_PATHS = sorted(
    set(_dotted_paths(_RESOLVED)) | {"workload.generator", "workload.generator.jobs", "bogus"}
)
YAML_SNIPPETS = (
    "[", "]", "{", "}", "{a: [", "!foo x", "!!str 5", "!!int 5", "!!float 1.5", "!!bool true",
    "!!null ''", "!!python/object:os.system {}", "!!python/name:os.system ''", "&a 5", "*a",
    "&a [1, 2]", "[&x 1, *x]", "%YAML 1.1", "%YAML 1.1\n--- 1", "---", "--- 5", "...", "|\n  x",
    ">", "? x", "- x", "@x", "`x", "'open", '"open', "#comment", "5 #comment", "a: b",
    "a: b: c", "[1, [2, [3]]]", "{a: {b: {c: 1}}}", ".nan", ".inf", "-.inf", "1e400", "1e-400",
    "0x1F", "0o17", "0b1", "1_000", "+1", "-0", "~", "null", "NULL", "true", "True", "yes",
    "on", "2001-01-01", "2001-01-01T00:00:00Z", "12:30:00", "=", "==", "\t", " ", "", "\\",
    "%", "!", "!!", "!<>", "*", "&", "&a", "<<: {a: 1}", "{<<: {a: 1}}", "{? [a]: 1}",
    "{a: 1, a: 2}", "10h", "-10h", "1e400h", "5.67TB", "2TB/s", "0TB/s", "1/0 node-days",
    "6.5/1000 node-days", "6.5/1000 gpu-days", "daly", "fifo", "bogus",
    "[" * 1000 + "]" * 1000, "{a: " * 150 + "1" + "}" * 150, "- " * 150 + "x",  # BUG-1
    "&a [*a]", "&a {b: *a}", "&a [1, [*a]]",  # BUG-2
    "1" + "0" * 4300, "-" + "9" * 5000, "1" + "0" * 400, "0x" + "f" * 5000,  # BUG-3, BUG-4
    "!!int abc", "!!float ''", "!!bool x", "!!set x", "!!omap x", "!!null x",  # BUG-5
    "{a\\nb: 1}", '{"a\\nb": 1}', "\"a\\nb\"", "a\nb",  # BUG-6
    "!!python/object:os.system {a: 1}", "!!str [1]", "!!merge [1]", "!!value [1]",  # BUG-7, -10
    "&a x\n&a y", "{a: &x 1, b: &x 2}", "%YAML 1.2\n--- 1",  # BUG-11
    '"\\ud800"', '{"\\udfff": 1}', "<<: !foo {a: 1}",  # lone surrogates, tagged merges
)  # fmt: skip
"""Awkward YAML for the value side of ``--set``, the triggers of the fixed bugs included."""


def set_paths() -> st.SearchStrategy[str]:
    known = st.sampled_from(SET_PATHS)
    return st.one_of(
        known,
        known,
        st.builds(lambda p, s: p + s, known, st.text(max_size=3)),
        st.builds(lambda p, i: f"{p}.{i}", known, st.integers(-2, 3).map(str)),
        st.builds(lambda t: f"faults.{t}.rate", st.text(max_size=6)),
        st.text(max_size=16),
    )


set_values = st.one_of(
    st.sampled_from(YAML_SNIPPETS),
    hostile_values().map(yaml_flow),
    st.text(max_size=20),
)

awkward_overrides = st.one_of(
    st.builds(lambda p, v: f"{p}={v}", set_paths(), set_values),
    st.builds(lambda p, v: f"{p}=={v}", set_paths(), set_values),
    set_paths(),
    st.text(max_size=30),
)
"""``--set`` strings: ``path=value`` with known, mistyped and random paths and awkward values."""


def _leaves(node: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """``(dotted path, value)`` of every scalar (or list of scalars) in a document."""
    if isinstance(node, dict):
        return [leaf for k, v in node.items() for leaf in _leaves(v, f"{prefix}{k}.")]
    if isinstance(node, list) and any(isinstance(v, dict | list) for v in node):
        return [leaf for i, v in enumerate(node) for leaf in _leaves(v, f"{prefix}{i}.")]
    return [(prefix[:-1], node)]


def _similar(value: Any) -> st.SearchStrategy[Any]:
    """Values of the same kind as ``value`` (same type, similar magnitude)."""
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return st.integers(0, 2 * value + 2)
    if isinstance(value, float):
        return st.floats(0.0, 2 * value + 1.0)
    return st.just(value)


good_overrides = st.sampled_from(_leaves(_RESOLVED)).flatmap(
    lambda leaf: _similar(leaf[1]).map(lambda v: f"{leaf[0]}={yaml_flow(to_tree(v))}")
)
"""``--set`` strings that name a real field with a value of its own kind (mostly accepted)."""


@st.composite
def override_lists(draw: st.DrawFn) -> list[str]:
    """0-3 plausible overrides with, half the time, one awkward one among them."""
    overrides = draw(st.lists(good_overrides, max_size=3))
    if not overrides or draw(st.booleans()):
        overrides.insert(draw(st.integers(0, len(overrides))), draw(awkward_overrides))
    return overrides


override_texts = st.one_of(good_overrides, awkward_overrides)


def assert_one_usage_line(err: str, argv: Sequence[str]) -> None:
    """``err`` is one line ``clustersim...: error: ...`` (the line ending included)."""
    assert err.endswith("\n"), repr(err)
    body = err[:-1]
    assert "Traceback" not in err, err
    assert body.startswith("clustersim"), body
    assert _is_one_line(body), f"multi-line usage error (BUG-6) for {argv!r}: {err!r}"


@FUZZ
@given(overrides=override_lists())
def test_fuzz_set_overrides(overrides: list[str]) -> None:
    """``show single-job --set s ...``: exit 0 (the shown YAML re-loads to the same scenario)
    or exit 2 with one line on stderr; never a traceback."""
    argv = ["show", "single-job"]
    for text in overrides:
        argv += ["--set", text]
    code, out, err = run_cli(argv)
    event(f"exit {code}")
    assert code in (0, 2), f"exit {code} for {overrides!r}: {err!r}"
    if code == 2:
        assert_one_usage_line(err, argv)
        return
    # The only stderr of a success: one-line warnings for fields that have no effect.
    assert all(line.startswith("clustersim: warning: ") for line in err.splitlines()), err
    assert load_scenario_text(out, "shown.yaml") == load_scenario("single-job", overrides)


# --------------------------------------------------------------------------- argv fuzzing

LONG_OPTIONS_WITH_COST = ("--reps", "--out", "--events", "--check-invariants")


def _harmless(token: str) -> bool:
    """argparse expands unambiguous prefixes of long options: keep random tokens from
    becoming ``--reps``/``--out``/``--events`` (a long run, a file anywhere) by accident."""
    head = token.split("=", 1)[0]
    if not head.startswith("--") or len(head) <= 2:
        return True
    return not any(option.startswith(head) for option in LONG_OPTIONS_WITH_COST)


random_tokens = st.one_of(
    st.sampled_from(
        (
            *("--json", "--no-jobs", "--help", "-h", "--version", "--", "-", "--set", "--seed"),
            *("--bogus", "-x", "=", "", "--set=", "--seed=", "--json=1", "validate-not"),
        )
    ),
    st.text(max_size=12).filter(_harmless),
)
REPS = st.sampled_from(["1", "1", "2", "3", "5", "0", "-1", "x", ""])
integer_tokens = st.one_of(
    st.integers(0, 99).map(str),
    st.integers(-3, 2**70).map(str),  # over 2**62: refused (was BUG-8, fixed)
    st.sampled_from(["", "x", "1e3", "0x10", " 7", "7 ", "+3", "\u0663", "1_000", "-0"]),
)
RUN_OVERRIDES = st.one_of(
    st.sampled_from(
        (
            "run.seed=7",
            "run.stop_when_done=false",
            "checkpoint.policy=young",
            "checkpoint.mode=async",
            "checkpoint.stall=5m",
            "scheduler.policy=easy-backfill",
            "restart.init=5m",
            "faults.node.rate=1/1 node-days",
            "faults.node.blast_radius=rack",
            "workload.jobs.0.gpus=512",
            "cluster.spare_nodes=4",
        )
    ),
    st.builds("run.seed={}".format, integer_tokens),
    st.builds("run.stop_when_done={}".format, st.sampled_from(["true", "false", "x", ""])),
    st.builds(
        "checkpoint.policy={}".format,
        st.sampled_from(["fixed", "young", "daly", "exact", "none", "bogus", ""]),
    ),
    st.builds(
        "checkpoint.interval={}".format,
        st.sampled_from(["10m", "0s", "-1h", "1e-300", ".nan", "x", "1e400"]),
    ),
    st.builds("checkpoint.mode={}".format, st.sampled_from(["sync", "async", "x"])),
    st.builds(
        "scheduler.policy={}".format,
        st.sampled_from(["fifo", "easy-backfill", "priority-preempt", "bogus"]),
    ),
    st.builds("restart.init={}".format, st.sampled_from(["0s", "10m", "-1s", "1e300", "x"])),
    st.builds(
        "faults.node.rate={}".format,
        st.sampled_from(["0", "1/1 node-days", "1e300", "-1", "x", "5/1 gpu-days"]),
    ),
    st.builds(
        "workload.jobs.0.gpus={}".format,
        st.one_of(st.integers(-5, 2**63 - 1).map(str), st.sampled_from(["x", "1.5", ""])),
    ),
    st.sampled_from(["bogus=1", "run.horizon", "run.horizon=x", "=", "faults={}"]),
)
"""Overrides safe to *run*: nothing here can make a 1-hour simulation big or slow."""

SCENARIO_ARGS = (*PRESETS, "no-such-preset", "tiny.yaml", "bad.yaml", "bad.json", "bad.toml")
SCENARIO_ARGS += ("missing.yaml", "dir", "dir/", "notes.txt", "")
OUTPUT_ARGS = ("out.json", "events.jsonl") * 3 + ("dir", "missing/x.json", "", ".")


@st.composite
def argvs(draw: st.DrawFn) -> list[str]:
    """An argv for ``show``/``presets``/``run`` (runs are tiny: ``--set run.horizon=1h`` last),
    with a random token thrown in a quarter of the time."""
    command = draw(st.sampled_from(("run", "run", "run", "show", "show", "presets", "junk")))
    argv = [draw(random_tokens)] if command == "junk" else [command]
    scenario = st.one_of(st.sampled_from(PRESETS), st.sampled_from(SCENARIO_ARGS), random_tokens)
    if command in ("run", "show") and draw(st.sampled_from((True,) * 9 + (False,))):
        argv.append(draw(scenario))
    overrides = override_texts if command == "show" else RUN_OVERRIDES
    options: list[st.SearchStrategy[list[str]]] = [st.tuples(st.just("--set"), overrides).map(list)]
    if command in ("presets", "junk"):
        options = []
    elif command == "run":
        options += [
            st.tuples(st.just("--seed"), integer_tokens).map(list),
            st.tuples(st.just("--reps"), REPS).map(list),
            st.sampled_from([["--json"], ["--no-jobs"], ["--check-invariants"]]),
            st.tuples(st.sampled_from(["--out", "--events"]), st.sampled_from(OUTPUT_ARGS)).map(
                list
            ),
        ]
    for chosen in draw(st.lists(st.one_of(options), max_size=4)) if options else ():
        argv += chosen
    if command == "run":
        argv += ["--set", "run.horizon=1h"]
    if draw(st.sampled_from((False, False, False, True))):
        argv.insert(draw(st.integers(0, len(argv))), draw(random_tokens))
    return argv


@pytest.fixture(scope="module")
def cli_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory with a tiny scenario, bad files and a subdirectory."""
    directory = tmp_path_factory.mktemp("cli")
    (directory / "tiny.yaml").write_text(preset_text("single-job"), encoding="utf-8")
    (directory / "bad.yaml").write_text("run: [1\nworkload: {jobs: 5}\n", encoding="utf-8")
    (directory / "bad.json").write_text('{"run": {"seed": -1}, "x": NaN', encoding="utf-8")
    (directory / "bad.toml").write_text("[run]\nseed = 1e400\n[run]\n", encoding="utf-8")
    (directory / "notes.txt").write_text("not a scenario\n", encoding="utf-8")
    (directory / "dir").mkdir()
    return directory


@FUZZ
@given(argv=argvs())
def test_fuzz_cli_argv(cli_dir: Path, argv: list[str]) -> None:
    """Exit code in {0, 1, 2, 65}; no exception escapes; usage errors are one line, data
    errors are located lines; ``--json`` output is one JSON object; no temp file is left."""
    assert "validate" not in argv
    with contextlib.chdir(cli_dir):
        code, out, err = run_cli(argv)
        leftovers = sorted(p.name for p in Path().glob(".*.tmp"))
        for name in ("out.json", "events.jsonl"):
            Path(name).unlink(missing_ok=True)
    event(f"exit {code}")
    assert code in (0, 1, 2, 65), f"exit {code} for {argv!r}: {err!r}"
    assert "Traceback" not in err + out
    assert not leftovers, f"temporary files left behind: {leftovers}"
    if code == 2:
        assert_one_usage_line(err, argv)
    elif code == 65:
        for line in err.splitlines():
            assert line.startswith("clustersim: error: ") or _LOCATION.search(line), line
    elif code == 0 and argv[0] == "run" and out.startswith("{"):
        assert isinstance(json.loads(out), dict)


# --------------------------------------------------------------------------- fixed bugs
# Minimal reproductions of the bugs this suite found, once strict xfails, now regressions.
# A new bug gets the same shape: ``@pytest.mark.xfail(strict=True, reason="BUG-n: ...")``
# here, and the generators above keep away from its trigger until it is fixed.

DEEP = 1000
WORKLOAD_YAML = "workload: {jobs: [{gpus: 1, work: 1h}]}\n"


def _expect_config_error(path: Path) -> ConfigError:
    with hard_limit(3.0), no_stray_warnings(), pytest.raises(ConfigError) as info:
        load_scenario(str(path))
    for message in info.value.messages:
        assert message.startswith(f"{path}:") and _LOCATION.match(message, len(f"{path}:"))
        assert _is_one_line(message), message
    return info.value


def _expect_usage_error(argv: list[str]) -> str:
    """``argv`` exits 2 with one line on stderr (and nothing on stdout); return that line."""
    code, out, err = run_cli(argv)
    assert code == 2, (code, err)
    assert out == ""
    assert_one_usage_line(err, argv)
    return err


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.yaml", "a: " + "{a: " * DEEP + "1" + "}" * DEEP + "\n" + WORKLOAD_YAML),
        ("deep.yml", "a:\n" + "".join(" " * i + "- \n" for i in range(1, DEEP))),
        ("deep.json", '{"a": ' + "[" * DEEP + "]" * DEEP + "}"),
        ("deep.toml", "a = " + "[" * DEEP + "]" * DEEP + "\n"),
        ("dotted.toml", "a" + ".a" * DEEP + " = 1\n"),
    ],
)
def test_bug_deep_nesting_is_a_one_line_error(tmp_path: Path, name: str, text: str) -> None:
    """BUG-1: ~300+ levels raised RecursionError (exit 70); now refused past MAX_NESTING."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    error = _expect_config_error(path)
    assert error.messages[0].endswith(f"nested more than {MAX_NESTING} levels deep")


def test_bug_nesting_up_to_the_limit_loads(tmp_path: Path) -> None:
    """BUG-1's limit is not too tight: MAX_NESTING levels (the document's own included) load."""
    deep = "[" * (MAX_NESTING - 1) + "]" * (MAX_NESTING - 1)
    for name, text in [
        ("ok.yaml", f"sources: {deep}\n" + WORKLOAD_YAML),
        ("ok.json", '{"sources": ' + deep + ', "workload": {"jobs": [{"gpus": 1, "work": 1}]}}'),
    ]:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError) as info:  # sources is a list of fault sources
            load_scenario(str(path))
        assert "nested" not in str(info.value)


def test_bug_deep_nesting_in_set_is_a_usage_error() -> None:
    """BUG-1: a 1,000-deep --set value exited 70 (RecursionError)."""
    err = _expect_usage_error(["show", "single-job", "--set", "sources=" + "[" * DEEP + "]" * DEEP])
    assert "nested more than" in err


def test_bug_alias_bomb_is_rejected_or_bounded(tmp_path: Path) -> None:
    """BUG-2: aliases were expanded without bound: a 300-byte file hung, memory unbounded."""
    path = tmp_path / "laughs.yaml"
    path.write_text(alias_bomb(8, 10, "extra"), encoding="utf-8")  # 10**9 values, 300 bytes
    code, err = run_isolated(["show", str(path)])
    assert code is not None, f"still running after {ISOLATED_TIMEOUT_S} s"
    assert code == 65, (code, err)
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"{path}:") and _LOCATION.match(err, len(f"{path}:")), err
    assert f"aliases expand the document to more than {MAX_VALUES:,} values" in err


@pytest.mark.parametrize("value", ["&a [*a]", "&a {b: [*a]}"])
def test_bug_recursive_alias_is_refused(tmp_path: Path, value: str) -> None:
    """BUG-2: a recursive alias (``&a [*a]``) exited 70 (RecursionError in parse._plain)."""
    err = _expect_usage_error(["show", "single-job", "--set", f"sources={value}"])
    assert "recursive alias" in err
    path = tmp_path / "recursive.yaml"
    path.write_text(f"sources: {value}\n" + WORKLOAD_YAML, encoding="utf-8")
    assert "recursive alias" in _expect_config_error(path).messages[0]


BIG_INT = "1" + "0" * 4300  # 4,301 digits: over Python's int-from-string limit


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("big.yaml", f"run: {{seed: {BIG_INT}}}\n" + WORKLOAD_YAML),
        ("big.json", f'{{"run": {{"seed": {BIG_INT}}}}}'),
        ("big.toml", f"[run]\nseed = {BIG_INT}\n"),
    ],
)
def test_bug_integer_of_4301_digits_is_a_config_error(tmp_path: Path, name: str, text: str) -> None:
    """BUG-3: int() refused it with ValueError in ruamel, json.loads and tomllib (exit 70)."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    error = _expect_config_error(path)
    assert any("integer of 4,301 digits is too long" in m for m in error.messages), error


def test_bug_integer_of_4301_digits_in_set_is_a_usage_error() -> None:
    """BUG-3: a 4,301-digit --set value exited 70 (ValueError)."""
    _expect_usage_error(["show", "single-job", "--set", f"run.seed={BIG_INT}"])


HUGE_INT = "1" + "0" * 400  # an int beyond float range (> 1.8e308)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("work.yaml", f"workload: {{jobs: [{{gpus: 1, work: {HUGE_INT}}}]}}\n"),
        ("bw.json", '{"storage": {"write_bandwidth": ' + HUGE_INT + "}}"),
        ("rate.toml", f"[faults.x]\nrate = {HUGE_INT}\n"),
        ("hex.yaml", f"workload: {{jobs: [{{gpus: 1, work: 0x{'f' * 5000}}}]}}\n"),
    ],
)
def test_bug_integer_beyond_float_range_is_a_config_error(
    tmp_path: Path, name: str, text: str
) -> None:
    """BUG-4: units._number raised OverflowError for an int beyond float range (exit 70)."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    error = _expect_config_error(path)
    assert any("beyond float range" in m for m in error.messages), error


@pytest.mark.parametrize(
    "value", ["!!int abc", "!!float ''", "!!bool x", "!!set x", "!!omap x", "!!null x", "!!map x"]
)
def test_bug_mismatched_yaml_tag_is_a_config_error(tmp_path: Path, value: str) -> None:
    """BUG-5: ValueError/IndexError/KeyError/AttributeError from ruamel's constructors."""
    path = tmp_path / "tag.yaml"
    path.write_text(f"name: {value}\n" + WORKLOAD_YAML, encoding="utf-8")
    error = _expect_config_error(path)
    assert error.messages[0].startswith(f"{path}:1:7: name: "), error


def test_bug_mismatched_yaml_tag_in_set_is_a_usage_error() -> None:
    """BUG-5: --set 'run.seed=!!int abc' exited 70 (ValueError)."""
    err = _expect_usage_error(["show", "single-job", "--set", "run.seed=!!int abc"])
    assert "cannot read 'abc' as an integer" in err


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("key.json", '{"a\\nb": 1, "workload": {"jobs": [{"gpus": 1, "work": 1}]}}'),
        ("key.toml", '"a\\nb" = 1\n[[workload.jobs]]\ngpus = 1\nwork = 1\n'),
        ("key.yaml", '"a\\nb": 1\n' + WORKLOAD_YAML),
        ("ctl.yaml", '"a\\u2028b\\x1b[2J": 1\n' + WORKLOAD_YAML),
    ],
)
def test_bug_line_break_in_key_gives_one_line(tmp_path: Path, name: str, text: str) -> None:
    """BUG-6: a key holding a line break was echoed unescaped: a message on two lines."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    error = _expect_config_error(path)
    assert any("a\\nb: " in m or "a\\u2028b\\x1b[2J: " in m for m in error.messages), error


@pytest.mark.parametrize(
    "argv",
    [
        ["show", "single-job", "--set", "run.seed=1\nx"],
        ["show", "single-job", "--set", "run.se\ned=1"],
        ["show", "single-job", "--set", 'faults={"a\\nb": 1}'],
        ["presets", "a\nb"],
        ["run", "a\nb.yaml"],
    ],
)
def test_bug_line_break_on_the_command_line_gives_one_line(argv: list[str]) -> None:
    """BUG-6: command-line text holding a line break (a --set string, an unrecognised
    argument, a file name) was echoed unescaped, on two lines."""
    assert "\\n" in _expect_usage_error(argv)


def test_bug_python_object_tag_on_a_mapping_is_rejected(tmp_path: Path) -> None:
    """BUG-7: ``!!python/object:...`` on a mapping was accepted as plain data."""
    path = tmp_path / "python.yaml"
    path.write_text("run: !!python/object:os.system {}\n" + WORKLOAD_YAML, encoding="utf-8")
    error = _expect_config_error(path)
    assert error.messages == [
        f"{path}:1:6: run: unsupported YAML tag !!python/object:os.system; use plain data"
    ]


@pytest.mark.parametrize(
    "text",
    [
        "sources: !!str [1]\n" + WORKLOAD_YAML,
        "workload: {jobs: !!str [{gpus: x, work: 1h}]}\n",
        "sources: !!python/name:os.system [1]\n" + WORKLOAD_YAML,
        "sources: !!merge [1]\n" + WORKLOAD_YAML,
        "sources: !!value [1]\n" + WORKLOAD_YAML,
    ],
)
def test_bug_tagged_sequence_error_has_a_position(tmp_path: Path, text: str) -> None:
    """BUG-10: a ``!!str``-like tag on a sequence left its items without positions, and
    parse._YamlPositions.locate unpacked None (TypeError, exit 70)."""
    path = tmp_path / "seq.yaml"
    path.write_text(text, encoding="utf-8")
    assert "unsupported YAML tag" in _expect_config_error(path).messages[0]


def test_bug_yaml_warnings_stay_off_stderr(tmp_path: Path) -> None:
    """BUG-11: a repeated anchor printed ruamel's ReusedAnchorWarning (~9 lines) on stderr."""
    path = tmp_path / "warn.yaml"
    path.write_text("name: &a x\ndescription: &a y\n" + WORKLOAD_YAML, encoding="utf-8")
    code, err = run_isolated(["show", str(path)])
    assert (code, err) == (0, "")


def test_bug_yaml_1_1_directive_is_refused_on_one_line(tmp_path: Path) -> None:
    """BUG-11's other half: ``%YAML 1.1`` switched ruamel to YAML 1.1 rules (and printed
    MantissaNoDotYAML1_1Warning for ``1e3``); scenarios are YAML 1.2, so it is refused."""
    path = tmp_path / "yaml11.yaml"
    for version in ("1.1", "1.0", "1.3"):
        path.write_text(f"%YAML {version}\n---\nrun: {{horizon: 1e3}}\n" + WORKLOAD_YAML)
        assert _expect_config_error(path).messages == [
            f"{path}:1:1: %YAML {version} is not supported: scenarios are YAML 1.2 "
            "(remove the directive)"
        ]
    code, err = run_isolated(["show", str(path)])
    assert (code, err.count("\n"), err.endswith("(remove the directive)\n")) == (65, 1, True)
    path.write_text("%YAML 1.2\n---\nrun: {horizon: 1e3}\n" + WORKLOAD_YAML)
    assert load_scenario(str(path)).run.horizon == 1000.0


def test_input_size_cap_is_one_line_and_fast(tmp_path: Path) -> None:
    """A file over MAX_FILE_BYTES is refused unread (a 2.5 MB scenario took ~32 s to load)."""
    path = tmp_path / "huge.yaml"
    job = "    - {gpus: 8, work: 1h}\n"
    path.write_text("workload:\n  jobs:\n" + job * (MAX_FILE_BYTES // len(job) + 1))
    with hard_limit(1.0):
        error = _expect_config_error(path)
    assert error.messages == [
        f"{path}:1:1: the file is larger than {MAX_FILE_BYTES:,} bytes, the limit for a "
        "scenario (for many jobs use a job's count or workload.generator)"
    ]


# Regressions for BUG-8 and BUG-9, both fixed while this suite was written (integers
# capped at 2**62 in config.py; the budget counts every replication).
@pytest.mark.parametrize(
    "extra",
    [
        ["--seed", str(2**64)],
        ["--set", f"workload.jobs.0.priority={2**64}"],
        ["--set", f"workload.jobs.0.gpus={2**64}"],
    ],
)
def test_bug_integers_beyond_64_bits_are_refused(extra: list[str]) -> None:
    code, _, err = run_cli(["run", "single-job", *extra, "--set", "run.horizon=1h", "--json"])
    assert code in (2, 65), (code, err)


def test_bug_huge_replication_count_is_refused_up_front() -> None:
    argv = ["run", "single-job", "--reps", str(10**12), "--set", "run.horizon=1h", "--json"]
    code, err = run_isolated(argv)
    assert code is not None, f"--reps 10**12: still running after {ISOLATED_TIMEOUT_S} s"
    assert code in (2, 65), (code, err)

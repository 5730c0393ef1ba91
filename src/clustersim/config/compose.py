"""Scenario composition: a file or preset plus overrides into one validated Scenario.

This module owns the rest of the config edge after parsing (:mod:`clustersim.config.parse`):
finding a scenario (a file path or a built-in preset), applying overrides to the raw document
and validating it with :class:`clustersim.config.Scenario` (both through
:mod:`clustersim.config.overrides`, which turns every problem into one line of the form
``file:line:col: dotted.path: message``, bad data, :class:`ConfigError`, exit 65, or
``--set path=value: message``, bad command line, :class:`UsageError`, exit 2), the list of
built-in presets, and writing a resolved scenario back out as YAML that re-loads to an equal
Scenario.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import NoneType
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.scalarstring import LiteralScalarString

from clustersim.config.errors import ConfigError, UsageError
from clustersim.config.models import Scenario
from clustersim.config.overrides import (
    Override,
    apply_overrides,
    parse_override,
    validate_document,
)
from clustersim.config.parse import (
    FORMAT_BY_EXTENSION,
    MAX_FILE_BYTES,
    _line_col,
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


def load_scenario_text(
    text: str, filename: str, fmt: str = "yaml", overrides: Sequence[str | Override] = ()
) -> Scenario:
    """Validate scenario ``text`` (named ``filename`` in messages) with overrides applied.

    ``overrides`` are ``--set`` strings or
    :class:`~clustersim.config.overrides.Override` objects (the API's Python values).

    Raises:
        ConfigError: bad data in the text.
        UsageError: a bad override, or an override value the model rejects.
    """
    # A malformed --set is reported before the file.
    parsed = [parse_override(o) if isinstance(o, str) else o for o in overrides]
    document, positions = load_document(text, filename, fmt)
    applied = apply_overrides(document, parsed, Scenario)
    return validate_document(Scenario, document, positions, filename, applied)


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


def load_scenario(
    source: str | os.PathLike[str], overrides: Sequence[str | Override] = ()
) -> Scenario:
    """Load a scenario from a file path or preset name, applying overrides in order.

    ``overrides`` are ``--set`` strings (``"checkpoint.interval=10m"``, the value read as
    YAML) or :class:`~clustersim.config.overrides.Override` objects (the API's Python values).

    ``source`` is a path if it is a path object, an existing file, contains a path separator
    or ends in ``.yaml``/``.yml``/``.json``/``.toml``; otherwise it names a preset.

    Raises:
        ConfigError: bad data in the file (every problem, one line each; exit 65).
        UsageError: unknown preset, bad override, missing or unreadable file (exit 2).
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

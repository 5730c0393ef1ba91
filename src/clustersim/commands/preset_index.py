"""``clustersim presets`` without parsing YAML: an index of the built-in presets' descriptions.

Owns ``config/presets/index.json``: for each preset file, the SHA-256 of its bytes and the
first line of its description, exactly as :func:`clustersim.api.presets` gives it. Parsing
every preset with ruamel.yaml (and importing the config package, which loads pydantic) costs
several times more than the rest of the command; reading the index and hashing the files costs
about a millisecond. The index is used only while it matches the files byte for byte: a preset
added, removed or edited since it was written makes :func:`indexed_presets` return ``None``,
and the command falls back to parsing (correct, only slower). ``tests/unit/test_startup.py``
checks that the committed index is current; ``CLUSTERSIM_REGEN_PRESET_INDEX=1`` makes that test
rewrite it (:func:`write_index`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

__all__ = ["INDEX_FILE", "PRESET_DIR", "build_index", "indexed_presets", "write_index"]

PRESET_DIR = Path(__file__).resolve().parent.parent / "config" / "presets"
"""The presets' folder (package data of ``clustersim.config.presets``), found without importing
the config package."""

INDEX_FILE = PRESET_DIR / "index.json"


def _digests(folder: Path) -> dict[str, str]:
    """Each preset's name and the SHA-256 of its file."""
    return {
        path.name.removesuffix(".yaml"): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in folder.iterdir()
        if path.name.endswith(".yaml") and path.is_file()
    }


def indexed_presets(index_file: Path = INDEX_FILE) -> dict[str, str] | None:
    """Name → first line of description of every preset, sorted by name; ``None`` if stale.

    ``None`` (so the caller parses the presets instead) when the index is missing or
    unreadable, or names other files, or any file's bytes differ from those it was made from.
    """
    try:
        index = json.loads(index_file.read_text(encoding="utf-8"))
        digests = _digests(index_file.parent)
    except (OSError, ValueError):
        return None
    if not isinstance(index, dict) or set(index) != set(digests):
        return None
    presets: dict[str, str] = {}
    for name in sorted(digests):
        entry = index[name]
        if not isinstance(entry, dict) or entry.get("sha256") != digests[name]:
            return None
        description = entry.get("description")
        if not isinstance(description, str):
            return None
        presets[name] = description
    return presets


def build_index(folder: Path = PRESET_DIR) -> dict[str, dict[str, str]]:
    """The index of the presets as they are now, their descriptions parsed the slow way."""
    from clustersim import api

    descriptions = api.presets()
    return {
        name: {"sha256": digest, "description": descriptions[name]}
        for name, digest in sorted(_digests(folder).items())
    }


def write_index(index_file: Path = INDEX_FILE) -> None:
    """Rewrite the index from the preset files (the test does, when asked to)."""
    text = json.dumps(build_index(index_file.parent), indent=1, ensure_ascii=False)
    index_file.write_text(text + "\n", encoding="utf-8")

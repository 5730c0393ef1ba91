"""The numbers of docs/power.md, checked against the profiles and by running its commands.

Each test finds the table or sentence in the document itself, so editing a number without
re-running the command (or changing a profile without the page) fails here. Values are
compared at the precision they are quoted with.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from clustersim.cli import main
from clustersim.config.power import DEFAULT_PUE, GPU_STATES, PROFILES

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "power.md"
PROFILE_COLUMNS = GPU_STATES
"""The GPU columns of the profile table, in the order of the states."""


def _text() -> str:
    return DOC.read_text(encoding="utf-8")


def _number(quoted: str) -> float:
    return float(quoted.replace(",", "").replace(" W", "").replace("−", "-"))


def _same(quoted: str, value: float) -> bool:
    """``value`` rounds to ``quoted`` at the decimals it was quoted with."""
    plain = quoted.replace(",", "")
    decimals = len(plain.partition(".")[2])
    return f"{value:.{decimals}f}" == plain


def _run(command: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    argv = shlex.split(command.removeprefix("clustersim "))
    assert main([*argv, "--no-jobs"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def _at(result: dict[str, Any], path: str) -> float:
    head, _, rest = path.partition(".")
    value: Any = result[head]
    if head == "causes":
        name, _, key = rest.partition(".")
        return float(value[name][key])
    for key in rest.split("."):
        value = value[key]
    return float(value)


def test_profile_table_is_the_profiles() -> None:
    rows = re.findall(r"^\| `([a-z0-9-]+)` \| ([0-9].*) \|$", _text(), flags=re.M)
    tables = {name: cells.split(" | ") for name, cells in rows if name in PROFILES}
    assert set(tables) == set(PROFILES)
    for name, cells in tables.items():
        profile = PROFILES[name]
        expected = [profile.gpu_w[s] for s in PROFILE_COLUMNS]
        expected += [profile.host_w, profile.network_w, profile.tdp_w, profile.system_max_w]
        assert [_number(c) for c in cells] == expected, name
    assert f"The default PUE is {DEFAULT_PUE:g}." in _text()


def test_the_61_percent_sentence() -> None:
    flat = " ".join(_text().split())
    m = re.search(
        r"\(0\.61 × ([0-9]+) \+ 0\.39 × ([0-9]+) \+ \(([0-9,]+) \+ ([0-9]+)\) / 8\) × ([0-9.]+) W "
        r"= ([0-9]+) W per GPU, ([0-9.]+) MWh a year",
        flat,
    )
    assert m, "the 61 % sentence of docs/power.md moved: update this test"
    h100 = PROFILES["h100-sxm"]
    assert _number(m[1]) == h100.gpu_w["computing"] and _number(m[2]) == h100.gpu_w["idle"]
    assert _number(m[3]) == h100.host_w and _number(m[4]) == h100.network_w
    assert float(m[5]) == DEFAULT_PUE
    watts = (0.61 * 650 + 0.39 * 75 + (2550 + 800) / 8) * DEFAULT_PUE
    assert _same(m[6], watts) and _same(m[7], watts * 8760 / 1e6)


def _example_tables() -> list[tuple[str, list[tuple[str, str]]]]:
    """Each command of the worked example and the (JSON key, value) rows of its table."""
    section = _text().split("## Worked example", 1)[1].split("## Validation", 1)[0]
    out = []
    for block in re.split(r"\n(?=`clustersim run )", section)[1:]:
        command = re.match(r"`(clustersim run [^`]*)`", block)
        assert command
        rows = re.findall(r"^\| [^|]+ \| `([^`]+)` \| (-?[0-9.,]+) \|$", block, flags=re.M)
        out.append((command[1], rows))
    return out


def test_worked_example_tables(capsys: pytest.CaptureFixture[str]) -> None:
    tables = _example_tables()
    assert len(tables) == 2 and all(rows for _, rows in tables)
    results = {}
    for command, rows in tables:
        result = results[command] = _run(command, capsys)
        for key, quoted in rows:
            assert _same(quoted, _at(result, key)), (command, key, quoted, _at(result, key))
    (base, _), (floor, _) = tables
    flat_text = " ".join(_text().split())
    # The floor's cost, and the flat-constant comparison.
    extra = _at(results[floor], "power.energy_total_mwh") - _at(
        results[base], "power.energy_total_mwh"
    )
    m = re.search(r"The floor costs ([0-9]+) MWh \(([0-9.]+) %\)", flat_text)
    assert m and _same(m[1], extra)
    assert _same(m[2], 100 * extra / _at(results[base], "power.energy_total_mwh"))
    m = re.search(
        r"at ([0-9,]+) MWh \(`(clustersim run [^`]*)`, `summary\.energy_total_mwh`\)", flat_text
    )
    assert m
    assert _same(m[1], _at(_run(m[2], capsys), "summary.energy_total_mwh"))
    # The per-GPU swing sizes quoted in the reading of the table.
    w = results[base]["power"]["watts_per_gpu"]
    m = re.search(
        r"16,384 × \(([0-9,.]+) − ([0-9,.]+)\) W ≈ ([0-9.]+) MW more computing", flat_text
    )
    assert m and _same(m[1], w["computing"]) and _same(m[2], w["checkpoint"])
    assert _same(m[3], 16384 * (w["computing"] - w["checkpoint"]) / 1e6)
    m = re.search(r"16,384 × \(([0-9,.]+) − ([0-9,.]+)\) W ≈ ([0-9.]+) MW at once", flat_text)
    assert m and _same(m[2], w["maintenance"])
    assert _same(m[3], 16384 * (w["computing"] - w["maintenance"]) / 1e6)

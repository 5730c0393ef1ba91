"""The facility section of docs/power.md: its tables are the output of the commands it shows.

The mitigation table is ``clustersim run`` of the worked example with each row's ``--set``
flags; the cap-sweep table is the ``clustersim sweep`` printed above it, and the figure is
``clustersim plot`` of that sweep. Both runs are slow (a few minutes on a shared machine), so
the tests that run them are marked ``slow``. Regenerate the tables and the figure with::

    CLUSTERSIM_REGEN_DOCS=1 uv run pytest -n0 -m slow tests/regression/test_power_facility_doc.py

The fast tests check what needs no simulation: the refusal message quoted in the page and the
sentence about the power–speed curve.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from clustersim.cli import main
from clustersim.config import Scenario, load_scenario
from clustersim.config.power import DEFAULT_THROTTLE_EXPONENT

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "power.md"
REGEN = os.environ.get("CLUSTERSIM_REGEN_DOCS") == "1"
BASE = "clustersim run llama3-405b --seed 1 --set power.profile=h100-sxm --json"
WHAT_IFS = (
    (),
    ("facility.ramp_limit=1MW/s",),
    ("facility.stall_floor=0.95",),
    ("facility.stall_floor=0.95", "facility.ramp_limit=1MW/s"),
    (
        "facility.stall_floor=0.95",
        "facility.floor_during=stalls-and-recovery",
        "facility.ramp_limit=1MW/s",
    ),
)
MITIGATION_COLUMNS = (
    ("energy, MWh", "power.energy_total_mwh", 0),
    ("swings per day", "power.swings.per_day", 1),
    ("over 10 MW", "power.swings.over_10mw", 0),
    ("steepest rise, MW/s", "power.swings.max_rise_ramp_mw_per_s", 2),
    ("ramp filler, MWh", "power.facility.ramp_energy_mwh", 2),
    ("floor, MWh", "power.facility.floor_energy_mwh", 1),
    ("ETTR", "summary.ettr", 4),
)
SWEEP_COLUMNS = (
    ("hold", "summary.goodput", 4),
    ("hold", "summary.power_cap_lost_gpu_hours", 0),
    ("throttle", "summary.goodput", 4),
    ("throttle", "summary.ettr", 4),
    ("throttle", "summary.power_cap_lost_gpu_hours", 0),
)


def _text() -> str:
    return DOC.read_text(encoding="utf-8")


def _commands(marker: str) -> list[str]:
    """The shell commands of the fenced block that follows ``marker`` in the page."""
    block = _text().split(marker, 1)[1].split("```", 2)[1]
    return [shlex.join(shlex.split(c)) for c in block.replace("\\\n", " ").strip().splitlines()]


def _at(result: dict[str, Any], path: str) -> float | None:
    value: Any = result
    for key in path.split("."):
        if key not in value:
            return None
        value = value[key]
    return float(value)


def _cell(value: float | None, decimals: int) -> str:
    return "–" if value is None else f"{value:,.{decimals}f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _replace_table(text: str, after: str, table: str) -> str:
    """Replace the first markdown table after ``after`` with ``table``."""
    head, tail = text.split(after, 1)
    m = re.search(r"^\|.*?(?=\n\n)", tail, flags=re.S | re.M)
    assert m, f"no table after {after!r}"
    return head + after + tail[: m.start()] + table + tail[m.end() :]


def _run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main([*argv, "--no-jobs"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def mitigation_table(capsys: pytest.CaptureFixture[str]) -> str:
    """The mitigation table as the commands print it today."""
    header = ["what-if (`--set`)", *(f"{name} `{key}`" for name, key, _ in MITIGATION_COLUMNS)]
    rows = []
    for flags in WHAT_IFS:
        argv = shlex.split(BASE.removeprefix("clustersim "))
        for flag in flags:
            argv += ["--set", flag]
        result = _run_json(argv, capsys)
        label = ", ".join(f"`{f}`" for f in flags) or "none"
        rows.append([label, *(_cell(_at(result, k), d) for _, k, d in MITIGATION_COLUMNS)])
    return _table(header, rows)


def sweep_table(tmp_path: Path) -> str:
    """The cap-sweep table from the sweep command of the page (and the figure, on regen)."""
    sweep, plot = _commands("### Cap sweep")
    out = tmp_path / "power-cap.jsonl"
    argv = shlex.split(sweep.removeprefix("clustersim "))
    argv[argv.index("--out") + 1] = str(out)
    assert main(argv) == 0
    if REGEN:
        plot_argv = shlex.split(plot.removeprefix("clustersim "))
        plot_argv[plot_argv.index(plot_argv[1])] = str(out)
        plot_argv[plot_argv.index("--out") + 1] = str(ROOT / "docs" / "img" / "power-cap-sweep.png")
        assert main(plot_argv) == 0
    points: dict[tuple[str, str], dict[str, Any]] = {}
    caps: list[str] = []
    for line in out.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["type"] != "point":
            continue
        point = record["point"]
        cap = point["facility.power_cap"]
        if cap not in caps:
            caps.append(cap)
        points[(point["facility.cap_policy"], cap)] = record
    header = ["cap", *(f"{policy} `{key}`" for policy, key, _ in SWEEP_COLUMNS)]
    rows = [
        [cap, *(_cell(_at(points[(p, cap)], k), d) for p, k, d in SWEEP_COLUMNS)] for cap in caps
    ]
    return _table(header, rows)


@pytest.mark.slow
def test_mitigation_table_is_what_the_commands_print(capsys: pytest.CaptureFixture[str]) -> None:
    table = mitigation_table(capsys)
    marker = "On the worked example, each row adding its `--set` flags to"
    if REGEN:
        DOC.write_text(_replace_table(_text(), marker, table), encoding="utf-8")
    assert table in _text(), f"stale: regenerate with CLUSTERSIM_REGEN_DOCS=1\n{table}"


@pytest.mark.slow
def test_cap_sweep_table_is_what_the_sweep_prints(tmp_path: Path) -> None:
    table = sweep_table(tmp_path)
    marker = "![goodput against the facility power cap"
    if REGEN:
        DOC.write_text(_replace_table(_text(), marker, table), encoding="utf-8")
    assert table in _text(), f"stale: regenerate with CLUSTERSIM_REGEN_DOCS=1\n{table}"


def test_the_quoted_refusal_is_the_loader_message() -> None:
    flat = " ".join(_text().split())
    m = re.search(r"refused when the scenario is loaded: `([^`]+)`", flat)
    assert m, "the refusal quote of docs/power.md moved: update this test"
    data = load_scenario("llama3-405b").model_dump(mode="json")
    data["facility"] = {"power_cap": "10MW"}
    with pytest.raises(ValueError, match=re.escape(m[1])):
        Scenario.model_validate(data)


def test_the_curve_sentence() -> None:
    assert pytest.approx(1 / 3) == DEFAULT_THROTTLE_EXPONENT
    m = re.search(r"a ([0-9]+) % cut costs ([0-9.]+) %", " ".join(_text().split()))
    assert m
    cut = float(m[1]) / 100
    assert f"{100 * (1 - (1 - cut) ** DEFAULT_THROTTLE_EXPONENT):.1f}" == m[2]

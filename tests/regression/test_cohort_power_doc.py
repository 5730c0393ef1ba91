"""The power-per-generation example of docs/fleet.md: its table is what its scenario prints.

The page's ``mixed-generations`` YAML block is run here (one replication, a second or two)
and rendered into the table; the table, and the sentence comparing it with the same run
priced with one profile, must appear verbatim in the page. ``CLUSTERSIM_REGEN_DOC=1`` prints
the rendered text instead of failing, to paste into the page.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from clustersim.config import load_scenario_text
from clustersim.experiment import run_replication

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "fleet.md"


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _example() -> str:
    return _doc().split("```yaml\nname: mixed-generations\n", 1)[1].split("```", 1)[0]


def _run(text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    sc = load_scenario_text("name: mixed-generations\n" + text, "fleet.md")
    metrics, _ = run_replication(sc, 0, sc.run.seed)
    return metrics.power, metrics.summary


def render(power: dict[str, Any], one_profile_mwh: float) -> str:
    """The example's table (per cohort) and its comparison sentence."""
    head = ["cohort", "profile", "computing GPU-h", "waiting GPU-h", "idle GPU-h", "down GPU-h"]
    head += ["MWh", "share"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    total = power["energy_total_mwh"]
    for name, row in power["cohorts"].items():
        h = row["gpu_hours_by_state"]
        cells = [name, f"`{row['profile']}`", f"{h['computing']:,.0f}"]
        cells += [f"{h['checkpoint'] + h['recovery']:,.0f}", f"{h['idle']:,.0f}"]
        cells += [f"{h['down'] + h['maintenance'] + h['quarantined']:,.0f}"]
        cells += [f"{row['energy_total_mwh']:,.2f}", f"{row['energy_total_mwh'] / total:.1%}"]
        lines.append("| " + " | ".join(cells) + " |")
    sentence = (
        f"In all {total:,.2f} MWh (mean {power['mean_mw'] * 1000:,.0f} kW, peak"
        f" {power['peak_mw'] * 1000:,.0f} kW); priced with the `h100-sxm` profile for every node"
        f" (the same run without the A100 cohort's `power`) it would be {one_profile_mwh:,.2f}"
        " MWh."
    )
    return "\n".join(lines) + "\n\n" + sentence


def test_the_mixed_generations_table_is_what_the_example_prints() -> None:
    text = _example()
    power, summary = _run(text)
    one, _ = _run(text.replace(", power: a100-sxm}", "}"))
    assert "cohorts" not in one
    rendered = render(power, one["energy_total_mwh"])
    if os.environ.get("CLUSTERSIM_REGEN_DOC"):
        print("\n" + rendered)
        return
    flat = " ".join(_doc().split())
    table, sentence = rendered.split("\n\n")
    assert table in _doc()
    assert " ".join(sentence.split()) in flat
    # The job spans both cohorts: both compute, and the A100 half draws less.
    rows = power["cohorts"]
    assert rows["h100"]["gpu_hours_by_state"]["computing"] > 0
    assert rows["a100"]["gpu_hours_by_state"]["computing"] > 0
    assert rows["a100"]["energy_total_mwh"] < rows["h100"]["energy_total_mwh"]
    assert one["energy_total_mwh"] > power["energy_total_mwh"]
    assert summary["jobs_finished"] == 1

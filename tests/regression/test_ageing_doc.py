"""The numbers of docs/ageing.md: the preset's per-quarter table and its stated hazards.

The table is the golden run of ``fleet-wearout-3y`` (``run --seed 1``), so editing the preset
without the page (or the page without the preset) fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from clustersim.config import load_scenario
from clustersim.faults.hazard import Bathtub

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "ageing.md"
GOLDEN = ROOT / "tests" / "regression" / "golden" / "fleet-wearout-3y.json"
YEAR_S = 365 * 86400.0


def test_the_per_quarter_table_is_the_golden_run() -> None:
    periods = json.loads(GOLDEN.read_text(encoding="utf-8"))["periods"]
    rows = re.findall(
        r"^\| (\d+) \| (\d+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|",
        DOC.read_text(encoding="utf-8"),
        re.MULTILINE,
    )
    assert len(rows) == len(periods) == 12
    for row, p in zip(rows, periods, strict=True):
        c = p["by_cohort"]
        want = [p["failures_per_1000_node_days"], c["age-2y"], c["age-1y"], c["new"]]
        assert [float(x) for x in row[2:]] == [round(v, 2) for v in want]


@pytest.mark.parametrize(("age_y", "per_1000"), [(2, 0.34), (4, 2.74), (5, 5.35)])
def test_the_stated_wear_out_hazard(age_y: float, per_1000: float) -> None:
    gpu = load_scenario("fleet-wearout-3y").faults["gpu"]
    assert gpu.hazard is not None and gpu.hazard.wearout is not None
    term = Bathtub(0.0, [(gpu.hazard.wearout.shape, gpu.hazard.wearout.scale)])
    assert round(term.hazard(age_y * YEAR_S) * 86400 * 1000, 2) == per_1000
    assert f"{per_1000}" in DOC.read_text(encoding="utf-8")

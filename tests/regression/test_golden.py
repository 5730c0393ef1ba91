"""Golden outputs: every preset's ``run --json``, ``validate --quick --json`` and one sweep.

The files under ``golden/`` were recorded from the commit that fixed EASY backfill (issue 15)
and before the engine was split into components (issue 16). A refactor must leave them
byte-identical, version fields and the run's wall time (the top-level ``run`` object) aside.
An intended change of the model regenerates them deliberately and the diff is reviewed::

    CLUSTERSIM_REGEN_GOLDEN=1 uv run pytest tests/regression/test_golden.py
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from wallclock import wall_free

from clustersim.cli import main
from clustersim.config import list_presets

GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("CLUSTERSIM_REGEN_GOLDEN") == "1"
RECORDED_ON = (3, 11)
"""The Python the files were recorded with. Floats are byte-identical only on one minor
version: Python 3.12's ``sum()`` of floats is compensated (Neumaier), so its last digits
differ. CI's coverage run on 3.12 skips these; CI then runs this file on the project's 3.11."""
pytestmark = pytest.mark.skipif(
    sys.version_info[:2] != RECORDED_ON and not REGEN,
    reason=f"golden files are recorded on Python {RECORDED_ON[0]}.{RECORDED_ON[1]}",
)
VERSION_KEYS = frozenset({"clustersim_version", "versions"})

SWEEP = (
    "sweep single-job --grid checkpoint.interval=10m,30m --set checkpoint.policy=fixed "
    "--set workload.jobs.0.work=3d --reps 3 --seed 1 --workers 1 --json"
)
SLOW_PRESETS = frozenset({"colossus-growth", "fleet-growth-2024", "fleet-wearout-100k"})
"""Presets too slow for the default suite (10 s to 2 min of CPU each; docs/fleet.md): their
golden comparisons are ``slow`` tests."""
CASES: dict[str, str] = {
    **{name: f"run {name} --seed 1 --json --no-jobs" for name, _ in list_presets()},
    "validate-quick": "validate --quick --json",
    "sweep-single-job": SWEEP,
}


def _strip(value: Any) -> Any:
    """The output with its version fields removed, at any depth."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VERSION_KEYS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _canonical(text: str) -> str:
    return json.dumps(_strip(wall_free(json.loads(text))), indent=2, sort_keys=False) + "\n"


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, marks=pytest.mark.slow) if c in SLOW_PRESETS else c for c in sorted(CASES)],
)
def test_output_is_byte_identical_to_its_golden_file(
    case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(CASES[case].split())
    out, err = capsys.readouterr()
    assert code == 0, err
    got = _canonical(out)
    path = GOLDEN / f"{case}.json"
    if REGEN:
        path.write_text(got, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; regenerate with CLUSTERSIM_REGEN_GOLDEN=1"
    assert got == path.read_text(encoding="utf-8"), f"{case}: output differs from {path.name}"


def test_every_preset_has_a_golden_file() -> None:
    names = {p.stem for p in GOLDEN.glob("*.json")}
    assert names == set(CASES)

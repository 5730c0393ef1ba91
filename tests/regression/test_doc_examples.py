"""The numbers the docs quote next to a command, checked by running the command.

Each test finds the sentence or table row in the document itself (so editing the numbers
without re-running the command fails here), runs what it shows and compares at the precision
quoted. The fast ones cover README.md and docs/results.md; the docs/traces.md measurement table
needs a 100,000-job trace and about 40 s per row, so it is ``slow``.
"""

from __future__ import annotations

import json
import math
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from clustersim.analysis import analytic
from clustersim.cli import main
from clustersim.config import list_presets

ROOT = Path(__file__).resolve().parents[2]


def _text(name: str) -> str:
    return " ".join((ROOT / name).read_text(encoding="utf-8").split())  # one line: no wraps


def _same(quoted: str, value: float) -> bool:
    """``value`` rounds to ``quoted`` at the number of decimals it was quoted with."""
    decimals = len(quoted.partition(".")[2])
    return f"{value:.{decimals}f}" == quoted


def _run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_results_md_example_run(capsys: pytest.CaptureFixture[str]) -> None:
    """docs/results.md: ``run single-job --json ...`` gives the quoted ETTR, goodput, count."""
    m = re.search(
        r"Example: `clustersim (run single-job --json[^`]*)`.*?gives `summary\.ettr` "
        r"([0-9.]+), `goodput` ([0-9.]+), ([0-9,]+) interruptions",
        _text("docs/results.md"),
    )
    assert m, "the example sentence of docs/results.md moved: update this test"
    summary = _run_json(shlex.split(m[1]), capsys)["summary"]
    assert isinstance(summary, dict)
    assert _same(m[2], summary["ettr"]), (m[2], summary["ettr"])
    assert _same(m[3], summary["goodput"]), (m[3], summary["goodput"])
    assert summary["interruptions_total"] == int(m[4].replace(",", ""))


def test_readme_design_case_numbers() -> None:
    """README: M = 2 h, C = 60 s, R = 10 min, Daly: the exact ETTR and the first-order one."""
    m = re.search(
        r"M = 2 h, C = 60 s, R = 10 min, Daly interval: the exact ETTR ([0-9.]+) lies inside "
        r"the simulated 95 % CI, the first-order ([0-9.]+) does not",
        _text("README.md"),
    )
    assert m, "the validation sentence of README.md moved: update this test"
    M, C, R = 7200.0, 60.0, 600.0
    tau = analytic.daly_interval(C, M)
    assert _same(m[1], analytic.exact_ettr(tau, C, R, M))
    assert _same(m[2], analytic.first_order_ettr(tau, C, R, M))


def test_readme_presets_lists_every_preset(capsys: pytest.CaptureFixture[str]) -> None:
    """README's ``clustersim presets``: every built-in scenario, each starting a line."""
    assert "uv run clustersim presets" in _text("README.md")
    capsys.readouterr()
    assert main(["presets"]) == 0
    starts = {line.split()[0] for line in capsys.readouterr().out.splitlines() if line[:1].strip()}
    assert {name for name, _ in list_presets()} <= starts


TRACE_ROW = re.compile(
    r"\| ([0-9.]+) \| ([0-9]+) d \| ([0-9,]+) / ([0-9,]+) \| [0-9,]+ \| ([0-9,]+) \| "
    r"([0-9.]+) \| ([0-9.]+) \|"
)


@pytest.mark.slow
def test_traces_md_meta24k_trace_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """docs/traces.md: the 100,000-job trace on meta-24k-shared, row time_scale 1.0."""
    text = _text("docs/traces.md")
    m = re.search(r"`clustersim (run meta-24k-shared --set 'workload=[^`]*)`", text)
    assert m, "the trace command of docs/traces.md moved: update this test"
    rows = {r[0]: r for r in TRACE_ROW.findall(text)}
    scale, days, submitted, finished, interruptions, ettr, utilisation = rows["1.0"]
    trace = tmp_path / "trace-100k.swf"
    bench = [sys.executable, str(ROOT / "bench" / "trace_stream.py"), "generate", str(trace)]
    subprocess.run([*bench, "--jobs", "100000"], check=True, capture_output=True)
    command = (
        m[1].replace("/tmp/trace-100k.swf", str(trace)).replace("time_scale: S", "time_scale: 1.0")
    )
    command = command.replace("run.horizon=H", f"run.horizon={days}d")
    summary = _run_json(shlex.split(command), capsys)["summary"]
    assert isinstance(summary, dict)
    assert summary["jobs_submitted"] == int(submitted.replace(",", ""))
    assert summary["jobs_finished"] == int(finished.replace(",", ""))
    assert summary["interruptions_total"] == int(interruptions.replace(",", ""))
    assert _same(ettr, summary["ettr"]) and _same(utilisation, summary["utilisation"])
    assert math.isfinite(float(scale))

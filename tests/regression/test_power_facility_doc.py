"""The facility section of docs/power.md: its tables are the output of the commands it shows.

The mitigation table is ``clustersim run`` of the worked example with each row's ``--set``
flags, and its figure the power series of two of those runs around the first failure; the
cap-sweep table is the ``clustersim sweep`` printed above it, and its figure is
``clustersim plot`` of that sweep. Both runs are slow (a few minutes on a shared machine), so
the tests that run them are marked ``slow``. Regenerate the tables and the figure with::

    CLUSTERSIM_REGEN_DOCS=1 uv run pytest -n0 -m slow tests/regression/test_power_facility_doc.py

The fast tests check what needs no simulation: the refusal message quoted in the page and the
sentence about the power–speed curve.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from clustersim.cli import main
from clustersim.config import Scenario, load_scenario
from clustersim.config.power import DEFAULT_THROTTLE_EXPONENT, PROFILES, idle_floor_w
from clustersim.engine import Simulation
from clustersim.events import JobInterrupted

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
    # The sentence above the sweep: the uncapped peak is the largest cap's (it never binds).
    m = re.search(r"peak ([0-9.]+) MW and idle floor", " ".join(_text().split()))
    top = points[("throttle", caps[-1])]["summary"]
    assert m and top["power_cap_time_s"] == 0 and f"{top['power_peak_mw']:.1f}" == m[1]
    header = ["cap", *(f"{policy} `{key}`" for policy, key, _ in SWEEP_COLUMNS)]
    rows = [
        [cap, *(_cell(_at(points[(p, cap)], k), d) for p, k, d in SWEEP_COLUMNS)] for cap in caps
    ]
    return _table(header, rows)


def mitigation_figure(path: Path) -> None:
    """Facility MW around the first unplanned failure, as is and with a floor and a ramp."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = ["power.profile=h100-sxm", "run.seed=1"]
    runs = {
        "as is": load_scenario("llama3-405b", sets),
        "stall_floor 0.95, ramp_limit 1 MW/s": load_scenario(
            "llama3-405b", [*sets, "facility.stall_floor=0.95", "facility.ramp_limit=1MW/s"]
        ),
    }
    fig, ax = plt.subplots(figsize=(9, 4))
    t0 = None
    for label, scenario in runs.items():
        sim = Simulation(scenario)
        sim.run()
        if t0 is None:
            t0 = next(e.t for e in sim.log if isinstance(e, JobInterrupted) and not e.planned)
        steps = sim.power_steps
        assert steps is not None
        window = (steps.t_s > t0 - 900) & (steps.t_s < t0 + 1800)
        t = [(x - t0) / 60 for x in [t0 - 900, *steps.t_s[window], t0 + 1800]]
        level = steps.watts[max(0, int(window.argmax()) - 1)]
        w = [level / 1e6, *(steps.watts[window] / 1e6), steps.watts[window][-1] / 1e6]
        first = label == "as is"
        style = {"linewidth": 0.8, "zorder": 3} if first else {"linewidth": 2.5, "alpha": 0.7}
        ax.step(t, w, where="post", label=label, **style)
    ax.set_xlabel("minutes from the first unplanned failure")
    ax.set_ylabel("facility MW")
    ax.set_title("llama3-405b (seed 1): checkpoint stalls, a failure and its restart")
    ax.legend(loc="lower left", fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


@pytest.mark.slow
def test_mitigation_table_is_what_the_commands_print(capsys: pytest.CaptureFixture[str]) -> None:
    table = mitigation_table(capsys)
    marker = "On the worked example, each row adding its `--set` flags to"
    if REGEN:
        DOC.write_text(_replace_table(_text(), marker, table), encoding="utf-8")
        mitigation_figure(ROOT / "docs" / "img" / "power-mitigations.png")
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


def test_the_sweep_sentence_idle_floor() -> None:
    m = re.search(r"idle floor ([0-9.]+) MW uncapped", " ".join(_text().split()))
    assert m
    sc = load_scenario("meta-24k-shared", ["power.profile=h100-sxm"])
    assert sc.power is not None
    floor = idle_floor_w(sc.power, sc.cluster.n_nodes, sc.cluster.gpus_per_node)
    assert f"{floor / 1e6:.1f}" == m[1]


def test_the_curve_sentence() -> None:
    assert pytest.approx(1 / 3) == DEFAULT_THROTTLE_EXPONENT
    m = re.search(r"a ([0-9]+) % cut costs ([0-9.]+) %", " ".join(_text().split()))
    assert m
    cut = float(m[1]) / 100
    assert f"{100 * (1 - (1 - cut) ** DEFAULT_THROTTLE_EXPONENT):.1f}" == m[2]


def test_the_figure_sentence() -> None:
    """Stall dips of 16,384 GPUs, as is and under a 95 % floor; the restart's ramp length."""
    flat = " ".join(_text().split())
    m = re.search(
        r"dips of about ([0-9.]+) MW shrink to about ([0-9.]+) MW under the floor.*"
        r"a ramp of about ([a-z]+) seconds",
        flat,
    )
    assert m, "the figure's sentence of docs/power.md moved: update this test"
    sets = ["power.profile=h100-sxm"]
    power = load_scenario("llama3-405b", sets).power
    assert power is not None
    w = power.gpu.watts()
    share = power.node_w / 8
    dip = 16384 * (w["computing"] - w["checkpoint"]) * power.pue / 1e6
    floored = 16384 * (w["computing"] - 0.95 * w["computing"]) * power.pue / 1e6
    assert f"{dip:.0f}" == m[1] and f"{floored:.1f}" == m[2]
    rise = 16384 * (w["computing"] + share - (w["recovery"] + share)) * power.pue
    assert {"ten": 10}[m[3]] == math.ceil(rise / 1e6)  # n − 1 steps of 1 MW, a second apart


def test_the_lowest_gpu_powers_are_the_profiles() -> None:
    flat = " ".join(_text().split())
    for name, label in (("h100-sxm", "H100 SXM"), ("a100-sxm", "A100 SXM")):
        assert f"{PROFILES[name].min_limit_w:g} W for {label}" in flat

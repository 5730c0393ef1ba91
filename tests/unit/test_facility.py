"""The ``facility`` section: config and its errors, outputs, determinism, opt-in.

The closed-form cases are in ``tests/analytic/test_power_cap.py``; the identities under a
facility in ``tests/property/test_power_identity.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from wallclock import without_wall

from clustersim.cli import main
from clustersim.config import Scenario, dump_yaml, load_scenario_text
from clustersim.config.power import FacilityConfig, idle_floor_w

JOB = {
    "cluster": {"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": 1, "pods": 1},
    "workload": {"jobs": [{"gpus": 8, "work": "1h"}]},
}
RUN = ["run", "single-job", "--set", "workload.jobs.0.work=1d", "--no-jobs"]


def _scenario(**facility: Any) -> Scenario:
    return Scenario.model_validate({**JOB, "facility": facility})


@pytest.mark.parametrize(
    ("text", "w_per_s"), [("2MW/s", 2e6), ("500kW/s", 5e5), (" 1.5 MW/s ", 1.5e6), (750, 750.0)]
)
def test_ramp_limits_parse_and_round_trip(text: Any, w_per_s: float) -> None:
    cfg = FacilityConfig(ramp_limit=text)
    assert cfg.ramp_limit == w_per_s
    assert FacilityConfig.model_validate(cfg.model_dump(mode="json")) == cfg


@pytest.mark.parametrize("bad", ["0MW/s", "-1MW/s", "fast", "2MW/h"])
def test_bad_ramp_limits_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        FacilityConfig(ramp_limit=bad)


def test_a_facility_turns_power_on_and_resolves_the_lowest_gpu_power() -> None:
    sc = _scenario(power_cap="1MW")  # 2 nodes
    assert sc.power is not None and sc.power.profile == "h100-sxm"
    assert sc.facility is not None and sc.facility.min_gpu_power == 200.0
    again = load_scenario_text(dump_yaml(sc), "round-trip.yaml")
    assert again == sc
    a100 = Scenario.model_validate({**JOB, "power": {"profile": "a100-sxm"}, "facility": {}})
    assert a100.facility is not None and a100.facility.min_gpu_power == 100.0


def test_a_cap_at_the_idle_floor_is_kept_and_below_it_refused() -> None:
    sc = _scenario(power_cap="1MW")
    assert sc.power is not None
    floor = idle_floor_w(sc.power, sc.cluster.n_nodes, sc.cluster.gpus_per_node)
    assert _scenario(power_cap=floor).facility is not None
    with pytest.raises(ValueError, match=r"facility\.power_cap: .* below the idle floor"):
        _scenario(power_cap=floor * (1 - 1e-9))
    with pytest.raises(ValueError, match=r"facility\.min_gpu_power: 800 W is above"):
        _scenario(min_gpu_power="800W")


def test_cap_below_the_idle_floor_is_one_line_exit_65_and_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "workload: {jobs: [{gpus: 8, work: 1h}]}\nfacility: {power_cap: 1kW}\n", encoding="utf-8"
    )
    out = tmp_path / "out.json"
    assert main(["run", str(path), "--json", "--out", str(out)]) == 65
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{path}:2:23: facility.power_cap: 0.001 MW is below the idle floor" in err
    assert not out.exists()
    assert main([*RUN, "--set", "facility.power_cap=1kW"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--set facility.power_cap=1kW: facility.power_cap:" in err


def test_outputs_name_the_cap_the_ramps_and_the_floor(capsys: pytest.CaptureFixture[str]) -> None:
    flags = [
        "facility.cap_policy=throttle",
        "facility.ramp_limit=1MW/s",
        "facility.stall_floor=0.9",
    ]
    argv = [*RUN, *(x for f in flags for x in ("--set", f))]
    # The single job's cluster peaks at 1.27 MW with the job computing: 1.1 MW throttles it.
    assert main([*argv, "--set", "facility.power_cap=1.1MW", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    fac = out["power"]["facility"]
    assert fac["cap_policy"] == "throttle" and fac["time_at_cap_s"] > 0
    assert fac["cap_slowdown_gpu_hours"] > 0 and fac["ramps"] >= 1 and fac["floor_energy_mwh"] > 0
    for key in ("power_cap_time_s", "power_cap_lost_gpu_hours", "power_ramp_energy_mwh"):
        assert key in out["summary"]
    assert out["causes"]["power-cap"]["slowdown_gpu_h"] == pytest.approx(
        fac["cap_slowdown_gpu_hours"]
    )
    assert main([*argv, "--set", "facility.power_cap=1.1MW"]) == 0
    text = capsys.readouterr().out
    for row in ("power cap (throttle)", "ramp limit", "stall floor"):
        assert row in text


def test_same_seed_same_bytes_with_a_facility(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [*RUN, "--set", "facility.power_cap=1.1MW", "--set", "facility.cap_policy=throttle"]
    assert main([*argv, "--json", "--seed", "3"]) == 0
    first = without_wall(capsys.readouterr().out)
    assert main([*argv, "--json", "--seed", "3"]) == 0
    assert without_wall(capsys.readouterr().out) == first


def test_without_a_facility_nothing_changes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*RUN, "--set", "power.profile=h100-sxm", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "facility" not in out["power"] and "facility" not in out["scenario"]
    assert not any(k.startswith("power_cap") for k in out["summary"])
    assert "ramp" not in out["power"]["energy_mwh_by_state"]


def test_plans_fast_path_prices_waste_at_the_profile_when_there_is_one() -> None:
    from types import SimpleNamespace

    from clustersim.plan.core import fast_waste

    flat = Scenario.model_validate(JOB)
    powered = Scenario.model_validate({**JOB, "power": {"pue": 1.5}})
    assert powered.power is not None
    per_day = 0.1 * 16 * 24.0  # (1 − ETTR) × GPUs × hours
    ctx = SimpleNamespace(scenario=flat, gpus_held=16)
    assert fast_waste(ctx, 0.9)["mwh_wasted_per_month"] == pytest.approx(  # type: ignore[arg-type]
        per_day * 30 * flat.cost.mwh_per_gpu_year / 8760
    )
    w = (650.0 + (powered.power.node_w / 8)) * 1.5  # computing GPU + its node share, × PUE
    ctx = SimpleNamespace(scenario=powered, gpus_held=16)
    assert fast_waste(ctx, 0.9)["mwh_wasted_per_month"] == pytest.approx(  # type: ignore[arg-type]
        per_day * 30 * w / 1e6
    )


def test_facility_knobs_sweep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cap.jsonl"
    argv = [
        "sweep",
        "single-job",
        "--set",
        "workload.jobs.0.work=1d",
        "--reps",
        "1",
        "--workers",
        "1",
    ]
    grid = ["--grid", "facility.power_cap=1.1MW,2MW", "--grid", "facility.ramp_limit=100kW/s"]
    assert main([*argv, *grid, "--set", "facility.cap_policy=throttle", "--out", str(out)]) == 0
    points = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    summaries = {p["point"]["facility.power_cap"]: p["summary"] for p in points[1:]}
    assert summaries["1.1MW"]["power_cap_lost_gpu_hours"] > 0
    assert summaries["2MW"]["power_cap_lost_gpu_hours"] == 0
    assert summaries["2MW"]["power_ramp_energy_mwh"] > 0
    capsys.readouterr()
    assert main([*argv, "--grid", "facility.power_cap=1kW", "--out", str(tmp_path / "x")]) == 2
    assert "facility.power_cap" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flag", "line"),
    [
        ("facility.ramp_limit=0", "ramp limit must be positive, got 0\n"),
        (
            "facility.ramp_limit=fast",
            "ramp limit 'fast' (try '1MW/s', '500kW/s', or watts per second)\n",
        ),
        ("facility.stall_floor=1.5", "less than or equal to 1 (got 1.5)\n"),
    ],
)
def test_a_bad_facility_flag_names_its_value_once(
    capsys: pytest.CaptureFixture[str], flag: str, line: str
) -> None:
    assert main([*RUN, "--set", flag]) == 2
    err = capsys.readouterr().err
    assert err.endswith(line) and err.count("\n") == 1 and err.count("got") <= 1, err

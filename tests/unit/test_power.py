"""Power: units, profiles and config resolution, the step function, swings, outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from wallclock import without_wall

from clustersim.cli import main
from clustersim.config import PowerConfig, Scenario, dump_yaml, load_scenario, load_scenario_text
from clustersim.config.power import GPU_STATES, PROFILES
from clustersim.config.units import format_power, parse_power
from clustersim.power.energy import PowerIdentityError, aggregate_power, check_power_identity
from clustersim.power.steps import StepFunction, find_swings, swing_summary

# --------------------------------------------------------------------------- units, config


@pytest.mark.parametrize(
    ("text", "watts"),
    [("700W", 700.0), ("10.2kW", 10200.0), ("150MW", 1.5e8), ("1.2GW", 1.2e9), (" 5 kW ", 5e3)],
)
def test_power_units_parse_and_format_back(text: str, watts: float) -> None:
    assert parse_power(text) == watts
    assert parse_power(format_power(watts)) == watts


@pytest.mark.parametrize("bad", ["7X", "10 kWh", "700 mW", "W"])
def test_power_units_refuse_what_is_not_power(bad: str) -> None:
    with pytest.raises(ValueError, match="cannot parse power"):
        parse_power(bad)


def test_a_plain_number_is_watts_and_power_is_never_negative() -> None:
    assert parse_power("700") == 700.0
    with pytest.raises(ValueError, match="negative"):
        PowerConfig(host="-1W")


def test_profiles_cover_every_state_and_cite_their_sources() -> None:
    for profile in PROFILES.values():
        assert set(profile.gpu_w) == set(GPU_STATES)
        assert profile.sources and profile.assumptions
        # A computing node draws 76 % of its rated maximum (Newkirk et al. 2025), to 10 W.
        node = 8 * profile.gpu_w["computing"] + profile.host_w
        assert node == pytest.approx(0.76 * profile.system_max_w, abs=10.0)
        assert profile.gpu_w["computing"] <= profile.tdp_w


def test_config_resolves_from_the_profile_and_keeps_overrides() -> None:
    cfg = PowerConfig(profile="a100-sxm", gpu={"idle": "60W"}, pue=1.3)
    assert cfg.gpu.idle == 60.0
    assert cfg.gpu.computing == PROFILES["a100-sxm"].gpu_w["computing"]
    assert cfg.host == PROFILES["a100-sxm"].host_w
    assert cfg.swings.stall_steps_min == cfg.swings.threshold / 10
    again = PowerConfig.model_validate(cfg.model_dump(mode="json"))
    assert again == cfg


def test_scenario_dump_round_trips_and_omits_an_unset_power_section() -> None:
    plain = load_scenario("single-job")
    assert "power" not in plain.model_dump(mode="json")
    powered = load_scenario("single-job", ["power.profile=h100-sxm", "power.host=3kW"])
    text = dump_yaml(powered)
    assert "host: 3kW" in text
    assert load_scenario_text(text, "dump.yaml") == powered


def test_config_errors_name_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "workload: {jobs: [{gpus: 8, work: 1h}]}\n"
        "power: {profile: h100-sxm, swings: {window: 10s, min_window: 20s}}\n"
    )
    assert main(["show", str(path)]) == 65
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "power.swings.min_window" in err and "must not exceed window" in err
    path.write_text("workload: {jobs: [{gpus: 8, work: 1h}]}\npower: {profile: b200}\n")
    assert main(["show", str(path)]) == 65
    assert "power.profile: unknown power profile 'b200'" in capsys.readouterr().err


# --------------------------------------------------------------------------- step function


def _steps(times: list[float], deltas: list[float], end: float, scale: float = 1.0) -> StepFunction:
    return StepFunction.from_deltas(np.array(times), np.array(deltas), end, scale)


def test_simultaneous_deltas_net_out_and_levels_accumulate() -> None:
    steps = _steps([5.0, 0.0, 5.0, 5.0, 8.0], [10.0, 4.0, -3.0, 3.0, -14.0], 10.0, scale=2.0)
    assert steps.t_s.tolist() == [0.0, 5.0, 8.0]
    assert steps.watts.tolist() == [8.0, 28.0, 0.0]
    assert steps.energy_j() == 8 * 5 + 28 * 3
    assert steps.peak() == (28.0, 5.0)
    assert steps.mean_w() == pytest.approx(124 / 10)


def test_bins_keep_the_integral_and_their_extremes() -> None:
    steps = _steps([0.0, 1.0, 1.5, 4.0], [2.0, 5.0, -5.0, 1.0], 6.0)
    edges = np.array([0.0, 2.0, 4.0, 6.0])
    means = steps.bin_means(edges)
    assert means.tolist() == pytest.approx([(2 * 1 + 7 * 0.5 + 2 * 0.5) / 2, 2.0, 3.0])
    assert float(np.sum(means * np.diff(edges))) == pytest.approx(steps.energy_j())
    low, high = steps.bin_extremes(edges)
    assert low.tolist() == [2.0, 2.0, 3.0]
    assert high.tolist() == [7.0, 2.0, 3.0]


def test_a_step_starting_late_gets_a_zero_level_from_time_zero() -> None:
    steps = _steps([3.0], [5.0], 4.0)
    assert steps.t_s.tolist() == [0.0, 3.0]
    assert steps.energy_j() == 5.0


# --------------------------------------------------------------------------- swings


def test_a_checkpoint_dip_is_a_drop_and_a_rise() -> None:
    steps = _steps([0.0, 100.0, 103.0], [20e6, -9e6, 9e6], 200.0)
    swings = find_swings(steps, 1e6, 60.0)
    assert swings.t_s.tolist() == [100.0, 103.0]
    assert swings.delta_w.tolist() == [-9e6, 9e6]
    summary = swing_summary(swings, 1e6, 60.0, 1.0, 200.0)
    assert summary["drops"] == summary["rises"] == 1
    assert summary["largest_drop_mw"] == -9.0 and summary["largest_drop_t_s"] == 100.0
    assert summary["max_ramp_mw_per_s"] == 9.0  # a step counts as taking min_window
    assert summary["histogram"] == {
        "edges_mw": [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0],
        "drops": [0, 0, 1, 0, 0, 0, 0, 0, 0],
        "rises": [0, 0, 1, 0, 0, 0, 0, 0, 0],
    }


def test_small_steps_within_the_window_add_up_to_one_swing() -> None:
    # Ten 0.3 MW steps 5 s apart: 3 MW in 45 s is one swing; 20 s apart they never are.
    close = _steps([0.0, *[5.0 * k for k in range(1, 11)]], [1e6] + [0.3e6] * 10, 100.0)
    swings = find_swings(close, 1e6, 60.0)
    assert swings.delta_w.tolist() == pytest.approx([3e6])
    assert swings.duration_s.tolist() == [45.0]
    sparse = _steps([0.0, *[20.0 * k for k in range(1, 11)]], [1e6] + [0.3e6] * 10, 300.0)
    assert len(find_swings(sparse, 1e6, 30.0).t_s) == 0


def test_a_long_ramp_counts_once_at_its_steepest_window() -> None:
    times = [0.0, *[10.0 * k for k in range(1, 31)]]
    deltas = [0.0] + [0.2e6] * 15 + [0.5e6] * 15  # 3 MW then 7.5 MW over 300 s
    swings = find_swings(_steps(times, deltas, 400.0), 1e6, 60.0)
    assert len(swings.t_s) == 1
    assert swings.delta_w[0] == pytest.approx(3.5e6)  # seven 0.5 MW steps within 60 s
    assert swings.duration_s[0] == 60.0


def test_opposite_steps_break_a_run() -> None:
    swings = find_swings(_steps([0.0, 1.0, 2.0, 3.0], [5e6, -0.8e6, 0.5e6, -0.8e6], 10.0), 1e6, 60)
    assert len(swings.t_s) == 0


# --------------------------------------------------------------------------- results


def test_identity_check_and_replication_means() -> None:
    check_power_identity({})
    ok = {"energy_total_mwh": 10.0, "energy_series_mwh": 10.0 + 1e-12}
    check_power_identity(ok)
    with pytest.raises(PowerIdentityError):
        check_power_identity({"energy_total_mwh": 10.0, "energy_series_mwh": 10.1})
    sections = [
        {"mean_mw": 1.0, "energy_mwh_by_state": {"idle": 2.0}, "swings": {"count": 3}},
        {"mean_mw": 3.0, "energy_mwh_by_state": {"idle": 4.0}, "swings": {"count": 5}},
    ]
    out = aggregate_power(sections)
    assert out["mean_mw"] == 2.0 and out["energy_mwh_by_state"] == {"idle": 3.0}
    assert out["swings"] == {"count": 3} and out["swings_count_mean"] == 4.0


def test_run_json_and_terminal_show_power(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "single-job", "--set", "workload.jobs.0.work=1d", "--set"]
    assert main([*argv, "power.profile=h100-sxm", "--json", "--no-jobs"]) == 0
    out = json.loads(capsys.readouterr().out)
    power = out["power"]
    for key in ("power_mw", "peak_mw", "mean_mw", "energy_mwh_by_state", "swings"):
        assert key in power
    assert len(power["power_mw"]) == len(out["timeseries"]["t_s"])
    assert out["summary"]["energy_total_mwh"] == power["energy_total_mwh"]
    assert main([*argv, "power.profile=h100-sxm"]) == 0
    text = capsys.readouterr().out
    assert "facility power" in text and "power swings" in text
    assert main(["run", "single-job", "--set", "workload.jobs.0.work=1d"]) == 0
    assert "facility power" not in capsys.readouterr().out


def test_plot_has_a_power_panel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "power.png"
    argv = ["run", "single-job", "--set", "workload.jobs.0.work=1d"]
    assert main([*argv, "--set", "power.profile=h100-sxm", "--plot", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_same_seed_same_power_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "single-job", "--set", "power.profile=a100-sxm", "--json", "--seed", "4"]
    assert main(argv) == 0
    first = without_wall(capsys.readouterr().out)  # all but the wall-clock "run" block
    assert main(argv) == 0
    assert without_wall(capsys.readouterr().out) == first


def test_scenario_without_power_has_no_power_key() -> None:
    sc = Scenario.model_validate({"workload": {"jobs": [{"gpus": 8, "work": "1h"}]}})
    assert sc.power is None


def test_a_bin_inside_one_step_averages_to_exactly_its_level() -> None:
    # Found by the network identity property: the last bin of a run was a 1.7e-9 s sliver at
    # t = 189,975 s, and the difference of two large integrals over it gave 0.6724 for a
    # level of 2/3 held throughout, above the bin's highest level.
    end = 189975.07333725222
    steps = StepFunction(np.array([0.0, 1000.0, 150000.3]), np.array([0.25, 0.9, 2 / 3]), end)
    edges = np.array([0.0, 500.0, 120000.0, 189975.07333725053, end])
    means = steps.bin_means(edges)
    low, high = steps.bin_extremes(edges)
    assert means[0] == 0.25 and means[-1] == 2 / 3
    assert np.all((low <= means) & (means <= high))
    # A bin with a change inside still gets its exact time average.
    assert means[1] == pytest.approx((500 * 0.25 + 119000 * 0.9) / 119500, rel=1e-12)

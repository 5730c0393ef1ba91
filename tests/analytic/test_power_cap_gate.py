"""The hold gate's order and its limits, from their definitions (docs/power.md, committed power).

* FIFO order: a job the cap holds is not passed by later, smaller jobs of the same pass, so a
  16-GPU job submitted second starts when the first 8-GPU job ends (one wave), not after a
  stream of 8-GPU jobs that each fit the power left.
* A job that could not start under the cap even alone on an idle cluster is ``unplaceable``
  and does not block the others.
* Held GPUs count at the larger of computing and checkpoint watts, so checkpoint stalls
  priced above computing cannot take facility power over a hold cap.
* ``min_gpu_power`` below the recovery watts is refused when there is a cap.
"""

from __future__ import annotations

import copy

import pytest
from test_power_cap import INIT, PUE, WATTS, _idle_node_w, _scenario

from clustersim.experiment import run_replication

PER_GPU = WATTS["computing"] - WATTS["idle"]


def test_a_held_job_is_not_passed_by_smaller_later_jobs() -> None:
    # Room for 2.5 nodes computing on a 4-node cluster: "first" (1 node) runs, "big" (2 nodes)
    # does not fit beside it, and every 8-GPU job after would fit beside "first" alone.
    cap_it = 4 * _idle_node_w() + 2.5 * 8 * PER_GPU
    jobs = [
        {"name": "first", "gpus": 8, "work": "1h"},
        {"name": "big", "gpus": 16, "work": "1h", "submit": "1s"},
    ]
    jobs += [{"name": f"s{i}", "gpus": 8, "work": "1h", "submit": f"{60 + 1800 * i}s"}
             for i in range(20)]  # fmt: skip
    sc = _scenario(4, jobs, {"power_cap": f"{cap_it * PUE}W", "cap_policy": "hold"})
    metrics, _ = run_replication(sc, 0, 5)
    starts = {row.name: row.first_start_s for row in metrics.jobs}
    # "first" ends at INIT + 1 h; "big" starts then (FIFO), before any later job.
    assert starts["big"] == pytest.approx(INIT + 3600.0)
    assert all(starts[f"s{i}"] >= starts["big"] for i in range(20))


def test_a_job_the_cap_can_never_admit_is_unplaceable_and_blocks_nothing() -> None:
    cap_it = 4 * _idle_node_w() + 1.5 * 8 * PER_GPU  # room for one node computing, not two
    jobs = [{"name": "big", "gpus": 16, "work": "1h"}, {"name": "small", "gpus": 8, "work": "1h"}]
    sc = _scenario(4, jobs, {"power_cap": f"{cap_it * PUE}W", "cap_policy": "hold"})
    metrics, _ = run_replication(sc, 0, 5)
    assert list(metrics.unplaceable.values()) == [["big"]]
    assert "facility.power_cap" in next(iter(metrics.unplaceable))
    starts = {row.name: row.first_start_s for row in metrics.jobs}
    assert starts["small"] == 0.0 and starts["big"] is None
    assert metrics.summary["jobs_finished"] == 1
    assert metrics.summary["sim_time_s"] == pytest.approx(INIT + 3600.0)  # not the horizon


def test_checkpoint_watts_above_computing_never_pass_a_hold_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    watts = copy.deepcopy(WATTS)
    watts["checkpoint"] = 800.0  # above computing (700 W)
    monkeypatch.setattr("test_power_cap.WATTS", watts)
    # Room for two nodes at computing watts but not at checkpoint watts: one job at a time.
    cap_it = 4 * _idle_node_w() + 2 * 8 * PER_GPU
    jobs = [{"name": f"j{i}", "gpus": 8, "work": "10h"} for i in range(2)]
    sc = _scenario(
        4, jobs, {"power_cap": f"{cap_it * PUE}W"},
        checkpoint={"policy": "fixed", "interval": "1h", "stall": "60s"},
    )  # fmt: skip
    metrics, _ = run_replication(sc, 0, 5)
    assert metrics.power is not None
    assert metrics.power["facility"]["time_over_cap_s"] == 0.0
    assert metrics.power["peak_mw"] <= cap_it * PUE / 1e6 + 1e-12
    starts = sorted(row.first_start_s for row in metrics.jobs)
    assert starts[0] == 0.0 and starts[1] > 10 * 3600.0  # the second waits for the first


@pytest.mark.parametrize("floor", ["0W", "100W"])
def test_min_gpu_power_below_recovery_watts_is_refused(floor: str) -> None:
    cap_it = 4 * _idle_node_w() + 2 * 8 * PER_GPU
    with pytest.raises(ValueError, match=r"facility\.min_gpu_power: .* below the GPUs' recovery"):
        _scenario(
            4, [{"name": "a", "gpus": 8, "work": "1h"}],
            {"power_cap": f"{cap_it * PUE}W", "cap_policy": "throttle", "min_gpu_power": floor},
        )  # fmt: skip


def test_throttle_slowdown_with_storage_contention_is_the_compute_time_lost() -> None:
    """Checkpoints written one by one on a shared store run at its pace, not the GPUs'.

    One 16-GPU job of 10 h under a throttle at p = 500 W: speed (p / 700) ** (1/3), so the
    slowdown is 16 × 10 h × (1 / speed − 1), whatever the writes take.
    """
    p = 500.0
    held_level = 2 * _idle_node_w() + 16 * (WATTS["recovery"] - WATTS["idle"])
    cap_it = held_level + 16 * (p - WATTS["recovery"])
    sc = _scenario(
        2, [{"name": "big", "gpus": 16, "work": "10h", "checkpoint_bytes": "120TB"}],
        {"power_cap": f"{cap_it * PUE}W", "cap_policy": "throttle"},
        checkpoint={"policy": "fixed", "interval": "1h"},
        storage={"write_bandwidth": "1TB/s", "contention": True},
    )  # fmt: skip
    metrics, _ = run_replication(sc, 0, 5)
    speed = (p / WATTS["computing"]) ** (1 / 3)
    expected_h = 16 * 10 * (1 / speed - 1)
    assert metrics.power is not None
    assert metrics.gpu_seconds["checkpoint"] > 0
    assert metrics.gpu_seconds["slowdown"] / 3600 == pytest.approx(expected_h, rel=1e-9)
    cap_h = metrics.power["facility"]["cap_slowdown_gpu_hours"]
    assert cap_h == pytest.approx(expected_h, rel=1e-9)


@pytest.mark.parametrize(
    ("sets", "field", "by"),
    [
        (["facility.cap_policy=throttle"], "facility.cap_policy", "power_cap is not set"),
        (["facility.throttle_exponent=0.5"], "facility.throttle_exponent", "power_cap is not"),
        (["facility.power_cap=1GW", "facility.min_gpu_power=300W"], "facility.min_gpu_power",
         "'hold', which never throttles"),
        (["facility.floor_during=stalls-and-recovery"], "facility.floor_during", "stall_floor"),
    ],
)  # fmt: skip
def test_facility_settings_without_effect_are_named(sets: list[str], field: str, by: str) -> None:
    from clustersim.config import load_scenario
    from clustersim.config.inert import inert_messages

    sc = load_scenario("single-job", sets)
    paths = [s.split("=")[0] for s in sets]
    messages = inert_messages([sc], paths)
    assert any(m.startswith(f"{field} has no effect") and by in m for m in messages), messages
    # ... and not when the setting matters.
    live = load_scenario("single-job", ["facility.power_cap=1GW", "facility.cap_policy=throttle",
                                        "facility.stall_floor=0.5"])  # fmt: skip
    assert inert_messages([live], paths) == []

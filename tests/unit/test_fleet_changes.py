"""Fleet changes (docs/fleet.md): config, expansions, retirement drains, refresh, generations."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from clustersim.cli import main
from clustersim.cluster import NodeState
from clustersim.config import ConfigError, Scenario, UsageError, load_scenario_text
from clustersim.engine import Simulation
from clustersim.events import (
    JobInterrupted,
    JobStarted,
    NodeFailed,
    NodeQuarantined,
    NodesInstalled,
    NodesReplaced,
    NodesRetired,
)
from clustersim.metrics import measure

BASE = """
cluster: {pods: 2, racks_per_pod: 2, nodes_per_rack: 2, gpus_per_node: 8}
restart: {detection: 0s, init: 0s, init_per_gpu: 0s, load: 0s}
checkpoint: {policy: fixed, interval: 1h, stall: 0s}
run: {horizon: 30d, stop_when_done: false, check_invariants: true}
"""


def load(extra: str) -> Scenario:
    return load_scenario_text(BASE + extra, "t.yaml")


def run(extra: str, seed: int = 1) -> Simulation:
    sim = Simulation(load(extra), seed=seed)
    sim.run()
    return sim


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "workload: {jobs: [{gpus: 8, work: 1h}]}\n"
            "fleet: {cohorts: [{count: 2}, {count: 6, install: 1d}]}",
            "fleet.cohorts.1: an expansion goes into new pods, but it starts at node 2",
        ),
        (
            "workload: {jobs: [{gpus: 8, work: 1h}]}\nfleet: {cohorts: [{count: 8, speed: 1.5}]}",
            "fleet.cohorts.0.speed",
        ),
        (
            "workload: {jobs: [{gpus: 8, work: 1h}]}\nfleet: {cohorts: [{count: 8, retire: 0}]}",
            "fleet.cohorts.0.retire",
        ),
        (
            "workload: {jobs: [{gpus: 8, work: 1h}]}\n"
            "fleet: {cohorts: [{count: 8}], refresh: {fraction: 0}}",
            "fleet.refresh.fraction",
        ),
    ],
)
def test_config_errors_name_the_field_on_one_line(extra: str, message: str) -> None:
    with pytest.raises((ConfigError, UsageError)) as info:
        load(extra)
    text = str(info.value)
    assert message in text and "\n" not in text


def test_fleet_changes_round_trip_through_a_dump() -> None:
    sc = load(
        "workload: {jobs: [{gpus: 8, work: 1h}]}\n"
        "fleet:\n"
        "  cohorts: [{count: 4, install: -1y, retire: 2y, speed: 0.5}, {count: 4, install: 10d}]\n"
        "  refresh: {node_failures: 2, cohort_rate: 5, fraction: 0.1, every: 91.25d, swap: 1d}\n"
    )
    dumped = sc.model_dump(mode="json")
    assert dumped["fleet"]["cohorts"][1]["install"] == "10d"
    assert Scenario.model_validate(dumped) == sc
    plain = load("workload: {jobs: [{gpus: 8, work: 1h}]}\nfleet: {cohorts: [{count: 8}]}")
    cohort = plain.model_dump(mode="json")["fleet"]["cohorts"][0]
    assert "retire" not in cohort and "speed" not in cohort
    assert "refresh" not in plain.model_dump(mode="json")["fleet"]


def test_a_job_larger_than_the_first_cohort_starts_at_the_expansion() -> None:
    sim = run(
        "workload: {jobs: [{gpus: 64, work: 1d}]}\n"
        "fleet: {cohorts: [{count: 4}, {count: 4, install: 5d}]}"
    )
    installed = [e for e in sim.log if isinstance(e, NodesInstalled)]
    assert [(e.t, e.nodes, e.cohort) for e in installed] == [
        (5 * 86400.0, (4, 5, 6, 7), "cohort-1")
    ]
    started = [e for e in sim.log if isinstance(e, JobStarted)]
    assert started[0].t == 5 * 86400.0
    gs = measure(sim).gpu_seconds
    assert gs["out_of_service"] == 4 * 8 * 5 * 86400.0
    assert math.isclose(gs["total"], 8 * 8 * 30 * 86400.0 - gs["out_of_service"])


def test_retirement_drains_a_running_job_which_recovers_on_other_nodes() -> None:
    # Four old nodes retire on day 2 under a 32-GPU job; four new ones are free beside them.
    sim = run(
        "workload: {jobs: [{gpus: 32, work: 5d}]}\n"
        "fleet: {cohorts: [{count: 4, install: -1y, retire: 367d}, {count: 4}]}"
    )
    drained = [e for e in sim.log if isinstance(e, JobInterrupted)]
    assert [(e.t, e.cause, e.planned) for e in drained] == [(2 * 86400.0, "retirement", True)]
    retired = [e for e in sim.log if isinstance(e, NodesRetired)]
    assert sorted(n for e in retired for n in e.nodes) == [0, 1, 2, 3]
    assert all(e.t == 2 * 86400.0 for e in retired)
    assert all(int(sim.cluster.state[n]) == NodeState.OUT for n in range(4))
    row = measure(sim).jobs[0]
    assert row.finished and row.lost_work_s == 0.0  # drained: a checkpoint first


def test_a_node_reaching_its_failure_count_is_replaced() -> None:
    sim = run(
        "workload: {jobs: [{gpus: 8, work: 1h}]}\n"
        "faults: {hw: {rate: 1/1 node-days, lemons: false,"
        " repair: {distribution: fixed, mean: 1h}}}\n"
        "fleet: {cohorts: [{count: 8}], refresh: {node_failures: 3}}"
    )
    counts: dict[int, int] = {}
    expected = []
    for e in sim.log:
        if isinstance(e, NodeFailed):
            counts[e.node] = counts.get(e.node, 0) + 1
            if counts[e.node] == 3:  # replaced: a new node counts from 0
                counts[e.node] = 0
                expected.append((e.t, (e.node,), "node-failures"))
    replaced = [(e.t, e.nodes, e.reason) for e in sim.log if isinstance(e, NodesReplaced)]
    assert replaced == expected and len(expected) > 5


def test_jobs_run_at_their_slowest_generation() -> None:
    sim = run(
        "workload: {jobs: [{name: a, gpus: 32, work: 2d}, {name: b, gpus: 32, work: 2d},"
        " {name: c, gpus: 64, work: 1d, submit: 1h}]}\n"
        "fleet: {cohorts: [{count: 4, gpu: h100}, {count: 4, gpu: a100, speed: 0.5}]}"
    )
    finish = {row.name: row.finish_s for row in measure(sim).jobs}
    assert finish["a"] == pytest.approx(2 * 86400.0)
    assert finish["b"] == pytest.approx(4 * 86400.0)
    assert finish["c"] == pytest.approx(4 * 86400.0 + 2 * 86400.0)  # both generations: 0.5
    gs = measure(sim).gpu_seconds
    assert gs["slowdown"] == pytest.approx(32 * 2 * 86400.0 + 64 * 86400.0)


def test_run_plots_and_tabulates_fleet_periods(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib")
    scenario = tmp_path / "grow.yaml"
    scenario.write_text(
        BASE.replace("check_invariants: true", "period: 10d")
        + "workload: {jobs: [{gpus: 32, work: 20d}]}\n"
        "faults: {hw: {rate: 1/10 node-days, hazard: {wearout: {shape: 2, scale: 1y}}}}\n"
        "fleet: {cohorts: [{count: 4, install: -1y, retire: 1.05y}, {count: 4, install: 5d}],"
        " refresh: {node_failures: 2}}\n",
        encoding="utf-8",
    )
    target = tmp_path / "fleet.png"
    assert main(["run", str(scenario), "--plot", str(target), "--no-jobs"]) == 0
    capsys.readouterr()
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["run", str(scenario), "--json", "--no-jobs"]) == 0
    rows = json.loads(capsys.readouterr().out)["periods"]
    # 32 GPUs, 64 from day 5 (the expansion), 32 from day 18.25 (the first cohort retires).
    in_service = [r["gpus_in_service"] for r in rows]
    assert in_service == pytest.approx([48.0, (8.25 * 64 + 1.75 * 32) / 10, 32.0])
    assert [r["installed"] for r in rows] == [4, 0, 0]
    assert [r["retired"] for r in rows] == [0, 4, 0]
    assert sum(r["replaced"] for r in rows) > 0


def test_quarantined_nodes_of_a_retiring_cohort_leave_and_stay_counted() -> None:
    sim = run(
        "workload: {jobs: [{gpus: 8, work: 1h}]}\n"
        "faults: {hw: {rate: 1/2 node-days, repair: {distribution: fixed, mean: 1h}}}\n"
        "lemons: {fraction: 0.5, multiplier: 1, quarantine: {failures: 1, window: 30d}}\n"
        "fleet: {cohorts: [{count: 4, install: -1y, retire: 385d}, {count: 4}]}"
    )
    quarantined = {e.node for e in sim.log if isinstance(e, NodeQuarantined)}
    old = {n for n in quarantined if n < 4 and n in sim.fleet.quarantined_out}
    assert old, "a quarantined node of the old cohort should have retired"
    assert all(int(sim.cluster.state[n]) == NodeState.OUT for n in old)
    assert measure(sim).summary["nodes_quarantined"] == len(quarantined)

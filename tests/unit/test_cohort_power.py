"""``fleet.cohorts[].power`` (docs/fleet.md#power-per-generation): config, dumps, counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clustersim.cli import main
from clustersim.cluster import NodeState
from clustersim.cohorts import Cohorts
from clustersim.config import ConfigError, Scenario, UsageError, load_scenario_text
from clustersim.config.compose import dump_yaml
from clustersim.engine import Simulation
from clustersim.engine.cohort_power import CohortCluster, CohortPowerMeter, CohortSet
from clustersim.engine.power import PowerMeter
from clustersim.experiment import run as run_experiment
from clustersim.topology import Topology

BASE = """
cluster: {pods: 2, racks_per_pod: 2, nodes_per_rack: 2, gpus_per_node: 8}
workload: {jobs: [{gpus: 8, work: 1h}]}
"""
FLEET = "fleet: {cohorts: [{count: 4}, {count: 4, power: a100-sxm}]}\n"


def load(extra: str) -> Scenario:
    return load_scenario_text(BASE + extra, "t.yaml")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "power: {}\nfleet: {cohorts: [{count: 4}, {count: 4, power: b200}]}",
            "t.yaml:5:49: fleet.cohorts.1.power: unknown power profile 'b200'",
        ),
        (FLEET, "fleet.cohorts.1.power: a cohort's power profile needs a power section"),
        (
            "power: {}\nfacility: {power_cap: 1MW}\n" + FLEET,
            "fleet.cohorts.1.power: per-cohort power profiles are not supported with a facility",
        ),
        (
            "power: {}\n" + FLEET,
            "fleet.cohorts.1.power: per-cohort power profiles are not supported with"
            " cluster.sharing: gpu",
        ),
    ],
)
def test_config_errors_name_the_field_on_one_line(extra: str, message: str) -> None:
    base = BASE
    if "sharing" in message:
        base = base.replace("gpus_per_node: 8}", "gpus_per_node: 8, sharing: gpu}")
    with pytest.raises((ConfigError, UsageError)) as info:
        load_scenario_text(base + extra, "t.yaml")
    text = str(info.value)
    assert message in text and "\n" not in text


def test_a_bad_profile_exits_65_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(BASE + "power: {}\nfleet: {cohorts: [{count: 8, power: b200}]}\n")
    assert main(["show", str(path)]) == 65
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "s.yaml" in err and "fleet.cohorts.0.power" in err and "b200" in err


def test_the_dump_omits_an_unset_power_and_round_trips() -> None:
    plain = load("power: {}\nfleet: {cohorts: [{count: 4}, {count: 4}]}\n")
    dumped = plain.model_dump(mode="json")["fleet"]["cohorts"]
    assert all("power" not in c for c in dumped)
    sc = load("power: {}\n" + FLEET)
    cohorts = sc.model_dump(mode="json")["fleet"]["cohorts"]
    assert "power" not in cohorts[0] and cohorts[1]["power"] == "a100-sxm"
    assert load_scenario_text(dump_yaml(sc), "dump.yaml") == sc


def test_only_per_cohort_profiles_switch_to_the_cohort_meter() -> None:
    plain = Simulation(load("power: {}\nfleet: {cohorts: [{count: 4}, {count: 4}]}\n"))
    assert type(plain.power_meter) is PowerMeter and type(plain.cluster) is not CohortCluster
    assert plain.power_cohorts is None
    mixed = Simulation(load("power: {}\n" + FLEET))
    assert isinstance(mixed.power_meter, CohortPowerMeter)
    assert isinstance(mixed.cluster, CohortCluster)


def test_cohort_set_counts_its_members_per_cohort() -> None:
    s = CohortSet([0, 0, 1, 1, 1], 2)
    s.add(0)
    s.add(0)
    s.update([2, 3])
    assert s.counts == [1, 2] and s == {0, 2, 3}
    s.discard(4)
    s.difference_update([0, 3, 4])
    assert s.counts == [0, 1] and s == {2}
    s |= {1}
    s -= {2}
    assert s.counts == [1, 0]
    with pytest.raises(KeyError):
        s.remove(3)
    s.clear()
    assert s.counts == [0, 0] and not s


def test_cohort_cluster_counts_follow_every_state_change() -> None:
    topo = Topology(8, 4, 2, 2)  # 16 nodes
    sc = load_scenario_text(
        "cluster: {pods: 2, racks_per_pod: 2, nodes_per_rack: 4, gpus_per_node: 8}\n"
        "workload: {jobs: [{gpus: 8, work: 1h}]}\npower: {}\n"
        "fleet: {cohorts: [{count: 5}, {count: 3, power: a100-sxm}, {count: 8}]}\n",
        "t.yaml",
    )
    cluster = CohortCluster(topo, cohorts=Cohorts.of(sc), spare_nodes=2)
    cluster.check_cohorts()
    assert cluster.by_cohort[:, int(NodeState.SPARE)].tolist() == [0, 0, 2]
    cluster.allocate(1, 7)  # scalar path
    cluster.check_cohorts()
    cluster.allocate(2, 6)
    cluster.fail_many(np.array(sorted(cluster.nodes_of(2))[:3], dtype=np.int64))  # bulk path
    cluster.check_cohorts()
    cluster.fail(next(iter(cluster.nodes_of(1))))
    cluster.release(1)
    cluster.check_cohorts()
    down = np.flatnonzero(cluster.state == int(NodeState.DOWN)).astype(np.int64)
    cluster.repair_many(down)
    cluster.retire(np.flatnonzero(cluster.state == int(NodeState.FREE))[:4].astype(np.int64))
    cluster.check_cohorts()
    assert cluster.by_cohort.sum() == 16


def test_replications_average_the_cohorts_table() -> None:
    sc = load(
        "power: {}\nfaults: {hw: {rate: 200/1000 node-days}}\n"
        "run: {horizon: 5d, seed: 2, stop_when_done: false}\n" + FLEET
    )
    result = run_experiment(sc, reps=2)
    reps = [m.power["cohorts"]["cohort-1"]["energy_total_mwh"] for m in result.replications]
    assert reps[0] != reps[1]  # else the average would not be tested
    power = result.to_dict(jobs=False)["power"]
    total = power["energy_total_mwh"]
    by_cohort = sum(row["energy_total_mwh"] for row in power["cohorts"].values())
    assert abs(by_cohort - total) <= 1e-9 * total
    assert power["cohorts"]["cohort-1"]["profile"] == "a100-sxm"


def test_the_terminal_summary_shows_energy_by_cohort(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(BASE + "power: {}\n" + FLEET)
    assert main(["run", str(path)]) == 0
    out = capsys.readouterr().out
    assert "by cohort (MWh)" in out and "cohort-1" in out and "(a100-sxm)" in out
    path.write_text(BASE + "power: {}\n")
    assert main(["run", str(path)]) == 0
    assert "by cohort" not in capsys.readouterr().out


@pytest.mark.parametrize("n", [3, 13])
def test_nodes_by_cohort_counts_a_job_s_nodes_per_cohort(n: int) -> None:
    sc = load_scenario_text(
        "cluster: {pods: 2, racks_per_pod: 2, nodes_per_rack: 4, gpus_per_node: 8}\n"
        "workload: {jobs: [{gpus: 8, work: 1h}]}\npower: {}\n"
        "fleet: {cohorts: [{count: 5}, {count: 3, power: a100-sxm}, {count: 8}]}\n",
        "t.yaml",
    )
    cluster = CohortCluster(Topology(8, 4, 2, 2), cohorts=Cohorts.of(sc), placement="first-fit")
    cluster.allocate(7, n)
    nodes = cluster.nodes_of(7)
    expected = [sum(lo <= x < hi for x in nodes) for lo, hi in ((0, 5), (5, 8), (8, 16))]
    assert cluster.nodes_by_cohort(7).tolist() == expected

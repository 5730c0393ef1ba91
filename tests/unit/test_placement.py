"""Placement rules (``cluster.placement``): topology-aware (default), first-fit, spread."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import clustersim
from clustersim.cli import main
from clustersim.cluster import Cluster
from clustersim.config import Scenario
from clustersim.engine import Simulation
from clustersim.metrics import measure
from clustersim.topology import Topology


def topo() -> Topology:
    return Topology(8, 4, 3, 2, 1.0)  # 2 pods x 3 racks x 4 nodes = 24 nodes


def test_first_fit_takes_the_lowest_free_ids_across_racks() -> None:
    c = Cluster(topo(), placement="first-fit")
    assert c.allocate(0, 3) is not None and c.nodes_of(0) == (0, 1, 2)
    placed = c.allocate(1, 6)
    assert placed is not None and placed.nodes == (3, 4, 5, 6, 7, 8)
    assert (placed.racks, placed.pods) == (3, 1)
    c.check()


def test_spread_puts_one_node_per_rack_most_free_first() -> None:
    c = Cluster(topo(), placement="spread")
    placed = c.allocate(0, 6)
    assert placed is not None and placed.racks == 6 and placed.pods == 2
    assert placed.nodes == (0, 4, 8, 12, 16, 20)
    placed = c.allocate(1, 8)  # every rack has 3 left: one each, then the two lowest racks
    assert placed is not None and placed.racks == 6
    c.check()


def test_topology_aware_keeps_a_small_job_in_one_rack() -> None:
    c = Cluster(topo())
    placed = c.allocate(0, 4)
    assert placed is not None and (placed.racks, placed.pods) == (1, 1)


def test_an_unknown_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown placement 'random'"):
        Cluster(topo(), placement="random")


@given(
    rule=st.sampled_from(("topology", "first-fit", "spread")),
    sizes=st.lists(st.integers(1, 24), min_size=1, max_size=12),
)
def test_every_rule_conserves_nodes_and_fails_only_when_too_few_are_free(
    rule: str, sizes: list[int]
) -> None:
    c = Cluster(topo(), placement=rule)
    for job, n in enumerate(sizes):
        free = c.n_free
        placed = c.allocate(job, n)
        assert (placed is None) == (n > free)
        if placed is not None:
            assert len(placed.nodes) == n
            if job % 3 == 0:
                c.release(job)
        c.check()


@pytest.mark.parametrize("rule", ["topology", "first-fit", "spread"])
def test_the_rule_is_recorded_per_job_and_the_identity_balances(rule: str) -> None:
    sc = Scenario.model_validate(
        {
            "cluster": {
                "gpus_per_node": 8,
                "nodes_per_rack": 4,
                "racks_per_pod": 3,
                "pods": 2,
                "placement": rule,
            },
            "workload": {"jobs": [{"name": "j", "gpus": 32, "work": "2h", "count": 3}]},
            "faults": {"node": {"rate": "50/1000 node-days"}},
            "run": {"horizon": "2d", "check_invariants": True},
        }
    )
    sim = Simulation(sc, seed=3)
    sim.run(None)
    rows = measure(sim).jobs
    # Three 4-node jobs start together on 24 free nodes: whole racks under topology and
    # first-fit (racks are 4 aligned nodes), one node in each of 4 racks under spread.
    first = [row.racks for row in rows]
    assert first == ([4, 4, 4] if rule == "spread" else [1, 1, 1])


# ``scheduler.placement`` (the name the network issue and users reach for) is
# ``cluster.placement``: the same scenario, the same results, one setting.

PLACED = {
    "name": "alias",
    "cluster": {"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": 2, "pods": 2},
    "workload": {"jobs": [{"name": "a", "gpus": 32, "work": "1h"}]},
}
FILE = """\
name: alias
cluster:
  gpus_per_node: 8
  nodes_per_rack: 2
  racks_per_pod: 2
  pods: 2{cluster}
workload: {{jobs: [{{name: a, gpus: 32, work: 1h}}]}}
scheduler:
  placement: {rule}
"""


@pytest.mark.parametrize("rule", ["topology", "first-fit", "spread"])
def test_scheduler_placement_is_cluster_placement(rule: str) -> None:
    via_scheduler = clustersim.load("llama3-405b", **{"scheduler.placement": rule})
    via_cluster = clustersim.load("llama3-405b", **{"cluster.placement": rule})
    assert via_scheduler == via_cluster
    assert via_scheduler.cluster.placement == rule
    in_file = Scenario.model_validate({**PLACED, "scheduler": {"placement": rule}})
    assert in_file.cluster.placement == rule
    assert "placement" not in in_file.model_dump(mode="json")["scheduler"]


def _racks(path: Path, *argv: str) -> int:
    out = path.with_suffix(".json")
    assert main(["run", str(path), "--json", "--out", str(out), *argv]) == 0
    racks: int = json.loads(out.read_text())["jobs"][0]["racks"]
    return racks


def test_the_alias_places_and_the_command_line_overrides_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(FILE.format(cluster="", rule="spread"))
    assert _racks(path) == 4  # one node per rack: all four racks
    assert _racks(path, "--set", "scheduler.placement=topology") == 2  # one pod
    assert main(["run", str(path), "--set", "scheduler.placement=sprd"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--set scheduler.placement=sprd: " in err


@pytest.mark.parametrize(
    ("cluster", "rule", "message"),
    [
        ("", "sprad", ":9:14: scheduler.placement: unknown placement 'sprad'"),
        ("\n  placement: first-fit", "spread", ":10:14: scheduler.placement: 'spread' contradicts"),
    ],
)
def test_a_bad_or_contradicting_alias_is_one_line_exit_65(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cluster: str, rule: str, message: str
) -> None:
    path, out = tmp_path / "s.yaml", tmp_path / "out.json"
    path.write_text(FILE.format(cluster=cluster, rule=rule))
    assert main(["run", str(path), "--json", "--out", str(out)]) == 65
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"{path}{message}"), err
    assert not out.exists()


def test_a_sweep_over_the_alias_records_each_rule_and_refuses_both_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, out = tmp_path / "s.yaml", tmp_path / "r.jsonl"
    path.write_text(FILE.format(cluster="", rule="topology"))
    grid = ["--grid", "scheduler.placement=topology,spread"]
    assert main(["sweep", str(path), *grid, "--workers", "1", "--out", str(out)]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    points = [r for r in records if r["type"] == "point"]
    assert [r["values"]["scheduler.placement"] for r in points] == ["topology", "spread"]
    capsys.readouterr()
    both = [*grid, "--grid", "cluster.placement=first-fit", "--out", str(tmp_path / "b.jsonl")]
    assert main(["sweep", str(path), *both]) == 2
    assert "overlaps the grid key 'scheduler.placement'" in capsys.readouterr().err

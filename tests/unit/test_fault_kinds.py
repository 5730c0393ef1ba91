"""The fault taxonomy: each kind's effect on hand-built scenarios, worked out by hand.

Faults are injected at known times by calling a source's effect (or the engine's World
methods) from a probe process, so the expected outcome is exact.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import pytest

from clustersim.config import FaultConfig, Scenario
from clustersim.engine import Simulation
from clustersim.events import (
    JobInterrupted,
    NodeFailed,
    NodeQuarantined,
    NodeRepaired,
    RunEnded,
    SlowdownBegan,
)
from clustersim.experiment import check_identity
from clustersim.faults.switch import SwitchFaults
from clustersim.metrics import measure

HOUR = 3600.0


def scenario(**sections: Any) -> Scenario:
    doc: dict[str, Any] = {
        "cluster": {"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": 4, "pods": 2},
        "workload": {"jobs": [{"gpus": 16, "work": "10h"}]},
        "checkpoint": {"policy": "fixed", "interval": "1h", "stall": "60s"},
        "restart": {"detection": "60s", "init": "120s", "init_per_gpu": 0, "load": "30s"},
        "run": {"check_invariants": True},
    }
    doc.update(sections)
    return Scenario.model_validate(doc)


def run_with(
    sc: Scenario, at: float, action: Callable[[Simulation], None], seed: int = 0
) -> Simulation:
    """Run ``sc`` and call ``action(sim)`` at simulated time ``at``."""
    sim = Simulation(sc, seed=seed)

    def probe() -> Generator[Any, Any, None]:
        yield sim.env.timeout(at)
        action(sim)

    sim.env.process(probe())
    sim.run()
    check_identity(measure(sim).gpu_seconds)
    return sim


def interrupted(sim: Simulation) -> list[tuple[int, str]]:
    return [(e.job, e.cause) for e in sim.log if isinstance(e, JobInterrupted)]


def four_jobs() -> dict[str, Any]:
    # Four 2-node jobs fill racks 0..3 of pod 0 (one rack each: the placer prefers one rack).
    return {"jobs": [{"gpus": 16, "work": "10h", "count": 4}]}


def test_single_homed_tor_failure_interrupts_exactly_the_jobs_in_its_rack() -> None:
    cfg = FaultConfig(kind="switch", rate="1/1000 switch-days", homing="single")
    sc = scenario(workload=four_jobs(), faults={"tor": cfg.model_dump(mode="json")})
    # Zero the rate so only the injected failure happens.
    sc = sc.model_copy(update={"faults": {}})

    def fail_rack_of_job2(sim: Simulation) -> None:
        node = int(sim.cluster.nodes_of(2)[0])
        rack = sim.topology.rack_of(node)
        owners = {sim.owner_of(n) for n in sim.topology.nodes_of_rack(rack)} - {-1}
        assert owners == {2}
        source = SwitchFaults("tor", cfg, sim.streams, sim.topology)
        source.apply(sim, rack, 4 * HOUR)

    sim = run_with(sc, 2 * HOUR, fail_rack_of_job2)
    assert interrupted(sim) == [(2, "tor")]
    failed = [e.node for e in sim.log if isinstance(e, NodeFailed)]
    assert len(failed) == 2


def test_tor_failure_shared_by_two_jobs_interrupts_both_once() -> None:
    # One-node jobs: two share each rack.
    work = {"jobs": [{"gpus": 8, "work": "10h", "count": 4}]}
    cfg = FaultConfig(kind="switch", rate=0.0, homing="single")

    def fail_rack0(sim: Simulation) -> None:
        owners = sorted({sim.owner_of(n) for n in sim.topology.nodes_of_rack(0)} - {-1})
        assert len(owners) == 2
        SwitchFaults("tor", cfg, sim.streams, sim.topology).apply(sim, 0, HOUR)
        sim.expected = owners  # type: ignore[attr-defined]

    sim = run_with(scenario(workload=work), HOUR, fail_rack0)
    assert sorted(j for j, _ in interrupted(sim)) == sim.expected  # type: ignore[attr-defined]


def test_a_dual_homed_rack_has_two_tors_each_failing_at_the_rate() -> None:
    """``rate`` is per switch: a dual-homed rack's two ToRs fail twice as often as one."""
    sim = Simulation(scenario())
    racks = sim.topology.n_racks
    for homing, switches in (("single", racks), ("dual", 2 * racks)):
        cfg = FaultConfig(kind="switch", rate="1/1000 switch-days", homing=homing)
        source = SwitchFaults("tor", cfg, sim.streams, sim.topology)
        assert source.n_switches == switches
        assert source.total_rate == pytest.approx(switches / 1000 / 86400)


def test_both_tors_of_a_dual_homed_rack_down_take_it_off_the_network() -> None:
    """The second ToR of a rack failing while the first is down fails the rack's nodes (the
    job is interrupted) until the first is back; a ToR already down does not fail again."""
    cfg = FaultConfig(kind="switch", rate=0.0, homing="dual", speed=0.5)

    def both(sim: Simulation) -> None:
        rack = sim.topology.rack_of(int(sim.cluster.nodes_of(0)[0]))
        source = SwitchFaults("tor", cfg, sim.streams, sim.topology)
        source.apply(sim, 2 * rack, 2 * HOUR, sim.env)
        source.apply(sim, 2 * rack, 5 * HOUR, sim.env)  # the same ToR again: nothing
        assert not any(isinstance(e, NodeFailed) for e in sim.log)
        source.apply(sim, 2 * rack + 1, 4 * HOUR, sim.env)  # the other: off until the first is back
        sim.rack = rack  # type: ignore[attr-defined]

    sim = run_with(scenario(checkpoint={"policy": "none"}), 3 * HOUR, both)
    assert interrupted(sim) == [(0, "tor")]
    failed = [e for e in sim.log if isinstance(e, NodeFailed)]
    rack_nodes = set(sim.topology.nodes_of_rack(sim.rack))  # type: ignore[attr-defined]
    assert {e.node for e in failed} == rack_nodes
    back = [e for e in sim.log if isinstance(e, NodeRepaired) and e.node in rack_nodes]
    assert [e.t for e in back] == [5 * HOUR] * len(rack_nodes)  # 3 h + the first's 2 h


def test_dual_homed_tor_failure_slows_instead_of_killing() -> None:
    # No checkpoints: the job's finish moves by exactly the lost speed x the window.
    sc = scenario(checkpoint={"policy": "none"})
    cfg = FaultConfig(kind="switch", rate=0.0, homing="dual", speed=0.5)

    def degrade(sim: Simulation) -> None:
        rack = sim.topology.rack_of(int(sim.cluster.nodes_of(0)[0]))
        SwitchFaults("tor", cfg, sim.streams, sim.topology).apply(sim, 2 * rack, 2 * HOUR, sim.env)

    sim = run_with(sc, 3 * HOUR, degrade)
    assert interrupted(sim) == []
    assert sim.end_s == pytest.approx(120 + 10 * HOUR + HOUR)  # 2 h at half speed = +1 h
    m = measure(sim)
    assert m.gpu_seconds["slowdown"] == pytest.approx(16 * HOUR)
    assert m.gpu_seconds["useful"] == pytest.approx(16 * 10 * HOUR)
    assert any(isinstance(e, SlowdownBegan) and e.scope == "rack" for e in sim.log)


@pytest.mark.parametrize("repair_h", [0.25, 4.0])
def test_evict_after_cordons_a_rack_whose_tor_stays_down(repair_h: float) -> None:
    """``evict_after: 30m``: a ToR still down then takes its rack out of service (the job
    recovers elsewhere) until the ToR's repair; a ToR back in time cordons nothing."""
    cfg = FaultConfig(kind="switch", rate=0.0, homing="dual", speed=0.5, evict_after="30m")

    def degrade(sim: Simulation) -> None:
        rack = sim.topology.rack_of(int(sim.cluster.nodes_of(0)[0]))
        source = SwitchFaults("tor", cfg, sim.streams, sim.topology)
        source.apply(sim, 2 * rack, repair_h * HOUR, sim.env)
        sim.rack = rack  # type: ignore[attr-defined]

    sim = run_with(scenario(checkpoint={"policy": "none"}), 3 * HOUR, degrade)
    rack_nodes = set(sim.topology.nodes_of_rack(sim.rack))  # type: ignore[attr-defined]
    failed = [e for e in sim.log if isinstance(e, NodeFailed)]
    if repair_h < 0.5:
        assert failed == [] and interrupted(sim) == []
        return
    assert {e.node for e in failed} == rack_nodes
    assert {e.t for e in failed} == {3.5 * HOUR}
    assert interrupted(sim) == [(0, "tor")]
    back = [e.t for e in sim.log if isinstance(e, NodeRepaired) and e.node in rack_nodes]
    assert back == [(3 + repair_h) * HOUR] * len(rack_nodes)


@pytest.mark.parametrize("where", [{"homing": "single"}, {"level": "pod", "homing": "dual"}])
def test_evict_after_is_for_dual_homed_tors_only(where: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="evict_after applies to dual-homed ToRs"):
        FaultConfig(kind="switch", rate=0.0, evict_after="30m", **where)  # type: ignore[arg-type]


def flap_scenario(length: float) -> Scenario:
    flap = {"kind": "flap", "rate": 0, "timeout": "30s"}
    return scenario(checkpoint={"policy": "none"}, faults={"flap": flap})


@pytest.mark.parametrize("length", [5.0, 29.0])
def test_flap_shorter_than_the_collective_timeout_interrupts_nobody(length: float) -> None:
    def flap(sim: Simulation) -> None:
        node = int(sim.cluster.nodes_of(0)[0])
        sim.slow("node", (node,), 0.0, "flap", length)  # what LinkFlaps does for a short flap

    sim = run_with(flap_scenario(length), HOUR, flap)
    assert interrupted(sim) == []
    assert sim.end_s == pytest.approx(120 + 10 * HOUR + length)


def test_flap_source_kills_only_when_longer_than_timeout() -> None:
    from clustersim.faults.flap import LinkFlaps

    sc = flap_scenario(0)
    outcomes = []
    for length in (10.0, 31.0):

        def flap(sim: Simulation, length: float = length) -> None:
            source = LinkFlaps("flap", sc.faults["flap"], sim.streams, sim.topology)
            node = int(sim.cluster.nodes_of(0)[0])
            if length > source.cfg.timeout:
                sim.fail_job_on(node, "flap")
            else:
                sim.slow("node", (node,), source.speed, "flap", length)

        outcomes.append(interrupted(run_with(sc, HOUR, flap)))
    assert outcomes == [[], [(0, "flap")]]


def test_flap_detection_defaults_to_the_timeout() -> None:
    sim = Simulation(flap_scenario(0))
    assert sim.detection_s("flap") == 30.0


def test_maintenance_drains_with_a_checkpoint_and_loses_nothing() -> None:
    maint = {
        "kind": "maintenance",
        "every": "1000d",
        "duration": {"distribution": "fixed", "mean": "10m"},
    }
    sc = scenario(faults={"fw": maint})

    def roll(sim: Simulation) -> None:
        sim.maintain(list(range(sim.topology.n_nodes)), "fw", 600.0)

    sim = run_with(sc, 2.5 * HOUR, roll)
    hits = [e for e in sim.log if isinstance(e, JobInterrupted)]
    assert [(e.cause, e.planned, e.lost_work_s) for e in hits] == [("fw", True, 0.0)]
    drained = [e for e in sim.log if isinstance(e, RunEnded) and e.reason == "drained"]
    assert len(drained) == 1 and drained[0].lost_s == 0.0
    m = measure(sim)
    assert m.summary["interruptions_planned"] == 1
    assert m.summary["interruptions_unexpected"] == 0
    assert m.gpu_seconds["lost"] == 0.0
    # No detection for planned work; the nodes come back after 10 minutes, then init + load.
    assert sim.detection_s("fw") == 0.0


def test_maintenance_rollout_count_matches_rate() -> None:
    maint = {"kind": "maintenance", "every": "1d", "arrivals": "periodic"}
    sc = scenario(
        workload={"jobs": [{"gpus": 16, "work": "30d"}]},
        faults={"fw": maint},
        run={"horizon": "20d"},
    )
    sim = Simulation(sc, seed=3)
    sim.run()
    planned = [e for e in sim.log if isinstance(e, JobInterrupted) and e.planned]
    assert len(planned) == 20


def test_sdc_rolls_back_past_checkpoints_taken_after_the_corruption() -> None:
    # Corruption at 2.5 h of wall time (after start-up), found 2 h later: checkpoints at
    # 1 h, 2 h of work are good; those at 3 h, 4 h are corrupt; roll back to 2 h of work.
    sc = scenario(checkpoint={"policy": "fixed", "interval": "1h", "stall": 0})

    def corrupt(sim: Simulation) -> None:
        node = int(sim.cluster.nodes_of(0)[0])
        sim.corrupt(node, "sdc", 2 * HOUR, HOUR)

    sim = run_with(sc, 120 + 2.5 * HOUR, corrupt)
    hits = [e for e in sim.log if isinstance(e, JobInterrupted)]
    assert len(hits) == 1 and hits[0].cause == "sdc"
    assert hits[0].t == pytest.approx(120 + 4.5 * HOUR)
    assert hits[0].lost_work_s == pytest.approx(2.5 * HOUR)  # 4.5 h of work back to 2 h
    first_end = next(e for e in sim.log if isinstance(e, RunEnded))
    assert first_end.committed_s == pytest.approx(2 * HOUR)


def contention_scenario(n_jobs: int) -> Scenario:
    return scenario(
        cluster={"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": 4, "pods": 2},
        workload={"jobs": [{"gpus": 32, "work": "4h", "checkpoint_bytes": "1TB", "count": n_jobs}]},
        storage={"write_bandwidth": "1GB/s", "read_bandwidth": "1GB/s", "contention": True},
        checkpoint={"policy": "fixed", "interval": "1h"},
    )


def test_storage_contention_two_jobs_checkpointing_together_stall_longer() -> None:
    alone = Simulation(contention_scenario(1))
    alone.run()
    both = Simulation(contention_scenario(2))
    both.run()
    stall_alone = measure(alone).jobs[0].stall_s
    m = measure(both)
    check_identity(m.gpu_seconds)
    check_identity(measure(alone).gpu_seconds)
    per_job = [
        sum(e.stall_s for e in both.log if isinstance(e, RunEnded) and e.job == j) for j in (0, 1)
    ]
    per_job_alone = sum(e.stall_s for e in alone.log if isinstance(e, RunEnded))
    # 1 TB at 1 GB/s = 1000 s alone; both write at once and share: 2000 s each.
    assert stall_alone == pytest.approx(1000)  # the nominal stall: 1 TB at 1 GB/s
    assert per_job_alone == pytest.approx(3 * 1000)
    assert per_job == pytest.approx([3 * 2000, 3 * 2000])


def test_storage_outage_delays_checkpoint_writes() -> None:
    sc = contention_scenario(1)
    sim = run_with(sc, HOUR + 500, lambda s: s.storage_window(0.0, "outage", 600.0))
    stall = sum(e.stall_s for e in sim.log if isinstance(e, RunEnded))
    assert stall == pytest.approx(3 * 1000 + 600)


def lemon_scenario(quarantine: bool) -> Scenario:
    lemons: dict[str, Any] = {"fraction": 0.05, "multiplier": 10}
    if quarantine:
        lemons["quarantine"] = {"failures": 2, "window": "30d"}
    return scenario(
        cluster={"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": 50, "pods": 2},
        workload={"jobs": [{"gpus": 8, "work": "1h"}]},
        faults={"hw": {"rate": "50/1000 node-days", "repair": {"mean": "1h"}}},
        lemons=lemons,
        run={"horizon": "200d", "stop_when_done": False, "check_invariants": False},
    )


def test_lemons_take_their_multiplied_share_of_failures() -> None:
    sim = Simulation(lemon_scenario(False), seed=1)
    sim.run()
    lemons = set(sim.lemon_nodes.tolist())
    assert len(lemons) == 10
    failures = [e.node for e in sim.log if isinstance(e, NodeFailed)]
    share = sum(n in lemons for n in failures) / len(failures)
    expected = 10 * 0.05 / (10 * 0.05 + 0.95)  # 34.5 %
    n = len(failures)
    assert abs(share - expected) < 4 * (expected * (1 - expected) / n) ** 0.5
    # The cluster-average rate is preserved: 200 nodes x 200 d x 0.05/day = 2000 draws.
    assert 1800 < n < 2200


def test_quarantine_retires_nodes_after_k_failures() -> None:
    sim = Simulation(lemon_scenario(True), seed=1)
    sim.run()
    q = [e for e in sim.log if isinstance(e, NodeQuarantined)]
    assert q and all(e.failures >= 2 for e in q)
    lemons = set(sim.lemon_nodes.tolist())
    assert sum(e.node in lemons for e in q) >= 0.8 * len(lemons)
    # A quarantined node never comes back.
    for e in q:
        assert not sim.is_up(e.node)


def test_weibull_renewal_keeps_the_mean_rate() -> None:
    sc = scenario(
        cluster={"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": 50, "pods": 2},
        workload={"jobs": [{"gpus": 8, "work": "1h"}]},
        faults={
            "hw": {
                "rate": "20/1000 node-days",
                "distribution": "weibull",
                "shape": 2.0,
                "repair": {"mean": "1m"},
            }
        },
        run={"horizon": "500d", "stop_when_done": False},
    )
    sim = Simulation(sc, seed=2)
    sim.run()
    n = sum(isinstance(e, NodeFailed) for e in sim.log)
    expected = 200 * 500 * 0.02  # 2000; shape 2 renewal counts are less variable than Poisson
    assert abs(n - expected) < 4 * expected**0.5


def test_limited_repair_crew_serialises_repairs() -> None:
    sc = scenario(
        workload={"jobs": [{"gpus": 8, "work": "1h"}]},
        repairs={"crews": 1},
        run={"horizon": "2d", "stop_when_done": False},
    )

    def fail_three(sim: Simulation) -> None:
        for node in (10, 11, 12):
            sim.fail_nodes((node,), "hw", 3600.0)

    sim = run_with(sc, 2 * HOUR, fail_three)
    from clustersim.events import NodeRepaired

    back = sorted(e.t for e in sim.log if isinstance(e, NodeRepaired))
    assert back == pytest.approx([3 * HOUR, 4 * HOUR, 5 * HOUR])


def test_straggler_eviction_replaces_the_slow_node() -> None:
    straggler = {
        "kind": "straggler",
        "rate": 0,
        "speed": 0.5,
        "evict_after": "10m",
        "duration": {"distribution": "fixed", "mean": "5h"},
    }
    sc = scenario(faults={"slow": straggler}, checkpoint={"policy": "none"})

    def slow(sim: Simulation) -> None:
        node = int(sim.cluster.nodes_of(0)[0])
        token = sim.slow("node", (node,), 0.5, "slow", 5 * HOUR)

        def evict(_: Any) -> None:
            sim.unslow(token)
            sim.fail_nodes((node,), "slow", HOUR)

        sim.env.timeout(600).callbacks.append(evict)

    sim = run_with(sc, HOUR, slow)
    hits = interrupted(sim)
    assert hits == [(0, "slow")]
    m = measure(sim)
    assert m.gpu_seconds["slowdown"] == pytest.approx(16 * 300)


def test_correlated_failures_take_a_whole_domain() -> None:
    sc = scenario(
        workload={"jobs": [{"gpus": 8, "work": "1h"}]},
        faults={"psu": {"rate": "50/1000 node-days", "correlated": {"share": 1.0, "nodes": 2}}},
        run={"horizon": "30d", "stop_when_done": False},
    )
    sim = Simulation(sc, seed=0)
    sim.run()
    fails = [e for e in sim.log if isinstance(e, NodeFailed)]
    assert fails
    by_time: dict[float, list[int]] = {}
    for e in fails:
        by_time.setdefault(e.t, []).append(e.node)
    assert any(len(v) == 2 and v[0] // 2 == v[1] // 2 for v in by_time.values())


def test_kind_specific_fields_are_rejected_elsewhere() -> None:
    with pytest.raises(ValueError, match="homing does not apply to kind 'poisson'"):
        FaultConfig(rate=1e-9, homing="dual")
    with pytest.raises(ValueError, match="needs a rate"):
        FaultConfig(kind="flap")
    with pytest.raises(ValueError, match="needs 'every'"):
        FaultConfig(kind="maintenance")


def test_gpu_rates_scale_by_gpus_per_node() -> None:
    f = FaultConfig(per="gpu", rate="1/1000 gpu-days")
    assert f.node_rate(8) == pytest.approx(8 / 1000 / 86400)


def test_time_series_integrates_to_the_gpu_seconds() -> None:
    sim = Simulation(lemon_scenario(True), seed=4)
    sim.run()
    m = measure(sim)
    ts = m.timeseries
    starts = ts["t_s"]
    ends = [*starts[1:], sim.end_s]
    widths = [b - a for a, b in zip(starts, ends, strict=True)]

    def integral(*keys: str) -> float:
        return sum(w * sum(ts[k][i] for k in keys) for i, w in enumerate(widths))

    gs = m.gpu_seconds
    assert integral("gpus_allocated") == pytest.approx(gs["allocated_measured"], rel=1e-9)
    assert integral("gpus_free", "gpus_spare") == pytest.approx(gs["idle"], rel=1e-9)
    down = integral("gpus_in_repair", "gpus_maintenance", "gpus_quarantined")
    assert down == pytest.approx(gs["down"], rel=1e-9)
    assert max(ts["gpus_quarantined"]) > 0
    total = sim.topology.n_gpus
    for i in range(len(starts)):
        assert sum(ts[k][i] for k in ts if k != "t_s") == pytest.approx(total)


def test_default_lemons_take_about_ten_times_their_share() -> None:
    # Defaults: 1.2 % of nodes at 10x the rate -> 10.8 % of failures (9x their share).
    sc = scenario(
        cluster={"gpus_per_node": 8, "nodes_per_rack": 2, "racks_per_pod": 192, "pods": 8},
        workload={"jobs": [{"gpus": 8, "work": "1h"}]},
        faults={"hw": {"rate": "20/1000 node-days", "repair": {"mean": "1h"}}},
        lemons={},
        run={"horizon": "60d", "stop_when_done": False},
    )
    sim = Simulation(sc, seed=5)
    sim.run()
    lemons = set(sim.lemon_nodes.tolist())
    assert len(lemons) == round(0.012 * 3072)
    failures = [e.node for e in sim.log if isinstance(e, NodeFailed)]
    share = sum(n in lemons for n in failures) / len(failures)
    expected = 10 * 0.012 / (10 * 0.012 + 0.988)
    assert abs(share - expected) < 4 * (expected * (1 - expected) / len(failures)) ** 0.5
    assert share / 0.012 > 8


def in_memory_scenario() -> Scenario:
    return scenario(
        workload={"jobs": [{"gpus": 32, "work": "10h", "checkpoint_bytes": "1TB"}]},
        storage={"write_bandwidth": "1GB/s", "read_bandwidth": "1GB/s"},
        checkpoint={
            "policy": "fixed",
            "interval": "1h",
            "stall": "10s",
            "in_memory": True,
            "copy_bandwidth_per_gpu": "1GB/s",
        },
        restart={"detection": "60s", "init": "120s", "init_per_gpu": 0},
    )


@pytest.mark.parametrize(("nodes", "load_s"), [(1, 1e12 / 32e9), (2, 1000.0)])
def test_in_memory_checkpoint_restores_from_a_peer_unless_two_nodes_die(
    nodes: int, load_s: float
) -> None:
    from clustersim.events import RecoveryEnded

    def fail(sim: Simulation) -> None:
        sim.fail_nodes(sim.cluster.nodes_of(0)[:nodes], "hw", HOUR)

    sim = run_with(in_memory_scenario(), 2.5 * HOUR, fail)
    rec = [e for e in sim.log if isinstance(e, RecoveryEnded) and e.cause == "hw"]
    assert len(rec) == 1
    # load GPU-seconds / GPUs = load time (32 GPUs, 1 TB at 32 GB/s from the peers' memory)
    assert rec[0].load_gpu_s / 32 == pytest.approx(load_s)


def test_a_slowdown_during_a_checkpoint_write_does_not_restart_it() -> None:
    # 1 TB at 1 GB/s takes 1,000 s; flaps during the first write must not restart it.
    def flaps(sim: Simulation) -> None:
        node = int(sim.cluster.nodes_of(0)[0])
        for k in range(5):
            sim.env.timeout(100.0 * k).callbacks.append(
                lambda _, n=node: sim.slow("node", (n,), 0.0, "flap", 1.0)
            )

    sim = run_with(contention_scenario(1), 120 + HOUR + 10, flaps)
    stall = sum(e.stall_s for e in sim.log if isinstance(e, RunEnded))
    assert stall == pytest.approx(3 * 1000)


def test_store_completes_a_write_whose_rest_is_below_clock_resolution() -> None:
    # Regression (found by the taxonomy fuzzing): late in a run, 0.025 bytes left at 10 GB/s
    # is 2.5e-12 s, below the float resolution of the clock at t = 33,080 s; the store used
    # to re-arm a zero-length timer forever.
    import simpy

    from clustersim.storage import SharedStore

    env = simpy.Environment(initial_time=33080.13308925794)
    store = SharedStore(env, 1e10)
    done = store.write(0, 1e6)
    store.writers[0].left = 0.025262124952860177
    store.set_factor(1.0)  # re-arms the timer from the doctored state
    for _ in range(1000):  # bounded: the bug was an endless loop at one instant
        if done.processed or env.peek() == float("inf"):
            break
        env.step()
    assert done.processed


def test_failure_during_a_contended_write_cancels_it_and_the_other_writer_speeds_up() -> None:
    # Both jobs start training after their init and begin writing 1 TB an hour later, sharing
    # 1 GB/s. Job 0 fails 500 s into the write: the write is abandoned (250 GB written, nothing
    # committed), and job 1 writes its remaining 750 GB alone at the full 1 GB/s, so its first
    # checkpoint completes 500 + 750 s after the writes began (not 2,000 s).
    sc = contention_scenario(2)
    init = Simulation(sc).jobs[0].init_s
    began = init + HOUR
    seen: list[tuple[float, float]] = []

    def fail_then_watch(s: Simulation) -> None:
        s.fail_nodes((s.cluster.nodes_of(0)[0],), "gpu", HOUR)
        # job 1's checkpoints so far, read just after its first write (epochs go at finish)
        probe = s.env.timeout(800)
        probe.callbacks.append(lambda _: seen.extend(s.jobs[1].epochs[-1].checkpoints or []))

    sim = run_with(sc, began + 500, fail_then_watch)
    first = next(e for e in sim.log if isinstance(e, RunEnded) and e.job == 0)
    assert first.reason == "interrupted"
    assert first.checkpoints == 0
    assert first.stall_s == pytest.approx(500)
    assert first.lost_s == pytest.approx(HOUR)  # no checkpoint had completed
    t_done, committed = seen[0]
    assert t_done == pytest.approx(began + 500 + 750)
    assert committed == pytest.approx(HOUR)


def test_a_slowdown_during_a_compute_segment_stretches_only_that_segment() -> None:
    # Checkpoints one by one (contention on): 4 h of work, a 1 TB checkpoint (1,000 s at
    # 1 GB/s) every hour. Half speed from 30 min into the first segment, for 40 min: the
    # segment does 1,800 s of work, then 1,200 s in 2,400 s, then its last 600 s at full
    # speed, so everything after it comes 1,200 s later; the writes are not slowed.
    sc = contention_scenario(1)
    init = Simulation(sc).jobs[0].init_s

    def slow(s: Simulation) -> None:
        s.slow("node", tuple(s.cluster.nodes_of(0)), 0.5, "slow", 2400.0)

    sim = run_with(sc, init + 1800.0, slow)
    (end,) = [e for e in sim.log if isinstance(e, RunEnded)]
    assert end.reason == "finished" and end.checkpoints == 3
    assert end.stall_s == pytest.approx(3 * 1000)
    assert end.slow_s == pytest.approx(1200)
    assert end.t == pytest.approx(init + 4 * HOUR + 3 * 1000 + 1200)

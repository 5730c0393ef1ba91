"""GPU sharing (``cluster.sharing: gpu``): slots on shared nodes, packed best-fit.

The allocator's choices are checked against a brute-force rule written from the definition
(docs/scheduling.md, "GPU sharing"), and whole runs against the GPU-seconds identity.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clustersim.cluster import SHARED, Cluster
from clustersim.config import Scenario
from clustersim.experiment import run_replication
from clustersim.topology import Topology

TOPO = Topology(gpus_per_node=8, nodes_per_rack=4, racks_per_pod=1, pods=1)


def test_a_one_gpu_job_holds_one_gpu() -> None:
    def held(sharing: str) -> float:
        sc = Scenario.model_validate(
            {
                "cluster": {
                    "gpus_per_node": 8,
                    "nodes_per_rack": 2,
                    "racks_per_pod": 1,
                    "pods": 1,
                    "sharing": sharing,
                },
                "workload": {"jobs": [{"name": "a", "gpus": 1, "work": "1h"}]},
                "checkpoint": {"policy": "none"},
                "restart": {"init": 0, "init_per_gpu": 0},
                "run": {"horizon": "2h"},
            }
        )
        metrics, _ = run_replication(sc, 0, 0)
        gs = metrics.gpu_seconds
        parts = ("useful", "checkpoint", "recovery", "lost", "slowdown", "idle", "down")
        assert sum(gs[k] for k in parts) == pytest.approx(gs["total"], rel=1e-12)
        assert gs["allocated"] == pytest.approx(gs["allocated_measured"], rel=1e-12)
        assert metrics.jobs[0].gpus_held == (1 if sharing == "gpu" else 8)
        return gs["allocated_measured"]

    assert held("gpu") == pytest.approx(3600.0)
    assert held("node") == pytest.approx(8 * 3600.0)


def test_best_fit_fewest_free_then_first_shared() -> None:
    c = Cluster(TOPO, placement="first-fit", share_gpus=True)
    assert c.allocate(0, 1).nodes == (0,)  # a whole-node job on node 0
    assert c.allocate_slot(1, 5).nodes == (1,)  # node 1 becomes shared first: 3 free
    c.release(0)  # node 0 is free again
    assert c.allocate_slot(2, 5).nodes == (0,)  # 3 free on node 1 is too few: node 0, 3 free
    # Both shared nodes have 3 free: the tie goes to node 1, shared before node 0.
    assert c.allocate_slot(3, 2).nodes == (1,)
    assert c.shared_nodes() == ((1, 1), (0, 3))
    assert c.free_slots() == (0, 1, 0, 1, 0, 0, 0, 0)
    assert c.slack_gpus == 4
    c.check()
    for job in (1, 3):
        c.release(job)
    assert c.n_shared == 1 and c.n_free == 3  # node 1 went back with its last tenant
    c.check()


def test_a_failed_shared_node_takes_every_tenant() -> None:
    c = Cluster(TOPO, placement="first-fit", share_gpus=True)
    c.allocate_slot(1, 3)
    c.allocate_slot(2, 2)
    assert c.jobs_on(0) == (1, 2)
    assert c.fail(0) == SHARED
    assert c.nodes_of(1) == () and c.nodes_of(2) == () and c.slack_gpus == 0
    c.check()
    assert c.take_replacements(1, 1) == (1,)  # a new slot on a free node (never a spare)
    assert c.slot_gpus(1) == 3 and c.jobs_on(1) == (1,)
    c.release(2)  # its slot is gone: nothing to give back
    c.check()


def test_conservative_backfill_is_refused_with_sharing() -> None:
    with pytest.raises(ValueError, match="conservative-backfill"):
        Scenario.model_validate(
            {
                "cluster": {"sharing": "gpu"},
                "workload": {"jobs": [{"gpus": 1, "work": "1h"}]},
                "scheduler": {"policy": "conservative-backfill"},
            }
        )


def _best_fit(free: dict[int, int], order: list[int], gpus: int) -> int | None:
    """The definition: fewest free GPUs that hold ``gpus``; ties to the first shared."""
    fitting = [node for node in order if free[node] >= gpus]
    if not fitting:
        return None
    return min(fitting, key=lambda node: (free[node], order.index(node)))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("asrfp"), st.integers(1, 7), st.integers(0, 30)), max_size=60
    )
)
def test_allocator_matches_the_definition(ops: list[tuple[str, int, int]]) -> None:
    c = Cluster(TOPO, spare_nodes=1, share_gpus=True)
    free: dict[int, int] = {}  # shared node -> free GPUs, per the model
    order: list[int] = []  # shared nodes in the order they became shared
    slots: dict[int, tuple[int, int]] = {}  # job -> (node or -1, gpus)
    next_id = 0
    for op, gpus, pick in ops:
        if op == "a":  # a new sub-node job
            expect = _best_fit(free, order, gpus)
            placed = c.allocate_slot(next_id, gpus)
            if expect is None:
                if placed is None:
                    assert c.n_free == 0
                    continue
                node = placed.nodes[0]
                assert node not in free
                free[node] = 8
                order.append(node)
            else:
                assert placed is not None and placed.nodes == (expect,)
                node = expect
            free[node] -= gpus
            slots[next_id] = (node, gpus)
            next_id += 1
        elif op == "s" and c.n_free:  # a whole-node job
            c.allocate(next_id, 1)
            next_id += 1
        elif op in "rf" and slots:
            job = sorted(slots)[pick % len(slots)]
            node, g = slots[job]
            if op == "r":
                c.release(job)
                del slots[job]
                if node >= 0:
                    free[node] += g
                    if free[node] == 8:
                        del free[node]
                        order.remove(node)
            elif node >= 0:
                tenants = [j for j, (n, _) in slots.items() if n == node]
                assert c.jobs_on(node) == tuple(sorted(tenants))
                c.fail(node)
                del free[node]
                order.remove(node)
                for j in tenants:
                    slots[j] = (-1, slots[j][1])
                c.repair(node)
        elif op == "p" and slots:  # a job that lost its node gets a new slot
            lost = [j for j, (n, _) in slots.items() if n < 0]
            if lost:
                job = lost[pick % len(lost)]
                g = slots[job][1]
                expect = _best_fit(free, order, g)
                got = c.take_replacements(job, 1)
                if expect is not None:
                    assert got == (expect,)
                if got:
                    node = got[0]
                    if node not in free:
                        free[node] = 8
                        order.append(node)
                    free[node] -= g
                    slots[job] = (node, g)
        c.check()
        assert dict(c.shared_nodes()) == free
        assert [n for n, _ in c.shared_nodes()] == order
        assert c.slack_gpus == sum(free.values())


def test_a_shared_node_goes_to_maintenance_after_its_last_tenant_drains() -> None:
    from clustersim.engine import Simulation
    from clustersim.events import NodeFailed, ReplacementTaken, RunEnded, SlotsLost

    # Two 4-GPU jobs share node 0; their drains differ (checkpoint stalls of 60 s and 300 s
    # from checkpoint sizes at 1 GB/s). Maintenance of node 0 at t = 1000 s must wait for both.
    sc = Scenario.model_validate(
        {
            "cluster": {
                "gpus_per_node": 8,
                "nodes_per_rack": 2,
                "racks_per_pod": 1,
                "pods": 1,
                "sharing": "gpu",
            },
            "storage": {"write_bandwidth": "1GB/s", "read_bandwidth": "1GB/s"},
            "workload": {
                "jobs": [
                    {"name": "a", "gpus": 4, "work": "10h", "checkpoint_bytes": 60e9},
                    {"name": "b", "gpus": 4, "work": "10h", "checkpoint_bytes": 300e9},
                ]
            },
            "checkpoint": {"policy": "fixed", "interval": "1h"},
            "restart": {"init": 0, "init_per_gpu": 0, "detection": 0},
            "run": {"horizon": "1d"},
        }
    )
    sim = Simulation(sc, replication=0, seed=0)
    assert sim.cluster.share_gpus
    sim.env.process(_maintain_at(sim, 1000.0))
    sim.run(None)
    drained = {
        ev.job: ev.t for ev in sim.log if isinstance(ev, RunEnded) and ev.reason == "drained"
    }
    assert drained == {0: pytest.approx(1060.0), 1: pytest.approx(1300.0)}
    down = [ev for ev in sim.log if isinstance(ev, NodeFailed) and ev.node == 0]
    assert [(ev.t, ev.job) for ev in down] == [(pytest.approx(1300.0), -2)]
    moved = [ev for ev in sim.log if isinstance(ev, ReplacementTaken)]
    # Each drained job recovers on a new slot: node 1, the only other node.
    assert [(ev.t, ev.job, ev.nodes) for ev in moved] == [
        (pytest.approx(1060.0), 0, (1,)),
        (pytest.approx(1300.0), 1, (1,)),
    ]
    lost = [ev for ev in sim.log if isinstance(ev, SlotsLost)]
    assert [(ev.t, ev.node, ev.jobs) for ev in lost] == [
        (pytest.approx(1060.0), 0, (0,)),
        (pytest.approx(1300.0), 0, (1,)),
    ]


def _maintain_at(sim: object, t: float):  # type: ignore[no-untyped-def]
    yield sim.env.timeout(t)  # type: ignore[attr-defined]
    sim.fleet.maintain([0], "maintenance", 600.0)  # type: ignore[attr-defined]

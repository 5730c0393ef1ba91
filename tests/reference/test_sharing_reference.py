"""Differential test of GPU-level allocation: the engine starts every job when ``minishare`` does.

The reference (``minishare``) is written from the specification of ``cluster.sharing: gpu``
(best-fit placement of sub-node jobs on shared nodes, ties to the node shared first; whole
nodes only from FREE nodes) and the policies' definitions, not from the engine's code. The
engine runs the same workload on one rack of N nodes of G GPUs with faults off, zero
start-up and checkpoint costs and exact estimates, so a job runs for exactly its runtime and
the start times are the policy's (and placement's) decisions alone. Times are integers, so
ties are exact. Both sides order simultaneous events the same way: at one instant, all
completions, then all arrivals, then one scheduling pass.

With ``cluster.sharing: node`` (the default) every job holds whole nodes: the engine must agree
with ``minishare`` given every job rounded up to whole nodes, and with ``minisched`` given the
job's node count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from minisched import simulate as simulate_nodes
from minishare import simulate
from strategies import sharing_workloads

from clustersim.config import Scenario
from clustersim.engine import Simulation

POLICIES = ("fifo", "easy-backfill", "sjf")
"""The policies whose sharing decisions are pinned here."""
AT_LEAST_1000 = settings(max_examples=max(1000, settings().max_examples), deadline=None)
"""1,000 workloads per policy in every profile; more where the profile asks (``fuzz``)."""

Jobs = Sequence[tuple[int, int, int]]


def sharing_scenario(
    jobs: Jobs, gpus_per_node: int, n_nodes: int, policy: str, sharing: str | None
) -> Scenario:
    """One rack of ``n_nodes`` nodes of ``gpus_per_node`` GPUs running ``jobs`` with no costs.

    ``jobs`` are ``(submit_s, runtime_s, gpus)``; estimates are exact (no ``estimate``
    given). ``sharing=None`` leaves ``cluster.sharing`` at its default.
    """
    cluster: dict[str, object] = {
        "gpus_per_node": gpus_per_node,
        "nodes_per_rack": n_nodes,
        "racks_per_pod": 1,
        "pods": 1,
        "oversubscription": 1,
    }
    if sharing is not None:
        cluster["sharing"] = sharing
    specs = [
        {"name": f"j{i}", "gpus": gpus, "work": runtime, "submit": submit}
        for i, (submit, runtime, gpus) in enumerate(jobs)
    ]
    return Scenario.model_validate(
        {
            "cluster": cluster,
            "workload": {"jobs": specs},
            "checkpoint": {"policy": "none"},
            "restart": {"detection": 0, "init": 0, "init_per_gpu": 0, "load": 0},
            "scheduler": {"policy": policy, "estimates": {"model": "requested"}},
            "run": {"horizon": 1e9},
        }
    )


def engine_starts(
    jobs: Jobs, gpus_per_node: int, n_nodes: int, policy: str, sharing: str | None = "gpu"
) -> list[float | None]:
    """First start time of each job as the engine simulates it (``None``: never started)."""
    scenario = sharing_scenario(jobs, gpus_per_node, n_nodes, policy, sharing)
    sim = Simulation(scenario, replication=0, seed=0)
    sim.run(None)
    by_name = {job.name: job.first_start_s for job in sim.jobs}
    return never_nan([by_name[f"j{i}"] for i in range(len(jobs))])


def never_nan(starts: Sequence[float]) -> list[float | None]:
    """Start times with ``None`` for a job never started (so that lists compare equal)."""
    return [None if math.isnan(t) else t for t in starts]


def reference(jobs: Jobs, gpus_per_node: int, n_nodes: int, policy: str) -> list[float | None]:
    return never_nan(simulate(jobs, n_nodes, gpus_per_node, policy))


def whole_nodes(gpus: int, gpus_per_node: int) -> int:
    return -(-gpus // gpus_per_node)


@pytest.mark.parametrize("policy", POLICIES)
@AT_LEAST_1000
@given(workload=sharing_workloads())
def test_with_gpu_sharing_the_engine_starts_every_job_when_the_reference_does(
    policy: str, workload: tuple[int, int, list[tuple[int, int, int]]]
) -> None:
    gpus_per_node, n_nodes, jobs = workload
    engine = engine_starts(jobs, gpus_per_node, n_nodes, policy)
    assert engine == reference(jobs, gpus_per_node, n_nodes, policy), workload


@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=max(300, settings().max_examples), deadline=None)
@given(workload=sharing_workloads())
def test_with_node_sharing_every_job_holds_whole_nodes(
    policy: str, workload: tuple[int, int, list[tuple[int, int, int]]]
) -> None:
    # The default (no cluster.sharing given) is whole nodes: a job of g GPUs takes
    # ceil(g/G) nodes. Both references must agree on that, and the engine with them.
    gpus_per_node, n_nodes, jobs = workload
    rounded = [(s, r, whole_nodes(g, gpus_per_node) * gpus_per_node) for s, r, g in jobs]
    expected = reference(rounded, gpus_per_node, n_nodes, policy)
    by_nodes = [(s, r, whole_nodes(g, gpus_per_node), r) for s, r, g in jobs]
    assert never_nan(simulate_nodes(by_nodes, n_nodes, policy)) == expected, workload
    engine = engine_starts(jobs, gpus_per_node, n_nodes, policy, sharing=None)
    assert engine == expected, workload


# --------------------------------------------------------------------------- hand-worked cases
# Each case is checked on the reference (so that it is right independently of the engine) and
# on the engine. Jobs are (submit_s, runtime_s, gpus); node names n0, n1, ... are for reading.

BEST_FIT_TIE = [(0, 10, 3), (0, 100, 3), (1, 100, 1), (2, 5, 4)]
"""G=4, N=2. t=0: job 0 (3 GPUs) makes n0 shared first, job 1 (3 GPUs) makes n1 shared
second; both have 1 GPU free. t=1: job 2 (1 GPU) ties on free GPUs and goes to n0, shared
earliest. t=10: job 0 ends, but n0 still holds job 2 (to t=101). Job 3 (a whole node) waits
for n1, FREE when job 1 ends at t=100. (Job 2 on n1 would have let it start at t=10.)
Both policies: [0, 0, 1, 100]."""

RANK_LOST = [(0, 10, 3), (0, 100, 3), (11, 100, 3), (12, 200, 1), (13, 5, 4)]
"""G=4, N=2. t=0: jobs 0 and 1 (3 GPUs each) share n0 (first) and n1 (second). t=10: job 0
ends, n0 is FREE and loses its rank. t=11: job 2 (3 GPUs) does not fit on n1: n0 becomes
shared again, now ranking after n1. t=12: job 3 (1 GPU) ties (1 free on each) and goes to
n1, shared earlier. Job 4 (a whole node) gets n0 when job 2 ends at t=111 (n1 holds job 3
to t=212). (Had n0 kept its first rank, job 3 would sit on it and job 4 start at t=100.)
Both policies: [0, 0, 11, 12, 111]."""

SHARED_NODE_FREES_FOR_HEAD = [(0, 50, 4), (0, 20, 2), (1, 10, 4), (2, 30, 2), (2, 18, 1)]
"""G=4, N=2. t=0: job 0 takes n0 whole; job 1 (2 GPUs) shares n1. t=1: job 2 (a whole
node) is the head: n1 is shared, so it waits until n1 is FREE, when job 1 ends: shadow
t=20. t=2, EASY: job 3 (2 GPUs, ends t=32) fits on n1 but would keep n1 shared at t=20, so
it is refused; job 4 (1 GPU) ends at t=20, by the shadow time, and is backfilled onto n1.
t=20: jobs 1 and 4 end, n1 is FREE, job 2 starts. t=30: job 2 ends; job 3 starts.
EASY: [0, 0, 20, 30, 2]. FIFO starts jobs 3 and 4 together at t=30: [0, 0, 20, 30, 30]."""

BACKFILL_BY_BEST_FIT = [(0, 50, 4), (0, 20, 2), (0, 100, 3), (1, 10, 4), (2, 100, 1), (2, 100, 2)]
"""G=4, N=3. t=0: job 0 takes n0 whole; job 1 (2 GPUs) shares n1 (2 free); job 2 (3 GPUs)
does not fit there and shares n2 (1 free). t=1: job 3 (a whole node) is the head, shadow
t=20 (n1 FREE when job 1 ends). t=2, EASY: job 4 (1 GPU, ends t=102) goes best-fit to n2
(1 free, fewer than n1's 2), so n1 is still FREE at t=20: backfilled by rule (b). Job 5
(2 GPUs, ends t=102) only fits on n1 and would keep it shared at t=20: refused. t=20: job 3
takes n1; job 5 waits for it to end at t=30. EASY: [0, 0, 0, 20, 2, 30]. FIFO: job 4 starts
behind the head at t=20 (on n2), job 5 at t=30: [0, 0, 0, 20, 20, 30]."""

TOO_BIG_IS_SKIPPED = [(0, 10, 9), (0, 10, 3), (0, 10, 2), (1, 10, 8)]
"""G=4, N=2. Job 0 (9 GPUs = 3 nodes) can never run and blocks nobody. t=0: job 1 (3 GPUs)
shares n0; job 2 (2 GPUs) does not fit beside it (1 free) and shares n1. t=1: job 3 (the
whole machine) waits until both end at t=10. Both policies: [nan, 0, 0, 10]."""

CASES = [
    ("fifo", BEST_FIT_TIE, 4, 2, [0, 0, 1, 100]),
    ("easy-backfill", BEST_FIT_TIE, 4, 2, [0, 0, 1, 100]),
    ("fifo", RANK_LOST, 4, 2, [0, 0, 11, 12, 111]),
    ("easy-backfill", RANK_LOST, 4, 2, [0, 0, 11, 12, 111]),
    ("easy-backfill", SHARED_NODE_FREES_FOR_HEAD, 4, 2, [0, 0, 20, 30, 2]),
    ("fifo", SHARED_NODE_FREES_FOR_HEAD, 4, 2, [0, 0, 20, 30, 30]),
    ("easy-backfill", BACKFILL_BY_BEST_FIT, 4, 3, [0, 0, 0, 20, 2, 30]),
    ("fifo", BACKFILL_BY_BEST_FIT, 4, 3, [0, 0, 0, 20, 20, 30]),
    ("fifo", TOO_BIG_IS_SKIPPED, 4, 2, [None, 0, 0, 10]),
    ("easy-backfill", TOO_BIG_IS_SKIPPED, 4, 2, [None, 0, 0, 10]),
]


@pytest.mark.parametrize(("policy", "jobs", "gpus_per_node", "n_nodes", "expected"), CASES)
def test_hand_worked_cases(
    policy: str, jobs: Jobs, gpus_per_node: int, n_nodes: int, expected: list[float | None]
) -> None:
    assert reference(jobs, gpus_per_node, n_nodes, policy) == expected
    assert engine_starts(jobs, gpus_per_node, n_nodes, policy) == expected

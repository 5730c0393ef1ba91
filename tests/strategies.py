"""The one home of the test suite's Hypothesis strategies.

Property tests import their strategies from here so that shapes (topologies, seeds, ...) are
defined once. Seeds are drawn as plain integers so that a failing example replays.
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

from hypothesis import strategies as st

from clustersim.config import Scenario
from clustersim.topology import Topology

__all__ = [
    "checkpoint_configs",
    "cluster_configs",
    "cohort_power_fleets",
    "durations",
    "fault_configs",
    "fleet_configs",
    "job_specs",
    "node_rates",
    "repair_configs",
    "restart_configs",
    "scenarios",
    "scheduling_workloads",
    "topologies",
    "trace_jobs",
]


@st.composite
def topologies(draw: st.DrawFn) -> Topology:
    """Small topologies: 1-4 pods of 1-4 racks of 1-4 nodes with 1, 2, 4 or 8 GPUs each."""
    return Topology(
        gpus_per_node=draw(st.sampled_from((1, 2, 4, 8))),
        nodes_per_rack=draw(st.integers(1, 4)),
        racks_per_pod=draw(st.integers(1, 4)),
        pods=draw(st.integers(1, 4)),
        oversubscription=draw(st.sampled_from((1.0, 2.0, 7.0))),
    )


# --------------------------------------------------------------------------- scenarios
# Small, failure-heavy scenarios for the engine's property tests: 1-24 nodes, horizons of a
# few days, jobs of hours, per-node MTBFs of hours to days (so failures do happen).

HOUR_S = 3600.0
DAY_S = 86400.0
SCHEDULER_POLICIES = (
    "fifo",
    "easy-backfill",
    "sjf",
    "conservative-backfill",
    "fair-share",
    "tiresias",
    "priority-preempt",
    "priority-preempt",
)
"""Policies to draw from; preemption twice as often, as it exercises the most job paths."""
FAULT_NAMES = ("f0", "f1", "f2")
"""Fault-source names (the ``cause`` of their failures); distinct from the engine's own
``startup`` and ``preemption`` causes."""


def _seconds(value: float) -> st.SearchStrategy[float | str]:
    """``value`` seconds, either as a plain number or as the equivalent ``"<n>s"`` string."""
    return st.sampled_from((value, f"{value!r}s"))


def durations(lo_s: float, hi_s: float) -> st.SearchStrategy[float | str]:
    """A duration in ``[lo_s, hi_s]`` seconds, as a number or a unit string (``"12.5s"``)."""
    return st.floats(lo_s, hi_s, allow_nan=False, allow_infinity=False).flatmap(_seconds)


@st.composite
def node_rates(draw: st.DrawFn, *, mtbf_lo_h: float = 1.0, mtbf_hi_h: float = 72.0) -> Any:
    """A per-node failure rate with a per-node MTBF of ``mtbf_lo_h``-``mtbf_hi_h`` hours.

    The MTBF is log-uniform, so short ones (many failures) are as likely as long ones. The
    rate is drawn either as a plain float (failures per node-second) or as
    ``"<n>/1 node-days"``.
    """
    log_lo, log_hi = math.log(mtbf_lo_h), math.log(mtbf_hi_h)
    mtbf_h = math.exp(draw(st.floats(log_lo, log_hi)))
    per_day = 24.0 / mtbf_h
    if draw(st.booleans()):
        return per_day / DAY_S
    return f"{per_day!r}/1 node-days"


@st.composite
def cluster_configs(draw: st.DrawFn) -> dict[str, Any]:
    """1-4 GPUs/node, 1-4 nodes/rack, 1-3 racks/pod, 1-2 pods (1-24 nodes), 0-2 spares;
    whole-node allocation or GPU sharing."""
    cfg: dict[str, Any] = {
        "gpus_per_node": draw(st.integers(1, 4)),
        "nodes_per_rack": draw(st.integers(1, 4)),
        "racks_per_pod": draw(st.integers(1, 3)),
        "pods": draw(st.integers(1, 2)),
        "oversubscription": draw(st.sampled_from((1.0, 7.0))),
        "sharing": draw(st.sampled_from(("node", "gpu"))),
    }
    n_nodes = cfg["nodes_per_rack"] * cfg["racks_per_pod"] * cfg["pods"]
    cfg["spare_nodes"] = draw(st.integers(0, min(2, n_nodes - 1)))
    return cfg


@st.composite
def job_specs(draw: st.DrawFn, *, n_gpus: int, index: int, oversize: bool = True) -> dict[str, Any]:
    """One job ``j<index>`` of at most ``n_gpus`` GPUs, or (``oversize``) sometimes more.

    Submission times run up to two days, so a short horizon may end before some submissions.
    """
    sizes = [st.integers(1, n_gpus), st.integers(1, max(1, n_gpus // 4))]
    if oversize:
        sizes.append(st.integers(n_gpus + 1, 2 * n_gpus + 1))
    gpus = draw(st.one_of(sizes))
    spec: dict[str, Any] = {
        "name": f"j{index}",
        "gpus": gpus,
        "work": draw(durations(600.0, 12 * HOUR_S)),
        "submit": draw(
            st.one_of(st.just(0.0), durations(0.0, 6 * HOUR_S), durations(0.0, 2 * DAY_S))
        ),
        "priority": draw(st.integers(0, 3)),
        "user": draw(st.sampled_from(("a", "b", "c"))),
    }
    size = draw(st.sampled_from(("none", "params", "bytes")))
    if size == "params":
        spec["model_params"] = draw(st.floats(1e6, 1e10))
    elif size == "bytes":
        spec["checkpoint_bytes"] = draw(st.floats(1e6, 1e11))
    return spec


@st.composite
def checkpoint_configs(draw: st.DrawFn) -> dict[str, Any]:
    """A checkpoint policy, sync or async, with an explicit stall or one derived from bytes."""
    cfg: dict[str, Any] = {
        "policy": draw(st.sampled_from(("fixed", "young", "daly", "exact", "none"))),
        "interval": draw(durations(300.0, 4 * HOUR_S)),
        "mode": draw(st.sampled_from(("sync", "async"))),
        "bytes_per_param": draw(st.sampled_from((2.0, 14.0))),
        "copy_bandwidth_per_gpu": draw(st.sampled_from((1e9, 25e9))),
    }
    if draw(st.booleans()):
        # No stalls below a millisecond: with a 1e-158 s stall the model-based policies pick
        # 1e-77 s intervals, where float round-off dwarfs the segment (a degenerate input).
        cfg["stall"] = draw(st.one_of(st.just(0.0), durations(1e-3, 600.0)))
    return cfg


@st.composite
def restart_configs(draw: st.DrawFn) -> dict[str, Any]:
    """Restart costs (detection, requeue, init, load) and the failure-during-recovery rule."""
    cfg: dict[str, Any] = {
        "detection": draw(durations(0.0, 600.0)),
        "requeue": draw(st.one_of(st.just(0.0), durations(0.0, 300.0))),
        "init": draw(durations(0.0, 900.0)),
        "init_per_gpu": draw(st.sampled_from((0.0, 0.0086, 0.5))),
        "failure_during_recovery": draw(st.sampled_from(("restart", "ignore"))),
    }
    if draw(st.booleans()):
        cfg["load"] = draw(durations(0.0, 300.0))
    return cfg


@st.composite
def repair_configs(draw: st.DrawFn) -> dict[str, Any]:
    """A repair-time distribution with a mean of ten minutes to a day."""
    return {
        "distribution": draw(st.sampled_from(("exponential", "lognormal", "fixed"))),
        "mean": draw(durations(600.0, DAY_S)),
        "cv": draw(st.floats(0.0, 2.0)),
    }


@st.composite
def fault_configs(draw: st.DrawFn) -> dict[str, Any]:
    """A Poisson fault source with a node, rack or job blast radius."""
    return {
        "kind": "poisson",
        "rate": draw(node_rates()),
        "blast_radius": draw(st.sampled_from(("node", "rack", "job"))),
        "repair": draw(repair_configs()),
        "planned": draw(st.booleans()),
    }


@st.composite
def fleet_configs(draw: st.DrawFn, cluster: dict[str, Any], horizon: float | str) -> dict[str, Any]:
    """Cohorts of whole pods: the first in service from the start (maybe retiring mid-run),
    the others expansions installed during the run (some retiring again), and sometimes a
    refresh policy (per-node failure count, per-cohort rate or both). Adjusts the cluster's
    spare pool to fit the nodes in service at the start."""
    per_pod = cluster["nodes_per_rack"] * cluster["racks_per_pod"]
    pods = cluster["pods"]
    end = horizon if isinstance(horizon, float) else 3 * DAY_S
    first_pods = draw(st.integers(1, pods))
    cohorts: list[dict[str, Any]] = [
        {"name": "c0", "count": first_pods * per_pod, "install": -draw(st.floats(0.0, 30 * DAY_S))}
    ]
    if draw(st.booleans()):  # retire during the run (mostly) or after it
        cohorts[0]["retire"] = -cohorts[0]["install"] + draw(st.floats(HOUR_S, 1.2 * end))
    for i in range(first_pods, pods):
        cohort: dict[str, Any] = {
            "name": f"c{i}",
            "count": per_pod,
            "install": draw(st.floats(1.0, end)),
        }
        if draw(st.booleans()):
            cohort["retire"] = draw(st.floats(HOUR_S, end))
        cohorts.append(cohort)
    cluster["spare_nodes"] = min(cluster["spare_nodes"], cohorts[0]["count"] - 1)
    out: dict[str, Any] = {"cohorts": cohorts}
    if draw(st.integers(0, 2)):
        refresh: dict[str, Any] = {}
        if draw(st.booleans()):
            refresh["node_failures"] = draw(st.integers(1, 3))
        if draw(st.booleans()) or not refresh:
            refresh["cohort_rate"] = draw(st.sampled_from((0.0, 100.0)))
            refresh["fraction"] = draw(st.sampled_from((0.25, 1.0)))
            refresh["every"] = draw(durations(6 * HOUR_S, DAY_S))
            refresh["swap"] = draw(st.sampled_from((0.0, 600.0, 7200.0)))
        out["refresh"] = refresh
    return out


@st.composite
def cohort_power_fleets(draw: st.DrawFn, data: dict[str, Any]) -> dict[str, Any]:
    """``data``'s fleet with a power profile per cohort (``fleet.cohorts[].power``).

    Without a fleet, the nodes are split into 1-3 cohorts installed at the start, at any node
    (not only pod boundaries). Each cohort's ``power`` is unset, ``h100-sxm`` or
    ``a100-sxm``; at least one is set. ``data`` is a plain scenario dict.
    """
    fleet = data.get("fleet")
    if fleet is None:
        c = data["cluster"]
        n = c["nodes_per_rack"] * c["racks_per_pod"] * c["pods"]
        cuts = sorted(set(draw(st.lists(st.integers(1, max(1, n - 1)), max_size=2))) - {n})
        bounds = [0, *cuts, n]
        fleet = {
            "cohorts": [
                {"name": f"k{i}", "count": hi - lo} for i, (lo, hi) in enumerate(pairwise(bounds))
            ]
        }
    cohorts = [
        {**c, "power": draw(st.sampled_from((None, "h100-sxm", "a100-sxm")))}
        for c in fleet["cohorts"]
    ]
    if all(c["power"] is None for c in cohorts):
        cohorts[-1]["power"] = "a100-sxm"
    return {**fleet, "cohorts": cohorts}


@st.composite
def scenarios(
    draw: st.DrawFn,
    *,
    max_jobs: int = 12,
    max_faults: int = 3,
    oversize: bool = True,
    check_invariants: bool = True,
    network: bool = False,
    fleet: bool = False,
) -> Scenario:
    """Whole small scenarios, built with ``Scenario.model_validate`` of a plain dict.

    Clusters of 1-24 nodes with 0-2 spares; 1-``max_jobs`` jobs of mixed sizes (with
    ``oversize``, some larger than the cluster; without it, all fit beside the spares)
    submitted over the first two days; every checkpoint policy and mode; 0-``max_faults``
    fault sources with per-node MTBFs of hours to days; every scheduling
    policy; a horizon of 1-3 days; ``run.seed`` drawn as an integer so a failure replays.
    With ``fleet``, a ``fleet`` section that changes the cluster's size and refreshes nodes
    (:func:`fleet_configs`).
    """
    cluster = draw(cluster_configs())
    if fleet:  # room for an expansion pod
        cluster["pods"] = draw(st.integers(2, 3))
    n_nodes = cluster["nodes_per_rack"] * cluster["racks_per_pod"] * cluster["pods"]
    # Oversized jobs exceed the whole cluster; others may still exceed the nodes left
    # schedulable beside the spare pool. Without ``oversize`` every job fits beside the spares.
    usable = n_nodes if oversize else n_nodes - cluster["spare_nodes"]
    n_gpus = usable * cluster["gpus_per_node"]
    n_jobs = draw(st.integers(1, max_jobs))
    n_faults = draw(st.integers(0, max_faults))
    data = {
        "name": "hypothesis",
        "cluster": cluster,
        "storage": {
            "write_bandwidth": draw(st.sampled_from((1e8, 1e9, 1e10))),
            "read_bandwidth": draw(st.sampled_from((1e8, 1e9, 1e10))),
        },
        "workload": {
            "jobs": [
                draw(job_specs(n_gpus=n_gpus, index=i, oversize=oversize)) for i in range(n_jobs)
            ]
        },
        "checkpoint": draw(checkpoint_configs()),
        "restart": draw(restart_configs()),
        "faults": {FAULT_NAMES[i]: draw(fault_configs()) for i in range(n_faults)},
        "scheduler": {
            "policy": draw(st.sampled_from(SCHEDULER_POLICIES)),
            "preempt_checkpoint": draw(st.booleans()),
            "fair_share": {"half_life": draw(st.sampled_from((None, 3600.0, 86400.0)))},
            "tiresias": {
                "thresholds": draw(st.sampled_from(([3600.0], [1800.0, 36000.0], [1e3, 1e4]))),
                "promote_knob": draw(st.sampled_from((None, 1.0, 4.0))),
            },
        },
        "run": {
            "seed": draw(st.integers(0, 2**32 - 1)),
            "horizon": draw(durations(DAY_S, 3 * DAY_S)),
            "stop_when_done": draw(st.booleans()),
            "check_invariants": check_invariants,
        },
    }
    if fleet:
        data["fleet"] = draw(fleet_configs(cluster, data["run"]["horizon"]))
        if draw(st.booleans()) and data["faults"]:  # an age-dependent hazard on one source
            first = next(iter(data["faults"].values()))
            first["kind"] = "poisson"
            first["hazard"] = {
                "wearout": {"shape": 2.0, "scale": draw(durations(DAY_S, 30 * DAY_S))}
            }
    if data["scheduler"]["policy"] == "conservative-backfill":
        cluster["sharing"] = "node"  # its profile counts whole nodes (config rejects gpu)
    if network:
        data["network"] = draw(network_configs())
        cluster["placement"] = draw(st.sampled_from(("topology", "first-fit", "spread")))
        cluster["rack_oversubscription"] = draw(st.sampled_from((1.0, 2.0, 4.0)))
        if draw(st.booleans()):  # aggregation switch faults cut pod uplinks
            data["faults"]["agg"] = {
                "kind": "switch",
                "level": "pod",
                "rate": draw(st.sampled_from(("1/1 switch-days", "4/1 switch-days"))),
                "repair": {"mean": draw(durations(600.0, 6 * 3600.0))},
            }
        if draw(st.booleans()):  # dual-homed ToRs that fail to half their rack link
            data["faults"]["tor"] = {
                "kind": "switch",
                "level": "rack",
                "homing": "dual",
                "rate": draw(st.sampled_from(("1/1 switch-days", "4/1 switch-days"))),
                "repair": {"mean": draw(durations(600.0, 6 * 3600.0))},
            }
        if draw(st.booleans()):  # link flaps: a NIC rail's capacity, or a kill when long
            data["faults"]["flap"] = {
                "kind": "flap",
                "rate": draw(st.sampled_from(("2/1 node-days", "20/1 node-days"))),
                "timeout": draw(st.sampled_from((30.0, 3600.0))),
                "duration": {"distribution": "lognormal", "mean": 60.0, "cv": 1.0},
            }
        if draw(st.booleans()):
            data["scheduler"]["placement_wait"] = draw(durations(60.0, 6 * 3600.0))
    return Scenario.model_validate(data)


@st.composite
def network_configs(draw: st.DrawFn) -> dict[str, Any]:
    """A ``fair-share`` network section: any traffic model, f and plane count."""
    cfg: dict[str, Any] = {
        "model": "fair-share",
        "traffic": draw(st.sampled_from(("uniform", "all", "shape"))),
        "replica_gpus": draw(st.sampled_from((4, 16, 32, 128))),
        "pipeline_share": draw(st.sampled_from((0.0, 0.5, 1.0))),
        "planes": draw(st.integers(1, 4)),
        "nic_bandwidth": draw(st.sampled_from(("100Gb/s", "400Gb/s"))),
    }
    if draw(st.booleans()):
        cfg["exposed_comm"] = draw(st.floats(0.0, 1.0))
    return cfg


# --------------------------------------------------------------------------- scheduling workloads
# Workloads for the reference scheduling suite (tests/reference/): integer times so that ties
# are exact, drawn so that simultaneous events are common rather than rare.

JOB_SIZES = ("any", "any", "any", "small", "small", "machine", "too-big")
"""How a job's size is drawn, by weight: 1..N, 1..N/2, exactly N, or N+1..2N (never fits)."""
# Strategies are built once, outside the per-job loops: building and validating them for
# every job took most of the time of generating a workload (the same draws either way).
_SIZE_KINDS = st.sampled_from(JOB_SIZES)
_ANY_SUBMIT_S = st.integers(0, 120)
_ANY_RUNTIME_S = st.integers(1, 120)
_ESTIMATE_KINDS = st.sampled_from(("over", "over", "exact", "under"))
_OVER_FACTORS = st.integers(1, 10)
_OVER_EXTRA_S = st.integers(0, 30)


@st.composite
def scheduling_workloads(
    draw: st.DrawFn, *, max_nodes: int = 8, max_jobs: int = 12
) -> tuple[int, list[tuple[int, int, int]]]:
    """A machine of 1-``max_nodes`` nodes and 1-``max_jobs`` jobs ``(submit_s, runtime_s, nodes)``.

    Every time is an integer. Submit times fall on a few burst instants (several jobs
    arriving at once) or anywhere in 0-120 s, in any input order; runtimes come from a small
    pool (so jobs started together end together, and completions meet arrivals) or anywhere
    in 1-120 s. Sizes are 1..N, small, the whole machine, or larger than the machine.
    """
    n_nodes = draw(st.integers(1, max_nodes))
    bursts = draw(st.lists(st.integers(0, 60), min_size=1, max_size=3))
    pool = draw(st.lists(st.integers(1, 30), min_size=1, max_size=3))
    sizes = {
        "any": st.integers(1, n_nodes),
        "small": st.integers(1, max(1, n_nodes // 2)),
        "machine": st.just(n_nodes),
        "too-big": st.integers(n_nodes + 1, 2 * n_nodes),
    }
    submits = st.one_of(st.sampled_from(bursts), _ANY_SUBMIT_S)
    runtimes = st.one_of(st.sampled_from(pool), _ANY_RUNTIME_S)
    jobs = []
    for _ in range(draw(st.integers(1, max_jobs))):
        submit = draw(submits)
        runtime = draw(runtimes)
        nodes = draw(sizes[draw(_SIZE_KINDS)])
        jobs.append((submit, runtime, nodes))
    return n_nodes, jobs


@st.composite
def estimated_workloads(
    draw: st.DrawFn, *, max_nodes: int = 8, max_jobs: int = 12
) -> tuple[int, list[tuple[int, int, int, int]]]:
    """:func:`scheduling_workloads` with an integer user estimate per job.

    Most estimates are over the runtime by a factor of 1-10 (users over-estimate, Mu'alem &
    Feitelson 2001); some are exact and some under the runtime (a job that outlives its
    estimate stays where it is: nothing enforces the limit).
    """
    n_nodes, jobs = draw(scheduling_workloads(max_nodes=max_nodes, max_jobs=max_jobs))
    out = []
    for submit, runtime, nodes in jobs:
        kind = draw(_ESTIMATE_KINDS)
        if kind == "over":
            estimate = runtime * draw(_OVER_FACTORS) + draw(_OVER_EXTRA_S)
        elif kind == "under":
            estimate = max(1, runtime - draw(st.integers(1, runtime)))
        else:
            estimate = runtime
        out.append((submit, runtime, nodes, estimate))
    return n_nodes, out


__all__ += ["JOB_SIZES", "estimated_workloads"]


FAIR_SHARE_HALF_LIVES: tuple[float | None, ...] = (None, 37.3, 311.7, 1e4)
"""Half-lives for the fair-share reference suite: none (exact integer usage, so accounts tie
often and ties are broken by submission), and decays from strong to slight. None of them
is short enough to decay a usage below the smallest float within a workload's span."""


@st.composite
def fair_share_workloads(
    draw: st.DrawFn, *, max_nodes: int = 8, max_jobs: int = 12
) -> tuple[int, list[tuple[int, int, int]], list[tuple[str, str]], dict[str, Any]]:
    """:func:`scheduling_workloads` with each job's (user, group) and fair-share settings.

    One to four users ``u0``..``u3`` in one or two groups; the settings (``fair_share``
    section) are a half-life from :data:`FAIR_SHARE_HALF_LIVES`, fair share by user or by
    group, EASY backfilling or strict priority, and sometimes unequal shares.
    """
    n_nodes, jobs = draw(scheduling_workloads(max_nodes=max_nodes, max_jobs=max_jobs))
    n_users = draw(st.integers(1, 4))
    n_groups = draw(st.integers(1, 2))
    owners = []
    for _ in jobs:
        user = draw(st.integers(0, n_users - 1))
        owners.append((f"u{user}", f"g{user % n_groups}"))
    by = draw(st.sampled_from(("user", "user", "group")))
    accounts = sorted({owner[0 if by == "user" else 1] for owner in owners})
    shares = draw(
        st.one_of(
            st.just({}),
            st.dictionaries(st.sampled_from(accounts), st.sampled_from((1.0, 2.0, 3.0, 0.5))),
        )
    )
    settings = {
        "by": by,
        "half_life": draw(st.sampled_from(FAIR_SHARE_HALF_LIVES)),
        "shares": shares,
        "backfill": draw(st.booleans()),
    }
    return n_nodes, jobs, owners, settings


__all__ += ["FAIR_SHARE_HALF_LIVES", "fair_share_workloads"]


@st.composite
def tiresias_workloads(
    draw: st.DrawFn, *, max_nodes: int = 8, max_jobs: int = 12
) -> tuple[int, list[tuple[int, int, int]], list[int], int | None]:
    """Workloads for the Tiresias reference: ``(nodes, jobs, thresholds, promote_knob)``.

    Jobs are ``(submit_s, runtime_s, gpus)`` on one-GPU nodes as in
    :func:`scheduling_workloads` (bursts, a runtime pool, integer times), but sizes are 1, 2,
    4 or 8 GPUs (or larger than the machine) and thresholds are multiples of 8 GPU-seconds:
    a job's service is then a multiple of its GPUs, every threshold crossing, promotion,
    preemption and completion falls on a whole second, and both sides compute every time
    exactly. One to three thresholds of 8-480 GPU-s (jobs attain up to 1,200), and a
    promotion knob of 1-4 or none.
    """
    n_nodes = draw(st.integers(1, max_nodes))
    bursts = draw(st.lists(st.integers(0, 60), min_size=1, max_size=3))
    pool = draw(st.lists(st.integers(1, 30), min_size=1, max_size=3))
    fitting = [g for g in (1, 2, 4, 8) if g <= n_nodes]
    jobs = []
    for _ in range(draw(st.integers(1, max_jobs))):
        submit = draw(st.one_of(st.sampled_from(bursts), st.integers(0, 120)))
        runtime = draw(st.one_of(st.sampled_from(pool), st.integers(1, 150)))
        gpus = draw(
            st.one_of(
                st.sampled_from(fitting),
                st.sampled_from(fitting),
                st.integers(n_nodes + 1, 2 * n_nodes),
            )
        )
        jobs.append((submit, runtime, gpus))
    thresholds = sorted(set(draw(st.lists(st.integers(1, 60), min_size=1, max_size=3))))
    knob = draw(st.sampled_from((None, None, 1, 2, 4)))
    return n_nodes, jobs, [8 * t for t in thresholds], knob


__all__ += ["tiresias_workloads"]


# --------------------------------------------------------------------------- hostile input
# Building blocks for hostile-input fuzzing (tests/property/test_fuzz_loader.py, and any
# trace-reader fuzzing): wrong types, non-finite and extreme numbers, unit strings that
# overflow or divide by zero, odd unicode. Plain Python values; a test serialises them into
# YAML, TOML or JSON text. Integers stay within +-10**300 unless asked otherwise.

HOSTILE_NUMBERS: tuple[Any, ...] = (
    math.nan,
    math.inf,
    -math.inf,
    -0.0,
    5e-324,
    1.7976931348623157e308,
    -1e300,
    0,
    -1,
    2**31,
    2**63 - 1,
    2**63,
    2**64,
    10**30,
    -(10**30),
)
"""Numbers every numeric field must survive: NaN, infinities, denormals, int64 edges, 10**30."""

HOSTILE_STRINGS: tuple[str, ...] = (
    "",
    " ",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e400",
    "1e400s",
    "-1h",
    "0s",
    "1h30",
    "1h 30m",
    "5.67TB",
    "1e400TB",
    "2TB/s",
    "2TB/0s",
    "1/0 node-days",
    "0/0 node-days",
    "6.5/1000 gpu-days",
    "1e-400/1 node-days",
    "null",
    "~",
    "yes",
    "0x10",
    "1_000",
    "\u00a0",
    "\ufeff",
    "\u202e",
    "\x00",
    "\U0001f4a5",
    "x" * 200,
)
"""Strings that look like numbers, units, booleans or nulls, or are simply awkward."""


def hostile_scalars(*, max_int: int = 10**300) -> st.SearchStrategy[Any]:
    """A plain scalar of any type: extreme numbers, unit-like strings, random text, null."""
    return st.one_of(
        st.sampled_from(HOSTILE_NUMBERS),
        st.sampled_from(HOSTILE_STRINGS),
        st.none(),
        st.booleans(),
        st.integers(-max_int, max_int),
        st.floats(),
        st.text(max_size=30),
    )


def hostile_values(*, max_leaves: int = 8, max_int: int = 10**300) -> st.SearchStrategy[Any]:
    """A hostile scalar, or a small list/mapping of them (a value of the wrong shape)."""
    return st.recursive(
        hostile_scalars(max_int=max_int),
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.text(max_size=8), children, max_size=4),
        ),
        max_leaves=max_leaves,
    )


__all__ += ["HOSTILE_NUMBERS", "HOSTILE_STRINGS", "hostile_scalars", "hostile_values"]


# --------------------------------------------------------------------------- fault taxonomy
TAXONOMY_KINDS = ("poisson", "maintenance", "flap", "switch", "straggler", "sdc", "storage")


@st.composite
def taxonomy_fault_configs(draw: st.DrawFn) -> dict[str, Any]:
    """Any fault kind with the fields it takes, at rates that make things happen in days."""
    kind = draw(st.sampled_from(TAXONOMY_KINDS))
    window = {
        "distribution": draw(st.sampled_from(("exponential", "lognormal", "fixed"))),
        "mean": draw(durations(1.0, 6 * HOUR_S)),
        "cv": draw(st.floats(0.0, 2.0)),
    }
    if kind == "poisson":
        cfg = draw(fault_configs())
        cfg["blast_radius"] = draw(st.sampled_from(("gpu", "node", "rack", "pod", "job")))
        if draw(st.booleans()):
            cfg["distribution"] = "weibull"
            cfg["shape"] = draw(st.sampled_from((0.7, 1.0, 1.5)))
        if draw(st.booleans()):
            cfg["correlated"] = {"share": draw(st.floats(0, 1)), "nodes": draw(st.integers(2, 4))}
        return cfg
    if kind in ("maintenance", "storage"):
        cfg = {
            "kind": kind,
            "every": draw(durations(2 * HOUR_S, 2 * DAY_S)),
            "arrivals": draw(st.sampled_from(("poisson", "periodic"))),
            "duration": window,
        }
        if kind == "maintenance" and draw(st.booleans()):
            cfg["batch_nodes"] = draw(st.integers(1, 8))
        if kind == "storage":
            cfg["bandwidth_factor"] = draw(st.sampled_from((0.0, 0.1, 0.5)))
        return cfg
    cfg = {"kind": kind, "rate": draw(node_rates(mtbf_lo_h=2.0, mtbf_hi_h=200.0))}
    if kind == "switch":
        cfg["rate"] = f"{draw(st.floats(0.05, 5.0))!r}/1 switch-days"
        cfg["level"] = draw(st.sampled_from(("rack", "pod")))
        cfg["homing"] = draw(st.sampled_from(("single", "dual")))
        cfg["repair"] = draw(repair_configs())
    if kind in ("flap", "switch", "straggler"):
        cfg["speed"] = draw(st.sampled_from((0.0, 0.25, 0.5, 0.9)))
    if kind in ("flap", "straggler"):
        cfg["duration"] = window
    if kind == "flap":
        cfg["timeout"] = draw(durations(1.0, 120.0))
    if kind == "straggler" and draw(st.booleans()):
        cfg["evict_after"] = draw(durations(60.0, 4 * HOUR_S))
    if kind == "sdc":
        cfg["detection_delay"] = draw(durations(0.0, 6 * HOUR_S))
    return cfg


@st.composite
def taxonomy_scenarios(draw: st.DrawFn, *, check_invariants: bool = False) -> Scenario:
    """:func:`scenarios` with any fault kinds, lemons, repair crews and storage contention."""
    base = draw(scenarios(check_invariants=check_invariants, max_faults=0))
    data = base.model_dump(mode="json")
    n = draw(st.integers(1, 4))
    data["faults"] = {f"t{i}": draw(taxonomy_fault_configs()) for i in range(n)}
    if draw(st.booleans()):
        data["lemons"] = {
            "fraction": draw(st.sampled_from((0.1, 0.3))),
            "multiplier": draw(st.sampled_from((1.0, 5.0, 20.0))),
            "quarantine": draw(st.one_of(st.none(), st.just({"failures": 2, "window": "1d"}))),
        }
    if draw(st.booleans()):
        data["repairs"] = {
            "crews": draw(st.integers(1, 3)),
            "test": draw(durations(0.0, 600.0)),
            "test_failure": draw(st.sampled_from((0.0, 0.3))),
        }
    data["storage"]["contention"] = draw(st.booleans())
    if data["storage"]["contention"] or any(
        f["kind"] == "storage" for f in data["faults"].values()
    ):
        # Contention simulates every checkpoint: keep intervals at the fixed 5 min - 4 h
        # (model-based policies pick sub-second intervals for tiny stalls, a known cost cliff).
        data["checkpoint"]["policy"] = "fixed"
    elif draw(st.booleans()):
        data["checkpoint"]["policy"] = "adaptive"
    data["checkpoint"]["in_memory"] = draw(st.booleans())
    return Scenario.model_validate(data)


_TRACE_TEXT = st.text(st.sampled_from("az09_-.:|,\"'#;é漢🙂"), max_size=12)


@st.composite
def trace_jobs(draw: st.DrawFn, *, fmt: str) -> list[Any]:
    """Job lists a trace format ``fmt`` ("swf" or "csv") stores exactly.

    SWF: whole-second times, numeric ids and users, SWF states, start >= submit. CSV: any
    finite non-negative times, text ids/users/states (no blanks at the ends, no line breaks).
    """
    from clustersim.traces.record import TraceJob
    from clustersim.traces.swf import STATE_BY_STATUS

    whole = fmt == "swf"
    seconds = (
        st.integers(0, 10**9).map(float)
        if whole
        else st.floats(0, 1e10, allow_nan=False, allow_infinity=False)
    )
    jobs = []
    submit = 0.0
    for i in range(draw(st.integers(0, 12))):
        submit += draw(seconds) % 1e6
        start = draw(st.one_of(st.none(), seconds.map(lambda w, s=submit: s + w % 1e5)))
        run = draw(st.one_of(st.none(), seconds))
        end = None if start is None or run is None else start + run
        if not whole and start is not None and draw(st.booleans()):
            end = draw(st.one_of(st.none(), seconds.map(lambda w, s=start: s + w)))
        if whole:
            ident = str(draw(st.integers(1, 10**12)))
            user = draw(st.one_of(st.just(""), st.integers(0, 10**6).map(str)))
            state = draw(st.sampled_from(("", *STATE_BY_STATUS.values())))
        else:
            ident = draw(_TRACE_TEXT.filter(lambda t: not t.startswith("#")))
            user, state = draw(_TRACE_TEXT), draw(_TRACE_TEXT)
        jobs.append(
            TraceJob(
                id=ident,
                user=user,
                gpus=draw(st.integers(1, 2**31 - 1)),
                submit_s=submit,
                start_s=start,
                end_s=end,
                run_s=run,
                state=state,
                line=i,
            )
        )
    return jobs


# --------------------------------------------------------------------------- sharing workloads
# Workloads for the GPU-sharing reference suite (tests/reference/test_sharing_reference.py):
# job sizes in GPUs on nodes of G GPUs, mixing sub-node jobs with one- and multi-node jobs.

SHARING_SIZES = ("sub", "sub", "sub", "sub", "node", "multi", "multi", "machine", "too-big")
"""How a job's size is drawn, by weight: 1..G-1 GPUs (sub-node), exactly G (one node),
G+1..N*G (whole nodes, maybe not a multiple of G), N*G (the machine), or over N*G."""
DENSE_SHARING_SIZES = ("sub", "sub", "sub", "sub", "sub", "sub", "node", "node", "multi")
"""The same, for crowded machines: mostly sub-node jobs, and whole-node jobs waiting for them."""


@st.composite
def sharing_workloads(
    draw: st.DrawFn, *, max_nodes: int = 8, max_jobs: int = 12
) -> tuple[int, int, list[tuple[int, int, int]]]:
    """``(G, N, jobs)``: N nodes of G in {2, 4, 8} GPUs; jobs ``(submit_s, runtime_s, gpus)``.

    Integer times drawn as in :func:`scheduling_workloads` (bursts of simultaneous arrivals,
    runtimes from a small pool, so completions meet arrivals and each other). Half the
    workloads are broad: 1-``max_nodes`` nodes, 1-``max_jobs`` jobs sized by
    :data:`SHARING_SIZES`. The other half are crowded, where placement decides start times:
    1-4 nodes, ``max_jobs // 2``-``max_jobs + 8`` jobs sized by :data:`DENSE_SHARING_SIZES`,
    sub-node sizes often from a small pool (equal sizes leave equal free GPUs: best-fit ties).
    """
    gpus_per_node = draw(st.sampled_from((2, 4, 8)))
    dense = draw(st.booleans())
    n_nodes = draw(st.integers(1, min(4, max_nodes) if dense else max_nodes))
    n_jobs = draw(st.integers(max_jobs // 2, max_jobs + 8) if dense else st.integers(1, max_jobs))
    total = n_nodes * gpus_per_node
    bursts = draw(st.lists(st.integers(0, 60), min_size=1, max_size=3))
    pool = draw(st.lists(st.integers(1, 30), min_size=1, max_size=3))
    sub = st.integers(1, gpus_per_node - 1)
    sizes = {
        "sub": st.one_of(st.sampled_from(draw(st.lists(sub, min_size=1, max_size=2))), sub),
        "node": st.just(gpus_per_node),
        "multi": st.integers(min(gpus_per_node + 1, total), total),  # N=1: just G
        "machine": st.just(total),
        "too-big": st.integers(total + 1, total + 2 * gpus_per_node),
    }
    weights = DENSE_SHARING_SIZES if dense else SHARING_SIZES
    jobs = []
    for _ in range(n_jobs):
        submit = draw(st.one_of(st.sampled_from(bursts), st.integers(0, 120)))
        runtime = draw(st.one_of(st.sampled_from(pool), st.integers(1, 120)))
        gpus = draw(sizes[draw(st.sampled_from(weights))])
        jobs.append((submit, runtime, gpus))
    return gpus_per_node, n_nodes, jobs


__all__ += ["DENSE_SHARING_SIZES", "SHARING_SIZES", "sharing_workloads"]


def add_power_swing_faults(
    draw: st.DrawFn, faults: dict[str, Any], speeds: tuple[float, ...]
) -> None:
    """Maybe add a straggler source (speed drawn from ``speeds``) and a maintenance rollout:
    the power properties' sources of swings (stalls, drains, nodes down for maintenance)."""
    if draw(st.booleans()):
        faults["slow"] = {
            "kind": "straggler",
            "rate": "6/1 node-days",
            "duration": {"distribution": "exponential", "mean": "40m"},
            "speed": draw(st.sampled_from(speeds)),
        }
    if draw(st.booleans()):
        faults["upgrade"] = {
            "kind": "maintenance",
            "every": "12h",
            "duration": {"distribution": "fixed", "mean": "20m"},
        }

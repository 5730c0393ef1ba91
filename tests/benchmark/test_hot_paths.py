"""Micro-benchmarks of the allocator and dispatcher hot paths (``pytest -m benchmark -s -n0``).

Excluded from the default run (``pyproject.toml`` deselects the ``benchmark`` marker). Each
benchmark times itself with ``time.perf_counter`` (best of ``REPEAT`` batches, garbage collector
off while timing) and prints µs per call; with ``CLUSTERSIM_MICRO_OUT`` set, the figures go to
``bench/results/micro.json`` (or to the path the variable names, if it is not ``1``).

Nothing here asserts a time, not even a ratio of times (the machine is shared and noisy; time
ratios are reported, with their bounds, for ``bench/``). The scaling claims of issue #6 are
asserted on a deterministic operation count instead, :func:`python_lines`: the Python lines one
call executes. Scheduling cost per decision does not grow with the number of idle nodes, and
the policy's cost per decision grows at most linearly with the queue and the running jobs. A
Python loop over nodes or jobs shows in the count; a numpy scan does not (its cost is in the
reported time ratios). A few setup checks make sure a benchmark measures the state it claims
to (e.g. that a repeated dispatch started nothing), so a broken fixture cannot pass for a fast
path.
"""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import simpy

from clustersim.cluster import Cluster
from clustersim.config import Scenario
from clustersim.engine import Simulation
from clustersim.scheduler import easy_backfill
from clustersim.topology import Topology
from clustersim.views import ClusterView, JobView, RunningView

pytestmark = pytest.mark.benchmark
# Under pytest-xdist one worker runs this module (tests/conftest.py), so that one process writes
# the figures; `-n0` shows them (`-s`) and keeps other tests from running beside them.

# bench/configurations.py's synthetic topology: racks of 2 nodes of 8 GPUs, pods of 128 racks.
# 64 pods = 16,384 nodes (131,072 GPUs).
TOPOLOGY = Topology(gpus_per_node=8, nodes_per_rack=2, racks_per_pod=128, pods=64)
N_NODES = TOPOLOGY.n_nodes
REPEAT = 5  # best of k batches
OUT_ENV = "CLUSTERSIM_MICRO_OUT"
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "bench" / "results" / "micro.json"

RESULTS: dict[str, dict[str, Any]] = {}


def best_us(
    op: Callable[[], object],
    *,
    number: int,
    setup: Callable[[], object] | None = None,
    repeat: int = REPEAT,
) -> float:
    """Best-of-``repeat`` µs per call of ``op``, over batches of ``number`` calls.

    With ``setup``, each call is preceded by an untimed ``setup()`` and timed on its own;
    without, a batch is timed as a whole.
    """
    clock = time.perf_counter
    best = math.inf
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeat):
            if setup is None:
                t0 = clock()
                for _ in range(number):
                    op()
                total = clock() - t0
            else:
                total = 0.0
                for _ in range(number):
                    setup()
                    t0 = clock()
                    op()
                    total += clock() - t0
            best = min(best, total / number)
    finally:
        if enabled:
            gc.enable()
    return best * 1e6


def best_interleaved(
    ops: dict[str, tuple[Callable[[], object], Callable[[], object] | None]],
    *,
    number: int,
    rounds: int = 3,
) -> dict[str, float]:
    """Best µs per call of each ``(op, setup)``, measured in alternation over ``rounds``.

    Ratios compare costs measured close together in time, so a burst of load from another
    process on the shared machine hits both sides rather than one.
    """
    best = dict.fromkeys(ops, math.inf)
    for _ in range(rounds):
        for name, (op, setup) in ops.items():
            us = best_us(op, number=number, setup=setup, repeat=2)
            best[name] = min(best[name], us)
    return best


def note(name: str, us: float, **params: Any) -> float:
    """Record and print one figure (µs per call); returns ``us``."""
    RESULTS[name] = {"us_per_call": round(us, 3), **params}
    extra = " ".join(f"{k}={v}" for k, v in params.items())
    print(f"  {name:<48} {us:10.2f} µs/call  {extra}")
    return us


def note_ratio(name: str, ratio: float, bound: float) -> None:
    """Record and print a ratio of two times measured in this run, with its bound (reported,
    not asserted: a verdict for the benchmark report)."""
    RESULTS[name] = {"ratio": round(ratio, 3), "bound": bound, "within": ratio < bound}
    print(f"  {name:<48} {ratio:10.2f} ×  (bound {bound} ×)")


def python_lines(op: Callable[[], object], setup: Callable[[], object] | None = None) -> int:
    """Python lines executed by one call of ``op`` (after ``setup``; one warm-up call first).

    Deterministic, unlike a time: the operation count the scaling claims are asserted on.
    """
    if setup is not None:
        setup()
    op()
    if setup is not None:
        setup()
    count = 0

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        op()
    finally:
        sys.settrace(previous)
    return count


def assert_lines_ratio(name: str, large: int, small: int, bound: float) -> None:
    """Record the ratio of two :func:`python_lines` counts and assert it is under ``bound``."""
    ratio = large / small
    RESULTS[name] = {"lines": [large, small], "ratio": round(ratio, 3), "bound": bound}
    print(f"  {name:<48} {ratio:10.2f} ×  lines {large:,} / {small:,} (bound {bound} ×)")
    assert ratio < bound, f"{name}: {large:,} / {small:,} Python lines = {ratio:.1f}×"


@pytest.fixture(scope="module", autouse=True)
def _write_results() -> Iterator[None]:
    yield
    target = os.environ.get(OUT_ENV)
    if not target or not RESULTS:
        return
    path = DEFAULT_OUT if target.strip().lower() in {"1", "true", "yes"} else Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "schema": 1,
        "suite": "tests/benchmark/test_hot_paths.py",
        "unit": "µs per call, best of k",
        "repeat": REPEAT,
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "simpy": simpy.__version__,
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        },
        "figures": dict(sorted(RESULTS.items())),
    }
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nmicro-benchmark figures written to {path}")


# ----------------------------------------------------------------------------- allocator
def _cluster_with_idle(idle: int, *, scattered: bool) -> Cluster:
    """The 16,384-node cluster with exactly ``idle`` FREE nodes; job 0 holds the rest.

    ``scattered``: the idle nodes are spread one per rack over different pods (fragmented, the
    hard case for a one-rack fit); otherwise they are the cluster's last nodes (contiguous).
    """
    cluster = Cluster(TOPOLOGY)
    assert cluster.allocate(0, N_NODES) is not None
    if scattered:
        stride = N_NODES // idle
        chosen = [i * stride for i in range(idle)]
    else:
        chosen = list(range(N_NODES - idle, N_NODES))
    for node in chosen:  # fail + repair hands a node back as FREE (no spare pool)
        cluster.fail(node)
        cluster.repair(node)
    assert cluster.n_free == idle
    return cluster


def _alloc_release(cluster: Cluster, n: int) -> Callable[[], object]:
    allocate, release = cluster.allocate, cluster.release

    def op() -> None:
        allocate(1, n)
        release(1)

    return op


@pytest.mark.parametrize("n", [1, 8, 64, 1024])
def test_allocate_release_on_idle_cluster(n: int) -> None:
    cluster = Cluster(TOPOLOGY)
    number = 400 if n <= 64 else 40
    note(
        f"allocate+release/{n}-node/idle-16384", best_us(_alloc_release(cluster, n), number=number)
    )
    assert cluster.n_free == N_NODES  # the loop left the cluster as it found it


def test_allocation_cost_does_not_grow_with_idle_nodes() -> None:
    """Allocating a 1-node job with 16,384 idle nodes runs < 2× the Python lines of 64 idle.

    The time ratio is reported with a bound of 3×.

    Measured on the shared 2-core machine: 1.0-1.8× (the one-rack fast path looks at per-pod
    histograms, whose size is the number of pods, not of idle nodes). An allocator that scanned
    or sorted idle nodes or racks would show ~50-250× (16,384 / 64 idle nodes, 8,192 / 64 racks
    with a free node). 3× leaves room for noise on a shared machine.
    """
    t = best_interleaved(
        {
            "idle-16384": (_alloc_release(Cluster(TOPOLOGY), 1), None),
            "idle-64-contiguous": (
                _alloc_release(_cluster_with_idle(64, scattered=False), 1),
                None,
            ),
            "idle-64-scattered": (_alloc_release(_cluster_with_idle(64, scattered=True), 1), None),
        },
        number=400,
    )
    for name, us in t.items():
        note(f"allocate+release/1-node/{name}", us)
    for few in ("idle-64-contiguous", "idle-64-scattered"):
        ratio = t["idle-16384"] / t[few]
        note_ratio(f"ratio/allocate-1-node/idle-16384-vs-{few[5:]}", ratio, 3.0)
    lines = {
        "16384": python_lines(_alloc_release(Cluster(TOPOLOGY), 1)),
        "64-contiguous": python_lines(_alloc_release(_cluster_with_idle(64, scattered=False), 1)),
        "64-scattered": python_lines(_alloc_release(_cluster_with_idle(64, scattered=True), 1)),
    }
    for few in ("64-contiguous", "64-scattered"):
        name = f"lines/allocate-1-node/idle-16384-vs-{few}"
        assert_lines_ratio(name, lines["16384"], lines[few], 2.0)  # measured: 1.0


def test_multi_rack_allocation_cost_does_not_grow_with_idle_nodes() -> None:
    """The same claim for a 64-node job (the multi-rack path), 16,384 against 128 idle nodes.

    Python lines < 6×; the time ratio is reported with a bound of 3×.

    Measured: 0.7-1.1× (pod-level histograms again). 128 contiguous idle nodes (half a pod) are the
    fewest that still let a 64-node job in without changing the path taken.
    """
    t = best_interleaved(
        {
            "idle-16384": (_alloc_release(Cluster(TOPOLOGY), 64), None),
            "idle-128-contiguous": (
                _alloc_release(_cluster_with_idle(128, scattered=False), 64),
                None,
            ),
        },
        number=200,
    )
    for name, us in t.items():
        note(f"allocate+release/64-node/{name}", us)
    ratio = t["idle-16384"] / t["idle-128-contiguous"]
    note_ratio("ratio/allocate-64-node/idle-16384-vs-128", ratio, 3.0)
    # Measured: 3.5 (32 racks walked against a one-pod fast path); a walk of the idle nodes
    # would be ~128x.
    assert_lines_ratio(
        "lines/allocate-64-node/idle-16384-vs-128",
        python_lines(_alloc_release(Cluster(TOPOLOGY), 64)),
        python_lines(_alloc_release(_cluster_with_idle(128, scattered=False), 64)),
        6.0,
    )


# ----------------------------------------------------------------------------- replacements
def _replacement_op(
    cluster: Cluster, job: int
) -> tuple[Callable[[], object], Callable[[], object]]:
    """(setup, op): setup fails one node of ``job`` and repairs the previous victim; op
    replaces it. The cluster is back in the same state before every timed call."""
    victim: list[int] = []

    def setup() -> None:
        if victim:
            cluster.repair(victim.pop())
        node = cluster.nodes_of(job)[0]
        cluster.fail(node)
        victim.append(node)

    def op() -> None:
        cluster.take_replacements(job, 1)

    return setup, op


@pytest.mark.parametrize("spares", [0, 256], ids=["no-spares", "256-spares"])
@pytest.mark.parametrize("size", [1, 4096])
def test_take_replacements(size: int, spares: int) -> None:
    cluster = Cluster(TOPOLOGY, spare_nodes=spares)
    assert cluster.allocate(7, size) is not None
    setup, op = _replacement_op(cluster, 7)
    number = 200 if size == 1 else 50
    us = best_us(op, number=number, setup=setup)
    note(f"take_replacements/{size}-node-job/{spares}-spares", us, free=cluster.n_free)
    assert len(cluster.nodes_of(7)) == size  # every timed call replaced the failed node


def test_replacement_cost_does_not_grow_with_idle_nodes() -> None:
    """Replacing a node of a 1-node job (no spares), 16,383 against 64 idle nodes.

    Python lines < 6×; the time ratio is reported with a bound of 3×.

    Measured: 0.9-1.6×. Bound as for allocation.
    """
    big = Cluster(TOPOLOGY)
    assert big.allocate(7, 1) is not None
    small = _cluster_with_idle(64 + 1, scattered=False)
    assert small.allocate(7, 1) is not None
    ops: dict[str, tuple[Callable[[], object], Callable[[], object] | None]] = {}
    for label, cluster in (("idle-16383", big), ("idle-64", small)):
        setup, op = _replacement_op(cluster, 7)
        ops[label] = (op, setup)
    t = best_interleaved(ops, number=200)
    for name, us in t.items():
        note(f"take_replacements/1-node-job/0-spares/{name}", us)
    ratio = t["idle-16383"] / t["idle-64"]
    note_ratio("ratio/take_replacements-1-node/idle-16383-vs-64", ratio, 3.0)
    lines = {}
    for label, idle in (("idle-16383", N_NODES), ("idle-64", 64 + 1)):
        cluster = (
            Cluster(TOPOLOGY) if idle == N_NODES else _cluster_with_idle(idle, scattered=False)
        )
        assert cluster.allocate(7, 1) is not None
        setup, op = _replacement_op(cluster, 7)
        lines[label] = python_lines(op, setup)
    # Measured: 3.2; a walk of the idle nodes would be ~256x.
    name = "lines/take_replacements-1-node/idle-16383-vs-64"
    assert_lines_ratio(name, lines["idle-16383"], lines["idle-64"], 6.0)


# ----------------------------------------------------------------------------- EASY decide
def _easy_inputs(
    queued: int, running: int, seed: int = 6
) -> tuple[ClusterView, tuple[JobView, ...]]:
    """A loaded cluster with a blocked head: 64 free nodes, the head needs 4,096.

    Behind the head: ``queued - 1`` jobs of 1-128 nodes; running jobs hold the rest of the
    16,384 nodes with end estimates spread over a week (a fixed seed: deterministic).
    """
    rng = random.Random(seed)
    free = 64
    per_run = (N_NODES - free) // running
    runs = tuple(
        RunningView(i, per_run, 0, 0.0, rng.uniform(3600.0, 7 * 86400.0)) for i in range(running)
    )
    head = JobView(running, 4096, 0, 0.0, 86400.0)
    rest = tuple(
        JobView(
            running + 1 + i,
            rng.choice((1, 2, 4, 8, 16, 32, 64, 128)),
            0,
            float(1 + i),
            rng.uniform(600.0, 3 * 86400.0),
        )
        for i in range(queued - 1)
    )
    queue = (head, *rest)
    # The engine hands policies the running jobs already ordered by end estimate (by_end).
    by_end = tuple(sorted(runs, key=lambda r: (r.est_end_s, r.id)))
    view = ClusterView(1000.0, free, N_NODES, 0, runs, by_end)
    return view, queue


EASY_SIZES = [(q, r) for q in (10, 1000, 10000) for r in (100, 1000, 10000)]


def _easy_number(queued: int, running: int) -> int:
    return max(5, 20_000 // (queued + running))


def _easy_op(queued: int, running: int) -> Callable[[], object]:
    view, queue = _easy_inputs(queued, running)
    decide = easy_backfill.decide
    return lambda: decide(view, queue)


@pytest.mark.parametrize(("queued", "running"), EASY_SIZES)
def test_easy_decide_blocked_head(queued: int, running: int) -> None:
    view, queue = _easy_inputs(queued, running)
    started = len(easy_backfill.decide(view, queue))
    note(
        f"easy.decide/queue-{queued}/running-{running}",
        best_us(_easy_op(queued, running), number=_easy_number(queued, running)),
        backfilled=started,
    )


def test_easy_cost_grows_at_most_linearly() -> None:
    """Policy cost per decision grows at most linearly with the queue and the running jobs.

    EASY sorts the queue (FIFO order) and, with a blocked head, the running jobs (shadow time):
    n log n at worst (the sorts run in C), with a fixed per-call overhead. Asserted on Python
    lines: 10× more jobs run < 13× the lines (measured 7.7× for the queue, 4.5× for the
    running jobs); anything quadratic would be ~100×. The time ratio is reported with a bound
    of 30× (it once reached 49.6× on the loaded machine, which is why it is not asserted).
    """
    for label, small, large in (
        ("queue", (1000, 1000), (10000, 1000)),
        ("running", (1000, 1000), (1000, 10000)),
    ):
        t = best_interleaved(
            {"small": (_easy_op(*small), None), "large": (_easy_op(*large), None)},
            number=_easy_number(*large),
        )
        ratio = t["large"] / t["small"]
        note_ratio(f"ratio/easy.decide/{label}-10000-vs-1000", ratio, 30.0)
        # Measured: 7.7 (queue) and 4.5 (running); quadratic would be ~100x.
        name = f"lines/easy.decide/{label}-10000-vs-1000"
        assert_lines_ratio(
            name, python_lines(_easy_op(*large)), python_lines(_easy_op(*small)), 13.0
        )


# ----------------------------------------------------------------------------- engine dispatch
def _loaded_simulation(idle: int, running: int, queued: int) -> Simulation:
    """A Simulation at a dispatch fixed point on the 16,384-node cluster, EASY backfill.

    ``running`` jobs started at t=0 and hold all but ``idle`` nodes (``running - 1`` of one
    size and a longer-running filler for the rest). At t=1 a head job arrives that needs
    exactly ``idle`` nodes plus every same-size job's nodes (they all end at one instant, and
    the extra nodes count every job ending at the shadow time, so none are extra), then
    ``queued`` 1-node jobs that fit now but would end after the reservation: EASY must decline
    all of them. Every later dispatch at that instant builds the views and calls the policy,
    which starts nothing.
    """
    size = (N_NODES - idle) // running
    filler = N_NODES - idle - (running - 1) * size
    head = idle + (running - 1) * size
    gpn = TOPOLOGY.gpus_per_node
    jobs: list[dict[str, Any]] = [
        {"name": "run", "gpus": size * gpn, "work": "2d", "count": running - 1},
        {"name": "filler", "gpus": filler * gpn, "work": "30d"},
        {"name": "head", "gpus": head * gpn, "work": "1d", "submit": "1s"},
        {"name": "small", "gpus": gpn, "work": "10d", "submit": "1s", "count": queued},
    ]
    scenario = Scenario.model_validate(
        {
            "cluster": {
                "gpus_per_node": gpn,
                "nodes_per_rack": TOPOLOGY.nodes_per_rack,
                "racks_per_pod": TOPOLOGY.racks_per_pod,
                "pods": TOPOLOGY.pods,
            },
            "workload": {"jobs": jobs},
            "checkpoint": {"policy": "fixed", "interval": "1h", "stall": "10s"},
            "restart": {"init": "1h", "init_per_gpu": 0, "load": "0s"},
            "scheduler": {"policy": "easy-backfill"},
            "run": {"stop_when_done": False, "horizon": "60d"},
        }
    )
    sim = Simulation(scenario, seed=0)
    env = sim.env
    env.process(sim.submit_jobs(env))
    env.run(until=2.0)  # both dispatches (t=0 and t=1) done; nothing else happens before 1h
    assert sim.cluster.n_free == idle and len(sim.queue) == queued + 1
    return sim


def _dispatch_us(sim: Simulation) -> float:
    free, queued = sim.cluster.n_free, len(sim.queue)
    us = best_us(sim.dispatcher._dispatch, number=20)
    assert (sim.cluster.n_free, len(sim.queue)) == (free, queued)  # started nothing
    return us


@pytest.mark.parametrize(("running", "queued"), [(100, 1000), (1000, 1000), (1000, 10000)])
def test_dispatch_on_loaded_cluster(running: int, queued: int) -> None:
    sim = _loaded_simulation(64, running, queued)
    note(
        f"engine._dispatch/idle-64/running-{running}/queue-{queued}",
        _dispatch_us(sim),
    )


def test_dispatch_cost_does_not_grow_with_idle_nodes() -> None:
    """A dispatch with 8,192 idle nodes runs the Python lines of one with 64 (< 1.5×).

    Same queue and running jobs; the time ratio is reported with a bound of 2.5×.

    The dispatcher's work is the views (running jobs, queued jobs that fit) and the policy;
    neither looks at idle nodes. Measured: 0.8-1.1×. 2.5× allows for noise; anything that
    walked the idle nodes would cost ~128× here.
    """
    sims = {idle: _loaded_simulation(idle, 1000, 1000) for idle in (64, 8192)}
    before = {idle: (s.cluster.n_free, len(s.queue)) for idle, s in sims.items()}
    t = best_interleaved(
        {f"idle-{i}": (s.dispatcher._dispatch, None) for i, s in sims.items()}, number=20
    )
    for idle, sim in sims.items():
        assert (sim.cluster.n_free, len(sim.queue)) == before[idle]  # started nothing
        note(f"engine._dispatch/idle-{idle}/running-1000/queue-1000", t[f"idle-{idle}"])
    ratio = t["idle-8192"] / t["idle-64"]
    note_ratio("ratio/engine._dispatch/idle-8192-vs-64", ratio, 2.5)
    lines = {idle: python_lines(s.dispatcher._dispatch) for idle, s in sims.items()}
    # Measured: 1.0 (the same lines: nothing looks at idle nodes).
    assert_lines_ratio("lines/engine._dispatch/idle-8192-vs-64", lines[8192], lines[64], 1.5)

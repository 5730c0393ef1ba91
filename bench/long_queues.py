"""Long queues: the engine against the plain-Python reference scheduler on an overloaded trace.

Issue 15, item 7: *a dispatch that can start nothing costs O(1) in the queue length; FIFO and
EASY on a 10,000-job overloaded trace within 5× of a plain-Python reference scheduler on the
same trace.* This script builds that trace (SWF-like: one-GPU nodes, sizes 1 … nodes with many
small and some wide jobs, lognormal runtimes, arrivals faster than the machine can serve),
runs it through the engine (faults off, zero start-up and checkpoint costs, as
``tests/replay.py`` does) and through ``tests/reference/minisched.py`` in the same process,
alternating the two, and reports the best-of-k wall time of each, their ratio, and whether
every job's start time agrees (it must; a disagreement exits 1).

The engine's time is ``Simulation(scenario)`` plus ``.run()``; building the validated
``Scenario`` (pydantic) is timed apart, as ``bench/run.py`` does. The reference's time is one
``simulate`` call. Times are whole seconds, as in SWF, so ties are exact on both sides.

Usage::

    uv run python bench/long_queues.py                          # every size and policy, best of 3
    uv run python bench/long_queues.py --config overloaded-10k --policy fifo --repeat 5
    uv run python bench/long_queues.py --profile easy-backfill  # + cProfile of one engine run
    uv run python bench/long_queues.py --notes                  # + rewrite the notes' section

Results go to ``results/long_queues.json``; ``--notes`` replaces the ``## Long queues`` section of
``NOTES.md`` and ``REPORT.md`` (which appends NOTES.md) with the table of this run.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import math
import pstats
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
# The reference and the replay helper live with the tests; neither is a package.
sys.path[:0] = [str(ROOT / "tests" / "reference"), str(ROOT / "tests")]

from minisched import simulate  # noqa: E402
from replay import replay_scenario  # noqa: E402
from run import code_fingerprint, machine_info  # noqa: E402

from clustersim.engine import Simulation  # noqa: E402

RESULTS_DIR = BENCH_DIR / "results"
POLICIES = ("fifo", "easy-backfill", "sjf", "conservative-backfill")
TARGET_RATIO = 5.0
"""Issue 15: FIFO and EASY within 5× of the reference."""
TARGETED = ("fifo", "easy-backfill")  # on the 10,000-job trace
SECTION = "## Long queues"

Job = tuple[int, int, int]  # (submit_s, runtime_s, nodes), as tests/replay.py takes them


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """An overloaded SWF-like workload on one-GPU nodes, generated from a fixed seed."""

    n_jobs: int
    nodes: int
    load: float
    """Offered node-seconds ÷ the machine's node-seconds over the arrival span (> 1: overload)."""
    seed: int
    policies: tuple[str, ...] = POLICIES
    serial_share: float = 0.35
    """Share of one-node jobs; the rest are log-uniform on 2 … nodes, mostly powers of two."""
    runtime_median_s: float = 900.0
    runtime_sigma: float = 1.6
    runtime_max_s: int = 36 * 3600
    calm_load: float | None = None
    """Also time the engine on the same jobs arriving this much slower (a short queue): what
    the engine costs per job when the queue costs nothing."""


CONFIGS: dict[str, QueueConfig] = {
    "overloaded-10k": QueueConfig(
        n_jobs=10_000,
        nodes=256,
        load=2.0,
        seed=15,
        policies=("fifo", "easy-backfill", "sjf"),
        calm_load=0.2,
    ),
    # The reference's conservative backfilling rebuilds every reservation from a list of
    # intervals at each pass (cubic in the queue: 400 s on 1,000 jobs), so that policy gets a
    # trace the reference can finish.
    "overloaded-500": QueueConfig(n_jobs=500, nodes=64, load=2.0, seed=15),
}
DEFAULT = ("overloaded-10k", "overloaded-500")


def workload(cfg: QueueConfig) -> list[Job]:
    """The trace: ``(submit_s, runtime_s, nodes)`` per job, in submission order."""
    rng = np.random.default_rng(cfg.seed)
    n = cfg.n_jobs
    top = math.log2(cfg.nodes)
    wide = np.exp2(rng.uniform(1.0, top, size=n))
    # Three in four parallel jobs ask for a power of two, as in most SWF archive traces.
    sizes = np.where(rng.random(n) < 0.75, np.exp2(np.round(np.log2(wide))), np.round(wide))
    sizes = np.where(rng.random(n) < cfg.serial_share, 1, sizes).astype(np.int64)
    runtimes = rng.lognormal(math.log(cfg.runtime_median_s), cfg.runtime_sigma, size=n)
    runtimes = np.clip(np.ceil(runtimes), 1, cfg.runtime_max_s).astype(np.int64)
    span_s = float(np.sum(sizes * runtimes)) / (cfg.nodes * cfg.load)
    gaps = rng.exponential(span_s / n, size=n)
    submits = np.floor(np.cumsum(gaps) - gaps[0]).astype(np.int64)
    return [(int(s), int(r), int(p)) for s, r, p in zip(submits, runtimes, sizes, strict=True)]


def peak_queue(jobs: Sequence[Job], starts: Sequence[float]) -> int:
    """The most jobs waiting at once (submitted and not yet started)."""
    marks = [(s, 1) for s, _, _ in jobs] + [(t, -1) for t in starts if math.isfinite(t)]
    depth = best = 0
    # At one instant the arrivals come first, then the pass that starts jobs.
    for _, delta in sorted(marks, key=lambda m: (m[0], -m[1])):
        depth += delta
        best = max(best, depth)
    return best


Timed = tuple[list[float], float, float]  # start times, wall seconds, CPU seconds


def engine_starts(jobs: Sequence[Job], nodes: int, policy: str) -> Timed:
    """Start times from the engine, and the wall and CPU seconds ``Simulation`` + ``run`` took."""
    scenario = replay_scenario(jobs, nodes, policy)
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    sim = Simulation(scenario, replication=0, seed=0, keep_log=False)
    sim.run(None)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    by_name = {job.name: job.first_start_s for job in sim.jobs}
    return [by_name[f"j{i}"] for i in range(len(jobs))], wall, cpu


def reference_starts(jobs: Sequence[Job], nodes: int, policy: str) -> Timed:
    """Start times from the reference (estimates exact), and the wall and CPU seconds."""
    with_estimates = [(s, r, p, r) for s, r, p in jobs]
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    starts = simulate(with_estimates, nodes, policy)
    return starts, time.perf_counter() - t0, time.process_time() - c0


def differing(a: Sequence[float], b: Sequence[float]) -> int:
    """Jobs whose start times differ (``nan``, never started, equals ``nan``)."""
    return sum(
        1 for x, y in zip(a, b, strict=True) if x != y and not (math.isnan(x) and math.isnan(y))
    )


def measure(name: str, cfg: QueueConfig, policy: str, repeat: int) -> dict[str, Any]:
    """Best-of-``repeat`` engine and reference times on one trace, alternating the two."""
    jobs = workload(cfg)
    t0 = time.perf_counter()
    replay_scenario(jobs, cfg.nodes, policy)
    scenario_s = time.perf_counter() - t0
    # The same sizes and runtimes (the generator draws them before the arrival gaps).
    calm = workload(replace(cfg, load=cfg.calm_load)) if cfg.calm_load else None
    engine: list[tuple[float, float]] = []
    reference: list[tuple[float, float]] = []
    calm_s: list[float] = []
    differ = 0
    starts: list[float] = []
    calm_starts: list[float] = []
    for _ in range(repeat):
        ours, wall, cpu = engine_starts(jobs, cfg.nodes, policy)
        engine.append((wall, cpu))
        starts, wall, cpu = reference_starts(jobs, cfg.nodes, policy)
        reference.append((wall, cpu))
        differ = max(differ, differing(ours, starts))
        if calm is not None:
            calm_starts, wall, _ = engine_starts(calm, cfg.nodes, policy)
            calm_s.append(wall)
    agree = differ == 0
    engine_s, engine_cpu_s = (min(t) for t in zip(*engine, strict=True))
    reference_s, reference_cpu_s = (min(t) for t in zip(*reference, strict=True))
    row = {
        "config": name,
        "policy": policy,
        "jobs": cfg.n_jobs,
        "nodes": cfg.nodes,
        "peak_queue": peak_queue(jobs, starts),
        "engine_s": engine_s,
        "reference_s": reference_s,
        "ratio": engine_s / reference_s,
        "engine_cpu_s": engine_cpu_s,
        "reference_cpu_s": reference_cpu_s,
        "ratio_cpu": engine_cpu_s / reference_cpu_s,
        "engine_runs": engine,
        "reference_runs": reference,
        "scenario_s": scenario_s,
        "agree": agree,
        "jobs_differing": differ,
        "calm_engine_s": min(calm_s) if calm is not None else None,
        "calm_peak_queue": peak_queue(calm, calm_starts) if calm is not None else None,
    }
    sys.stderr.write(
        f"{name:>15} {policy:>22}: engine {row['engine_s']:7.3f} s  reference "
        f"{row['reference_s']:7.3f} s  ratio {row['ratio']:5.2f} (CPU {row['ratio_cpu']:5.2f})  "
        f"peak queue "
        f"{row['peak_queue']:,}  start times {'agree' if agree else f'DIFFER ({differ})'}\n"
    )
    return row


IDLE_QUEUES = (100, 1_000, 10_000)
IDLE_POLICIES = ("fifo", "easy-backfill")
IDLE_NODES = 256


def idle_pass_us(policy: str, queued: int, repeat: int, number: int = 200) -> float:
    """µs per scheduling pass that starts nothing, with ``queued`` jobs waiting behind the head.

    One job holds all but 4 of 256 nodes until t = 1000. At t = 1 a head job needing the whole
    machine arrives, then ``queued`` one-node jobs of 10,000 s: each fits in the 4 free nodes
    but would delay the head (its reservation leaves no extra node), so neither FIFO nor EASY
    starts anything, and the pass can be repeated at that instant. Best of ``repeat`` batches.
    """
    jobs = [(0, 1000, IDLE_NODES - 4), (1, 10, IDLE_NODES), *[(1, 10_000, 1)] * queued]
    sim = Simulation(replay_scenario(jobs, IDLE_NODES, policy), seed=0, keep_log=False)
    env = sim.env
    env.process(sim.submit_jobs(env))
    env.run(until=2)
    dispatch = sim.dispatcher._dispatch
    before = (sim.cluster.n_free, len(sim.queue))
    assert before == (4, queued + 1), before
    best = math.inf
    gc.collect()
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            dispatch()
        best = min(best, (time.perf_counter() - t0) / number * 1e6)
    assert (sim.cluster.n_free, len(sim.queue)) == before, "the pass started something"
    return best


def idle_passes(repeat: int) -> list[dict[str, Any]]:
    """:func:`idle_pass_us` for each policy and queue length."""
    rows = []
    for policy in IDLE_POLICIES:
        us = {str(q): idle_pass_us(policy, q, max(repeat, 5)) for q in IDLE_QUEUES}
        rows.append({"policy": policy, "us": us})
        sys.stderr.write(f"pass that starts nothing, {policy}: {us} µs\n")
    return rows


def profile(cfg: QueueConfig, policy: str, top: int = 20) -> str:
    """cProfile of one engine run: the top functions by cumulative and by self time."""
    jobs = workload(cfg)
    scenario = replay_scenario(jobs, cfg.nodes, policy)
    prof = cProfile.Profile()
    prof.enable()
    Simulation(scenario, replication=0, seed=0, keep_log=False).run(None)
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def markdown(result: dict[str, Any], command: str, before: dict[str, Any] | None) -> str:
    """The ``## Long queues`` section for NOTES.md / REPORT.md (with an earlier run beside)."""
    m = result["machine"]
    earlier = {(r["config"], r["policy"]): r for r in (before or {}).get("rows", [])}
    lines = [
        SECTION,
        "",
        "Issue 15, item 7: *FIFO and EASY on a 10,000-job overloaded trace within 5× of a "
        "plain-Python reference scheduler on the same trace.* Generated by "
        f"`bench/long_queues.py` ({result['date']}, code `{result['code']}`; best of "
        f"{result['repeat']}, engine and reference alternating in one process; faults off, "
        "zero start-up and checkpoint costs; every job's start time compared). Wall seconds; "
        "the CPU-time ratio is less disturbed by other processes on a shared machine.",
        "",
        "| trace | policy | jobs | nodes | peak queue | engine s | reference s | "
        "engine ÷ reference | CPU ratio |"
        + (f" before (code `{before['code']}`) |" if before else "")
        + " start times | engine s, same jobs calm (peak queue) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if before else "") + "---|---:|",
    ]
    for r in result["rows"]:
        targeted = r["policy"] in TARGETED and r["jobs"] >= 10_000
        target = f" (target ≤ {TARGET_RATIO:g})" if targeted else ""
        old = earlier.get((r["config"], r["policy"]))
        was = f" {old['ratio']:.2f} ({old['engine_s']:.1f} s) |" if old else " – |"
        lines.append(
            f"| `{r['config']}` | {r['policy']} | {r['jobs']:,} | {r['nodes']} | "
            f"{r['peak_queue']:,} | {r['engine_s']:.3f} | {r['reference_s']:.3f} | "
            f"**{r['ratio']:.2f}**{target} | {r['ratio_cpu']:.2f} |"
            + (was if before else "")
            + f" {'identical' if r['agree'] else 'DIFFER: ' + str(r['jobs_differing'])} |"
            + (
                f" {r['calm_engine_s']:.3f} ({r['calm_peak_queue']:,}) |"
                if r.get("calm_engine_s") is not None
                else " – |"
            )
        )
    for r in result["rows"]:
        if r.get("calm_engine_s") is not None and r["policy"] in TARGETED:
            calm = r["calm_engine_s"]
            lines += [
                "",
                f"`{r['policy']}` on `{r['config']}`: the same jobs arriving calmly (peak queue "
                f"{r['calm_peak_queue']:,}) cost the engine {calm:.3f} s, "
                f"{calm / r['reference_s']:.1f}× the reference's time on the overloaded trace: "
                f"the engine's own cost per job (placement, the job's process, its records), "
                f"{calm / r['engine_s']:.0%} of the overloaded run.",
            ]
    idle = result["idle_passes"]
    old_idle = {r["policy"]: r["us"] for r in (before or {}).get("idle_passes", [])}
    lines += [
        "",
        "A scheduling pass that can start nothing, µs per pass (best of batches), against the "
        "number of jobs waiting behind a blocked head (`idle_pass_us`: one-node jobs that fit "
        "in the free nodes but would delay the head):",
        "",
        "| policy | " + " | ".join(f"{int(q):,} queued" for q in idle[0]["us"]) + " |"
        if idle
        else "",
        "|---|" + "---:|" * len(idle[0]["us"]) if idle else "",
    ]
    for r in idle:
        was = old_idle.get(r["policy"], {})
        lines.append(
            f"| {r['policy']} | "
            + " | ".join(
                f"{us:,.1f}" + (f" (before {was[q]:,.0f})" if q in was else "")
                for q, us in r["us"].items()
            )
            + " |"
        )
    lines += [
        "",
        "Traces: one-GPU nodes; 35 % one-node jobs, the rest log-uniform on 2 … nodes (three "
        "in four a power of two); lognormal runtimes (median 15 min, σ 1.6, capped at 36 h, "
        "whole seconds); Poisson arrivals at twice the machine's capacity (`load` 2.0), from "
        "a fixed seed (`bench/long_queues.py`, `CONFIGS`). *Calm*: the same jobs arriving ten "
        "times slower (`load` 0.2), so the queue stays short: the engine's cost per job when the "
        "queue costs nothing. The reference's conservative backfilling is cubic in the queue "
        "per pass, so that policy runs on the 500-job trace only. How the dispatcher reads a "
        "long queue: `docs/scheduling.md`, *Queue filtering*.",
        "",
        f"Machine: {m['cpu_model']}, {m['cpu_usable']} usable of {m['cpu_count']} CPUs; "
        f"{m['platform']}; CPython {m['python']}, numpy {m['numpy']}, SimPy {m['simpy']}, "
        f"clustersim {m['clustersim']}; load average at start {m['load_average_at_start'][0]:.2f}"
        ". The machine is shared: compare the ratios, measured in one run, not the seconds.",
        "",
        f"Reproduce: `{command}`",
        "",
    ]
    return "\n".join(lines)


def replace_section(path: Path, section: str, anchor: str | None) -> None:
    """Replace the ``## Long queues`` section of a markdown file.

    Without one, the section goes just before the line ``anchor`` (appended if absent).
    """
    text = path.read_text() if path.exists() else ""
    start = text.find(SECTION)
    if start < 0:
        at = text.find(anchor + "\n") if anchor else -1
        if at < 0:
            text = text.rstrip("\n") + "\n\n" + section
        else:
            text = text[:at] + section + "\n" + text[at:]
    else:
        end = text.find("\n## ", start + len(SECTION))
        rest = text[end + 1 :] if end >= 0 else ""
        text = text[:start] + section + ("\n" + rest if rest else "")
    path.write_text(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected sizes and policies; exit 1 if any start time differs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", action="append", choices=sorted(CONFIGS))
    parser.add_argument("--policy", action="append", choices=POLICIES)
    parser.add_argument("--repeat", type=int, default=3, help="best of k (default 3)")
    parser.add_argument("--profile", choices=POLICIES, help="cProfile one engine run")
    parser.add_argument("--out", default="long_queues.json", help="under bench/results/")
    parser.add_argument("--before", help="an earlier result file (under bench/results/) to show")
    parser.add_argument("--notes", action="store_true", help="rewrite the notes' section")
    parser.add_argument("--no-traces", action="store_true", help="only the idle-pass table")
    args = parser.parse_args(argv)
    # Before the runs: the load average at start, and the code as imported.
    machine, code = machine_info(), code_fingerprint()
    rows = []
    for name in () if args.no_traces else args.config or DEFAULT:
        cfg = CONFIGS[name]
        for policy in cfg.policies:
            if args.policy is None or policy in args.policy:
                rows.append(measure(name, cfg, policy, args.repeat))
    if args.profile:
        name = (args.config or DEFAULT)[0]
        sys.stderr.write(profile(CONFIGS[name], args.profile))
    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "code": code,
        "repeat": args.repeat,
        "machine": machine,
        "configs": {name: asdict(cfg) for name, cfg in CONFIGS.items()},
        "rows": rows,
        "idle_passes": idle_passes(args.repeat),
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / args.out).write_text(json.dumps(result, indent=1) + "\n")
    command = "uv run python bench/long_queues.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    before = json.loads((RESULTS_DIR / args.before).read_text()) if args.before else None
    section = markdown(result, command.strip(), before)
    sys.stdout.write(section)
    if args.notes:
        # Newest first in NOTES.md; REPORT.md ends with a copy of NOTES.md (bench/report.py).
        notes = (BENCH_DIR / "NOTES.md").read_text().splitlines()
        anchor = next((line for line in notes if line.startswith("## ")), None)
        for path in (BENCH_DIR / "NOTES.md", BENCH_DIR / "REPORT.md"):
            replace_section(path, section, anchor)
    return 0 if all(r["agree"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""docs/questions.md: the users' four questions, answered by the commands the page shows.

Every table (and every number in the readings under it) sits between ``<!-- q<n>-...:begin -->``
and ``<!-- q<n>-...:end -->`` markers and is what :func:`q1_tables`, :func:`q2_table`,
:func:`q3_table` and :func:`q4_table` build from the output of the page's own commands: the
fenced block after each ``<!-- q<n>-commands -->`` marker is read back, run through
:func:`clustersim.cli.main` with ``--json`` added, and for question 4 the page's Python block is
executed as written. The runs take about two and a half minutes of CPU, so the check is a
``slow`` test; regenerate with::

    CLUSTERSIM_REGEN_DOCS=1 uv run pytest -n0 -m slow tests/regression/test_questions_doc.py

The fast tests check what needs no simulation: the markers are there, every command parses and
every ``--set``/``--grid`` value loads, the Python block compiles, and the closed forms the
page quotes (expected ToR failures a month).
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from clustersim.cli import _build_parser, main
from clustersim.config import load_scenario
from clustersim.metrics import t_quantile_975
from clustersim.plan.core import analytic_ettr, fast_model, first_order_ettr
from clustersim.plan.knobs import KNOBS, format_value
from clustersim.sweep.grid import grid_points, parse_grid, point_scenario

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "questions.md"
REGEN = os.environ.get("CLUSTERSIM_REGEN_DOCS") == "1"
BLOCKS = ("q1-sweep", "q1-plan", "q2-plan", "q3-tor", "q4-policies")
#: Question 3: the rows' workloads (the preset's generator, and the brief's 300 jobs).
Q3_WORKLOADS = (("3,000 (preset)", ()), ("300", ("workload.generator.jobs=300",)))
#: Question 3: ToRs per rack under each homing (a dual-homed rack has two, each failing).
TORS_PER_RACK = {"single": 1, "dual": 2}
#: Alibaba HPN: 0.051 % of ToRs fail per month (../shared/data/published_rates.csv).
HPN_TOR_PER_MONTH = 0.051 / 100


def _text() -> str:
    return DOC.read_text(encoding="utf-8")


def _commands(name: str) -> list[str]:
    """The commands of the fenced block after ``<!-- name -->``, continuation lines joined."""
    block = _text().split(f"<!-- {name} -->", 1)[1].split("```", 2)[1]
    lines = block.split("\n", 1)[1].replace("\\\n", " ").strip().splitlines()
    return [line.strip() for line in lines if line.strip()]


def _python(name: str) -> str:
    """The code of the fenced ``python`` block after ``<!-- name -->``."""
    block = _text().split(f"<!-- {name} -->", 1)[1].split("```", 2)[1]
    assert block.startswith("python\n"), f"the block after {name} is not python"
    return block.removeprefix("python\n")


def _argv(command: str) -> list[str]:
    argv = shlex.split(command)
    assert argv[0] == "clustersim", command
    return argv[1:]


def _flags(argv: Sequence[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag]


def _run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    extra = ["--json", "--no-jobs"] if argv[0] == "run" else ["--json"]
    assert main([*argv, *extra]) == 0, argv
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def _between(text: str, name: str) -> str:
    m = re.search(rf"<!-- {name}:begin -->\n(.*?)\n<!-- {name}:end -->", text, flags=re.S)
    assert m, f"docs/questions.md lacks the {name} markers"
    return m.group(1)


def _replace(text: str, name: str, body: str) -> str:
    return re.sub(
        rf"(<!-- {name}:begin -->\n).*?(\n<!-- {name}:end -->)",
        lambda m: m.group(1) + body + m.group(2),
        text,
        flags=re.S,
    )


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _ci(mean: float, ci: Sequence[float] | None, fmt: str) -> str:
    if ci is None:
        return format(mean, fmt)
    return f"{mean:{fmt}} [{ci[0]:{fmt}}, {ci[1]:{fmt}}]"


def paired(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float]:
    """Mean of the differences ``b − a`` replication by replication, with its 95 % t interval."""
    d = [y - x for x, y in zip(a, b, strict=True)]
    n = len(d)
    mean = sum(d) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1))
    half = t_quantile_975(n - 1) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def _delta(d: tuple[float, float, float], fmt: str) -> str:
    mean, low, high = d
    mark = " \\*" if low > 0 or high < 0 else ""
    return f"{mean:{fmt}} [{low:{fmt}}, {high:{fmt}}]{mark}"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.3g} min"


# --- question 1 -------------------------------------------------------------------------------


def q1_tables(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """The interval sweep against the exact model, and the plan's line for 10 minutes."""
    sweep_cmd, plan_cmd = _commands("q1-commands")
    argv = _argv(sweep_cmd)
    out = _run_json(argv, capsys)
    scenario = load_scenario(argv[1], _flags(argv, "--set"))
    model, refused = fast_model(scenario)
    assert refused is None, refused  # the formula's assumptions hold for llama3-405b
    (base,) = _flags(argv, "--baseline")
    paired_by = {json.dumps(p["point"]): p for p in out["paired"]}
    rows = []
    for record in out["records"]:
        s = record["summary"]
        tau = record["values"]["checkpoint.interval"]
        diff = paired_by[json.dumps(record["point"])]["ettr"]
        is_base = f"checkpoint.interval={record['point']['checkpoint.interval']}" == base
        rows.append(
            [
                record["point"]["checkpoint.interval"],
                _ci(s["ettr"], s["ettr_ci95"], ".4f"),
                "(reference)" if is_base else _delta((diff["mean"], *diff["ci95"]), "+.4f"),
                f"{analytic_ettr(model, tau):.4f}",
                f"{first_order_ettr(model, tau):.4f}",
                f"{s['interruptions_total']:.1f}",
                f"{s['gpu_hours_wasted'] / 54 / 1e3:,.1f} k",
            ]
        )
    header = [
        "interval",
        f"DES ETTR [95 % CI], {out['reps']} reps",
        "Δ ETTR vs 10 min, paired [95 % CI]",
        "exact model",
        "first-order",
        "interruptions (54 d)",
        "GPU·h wasted per day",
    ]
    sweep_table = _table(header, rows)

    plan = _run_json(_argv(plan_cmd), capsys)
    (scale,) = plan["scales"]
    b, iv = scale["base"], scale["interval"]
    des = b["des"]
    plan_text = "\n".join(
        [
            f"* As given (10 min): job MTBF {b['mtbf_s'] / 3600:.2f} h, checkpoint stall "
            f"{b['stall_s']:.2f} s, mean restart {b['restart_s']:.0f} s; exact model "
            f"**{b['analytic_ettr']:.4f}**, Monte Carlo {b['mc']['ettr']:.4f} "
            f"[{b['mc']['low']:.4f}, {b['mc']['high']:.4f}], DES {des['ettr']:.4f} "
            f"[{des['ettr_ci95'][0]:.4f}, {des['ettr_ci95'][1]:.4f}] "
            f"({des['replications']} replications).",
            f"* Optimum: exact (Lambert W) {iv['exact_s']:.0f} s ({_minutes(iv['exact_s'])}), "
            f"Young {iv['young_s']:.0f} s, Daly {iv['daly_s']:.0f} s; exact-model ETTR there "
            f"{iv['exact_ettr']:.4f} (first-order {iv['first_order_ettr']:.4f}).",
        ]
    )
    return {"q1-sweep": sweep_table, "q1-plan": plan_text}


# --- question 2 -------------------------------------------------------------------------------


def _knob_value(path: str, value: float) -> str:
    """A knob value as the plan shows it, but durations under a minute in seconds."""
    knob = KNOBS[path]
    if knob.unit == "min" and value < 60:
        return f"{value:.3g} s"
    return format_value(knob, value)


def _des(des: dict[str, Any] | None) -> str:
    if des is None:
        return "–"
    return _ci(des["ettr"], des["ettr_ci95"], ".4f")


def q2_table(capsys: pytest.CaptureFixture[str]) -> str:
    """The plan for llama4-100k: as given, the best the knobs allow, the rate reduction."""
    (plan_cmd,) = _commands("q2-commands")
    plan = _run_json(_argv(plan_cmd), capsys)
    (s,) = plan["scales"]
    knobs = list(s["grids"])
    header = ["configuration", *(f"`{k}`" for k in knobs), "exact model", "DES ETTR [95 % CI]"]
    base = s["base"]
    rows = [
        [
            "as given",
            *("(preset)" for _ in knobs),
            f"{base['analytic_ettr']:.4f}",
            _des(base["des"]),
        ]
    ]
    for point in s["des_points"]:
        rows.append(
            [
                "best the knobs allow" if not point["meets"] else "meets 0.90",
                *(_knob_value(k, point["values"][k]) for k in knobs),
                f"{point['analytic_ettr']:.4f}",
                _des(point["des"]),
            ]
        )
    rr = s["rate_reduction"]
    lines = [_table(header, rows), ""]
    lines.append(
        f"Status: **{s['status']}** ({plan['des_replications']} of {plan['budget']} DES "
        f"replications). Job MTBF as given {base['mtbf_s'] / 3600:.2f} h, mean restart "
        f"{base['restart_s']:.0f} s."
    )
    if rr is not None:
        lines += [
            "",
            f"Every unplanned failure rate would have to fall to ×{rr['multiplier_analytic']:.3f} "
            f"(exact model), ×{rr['multiplier_mc']:.3f} (Monte Carlo); DES-confirmed "
            f"×{rr['multiplier_des']:.3f}, a {100 * (1 - rr['multiplier_des']):.0f} % reduction:",
            "",
            _table(
                ["rate multiplier", "DES ETTR [95 % CI]", "meets 0.90"],
                [
                    [f"×{r['multiplier']:.3f}", _des(r["des"]), "yes" if r["meets"] else "no"]
                    for r in rr["des"]
                ],
            ),
        ]
    sens = [r for r in s["sensitivity"] if r.get("des_delta_ettr") is not None]
    if sens:
        lines += [
            "",
            "One grid step from the best configuration (paired DES):",
            "",
            _table(
                ["knob", "from", "to", "Δ ETTR exact model", "Δ ETTR DES [95 % CI]"],
                [
                    [
                        f"`{r['knob']}`",
                        _knob_value(r["knob"], r["from"]),
                        _knob_value(r["knob"], r["to"]),
                        "–" if r["delta_ettr"] is None else f"{r['delta_ettr']:+.4f}",
                        _delta((r["des_delta_ettr"], *r["des_delta_ci95"]), "+.4f"),
                    ]
                    for r in sens
                ],
            ),
        ]
    return "\n".join(lines)


# --- question 3 -------------------------------------------------------------------------------


def n_racks(scenario: Any) -> int:
    """ToR-switched racks of the cluster."""
    cl = scenario.cluster
    return int(cl.racks_per_pod * cl.pods)


def expected_tor_failures(scenario: Any, source: str, days: float) -> float:
    """Failure draws of a ``kind: switch``, ``level: rack`` source in ``days``: rate × racks × t."""
    cfg = scenario.faults[source]
    return float(cfg.rate) * n_racks(scenario) * days * 86400


def q3_table(capsys: pytest.CaptureFixture[str]) -> str:
    """ToR failures on meta-24k-shared: none, single-homed, dual-homed; paired differences."""
    commands = _commands("q3-commands")
    labels = ("none", "single", "dual")
    assert len(commands) == len(labels)
    argv = _argv(commands[1])
    scenario = load_scenario(argv[1], _flags(argv, "--set"))
    racks = n_racks(scenario)
    usd = scenario.cost.usd_per_gpu_hour
    rows: list[list[str]] = []
    month_rows: list[list[str]] = []
    for workload, extra in Q3_WORKLOADS:
        results = {}
        for label, command in zip(labels, commands, strict=True):
            argv = _argv(command)
            for flag in extra:
                argv += ["--set", flag]
            results[label] = _run_json(argv, capsys)
        none = results["none"]["per_replication"]
        # Failure draws per rack in the run (the same for both homings: the same stream).
        n_fail = expected_tor_failures(scenario, "network-switch-cable", 30)
        for label in labels[1:]:
            r = results[label]
            cause = r["causes"].get("network-switch-cable", {})
            # The averaged causes table drops `slowdown_gpu_h` (notes: questions.md), so the
            # network slowdown comes from the summary's by-cause mapping.
            slow = r["summary"].get("network_slowdown_gpu_hours_by_cause", {})
            slowdown = float(slow.get("network-switch-cable", 0.0))
            reps = r["per_replication"]
            waste = paired(
                [x["gpu_hours_wasted"] for x in none], [x["gpu_hours_wasted"] for x in reps]
            )
            good = paired([x["goodput"] for x in none], [x["goodput"] for x in reps])
            per = (waste[0] / n_fail, waste[1] / n_fail, waste[2] / n_fail)
            direct = cause.get("lost_work_gpu_h", 0.0) + cause.get("recovery_gpu_h", 0.0)
            rows.append(
                [
                    workload,
                    label,
                    f"{cause.get('interruptions', 0.0):.1f}",
                    f"{cause.get('lost_work_gpu_h', 0.0):,.0f}",
                    f"{cause.get('recovery_gpu_h', 0.0):,.0f}",
                    f"{slowdown:,.0f}",
                    f"{(direct + slowdown) / n_fail:,.0f}",
                    _delta(waste, "+,.0f"),
                    _delta(per, "+,.0f"),
                    _delta(good, "+.4f"),
                ]
            )
            tors = TORS_PER_RACK[label]
            llama = n_fail * tors
            hpn = racks * tors * HPN_TOR_PER_MONTH
            month_rows.append(
                [
                    workload,
                    label,
                    f"{llama:.1f}",
                    _delta(tuple(v * llama for v in per), "+,.0f"),  # type: ignore[arg-type]
                    f"${per[0] * llama * usd:,.0f}",
                    f"{hpn:.2f}",
                    _delta(tuple(v * hpn for v in per), "+,.0f"),  # type: ignore[arg-type]
                    f"${per[0] * hpn * usd:,.0f}",
                ]
            )
    header = [
        "jobs in 30 d",
        "homing",
        "jobs interrupted",
        "redone work GPU·h",
        "recovery GPU·h",
        "network slowdown GPU·h",
        "direct GPU·h per ToR failure",
        "Δ GPU·h wasted in 30 d vs no ToR failures [95 % CI]",
        "Δ per ToR failure [95 % CI]",
        "Δ goodput [95 % CI]",
    ]
    month_header = [
        "jobs in 30 d",
        "homing",
        "ToR failures a month, Llama 3 rate",
        "GPU·h a month, Llama 3 rate [95 % CI]",
        "$ a month, Llama 3 rate",
        "ToR failures a month, HPN rate",
        "GPU·h a month, HPN rate [95 % CI]",
        "$ a month, HPN rate",
    ]
    reps_n = results["none"]["summary"]["replications"]
    text = [
        _table(header, rows),
        "",
        f"{reps_n} replications per row, seed {results['none']['seed']}. Columns 3–6 are the "
        "cause's own entries (`causes.network-switch-cable`, and "
        "`network_slowdown_gpu_hours_by_cause` for the slowdown), means over replications; "
        "\"direct\" is their sum over the expected ToR failures in the 30 days "
        f"({racks:,} racks × 35/55,296 per rack-day × 30 d = {n_fail:.1f}; both homings draw "
        "the same failures). The Δ columns are paired differences of `gpu_hours_wasted` and "
        "`goodput` against the first command (`rate=0`), \\* where the interval excludes 0.",
        "",
        "Per month, at the Llama 3 rate per ToR (a dual-homed rack has two ToRs, so twice the "
        "failures) and at the Alibaba HPN rate (0.051 % of ToRs a month), priced at "
        f"`cost.usd_per_gpu_hour` = ${usd:g}:",
        "",
        _table(month_header, month_rows),
    ]
    return "\n".join(text)


# --- question 4 -------------------------------------------------------------------------------


def q4_table() -> str:
    """The policies on meta-24k-shared with users, from the page's own Python block."""
    namespace: dict[str, Any] = {}
    exec(compile(_python("q4-python"), str(DOC), "exec"), namespace)  # noqa: S102
    runs = namespace["runs"]
    policies = list(runs)
    frames = {p: runs[p].reps_frame() for p in policies}
    ref = policies[0]
    n = len(frames[ref])
    metrics = (
        ("gpu_hours_wasted", 1e-3, "+,.1f", "k GPU·h wasted"),
        ("goodput", 1.0, "+.4f", "goodput"),
        ("mean_queue_wait_s", 1 / 3600, "+.2f", "mean queue wait, h"),
        ("mean_jct_s", 1 / 3600, "+.2f", "mean JCT, h"),
    )
    header = ["policy"]
    for _, _, _, label in metrics:
        header += [label, f"Δ {label.split(',')[0]} vs `{ref}`"]
    header.append("jobs finished")
    rows = []
    for p in policies:
        f = frames[p]
        row = [f"`{p}`"]
        for key, scale, fmt, _ in metrics:
            values = [float(v) * scale for v in f[key]]
            row.append(f"{sum(values) / n:{fmt.lstrip('+')}}")
            if p == ref:
                row.append("(reference)")
            else:
                base = [float(v) * scale for v in frames[ref][key]]
                row.append(_delta(paired(base, values), fmt))
        row.append(f"{f['jobs_finished'].mean():,.1f}")
        rows.append(row)
    return _table(header, rows) + (
        f"\n\nMeans of {n} replications (seed 1); Δ: paired differences with their 95 % t "
        "interval, \\* where it excludes 0."
    )


# --- tests ------------------------------------------------------------------------------------


def test_the_page_has_its_markers_and_the_readme_links_it() -> None:
    text = _text()
    for name in BLOCKS:
        assert _between(text, name).strip(), name
    assert "docs/questions.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_command_parses_and_its_scenarios_load() -> None:
    """Each command's flags parse, and every ``--set`` (and every ``--grid`` point) loads."""
    commands = [c for q in ("q1", "q2", "q3", "q4") for c in _commands(f"{q}-commands")]
    assert len(commands) == 7
    for command in commands:
        argv = _argv(command)
        args = _build_parser(argv).parse_args(argv)
        sets = _flags(argv, "--set")
        scenario = load_scenario(args.scenario, sets)
        for point in grid_points(parse_grid(_flags(argv, "--grid"))):
            point_scenario(scenario, point)
        if args.command == "run" and "rate=0" not in " ".join(sets):
            for _, extra in Q3_WORKLOADS:
                load_scenario(args.scenario, [*sets, *extra])


def test_the_python_block_compiles() -> None:
    compile(_python("q4-python"), str(DOC), "exec")


def test_expected_tor_failures_closed_form() -> None:
    """35 network switch/cable interruptions in 54 days on 1,024 racks (Llama 3), per rack."""
    argv = _argv(_commands("q3-commands")[1])
    scenario = load_scenario(argv[1], _flags(argv, "--set"))
    assert n_racks(scenario) == 24576 // 16
    # The same per-rack rate on Llama 3's 1,024 racks over its 54 days gives its 35.
    assert float(scenario.faults["network-switch-cable"].rate) * 1024 * 54 * 86400 == (
        pytest.approx(35.0)
    )
    assert expected_tor_failures(scenario, "network-switch-cable", 30) == pytest.approx(
        35 / 54 * 1536 / 1024 * 30
    )


@pytest.mark.slow
def test_the_tables_are_what_the_commands_print(capsys: pytest.CaptureFixture[str]) -> None:
    tables = {**q1_tables(capsys), "q2-plan": q2_table(capsys), "q3-tor": q3_table(capsys)}
    tables["q4-policies"] = q4_table()
    text = _text()
    if REGEN:
        for name, body in tables.items():
            text = _replace(text, name, body)
        DOC.write_text(text, encoding="utf-8")
    for name, body in tables.items():
        assert _between(text, name) == body, f"{name} is stale: regenerate (see the docstring)"

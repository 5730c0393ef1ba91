"""The public API (issue 18): ``clustersim.load/run/sweep/plan/validate`` and their results.

The first test pins the public surface: the names in ``clustersim.__all__`` and the
signatures of the functions and the public members of the result types, so that a change to
them is deliberate (update :data:`SIGNATURES` / :data:`MEMBERS` and docs/api.md together).
"""

from __future__ import annotations

import inspect
import io
import json
import math
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from wallclock import without_wall

import clustersim as cs
from clustersim.cli import main

SMALL = {"workload.jobs.0.work": "2d"}
"""single-job cut to two days of work: ~0.1 s a replication."""

SIGNATURES = {
    "load": "(source: 'str | os.PathLike[str]', set: 'Mapping[str, Any] | Iterable[str] | None'"
    " = None, **overrides: 'Any') -> 'Scenario'",
    "presets": "() -> 'dict[str, str]'",
    "run": "(scenario: 'Scenario', *, reps: 'int | None' = None, seed: 'int | None' = None, "
    "events: 'bool' = False, progress: 'Progress' = False) -> 'Result'",
    "sweep": "(scenario: 'Scenario', grid: 'Mapping[str, Sequence[Any]]', reps: 'int | None' = "
    "None, seed: 'int | None' = None, *, baseline: 'Mapping[str, Any] | None' = None, "
    "executor: 'cf.Executor | None' = None, workers: 'int | None' = None, address: "
    "'str | None' = None, out: 'str | os.PathLike[str] | None' = None, batch: 'int | None' = "
    "None, progress: 'Progress' = False, source: 'str | None' = None) -> 'SweepResult'",
    "plan": "(scenario: 'Scenario', target: 'float', *, knobs: 'Sequence[str] | None' = None, "
    "budget: 'int' = 200, reps: 'int' = 4, mc_reps: 'int' = 400, seed: 'int' = 0, scales: "
    "'Sequence[int | str]' = (), prices: 'Mapping[str, float] | None' = None, executor: "
    "'cf.Executor | None' = None, workers: 'int | None' = None, address: 'str | None' = None, "
    "progress: 'Progress' = False) -> 'PlanResult'",
    "validate": "(cases: 'str | Sequence[str] | None' = None, *, quick: 'bool' = False, "
    "progress: 'Progress' = False) -> 'Validation'",
}
MEMBERS = {
    "Result": "causes causes_frame events events_frame gpu_hours gpu_seconds jobs jobs_frame "
    "recovery_gpu_seconds replications reps_frame run scenario seed summary timeseries "
    "timeseries_frame to_dict to_json to_pandas unplaceable",
    "SweepResult": "baseline grid paired paired_frame records reps reps_frame scenario seed "
    "summaries to_dict to_pandas wall_s",
    "PlanResult": "data recommendations reps_frame scales screen_frame to_dict to_markdown "
    "to_pandas wall_s",
    "Validation": "cases passed quick to_dict to_markdown to_pandas wall_s",
    "RunStats": "events events_per_s sim_s sim_s_per_wall_s to_dict wall_s",
    "Problem": "column file line message parse path",
    "ConfigError": "column exit_code file line path",
}
ERRORS = {
    "ClusterSimError": Exception,
    "ConfigError": cs.ClusterSimError,
    "UsageError": cs.ClusterSimError,
    "ResourceError": cs.ClusterSimError,
    "ClusterSimWarning": UserWarning,
}


def _members(cls: type) -> str:
    base = Exception if issubclass(cls, Exception) else object
    return " ".join(sorted(n for n in dir(cls) if not n.startswith("_") and n not in dir(base)))


def test_public_surface_names_and_signatures() -> None:
    assert len(set(cs.__all__)) == len(cs.__all__)
    assert set(cs.__all__) == {*SIGNATURES, *MEMBERS, *ERRORS} | {
        "Progress",
        "Scenario",
        "Summary",
        "__version__",
    }
    for name, signature in SIGNATURES.items():
        assert str(inspect.signature(getattr(cs, name))) == signature, name
    for name, members in MEMBERS.items():
        assert _members(getattr(cs, name)) == members, name
    for name, base in ERRORS.items():
        assert issubclass(getattr(cs, name), base), name
    assert str(inspect.signature(cs.Scenario.replace)) == (
        "(self, set: 'Mapping[str, Any] | Iterable[str] | None' = None, **overrides: 'Any') "
        "-> 'Scenario'"
    )
    assert {n for n in dir(cs.Summary) if not n.startswith("_")} - set(dir(dict)) >= {
        "ettr",
        "goodput",
        "sim_time_s",
        "replications",
    }
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        cs.nope  # noqa: B018
    assert "run" in dir(cs) and "TYPE_CHECKING" not in dir(cs)


def test_import_is_light() -> None:
    code = (
        "import sys, clustersim; "
        "heavy = {'numpy', 'pydantic', 'pandas', 'rich', 'simpy', 'ruamel', 'matplotlib'}; "
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_issue_example_runs() -> None:
    r = cs.run(cs.load("single-job", set=SMALL), reps=4, seed=1)
    assert 0.0 < r.summary.ettr < 1.0
    assert r.jobs_frame().shape == (4, 27)  # one job, four replications


def test_load_overrides_every_way_give_one_scenario() -> None:
    fixed = {"checkpoint.policy": "fixed"}
    by_keywords = cs.load("single-job", **fixed, **{"checkpoint.interval": "10m", "run.seed": 7})
    by_mapping = cs.load("single-job", set={**fixed, "checkpoint.interval": 600, "run.seed": 7})
    by_strings = cs.load("single-job", fixed, **{"checkpoint.interval": "10m", "run.seed": 7})
    by_replace = cs.load("single-job").replace(
        ["checkpoint.policy=fixed", "checkpoint.interval=10m"], **{"run.seed": 7}
    )
    assert by_keywords == by_mapping == by_strings == by_replace
    assert by_keywords.checkpoint.interval == 600.0 and by_keywords.run.seed == 7
    # a section given as a mapping or a model changes only the fields it names
    pods = cs.load("single-job", set={"cluster": {"pods": 2}})
    assert pods.cluster.pods == 2
    assert pods.cluster.racks_per_pod == cs.load("single-job").cluster.racks_per_pod
    model = by_keywords.replace(checkpoint=by_keywords.checkpoint.model_copy(update={"stall": 9.0}))
    assert model.checkpoint.stall == 9.0 and model.checkpoint.interval == 600.0
    assert by_keywords.replace() is by_keywords
    assert cs.load(Path("src/clustersim/config/presets/single-job.yaml")).name == "single-job"
    assert "single-job" in cs.presets() and all(cs.presets().values())


def test_python_values_as_overrides(tmp_path: Path) -> None:
    from clustersim.config.overrides import field_of, overrides_from

    trace = tmp_path / "t.csv"
    [one] = overrides_from({"faults.node.path": trace}, {})
    assert one.value == str(trace) and one.segments == ("faults", "node", "path")
    [listed] = overrides_from(None, {"sources": ("a", "b")})
    assert listed.value == ["a", "b"]
    [typed] = overrides_from("run.seed=3", {})
    assert typed.value == 3 and typed.label == "--set run.seed=3"
    with pytest.raises(cs.UsageError, match="expected a dotted path"):
        overrides_from({"run..seed": 1}, {})
    with pytest.raises(cs.UsageError, match=r"sources=\[1, <object .*>\]: 1: unsupported value"):
        overrides_from({"sources": [1, object()]}, {})
    with pytest.raises(cs.UsageError, match="is not a mapping in the scenario"):
        cs.load("single-job", set={"cluster": 5, "cluster.pods": 2})
    assert field_of(cs.Scenario, "workload.jobs.0.work") is not None
    assert field_of(cs.Scenario, "faults.node") is None and field_of(cs.Scenario, "x.y") is None


def test_bad_input_raises_typed_errors_never_system_exit(tmp_path: Path) -> None:
    with pytest.raises(cs.UsageError, match=r"did you mean 'checkpoint\.interval'"):
        cs.load("single-job", **{"checkpoint.intervl": "10m"})
    with pytest.raises(cs.UsageError, match=r"checkpoint\.interval='10x': unknown time unit"):
        cs.load("single-job", set={"checkpoint.interval": "10x"})
    with pytest.raises(cs.UsageError, match="unsupported value of type object"):
        cs.load("single-job", set={"run.seed": object()})
    with pytest.raises(cs.UsageError, match="unknown preset 'nope'"):
        cs.load("nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("workload:\n  jobs:\n    - gpus: 8\n      work: 10x\n")
    with pytest.raises(cs.ConfigError) as info:
        cs.load(bad)
    err = info.value
    assert (err.file, err.line, err.column, err.path) == (str(bad), 4, 13, "workload.jobs.0.work")
    assert err.problems[0].message.startswith("unknown time unit")
    assert cs.Problem.parse("no position here") == cs.Problem(
        None, None, None, None, "no position here"
    )
    scenario = cs.load("single-job")
    with pytest.raises(cs.ResourceError, match="max_events"):
        cs.run(scenario.replace({"run.max_events": 10}))
    with pytest.raises(cs.UsageError, match="reps must be a whole number"):
        cs.run(scenario, reps=0)
    with pytest.raises(cs.UsageError, match="seed must be a whole number"):
        cs.run(scenario, seed=-1)
    with pytest.raises(TypeError, match=r"run\(load\('single-job'\)\)"):
        cs.run("single-job")  # type: ignore[arg-type]


def test_result_matches_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    r = cs.run(cs.load("single-job", set=SMALL), reps=2, seed=3)
    assert main(["run", "single-job", "--set", "workload.jobs.0.work=2d", "--reps", "2",
                 "--seed", "3", "--json"]) == 0  # fmt: skip
    cli_json = capsys.readouterr().out
    assert without_wall(r.to_json()) == without_wall(cli_json)
    data = json.loads(r.to_json())
    assert data["summary"] == json.loads(json.dumps(r.summary))
    assert data["run"]["wall_s"] == r.run.wall_s > 0  # type: ignore[union-attr]
    assert "jobs" not in json.loads(r.to_json(jobs=False))
    assert main(["run", "single-job", "--set", "workload.jobs.0.work=2d", "--reps", "2",
                 "--seed", "3"]) == 0  # fmt: skip
    cli_text = capsys.readouterr().out
    assert "events/s)" in cli_text and " × 2 replications in " in cli_text
    buf = io.StringIO()
    Console(file=buf, width=80, highlight=False).print(r)  # __rich__: the CLI's summary
    assert without_wall(buf.getvalue()) == without_wall(cli_text)
    assert "clustersim · single-job · seed 3" in r._repr_html_()
    assert repr(r).startswith("Result(scenario='single-job', seed=3, reps=2, ettr=0.")


def test_result_attributes_and_frames() -> None:
    r = cs.run(cs.load("single-job", set=SMALL), reps=3, seed=1, events=True)
    s = r.summary
    assert s.replications == 3 and s["ettr"] == s.ettr
    assert s.ettr_ci95 is not None and s.ettr_ci95[0] < s.ettr < s.ettr_ci95[1]
    assert s.interruptions_total == s["interruptions_total"] > 0
    assert set(s.interruptions_by_cause) <= set(r.causes)
    assert math.isclose(r.gpu_hours["total"], r.gpu_seconds["total"] / 3600)
    assert r.jobs[0].name == r.to_dict()["jobs"][0]["name"]
    assert r.timeseries["t_s"] == r.to_dict()["timeseries"]["t_s"]
    stats = r.run
    assert stats is not None and stats.events == sum(m.summary["events"] for m in r.replications)
    assert stats.sim_s_per_wall_s is not None and stats.events_per_s is not None
    assert stats.to_dict()["sim_s"] == stats.sim_s

    summary = r.to_pandas()
    assert summary.shape[0] == 1 and summary.loc[0, "ettr"] == s.ettr
    assert summary.loc[0, "ettr_ci95_low"] == s.ettr_ci95[0]
    assert "interruptions_by_cause" not in summary.columns
    reps = r.reps_frame()
    assert list(reps["replication"]) == [0, 1, 2]
    assert math.isclose(reps["ettr"].mean(), s.ettr)
    jobs = r.jobs_frame()
    assert {"replication", "work_s", "jct_s", "lost_work_s"} <= set(jobs.columns)
    causes = r.causes_frame()
    assert {"cause", "interruptions", "lost_gpu_h"} <= set(causes.columns)
    series = r.timeseries_frame()
    assert set(series["replication"]) == {0, 1, 2} and "gpus_allocated" in series.columns
    events = r.events_frame()
    assert len(events) == len(r.events or []) and {"type", "t"} <= set(events.columns)
    with pytest.raises(cs.UsageError, match="events=True"):
        cs.run(cs.load("single-job", set=SMALL)).events_frame()


def test_every_summary_attribute_reads_its_key() -> None:
    s = cs.run(cs.load("single-job", set=SMALL), reps=2, seed=1).summary
    names = [n for n, v in vars(cs.Summary).items() if isinstance(v, property)]
    assert len(names) == 32
    for name in names:
        value, raw = getattr(s, name), s[name]
        if name.endswith("_ci95"):
            assert value == tuple(raw), name
        else:
            assert value == raw, name


def test_summary_is_a_dict_whose_undefined_ratio_is_none() -> None:
    s = cs.Summary({"ettr": math.nan, "goodput": 0.5, "interruptions_total": 4, "events": 7.0})
    assert s.ettr is None and s.goodput == 0.5 and s.ettr_ci95 is None
    assert s.interruptions_total == 4 and isinstance(s.interruptions_total, int)
    assert s.replications == 1 and s == {**s} and json.loads(json.dumps(s))["events"] == 7.0


def test_warnings_for_settings_without_effect_and_unplaceable_jobs() -> None:
    with pytest.warns(cs.ClusterSimWarning, match="checkpoint.interval has no effect"):
        cs.load("single-job", **{"checkpoint.policy": "daly", "checkpoint.interval": "5m"})
    huge = cs.load("single-job", **{"workload.jobs.0.gpus": 1_000_000, "run.horizon": "1d"})
    with pytest.warns(cs.ClusterSimWarning) as caught:
        r = cs.run(huge)
    assert [str(w.message).split(",")[0] for w in caught] == [
        "1 job never placed",
        "simulated 0 s: no job can ever be placed",
    ]
    assert r.unplaceable and r.summary.jobs_unplaceable == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cs.load("single-job", **{"checkpoint.policy": "fixed", "checkpoint.interval": "5m"})


def test_dataframes_say_how_to_get_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    r = cs.run(cs.load("single-job", set=SMALL))
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'clustersim\[pandas\]'"):
        r.to_pandas()


def test_progress_callable_and_bar() -> None:
    seen: list[tuple[float, float]] = []
    cs.run(cs.load("single-job", set=SMALL), reps=2, progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1] == (2.0, 2.0)
    cs.run(cs.load("single-job", set=SMALL), progress=True)  # a bar only after a second


def test_sweep_result(tmp_path: Path) -> None:
    scenario = cs.load("single-job", set={**SMALL, "checkpoint.policy": "fixed"})
    grid: dict[str, list[Any]] = {"checkpoint.interval": ["10m", 1800], "cluster.spare_nodes": [0]}
    res = cs.sweep(scenario, grid, 2, 1, workers=1, baseline={"checkpoint.interval": 1800})
    assert res.grid == {"checkpoint.interval": ["10m", "1800"], "cluster.spare_nodes": ["0"]}
    assert [p["point"]["checkpoint.interval"] for p in res.records] == ["10m", "1800"]
    assert res.summaries[0].ettr == res.records[0]["summary"]["ettr"]
    assert res.paired()[1]["vs"] == {"checkpoint.interval": "1800", "cluster.spare_nodes": "0"}
    frame = res.to_pandas()
    assert list(frame["checkpoint.interval_s"]) == [600.0, 1800.0]
    assert "cluster.spare_nodes" in frame.columns and "ettr_ci95_low" in frame.columns
    assert res.reps_frame().shape[0] == 4
    paired = res.paired_frame()
    assert list(paired["ettr_diff"])[1] == 0.0 and list(paired["pairs"]) == [2, 2]
    assert {"goodput_diff_ci95_low", "gpu_hours_wasted_diff_ci95_high"} <= set(paired.columns)
    assert res.to_dict()["run"]["wall_s"] == res.wall_s
    buf = io.StringIO()
    Console(file=buf, width=200).print(res)
    assert "baseline" in buf.getvalue()
    for bad, match in [
        ({"checkpoint.interval": "10m"}, "expected a list of values"),
        ({"checkpoint.interval": ["10m", "10m"]}, "listed twice"),
        ({"cluster": [{"pods": 1}], "cluster.pods": [2]}, "overlaps the grid key"),
        ({}, "at least one key"),
        ({"checkpoint.interval": [object()]}, "grid 'checkpoint.interval'"),
    ]:
        with pytest.raises(cs.UsageError, match=match):
            cs.sweep(scenario, bad, 1, workers=1)
    with pytest.raises(cs.UsageError, match="not a grid key"):
        cs.sweep(scenario, grid, 1, workers=1, baseline={"run.seed": 1})
    with pytest.raises(cs.UsageError, match="not one of"):
        cs.sweep(scenario, grid, 1, workers=1, baseline={"checkpoint.interval": "7m"})


def test_plan_result() -> None:
    scenario = cs.load("single-job", set=SMALL)
    from clustersim.sweep import SerialExecutor

    res = cs.plan(
        scenario,
        0.8,
        knobs=["checkpoint.interval"],
        budget=4,
        reps=2,
        mc_reps=50,
        seed=1,
        executor=SerialExecutor(),
    )
    assert len(res.scales) == len(res.recommendations) == 1
    points = res.to_pandas()
    assert {"gpus", "checkpoint.interval_s", "des_ettr", "recommended"} <= set(points.columns)
    assert len(points) == len(res.scales[0]["des_points"])
    assert len(res.reps_frame()) == 2 * len(points)
    assert "checkpoint.interval_s" in res.screen_frame().columns
    assert res.to_dict()["run"]["wall_s"] == res.wall_s and res.to_markdown().startswith("#")
    buf = io.StringIO()
    Console(file=buf, width=120).print(res)
    assert buf.getvalue()
    for kwargs, match in [
        ({"target": 1.5}, "strictly between 0 and 1"),
        ({"target": 0.8, "reps": 1}, "reps must be"),
        ({"target": 0.8, "prices": {"storage.write_bandwidth": 1.0}}, "not one of the knobs"),
    ]:
        with pytest.raises(cs.UsageError, match=match):
            cs.plan(scenario, knobs=["checkpoint.interval"], **kwargs)


def test_validate_returns_the_cases_as_data() -> None:
    mttf = cs.validate(["kokolis-mttf"], quick=True, progress=lambda done, total: None)
    assert mttf.to_pandas()["des_mean"].notna().all() and mttf.wall_s > 0
    v = cs.validate("checkpoint-size", quick=True)
    assert v.passed and [c.name for c in v.cases] == ["checkpoint-size"]
    assert v.to_dict()["passed"] and v.to_markdown().startswith("# Validation")
    rows = v.to_pandas()
    assert list(rows["case"].unique()) == ["checkpoint-size"] and "des_ci95_low" in rows.columns
    assert "cases passed" in v._repr_html_()
    with pytest.raises(cs.UsageError, match="unknown validation case 'nope'"):
        cs.validate(["nope"])

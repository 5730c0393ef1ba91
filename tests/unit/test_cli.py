"""Tests for clustersim.cli: the ``run``/``presets``/``show`` commands, the JSON contract,
output files, and bad input (one line on stderr, the right exit code, never a traceback).

Most tests call ``main([...])`` in-process with ``capsys``; a few run ``python -m clustersim``
in a subprocess to prove the exit codes are real and no traceback reaches stderr.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from signals import as_from_a_terminal

from clustersim import __version__
from clustersim.cli import main

EXIT_USAGE = 2
EXIT_DATA = 65

# single-job with 2 days of work: tens of interruptions, a few milliseconds per run.
SMALL = ["single-job", "--set", "workload.jobs.0.work=2d"]

SUMMARY_KEYS = {
    "ettr",
    "ettr_ci95",
    "goodput",
    "interruptions_total",
    "interruptions_by_cause",
    "lost_gpu_hours_by_cause",
    "energy_wasted_mwh",
    "jobs_finished",
    "jobs_submitted",
    "sim_time_s",
    "events",
}
GPU_SECONDS_TERMS = ("useful", "checkpoint", "recovery", "lost", "slowdown", "idle", "down")


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``main(argv)`` in-process; return ``(exit code, stdout, stderr)``."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    """``clustersim run ARGV --json``: assert success and that stdout is one JSON object."""
    code, out, err = cli(capsys, "run", *argv, "--json")
    assert code == 0, err
    assert "Traceback" not in err
    payload = json.loads(out)  # the whole of stdout is exactly one JSON value
    assert isinstance(payload, dict)
    return payload


def subprocess_cli(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m clustersim ARGV`` in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "clustersim", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        check=False,
        env={**os.environ, "COLUMNS": "100"},
    )


def assert_gpu_seconds_identity(gpu_seconds: dict[str, float]) -> None:
    parts = math.fsum(gpu_seconds[term] for term in GPU_SECONDS_TERMS)
    assert parts == pytest.approx(gpu_seconds["total"], rel=1e-9)


def assert_one_error_line(err: str) -> str:
    """stderr is exactly one non-empty line and carries no traceback; return that line."""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].strip()
    return lines[0]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- run --json: the JSON contract --------------------------------------------------------


def test_run_json_has_contract_keys(capsys: pytest.CaptureFixture[str]) -> None:
    payload = run_json(capsys, *SMALL, "--seed", "3")
    assert {"clustersim_version", "seed", "scenario", "summary", "gpu_seconds", "jobs"} <= set(
        payload
    )
    assert payload["clustersim_version"] == __version__
    assert payload["seed"] == 3
    assert payload["scenario"]["run"]["seed"] == 3
    summary = payload["summary"]
    assert set(summary) >= SUMMARY_KEYS
    assert 0.0 < summary["ettr"] <= 1.0
    assert 0.0 < summary["goodput"] <= summary["ettr"]
    assert summary["interruptions_total"] > 0
    assert isinstance(summary["interruptions_by_cause"], dict)
    assert sum(summary["interruptions_by_cause"].values()) == summary["interruptions_total"]
    assert isinstance(summary["lost_gpu_hours_by_cause"], dict)
    assert summary["energy_wasted_mwh"] > 0
    assert summary["jobs_submitted"] == 1
    assert summary["jobs_finished"] == 1
    assert summary["sim_time_s"] > 2 * 86_400  # 2 days of work plus overheads
    assert summary["events"] > 0
    assert set(GPU_SECONDS_TERMS) | {"total"} <= set(payload["gpu_seconds"])


def test_run_json_gpu_seconds_identity(capsys: pytest.CaptureFixture[str]) -> None:
    payload = run_json(capsys, *SMALL, "--reps", "2")
    assert_gpu_seconds_identity(payload["gpu_seconds"])
    assert all(payload["gpu_seconds"][term] >= 0 for term in GPU_SECONDS_TERMS)


def test_run_json_llama3_preset_contract(capsys: pytest.CaptureFixture[str]) -> None:
    payload = run_json(capsys, "llama3-405b", "--seed", "1", "--no-jobs")
    summary = payload["summary"]
    assert set(summary) >= SUMMARY_KEYS
    assert len(summary["interruptions_by_cause"]) > 1  # Table 5's causes, each its own source
    assert summary["interruptions_total"] == pytest.approx(
        sum(summary["interruptions_by_cause"].values())
    )
    assert_gpu_seconds_identity(payload["gpu_seconds"])
    assert "jobs" not in payload


def test_run_json_jobs_rows_present_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    payload = run_json(capsys, *SMALL)
    jobs = payload["jobs"]
    assert isinstance(jobs, list)
    assert len(jobs) == 1
    assert jobs[0]["gpus"] == 1024
    assert jobs[0]["finished"] is True


def test_run_json_no_jobs_omits_rows(capsys: pytest.CaptureFixture[str]) -> None:
    payload = run_json(capsys, *SMALL, "--no-jobs")
    assert "jobs" not in payload
    assert set(payload["summary"]) >= SUMMARY_KEYS


def test_run_json_reps_gives_ci_bracketing_ettr(capsys: pytest.CaptureFixture[str]) -> None:
    payload = run_json(capsys, *SMALL, "--reps", "3")
    summary = payload["summary"]
    ci = summary["ettr_ci95"]
    assert isinstance(ci, list)
    assert len(ci) == 2
    assert ci[0] < summary["ettr"] < ci[1]
    assert payload["scenario"]["run"]["replications"] == 3


def test_run_json_scenario_reloads_to_same_summary(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first = run_json(capsys, *SMALL, "--seed", "5")
    scenario_file = tmp_path / "scenario.json"
    scenario_file.write_text(json.dumps(first["scenario"]), encoding="utf-8")
    again = run_json(capsys, str(scenario_file))
    assert again["seed"] == 5
    assert again["scenario"] == first["scenario"]
    assert again["summary"] == first["summary"]
    assert again["gpu_seconds"] == first["gpu_seconds"]


def test_run_rich_summary_goes_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "run", *SMALL)
    assert code == 0
    assert "ETTR" in out
    assert "Traceback" not in err
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


# --- output files -----------------------------------------------------------------------


def test_events_and_out_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    events, result = tmp_path / "events.jsonl", tmp_path / "result.json"
    payload = run_json(capsys, *SMALL, "--events", str(events), "--out", str(result))
    records = [json.loads(line) for line in events.read_text(encoding="utf-8").splitlines()]
    assert records
    assert all(isinstance(r.get("type"), str) and r["type"] for r in records)
    assert records[0]["type"] == "JobSubmitted"
    assert json.loads(result.read_text(encoding="utf-8")) == payload
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.jsonl", "result.json"]


def test_out_without_json_still_writes_result(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    result = tmp_path / "result.json"
    code, out, _ = cli(capsys, "run", *SMALL, "--out", str(result))
    assert code == 0
    assert "ETTR" in out
    assert set(json.loads(result.read_text(encoding="utf-8"))["summary"]) >= SUMMARY_KEYS


def test_failed_run_writes_no_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    events, result = tmp_path / "events.jsonl", tmp_path / "result.json"
    code, out, err = cli(
        capsys, "run", *SMALL, "--set", "run.no_such_key=1",
        "--events", str(events), "--out", str(result),
    )  # fmt: skip
    assert code == EXIT_USAGE
    assert out == ""
    assert_one_error_line(err)
    assert list(tmp_path.iterdir()) == []  # neither file, and no stray temp file


def test_events_into_missing_directory_is_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = cli(capsys, "run", *SMALL, "--events", str(tmp_path / "nope" / "ev.jsonl"))
    assert code == EXIT_USAGE
    assert out == ""
    assert "nope" in assert_one_error_line(err)
    assert list(tmp_path.iterdir()) == []


def test_out_into_missing_directory_is_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = cli(capsys, "run", *SMALL, "--json", "--out", str(tmp_path / "nope" / "r.json"))
    assert code == EXIT_USAGE
    assert_one_error_line(err)
    assert list(tmp_path.iterdir()) == []


def test_out_onto_a_directory_is_one_line_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    try:
        code, _, err = cli(capsys, "run", *SMALL, "--out", str(target))
    except OSError:
        pytest.fail("OSError escaped main()")
    assert code == EXIT_USAGE
    assert_one_error_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_events_not_left_behind_when_out_cannot_be_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    events = tmp_path / "ev.jsonl"
    code, _, err = cli(capsys, "run", *SMALL, "--events", str(events), "--out", str(target))
    assert code == EXIT_USAGE
    assert_one_error_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_json_to_a_text_stream(tmp_path: Path) -> None:
    import contextlib
    import io
    import json

    from clustersim.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["run", *SMALL, "--json"]) == 0
    assert json.loads(buf.getvalue())["summary"]["jobs_submitted"] == 1


# --- presets and show -------------------------------------------------------------------


def test_presets_lists_the_builtin_presets(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "presets")
    assert code == 0
    assert err == ""
    for name in ("llama3-405b", "meta-24k-shared", "single-job"):
        assert re.search(rf"^{re.escape(name)}\s+\S", out, re.MULTILINE), out


def test_show_yaml_reloads_to_same_summary(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, shown, err = cli(capsys, "show", "single-job")
    assert code == 0
    assert err == ""
    assert "workload:" in shown
    scenario_file = write(tmp_path / "shown.yaml", shown)
    override = ["--set", "workload.jobs.0.work=2d"]
    from_file = run_json(capsys, str(scenario_file), *override)
    from_preset = run_json(capsys, "single-job", *override)
    assert from_file["summary"] == from_preset["summary"]
    assert from_file["scenario"] == from_preset["scenario"]


def test_show_applies_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    code, shown, _ = cli(capsys, "show", "single-job", "--set", "run.seed=42")
    assert code == 0
    assert re.search(r"^\s+seed: 42$", shown, re.MULTILINE), shown


# --- bad command lines: exit 2, one line ------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        pytest.param(["run", "no-such-preset"], "no-such-preset", id="unknown-preset"),
        pytest.param(["show", "no-such-preset"], "no-such-preset", id="show-unknown-preset"),
        pytest.param([*SMALL, "--set", "run.sead=1"], "run.sead", id="unknown-set-key"),
        pytest.param([*SMALL, "--set", "run.seed=abc"], "run.seed", id="set-wrong-type"),
        pytest.param([*SMALL, "--set", "run.seed"], "run.seed", id="set-without-equals"),
        pytest.param(
            [*SMALL, "--set", "workload.jobs.0.work=-1d"], "workload.jobs.0.work", id="set-negative"
        ),
        pytest.param([*SMALL, "--set", "workload.jobs.7.work=1d"], "7", id="set-index-range"),
        pytest.param([*SMALL, "--frobnicate"], "--frobnicate", id="unknown-flag"),
        pytest.param([*SMALL, "--reps", "0"], "--reps", id="reps-zero"),
        pytest.param([*SMALL, "--reps", "two"], "--reps", id="reps-not-int"),
        pytest.param([*SMALL, "--seed", "-1"], "--seed", id="negative-seed"),
        pytest.param(["frobnicate"], "frobnicate", id="unknown-command"),
        pytest.param([], "command", id="no-command"),
    ],
)
def test_bad_command_line_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    if argv and argv[0] == SMALL[0]:
        argv = ["run", *argv]
    code, out, err = cli(capsys, *argv)
    assert code == EXIT_USAGE
    assert out == ""
    assert needle in assert_one_error_line(err)


def test_missing_file_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    code, out, err = cli(capsys, "run", str(missing))
    assert code == EXIT_USAGE
    assert out == ""
    assert str(missing) in assert_one_error_line(err)


def test_unsupported_extension_is_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path / "scenario.txt", "run:\n  seed: 1\n")
    code, _, err = cli(capsys, "run", str(path))
    assert code == EXIT_USAGE
    assert_one_error_line(err)


# --- bad scenario files: exit 65, file:line:col: path: message ---------------------------


def test_negative_duration_names_file_position_and_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(
        tmp_path / "neg.yaml",
        "workload:\n  jobs:\n    - gpus: 8\n      work: -2h\n",
    )
    code, out, err = cli(capsys, "run", str(path))
    assert code == EXIT_DATA
    assert out == ""
    line = assert_one_error_line(err)
    assert re.match(rf"^{re.escape(str(path))}:4:\d+: workload\.jobs\.0\.work: \S", line), line


@pytest.mark.parametrize(
    ("text", "line_no", "dotted"),
    [
        pytest.param(
            "workload:\n  jobs:\n    - gpus: many\n      work: 2h\n",
            3, "workload.jobs.0.gpus", id="wrong-type",
        ),
        pytest.param(
            "workload:\n  jobs:\n    - gpus: 8\n      work: 2h\n      colour: blue\n",
            5, "workload.jobs.0.colour", id="unknown-key",
        ),
        pytest.param(
            "workload:\n  jobs: [\n    - gpus: 8\n", 3, None, id="invalid-syntax",
        ),
        pytest.param("", 1, None, id="empty-file"),
        pytest.param("# only a comment\n", 1, None, id="comment-only"),
        pytest.param("- 1\n- 2\n", 1, None, id="not-a-mapping"),
    ],
)  # fmt: skip
def test_bad_scenario_file_is_one_line_exit_65(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    text: str,
    line_no: int,
    dotted: str | None,
) -> None:
    path = write(tmp_path / "bad.yaml", text)
    code, out, err = cli(capsys, "run", str(path))
    assert code == EXIT_DATA
    assert out == ""
    line = assert_one_error_line(err)
    assert re.match(rf"^{re.escape(str(path))}:{line_no}:\d+: \S", line), line
    if dotted is not None:
        assert f": {dotted}: " in line


def test_several_errors_in_one_file_are_all_reported(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(
        tmp_path / "several.yaml",
        "workload:\n"
        "  jobs:\n"
        "    - gpus: many\n"
        "      work: -2h\n"
        "      colour: blue\n"
        "run:\n"
        "  seed: abc\n",
    )
    code, out, err = cli(capsys, "run", str(path))
    assert code == EXIT_DATA
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 4, err
    prefix = re.escape(str(path))
    found = []
    for line in lines:
        match = re.match(rf"^{prefix}:(\d+):(\d+): ([\w.]+): \S", line)
        assert match, line
        found.append((int(match[1]), match[3]))
    assert found == [
        (3, "workload.jobs.0.gpus"),
        (4, "workload.jobs.0.work"),
        (5, "workload.jobs.0.colour"),
        (7, "run.seed"),
    ]


def test_bad_json_and_toml_files_are_exit_65(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name, text in (("bad.json", '{"run": \n'), ("bad.toml", "run = \n")):
        path = write(tmp_path / name, text)
        code, _, err = cli(capsys, "run", str(path))
        assert code == EXIT_DATA, name
        assert assert_one_error_line(err).startswith(f"{path}:")


# --- a real process: real exit codes, no traceback --------------------------------------


def test_module_version() -> None:
    proc = subprocess_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"clustersim {__version__}"
    assert proc.stderr == ""


def test_subprocess_run_json_is_one_object() -> None:
    proc = subprocess_cli("run", *SMALL, "--json", "--no-jobs")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    payload = json.loads(proc.stdout)
    assert set(payload["summary"]) >= SUMMARY_KEYS
    assert_gpu_seconds_identity(payload["gpu_seconds"])


def test_subprocess_bad_inputs_exit_codes_without_traceback(tmp_path: Path) -> None:
    neg = write(tmp_path / "neg.yaml", "workload:\n  jobs:\n    - gpus: 8\n      work: -2h\n")
    cases = [
        (["run", "no-such-preset"], EXIT_USAGE),
        (["run", *SMALL, "--set", "run.sead=1"], EXIT_USAGE),
        (["run", *SMALL, "--bogus"], EXIT_USAGE),
        (["run", str(neg)], EXIT_DATA),
    ]
    procs = [  # started together: interpreter start-up dominates, so overlap it
        (argv, expected, subprocess.Popen(
            [sys.executable, "-m", "clustersim", *argv],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        ))
        for argv, expected in cases
    ]  # fmt: skip
    for argv, expected, proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == expected, (argv, err)
        assert out == ""
        assert_one_error_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["neg.yaml"]


# --- interrupts and input limits ---------------------------------------------------------

SHUTDOWN_SCRIPT = """
import os, signal, sys, time
import clustersim.cli as cli

FIRST, SECOND = signal.{first}, signal.{second}


def slow_run(args):
    os.kill(os.getpid(), FIRST)  # Ctrl-C or SIGTERM mid-run
    time.sleep(30)
    return 0


class Stderr:  # a second signal while main reports the interrupt ...
    def write(self, text):
        os.kill(os.getpid(), SECOND)
        return sys.__stderr__.write(text)

    def flush(self):
        sys.__stderr__.flush()


restore = cli._Stop.restore


def late_restore(self, previous):  # ... and a third in main's finally
    os.kill(os.getpid(), SECOND)
    restore(self, previous)


cli._cmd_run, cli._Stop.restore, sys.stderr = slow_run, late_restore, Stderr()
code = cli.main(["run", "single-job"])
sys.stderr = sys.__stderr__
print("exit", code, signal.getsignal(signal.SIGINT) is signal.default_int_handler)
"""


@pytest.mark.parametrize("first", ["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("second", ["SIGINT", "SIGTERM"])
def test_second_signal_during_shutdown_prints_no_traceback(first: str, second: str) -> None:
    proc = subprocess.run(
        as_from_a_terminal(
            [sys.executable, "-c", SHUTDOWN_SCRIPT.format(first=first, second=second)]
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        0,
        "exit 130 True\n",
        "clustersim: interrupted\n",
    )


def test_main_puts_the_signal_handlers_back(capsys: pytest.CaptureFixture[str]) -> None:
    import signal

    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for argv in (["presets"], ["show", "no-such-preset"], ["bogus"]):
        cli(capsys, *argv)
        assert {sig: signal.getsignal(sig) for sig in before} == before


def test_too_large_file_is_one_line_exit_65_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    job = "    - {gpus: 8, work: 1h}\n"
    path = write(tmp_path / "huge.yaml", "workload:\n  jobs:\n" + job * 50_000)  # 1.3 MB
    out_file = tmp_path / "out.json"
    code, out, err = cli(capsys, "run", str(path), "--out", str(out_file), "--json")
    assert (code, out) == (EXIT_DATA, "")
    assert assert_one_error_line(err).startswith(f"{path}:1:1: the file is larger than ")
    assert not out_file.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["presets", "a\nb"],
        ["run", "single-job", "--se\nt", "x"],
        ["show", "single-job", "--set", "run.seed=1\r2"],
        ["show", "line\u2028break.yaml"],
    ],
)
def test_line_breaks_in_arguments_are_escaped(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, err = cli(capsys, *argv)
    assert (code, out) == (EXIT_USAGE, "")
    line = assert_one_error_line(err)
    assert err == line + "\n"
    assert "\\n" in line or "\\r" in line or "\\u2028" in line


@pytest.mark.parametrize("command", ["show", "run"])
def test_lone_surrogate_is_a_usage_error_not_an_internal_one(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    extra = ["--set", "run.horizon=1h", "--json"] if command == "run" else []
    code, out, err = cli(capsys, command, "single-job", "--set", 'name="\\ud800"', *extra)
    assert (code, out) == (EXIT_USAGE, "")  # run --json exited 70 (orjson: surrogates)
    assert "lone surrogate \\ud800" in assert_one_error_line(err)


def test_budget_error_quoting_a_multi_line_name_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["run", "single-job", "--set", 'name="a\\nb"', "--set", "run.max_events=1", "--json"]
    code, out, err = cli(capsys, *argv)
    assert (code, out) == (EXIT_DATA, "")
    assert assert_one_error_line(err).startswith("clustersim: error: a\\nb: too big to simulate")


def test_run_plot_writes_a_png(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "gpus.png"
    code, _, err = cli(capsys, "run", *SMALL, "--plot", str(target), "--json", "--no-jobs")
    assert code == 0, err
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_plot_into_a_missing_directory_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = cli(capsys, "run", *SMALL, "--plot", str(tmp_path / "no" / "g.png"))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1


def test_a_set_without_effect_is_warned_once_naming_the_overriding_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Issue 17 item 10: ``checkpoint.interval`` while ``checkpoint.policy`` is ``daly``."""
    argv = [
        "show",
        "single-job",
        "--set",
        "checkpoint.interval=5m",
        "--set",
        "checkpoint.interval=6m",
    ]
    assert main(argv) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(
        "clustersim: warning: checkpoint.interval has no effect"
    )
    assert "checkpoint.policy is 'daly'" in err[0]
    assert (
        main(
            [
                "show",
                "single-job",
                "--set",
                "checkpoint.policy=fixed",
                "--set",
                "checkpoint.interval=5m",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "show",
                "single-job",
                "--set",
                "restart.load=1m",
                "--set",
                "storage.read_bandwidth=1TB/s",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "storage.read_bandwidth has no effect: restart.load is set" in err[0]
    tiny = ["--set", "workload.jobs.0.work=1h", "--reps", "1", "--out", str(tmp_path / "r.jsonl")]
    assert main(["sweep", "single-job", "--grid", "checkpoint.interval=5m,10m", *tiny]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(err) == 1 and "checkpoint.interval has no effect" in err[0]
    grid = ["--grid", "checkpoint.policy=fixed,daly", "--grid", "checkpoint.interval=5m"]
    assert main(["sweep", "single-job", *grid, *tiny[:-1], str(tmp_path / "s.jsonl")]) == 0
    assert "warning" not in capsys.readouterr().err

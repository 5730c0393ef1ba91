"""What the command line imports at start-up, the presets' index, and main's error reports.

Start-up time is measured by ``bench/startup.py`` (never asserted here: the machine is shared).
What these tests pin down is the structure that makes it fast: ``python -m clustersim
--version`` (and ``--help``, a command's ``--help``) runs in a fresh interpreter under ``-X
importtime`` and must load none of numpy, pydantic, ruamel.yaml, rich, simpy or orjson, nor the
config package, the API or the engine; ``presets`` may load rich (it prints with it) but no
YAML parser or pydantic. ``presets`` reads ``config/presets/index.json`` instead of parsing
every preset: the index must be current (``CLUSTERSIM_REGEN_PRESET_INDEX=1`` rewrites it), a
stale one must be ignored, and both paths must print the same bytes. ``main`` imports the error
classes only when an error is reported; the last tests drive each kind of error through it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from clustersim import api, cli
from clustersim.cli import main
from clustersim.commands import COMMANDS, common, preset_index

HEAVY = ("numpy", "pydantic", "pydantic_core", "ruamel", "rich", "simpy", "orjson")
"""Third-party packages that cost tens to hundreds of milliseconds to import."""

LIGHT_ARGV = [
    ["--version"],
    ["--help"],
    ["run", "--help"],
    ["trace", "fit", "--help"],
    ["sweep", "--help"],
    ["plan", "--help"],
]
"""Invocations that only print argparse text: they need nothing but the parser."""

_IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \| *(\S+)$", re.MULTILINE)


def imported_modules(*argv: str) -> tuple[set[str], str]:
    """The modules that ``python -m clustersim ARGV`` imports, and its stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_PROCESS")}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "clustersim", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    modules = set(_IMPORTED.findall(proc.stderr))
    assert "clustersim.cli" in modules  # the parse found the importtime lines
    return modules, proc.stdout


def packages(modules: set[str]) -> set[str]:
    """The top-level packages among ``modules``."""
    return {name.split(".")[0] for name in modules}


@pytest.mark.parametrize("argv", LIGHT_ARGV, ids=" ".join)
def test_parser_only_invocations_import_nothing_heavy(argv: list[str]) -> None:
    modules, out = imported_modules(*argv)
    assert packages(modules) & set(HEAVY) == set()
    ours = {name for name in modules if name.startswith("clustersim.")}
    assert not {"clustersim.config", "clustersim.api", "clustersim.engine"} & ours
    assert "clustersim.commands.console" not in ours
    # Only the module of the command being run (if it has one) is imported.
    command_modules = {f"clustersim.commands.{name}" for name in COMMANDS}
    assert ours & command_modules == {f"clustersim.commands.{argv[0]}"} & command_modules
    assert out  # the version or the help text was printed


def test_presets_imports_no_yaml_parser_and_no_models() -> None:
    modules, out = imported_modules("presets")
    assert packages(modules) & {"numpy", "pydantic", "pydantic_core", "ruamel", "simpy"} == set()
    assert "clustersim.config" not in modules
    assert "llama3-405b" in out


def test_a_json_run_imports_no_plotting_table_or_dataframe_code() -> None:
    modules, out = imported_modules("run", "single-job", "--set", "workload.jobs.0.work=2d",
                                    "--json", "--no-jobs")  # fmt: skip
    assert json.loads(out)["summary"]
    unwanted = {"pandas", "matplotlib", "dask", "distributed", "pyarrow"}
    assert packages(modules) & unwanted == set()
    assert "rich" not in packages(modules)  # stderr is a pipe here: no bar, no rich at all
    assert "clustersim.output.terminal" not in modules


def test_a_terminal_run_imports_no_plotting_or_dataframe_code() -> None:
    modules, out = imported_modules("run", "single-job", "--set", "workload.jobs.0.work=2d")
    assert "GPU-hours" in out
    unwanted = {"pandas", "matplotlib", "dask", "distributed", "pyarrow"}
    assert packages(modules) & unwanted == set()
    assert "rich.progress" not in modules  # the bar is drawn only after a second


class _Stream:
    """A stream whose ``isatty`` answers ``tty`` (or raises it, if it is an exception)."""

    def __init__(self, tty: bool | Exception) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        if isinstance(self.tty, Exception):
            raise self.tty
        return self.tty

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("tty", [True, False, ValueError("I/O operation on closed file")])
@pytest.mark.parametrize("tty_compatible", [None, "", "0", "1"])
@pytest.mark.parametrize("force_color", [None, "", "1"])
def test_the_progress_bar_skips_rich_only_where_rich_sees_no_terminal(
    tty: bool | Exception,
    tty_compatible: str | None,
    force_color: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rich.console import Console

    from clustersim.output.progress import _may_be_a_terminal

    for name, value in (("TTY_COMPATIBLE", tty_compatible), ("FORCE_COLOR", force_color)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    stream = _Stream(tty)
    rich_says = Console(file=stream).is_terminal  # type: ignore[arg-type]
    if not _may_be_a_terminal(stream):  # type: ignore[arg-type]
        assert not rich_says
    # and it skips rich in the common case: a pipe or file with neither variable set
    assert _may_be_a_terminal(stream) or tty is not True  # type: ignore[arg-type]
    if tty_compatible != "1" and force_color is None and tty is not True:
        assert not _may_be_a_terminal(stream)  # type: ignore[arg-type]


def test_no_stderr_is_no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from clustersim.output.progress import _may_be_a_terminal, progress_bar

    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    assert not _may_be_a_terminal(None)
    monkeypatch.setattr(sys, "stderr", None)
    with progress_bar() as update:
        assert update is None


# --- how `run` imports the simulator: no collector, one BLAS thread ---------------------

_RUN_AND_REPORT = """
import gc, json, os, sys
frozen_in_run = []
freeze = gc.freeze
def counting_freeze():
    freeze()
    frozen_in_run.append(gc.get_freeze_count())
gc.freeze = counting_freeze
from clustersim.cli import main
code = main(["run", "single-job", "--set", "workload.jobs.0.work=2d", "--json"])
tasks = len(os.listdir("/proc/self/task"))  # the main thread and OpenBLAS's (Linux)
report = {"code": code, "gc_enabled": gc.isenabled(), "frozen": gc.get_freeze_count(),
          "frozen_in_run": frozen_in_run,
          "tasks": tasks, "blas_env": {k: v for k, v in os.environ.items()
                                       if k.endswith("_NUM_THREADS")}}
sys.stderr.write("REPORT " + json.dumps(report) + "\\n")
"""


def run_in_fresh_process(**env: str) -> dict[str, object]:
    """``main(["run", ...])`` in a new interpreter: its exit code, gc state, threads, env."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("COVERAGE_PROCESS") and not k.endswith("_NUM_THREADS")
    }
    proc = subprocess.run(
        [sys.executable, "-c", _RUN_AND_REPORT],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=120,
    )
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("REPORT ")]
    assert proc.returncode == 0 and line, proc.stderr[-2000:]
    report: dict[str, object] = json.loads(line[0].removeprefix("REPORT "))
    assert json.loads(proc.stdout)["summary"]
    return report


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads in /proc")
def test_a_fresh_run_freezes_its_imports_for_the_run_only_and_loads_one_blas_thread() -> None:
    report = run_in_fresh_process()
    assert report["code"] == 0
    assert report["gc_enabled"] is True  # the collector runs again for the simulation
    frozen = report["frozen_in_run"]
    assert isinstance(frozen, list) and len(frozen) == 1  # one freeze, by the run
    assert frozen[0] > 10_000  # the imports and the simulation's objects
    assert report["frozen"] == 0  # and unfrozen when the run ended
    assert report["tasks"] == 1  # OpenBLAS started no thread of its own
    assert report["blas_env"] == {}  # and the variable is gone: children see the user's env


def test_a_thread_count_the_user_chose_is_left_alone() -> None:
    report = run_in_fresh_process(OMP_NUM_THREADS="2")
    assert report["blas_env"] == {"OMP_NUM_THREADS": "2"}
    assert report["gc_enabled"] is True


def test_a_run_in_a_process_that_has_the_simulator_changes_no_gc_state(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import gc

    before = gc.get_freeze_count(), gc.isenabled(), dict(os.environ)
    assert "clustersim.api" in sys.modules  # imported by this test module
    assert main(["run", "single-job", "--set", "workload.jobs.0.work=2d", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]
    assert (gc.get_freeze_count(), gc.isenabled(), dict(os.environ)) == before


# --- the parser, built for the command being run ------------------------------------


def test_the_listing_of_commands_is_the_same_whichever_command_is_run() -> None:
    full = cli._build_parser(["--"])  # after "--" every command module registers
    assert cli._chosen_commands(["--"]) == COMMANDS.keys()
    for argv in (["--help"], [], ["run"], ["trace", "fit"], ["plan", "-h"], ["--version"]):
        assert cli._build_parser(argv).format_help() == full.format_help(), argv


@pytest.mark.parametrize(
    ("argv", "chosen"),
    [
        ([], set()),
        (["--version"], set()),
        (["-h", "trace"], {"trace"}),
        (["run", "trace"], set()),
        (["sweep", "x", "--grid", "plan=1"], {"sweep"}),
        (["bogus"], set()),
        (["-", "plan"], {"plan"}),  # argparse rejects "-" as a command before reaching plan
    ],
)
def test_the_command_is_the_first_argument_that_is_not_an_option(
    argv: list[str], chosen: set[str]
) -> None:
    assert set(cli._chosen_commands(argv)) == chosen


def test_every_listed_command_has_a_module_that_registers_it() -> None:
    import argparse

    for name in COMMANDS:
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        cli._command_module(name).register(sub)
        assert list(sub.choices) == [name]
    with pytest.raises(AssertionError, match="no module"):
        cli._command_module("bogus")


# --- the presets' index ----------------------------------------------------------------


def test_the_committed_index_is_current() -> None:
    if os.environ.get("CLUSTERSIM_REGEN_PRESET_INDEX"):
        preset_index.write_index()
    committed = json.loads(preset_index.INDEX_FILE.read_text(encoding="utf-8"))
    assert committed == preset_index.build_index(), (
        "config/presets/index.json is stale (a preset was added, removed or edited): "
        "CLUSTERSIM_REGEN_PRESET_INDEX=1 uv run pytest -n0 tests/unit/test_startup.py"
    )
    assert preset_index.indexed_presets() == api.presets()


def test_the_index_ships_with_the_presets() -> None:
    import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    data = pyproject["tool"]["setuptools"]["package-data"]["clustersim.config.presets"]
    assert preset_index.INDEX_FILE.name in data


@pytest.fixture
def preset_copy(tmp_path: Path) -> Path:
    """A copy of the presets' folder with its index; returns the index file."""
    folder = tmp_path / "presets"
    folder.mkdir()
    for path in preset_index.PRESET_DIR.iterdir():
        if path.suffix in (".yaml", ".json"):
            shutil.copy(path, folder / path.name)
    return folder / "index.json"


def test_an_index_matching_the_files_gives_the_parsed_descriptions(preset_copy: Path) -> None:
    presets = preset_index.indexed_presets(preset_copy)
    assert presets == api.presets()
    assert presets is not None and list(presets) == sorted(presets)


def test_an_edited_preset_makes_the_index_stale(preset_copy: Path) -> None:
    path = preset_copy.parent / "single-job.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "# one more line\n", encoding="utf-8")
    assert preset_index.indexed_presets(preset_copy) is None


def test_an_added_or_removed_preset_makes_the_index_stale(preset_copy: Path) -> None:
    added = preset_copy.parent / "new-preset.yaml"
    shutil.copy(preset_copy.parent / "single-job.yaml", added)
    assert preset_index.indexed_presets(preset_copy) is None
    added.unlink()
    assert preset_index.indexed_presets(preset_copy) is not None
    (preset_copy.parent / "llama3-405b.yaml").unlink()
    assert preset_index.indexed_presets(preset_copy) is None


@pytest.mark.parametrize(
    "text",
    ["", "not json", "[]", '{"single-job": 1}', '{"single-job": {"sha256": "x"}}'],
)
def test_a_missing_or_malformed_index_is_not_used(preset_copy: Path, text: str) -> None:
    preset_copy.write_text(text, encoding="utf-8")
    assert preset_index.indexed_presets(preset_copy) is None
    preset_copy.unlink()
    assert preset_index.indexed_presets(preset_copy) is None


def test_a_description_that_is_not_text_is_not_used(preset_copy: Path) -> None:
    index = json.loads(preset_copy.read_text(encoding="utf-8"))
    index["single-job"]["description"] = None
    preset_copy.write_text(json.dumps(index), encoding="utf-8")
    assert preset_index.indexed_presets(preset_copy) is None


def test_presets_prints_the_same_bytes_from_the_index_and_from_the_files(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_parsing() -> dict[str, str]:
        raise AssertionError("presets parsed the YAML files although the index is current")

    with monkeypatch.context() as patch:
        patch.setattr(api, "presets", no_parsing)
        assert main(["presets"]) == 0
    indexed = capsys.readouterr()
    monkeypatch.setattr(preset_index, "indexed_presets", lambda: None)  # a stale index
    assert main(["presets"]) == 0
    parsed = capsys.readouterr()
    assert indexed.out == parsed.out and indexed.err == parsed.err == ""
    assert indexed.out.count("single-job") == 1


# --- what commands.common passes on lazily -------------------------------------------


def test_common_passes_on_the_heavier_helpers() -> None:
    from clustersim import files
    from clustersim.commands.console import StdoutConsole
    from clustersim.output.progress import progress_bar

    assert common.StdoutConsole is StdoutConsole
    assert common.check_writable is files.check_writable
    assert common.write_atomic is files.write_atomic
    assert common.progress_bar is progress_bar
    with pytest.raises(AttributeError, match="no_such_helper"):
        common.no_such_helper  # noqa: B018


# --- main's error reports (the classes are imported only when needed) ------------------


def failing_run(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    def run(args: object) -> int:
        raise error

    monkeypatch.setattr(cli, "_cmd_run", run)


def test_an_identity_error_is_an_internal_error_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from clustersim.experiment import IdentityError

    failing_run(monkeypatch, IdentityError("GPU-seconds off by 3"))
    assert main(["run", "single-job"]) == 70
    err = capsys.readouterr().err
    assert err == "clustersim: internal error (please report): GPU-seconds off by 3\n"


@pytest.mark.parametrize("error", [RuntimeError("two\nlines"), AssertionError("two\nlines")])
def test_a_bug_is_one_line_naming_its_type(
    error: Exception, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CLUSTERSIM_DEBUG", raising=False)
    failing_run(monkeypatch, error)
    assert main(["run", "single-job"]) == 70
    err = capsys.readouterr().err
    assert err.startswith("clustersim: internal error (please report; CLUSTERSIM_DEBUG=1 shows")
    assert err.endswith(f"): {type(error).__name__}: two\\nlines\n") and err.count("\n") == 1


def test_clustersim_debug_shows_the_traceback_of_a_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLUSTERSIM_DEBUG", "1")
    failing_run(monkeypatch, RuntimeError("boom"))
    with pytest.raises(RuntimeError, match="boom"):
        main(["run", "single-job"])


def test_each_known_error_has_its_exit_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from clustersim.config import ConfigError, UsageError
    from clustersim.errors import ResourceError
    from clustersim.files import OutputError

    cases: list[tuple[BaseException, int, str]] = [
        (UsageError("bad flag"), 2, "clustersim: error: bad flag\n"),
        (ConfigError(["a.yaml:1:1: x", "a.yaml:2:1: y"]), 65, "a.yaml:1:1: x\na.yaml:2:1: y\n"),
        (ResourceError("too\nbig"), 65, "clustersim: error: too\\nbig\n"),
        (OutputError("disk full"), 74, "clustersim: error: disk full\n"),
        (KeyboardInterrupt(), 130, "clustersim: interrupted\n"),
    ]
    for error, code, message in cases:
        failing_run(monkeypatch, error)
        assert main(["run", "single-job"]) == code, error
        assert capsys.readouterr().err == message

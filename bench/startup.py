"""CLI start-up: whole-process wall time of ``clustersim`` commands, hyperfine-style.

Issue 22, target 3: ``clustersim --version`` and ``clustersim presets`` under 0.25 s, and
``clustersim run llama3-405b`` under 0.6 s, whole process, in the ``.venv`` that the README's
``uv run`` uses. Each command runs N times in a fresh process (after one unmeasured warm-up),
the commands interleaved round by round so that a burst of load on the shared machine hits
them all alike; the table gives the min and median wall time and the median CPU time (user +
system of the child, which other processes disturb far less than wall time). ``python -S -c
pass`` (the interpreter alone) and ``python -c pass`` (plus ``site`` and the venv's ``.pth``
files) are the same-run baselines.

Several checkouts can be timed in one sitting (``--root before=/tmp/base --root after=.``):
each must hold a ``.venv`` made by ``uv sync``, or be a venv itself (``--root pip=/tmp/venv``,
e.g. a plain ``pip install .`` of a checkout; its ``uv run`` rows stay empty). ``-X
importtime`` of each command (median of ``--importtime-runs`` runs per module) gives the top
imports by cumulative time, and the ``.pth`` files that ``site`` runs at every start are
listed per venv.

Bytecode matters more than anything above (bench/STARTUP.md): where ``PYTHONDONTWRITEBYTECODE``
is set (as on the shared machine), Python never caches what it compiles, and uv, unlike pip,
does not compile packages when it installs them, so every start compiles every module it
imports from source. ``--bytecode none`` times that case (it deletes the ``__pycache__``
folders of each venv's site-packages and of the checkout's sources, and sets the variable);
``--bytecode compiled`` compiles them all first (``compileall``), as ``pip install`` does for
packages; ``as-is`` (the default) leaves the files and the environment alone.

Usage::

    uv run python bench/startup.py                            # this checkout, 15 runs each
    uv run python bench/startup.py --runs 20 --root before=/tmp/base --root after=. --write
    uv run python bench/startup.py --bytecode none --root before=/tmp/base --root after=. \
        --out bench/results/startup-none.json
    uv run python bench/startup.py --bytecode compiled \
        --command 'clustersim run llama3-405b --no-jobs' \
        --root before=/tmp/base --root before-blas1=/tmp/base --root after=. \
        --env before-blas1:OPENBLAS_NUM_THREADS=1     # one change of several, same sitting
    uv run python bench/startup.py --report bench/results/startup-none.json \
        bench/results/startup-compiled.json

Results go to ``results/startup.json`` (``--out``); ``--write`` also writes ``STARTUP.md``, and
``--report A.json B.json`` writes it from saved results (one section each), keeping what
follows its ``<!-- hand-written -->`` line (the analysis) as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent

COMMANDS: dict[str, list[str]] = {
    "python -S -c pass": ["{python}", "-S", "-c", "pass"],
    "python -c pass": ["{python}", "-c", "pass"],
    "python -c 'import clustersim'": ["{python}", "-c", "import clustersim"],
    "clustersim --version": ["{bin}/clustersim", "--version"],
    "clustersim presets": ["{bin}/clustersim", "presets"],
    "clustersim run llama3-405b --no-jobs": ["{bin}/clustersim", "run", "llama3-405b", "--no-jobs"],
    "clustersim run llama3-405b --json --no-jobs": [
        "{bin}/clustersim",
        "run",
        "llama3-405b",
        "--json",
        "--no-jobs",
    ],
    "uv --version": ["uv", "--version"],
    "uv run --no-sync clustersim --version": ["uv", "run", "--no-sync", "clustersim", "--version"],
    "uv run clustersim --version": ["uv", "run", "clustersim", "--version"],
    "uv run clustersim run llama3-405b": ["uv", "run", "clustersim", "run", "llama3-405b"],
}
"""What is timed, by label; ``{python}`` and ``{bin}`` are the checkout's venv. ``uv
--version`` is the ``uv`` on ``PATH`` alone (a pyenv shim, a bash script, where ``pip install
uv`` went into a pyenv Python), ``--no-sync`` leaves out uv's lock and environment check: the
three ``uv`` rows split what ``uv run`` adds to ``clustersim --version``."""

IMPORTTIME: dict[str, list[str]] = {
    "python -c pass": ["-c", "pass"],
    "clustersim --version": ["{bin}/clustersim", "--version"],
    "clustersim presets": ["{bin}/clustersim", "presets"],
    "clustersim run llama3-405b --no-jobs": ["{bin}/clustersim", "run", "llama3-405b", "--no-jobs"],
}
"""Commands whose imports are listed: ``python -X importtime ARGS`` in the venv."""

HEAVY = ("numpy", "pydantic", "rich", "ruamel", "simpy", "orjson", "pandas", "matplotlib")
"""Third-party packages whose presence in a command's imports the report notes."""

HAND_WRITTEN = "<!-- hand-written -->"
"""Where the generated part of ``STARTUP.md`` ends; what follows is kept on rewriting."""

_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


@dataclass
class Timing:
    """N whole-process runs of one command in one checkout."""

    root: str
    command: str
    wall_s: list[float]
    cpu_s: list[float]
    exit_code: int

    @property
    def min_s(self) -> float:
        """Fastest wall time."""
        return min(self.wall_s)

    @property
    def median_s(self) -> float:
        """Median wall time."""
        return statistics.median(self.wall_s)

    @property
    def cpu_median_s(self) -> float:
        """Median CPU time (user + system) of the child."""
        return statistics.median(self.cpu_s)


def _venv_bin(root: Path) -> Path:
    """The venv of a checkout (``root/.venv``), or ``root`` itself if it is a venv."""
    return root / "bin" if (root / "pyvenv.cfg").exists() else root / ".venv" / "bin"


def _argv(root: Path, template: list[str]) -> list[str] | None:
    """The command line to run in ``root``; ``None`` for ``uv run`` where there is no project."""
    if template[0] == "uv" and (root / "pyvenv.cfg").exists():
        return None
    venv = _venv_bin(root)
    return [part.format(python=venv / "python", bin=venv) for part in template]


BYTECODE = "as-is"
"""How this run treats bytecode (``--bytecode``); ``none`` sets PYTHONDONTWRITEBYTECODE."""


EXTRA_ENV: dict[str, dict[str, str]] = {}
"""Variables set for one root's commands only (``--env LABEL:NAME=VALUE``), by label."""


def _env(label: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if BYTECODE == "none":
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    for name in ("COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG", "VIRTUAL_ENV", "PYTHONPATH"):
        env.pop(name, None)  # time what a user's shell runs, not this process's test set-up
    env.pop("UV_PROJECT_ENVIRONMENT", None)
    env.update(EXTRA_ENV.get(label or "", {}))
    return env


def run_once(argv: list[str], cwd: Path, label: str | None = None) -> tuple[float, float, int]:
    """One run: wall seconds, child CPU seconds, exit code (stdout and stderr discarded)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    code = subprocess.run(
        argv, cwd=cwd, env=_env(label), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ).returncode
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, code


def time_commands(roots: dict[str, Path], commands: Sequence[str], runs: int) -> list[Timing]:
    """Every command in every checkout, ``runs`` times, interleaved round by round."""
    timings = {
        (label, command): Timing(label, command, [], [], 0)
        for label in roots
        for command in commands
    }
    for round_ in range(runs + 1):  # round 0 warms the disk cache and .pyc files
        for command in commands:
            for label, root in roots.items():
                argv = _argv(root, COMMANDS[command])
                if argv is None:
                    continue
                wall, cpu, code = run_once(argv, root, label)
                timing = timings[label, command]
                timing.exit_code = max(timing.exit_code, code)
                if round_:
                    timing.wall_s.append(wall)
                    timing.cpu_s.append(cpu)
        print(f"round {round_}/{runs} done", file=sys.stderr)
    return list(timings.values())


def importtime(
    root: Path, args: list[str], runs: int, label: str | None = None
) -> dict[str, tuple[int, float, float]]:
    """``-X importtime`` of one command: module -> (depth, self ms, cumulative ms), medians."""
    samples: dict[str, list[tuple[int, int, int]]] = {}
    venv = _venv_bin(root)
    for _ in range(runs):
        proc = subprocess.run(
            [str(venv / "python"), "-X", "importtime", *(a.format(bin=venv) for a in args)],
            cwd=root,
            env=_env(label),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for match in _IMPORT_LINE.finditer(proc.stderr):
            own, cumulative, indent, module = match.groups()
            depth = (len(indent) - 1) // 2
            samples.setdefault(module, []).append((depth, int(own), int(cumulative)))
    return {
        module: (
            values[0][0],
            statistics.median(v[1] for v in values) / 1000,
            statistics.median(v[2] for v in values) / 1000,
        )
        for module, values in samples.items()
    }


def _source_folders(root: Path) -> list[Path]:
    """The venv's site-packages and, for a checkout, the sources it imports (editable)."""
    folders = sorted(_venv_bin(root).parent.glob("lib/python3*/site-packages"))
    if not (root / "pyvenv.cfg").exists():
        folders += [root / name for name in ("src", "scheduler", "faults")]
    return [folder for folder in folders if folder.is_dir()]


def set_bytecode(root: Path, mode: str) -> int:
    """Delete (``none``) or write (``compiled``) the ``.pyc`` files of ``root``; how many now."""
    for folder in _source_folders(root):
        if mode == "none":
            for cache in sorted(folder.rglob("__pycache__"), reverse=True):
                shutil.rmtree(cache, ignore_errors=True)
        elif mode == "compiled":
            subprocess.run(
                [str(_venv_bin(root) / "python"), "-m", "compileall", "-q", "-j0", str(folder)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
    return sum(1 for folder in _source_folders(root) for _ in folder.rglob("*.pyc"))


def pth_files(root: Path) -> list[tuple[str, str]]:
    """The venv's ``.pth`` files and their first line (what ``site`` runs at every start)."""
    found = sorted(_venv_bin(root).parent.glob("lib/python3*/site-packages/*.pth"))
    return [(path.name, path.read_text().splitlines()[0][:100]) for path in found]


def _table(timings: list[Timing], roots: Sequence[str]) -> list[str]:
    header = "| command | " + " | ".join(
        f"{label} min s | {label} median s | {label} CPU s" for label in roots
    )
    lines = [header + " |", "|---|" + "---:|" * (3 * len(roots))]
    by_key = {(t.root, t.command): t for t in timings}
    for command in dict.fromkeys(t.command for t in timings):
        cells = []
        for label in roots:
            t = by_key[label, command]
            if not t.wall_s:
                cells.append("– | – | –")
                continue
            flag = "" if t.exit_code == 0 else f" (exit {t.exit_code})"
            cells.append(f"{t.min_s:.3f} | **{t.median_s:.3f}**{flag} | {t.cpu_median_s:.3f}")
        lines.append(f"| `{command}` | " + " | ".join(cells) + " |")
    return lines


def _import_table(modules: dict[str, tuple[int, float, float]], top: int) -> list[str]:
    total = sum(cum for depth, _, cum in modules.values() if depth == 0)
    heavy = sorted({m.split(".")[0] for m in modules if m.split(".")[0] in HEAVY})
    lines = [
        f"{len(modules)} modules, {total:.0f} ms of imports in all; "
        f"heavy packages: {', '.join(heavy) or 'none'}",
        "",
        "| module | depth | self ms | cumulative ms |",
        "|---|---:|---:|---:|",
    ]
    ranked = sorted(modules.items(), key=lambda item: -item[1][2])[:top]
    for module, (depth, own, cumulative) in ranked:
        lines.append(f"| `{module}` | {depth} | {own:.1f} | {cumulative:.1f} |")
    return lines


def markdown(sittings: Sequence[dict[str, Any]]) -> str:
    """``STARTUP.md``: per sitting, the timing table, the top imports and the ``.pth`` files."""
    out = [
        "# CLI start-up",
        "",
        "Written by `bench/startup.py --report` from its result files (do not edit above the",
        "hand-written part); what the figures mean is in the script's docstring. Whole-process",
        "wall time of N fresh processes per command after one warm-up, commands interleaved",
        "round by round; CPU is the child's user + system time (load on the shared machine",
        "inflates wall time far more than CPU time).",
        "",
    ]
    for data in sittings:
        roots = list(data["roots"])
        timings = [Timing(**t) for t in data["timings"]]
        pyc = ", ".join(f"{label} {n}" for label, n in data["pyc_files"].items())
        out += [
            f"## Bytecode `{data['bytecode']}`",
            "",
            f"Measured {data['when']} on {data['machine']}, {data['runs']} runs per command; "
            f"PYTHONDONTWRITEBYTECODE=`{data['dont_write_bytecode']}`; .pyc files at the "
            f"start: {pyc}; "
            + ", ".join(
                f"`{label}` = {path}"
                + "".join(f" with `{k}={v}`" for k, v in data.get("env", {}).get(label, {}).items())
                for label, path in data["roots"].items()
            )
            + ".",
            "",
            *_table(timings, roots),
            "",
        ]
        for label in roots:
            pth = ", ".join(f"`{name}` (`{line}`)" for name, line in data["pth"][label])
            out += [f"### `{label}`, bytecode `{data['bytecode']}`", "", f".pth files: {pth}", ""]
            for command, modules in data["importtime"][label].items():
                runs = data["importtime_runs"]
                out += [f"Imports of `{command}` (median of {runs} runs):", ""]
                out += _import_table(modules, data["top"])
                out.append("")
    return "\n".join(out)


def write_report(sittings: Sequence[dict[str, Any]]) -> Path:
    """Write ``STARTUP.md``, keeping what follows its hand-written marker."""
    target = BENCH_DIR / "STARTUP.md"
    kept = target.read_text().partition(HAND_WRITTEN)[2] if target.exists() else "\n"
    target.write_text(markdown(sittings) + "\n" + HAND_WRITTEN + kept)
    return target


def main(argv: Sequence[str] | None = None) -> int:
    """Time the commands, print the table, save the JSON (and ``STARTUP.md``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="measured runs per command")
    parser.add_argument(
        "--root",
        action="append",
        default=[],
        metavar="LABEL=DIR",
        help="a checkout with a .venv (repeatable; default: this one as 'this')",
    )
    parser.add_argument(
        "--command",
        action="append",
        default=[],
        choices=list(COMMANDS),
        help="time only this command (repeatable; default: all)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="LABEL:NAME=VALUE",
        help="set a variable for one root's commands only (repeatable), e.g. the same checkout "
        "twice: --root a=DIR --root b=DIR --env b:OPENBLAS_NUM_THREADS=1",
    )
    parser.add_argument("--importtime-runs", type=int, default=5)
    parser.add_argument("--top", type=int, default=15, help="imports listed per command")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results" / "startup.json")
    parser.add_argument("--write", action="store_true", help="also write bench/STARTUP.md")
    parser.add_argument(
        "--bytecode",
        choices=("as-is", "none", "compiled"),
        default="as-is",
        help="delete every .pyc first and set PYTHONDONTWRITEBYTECODE, or compile them all",
    )
    parser.add_argument(
        "--report",
        nargs="+",
        type=Path,
        metavar="RESULT.json",
        help="measure nothing: write STARTUP.md from these result files, one section each",
    )
    args = parser.parse_args(argv)
    if args.report:
        print(write_report([json.loads(path.read_text()) for path in args.report]))
        return 0
    global BYTECODE
    BYTECODE = args.bytecode
    roots = dict(item.split("=", 1) for item in args.root) or {"this": str(ROOT)}
    paths = {label: Path(path).resolve() for label, path in roots.items()}
    for label, path in paths.items():
        if not (_venv_bin(path) / "clustersim").exists():
            parser.error(f"{label}: {path} is no venv and has no .venv (run uv sync there)")
    commands = args.command or list(COMMANDS)
    for item in args.env:
        label, _, assignment = item.partition(":")
        name, equals, value = assignment.partition("=")
        if label not in paths or not name or not equals:
            parser.error(f"--env {item}: expected LABEL:NAME=VALUE with a --root LABEL")
        EXTRA_ENV.setdefault(label, {})[name] = value
    pyc = {label: set_bytecode(path, args.bytecode) for label, path in paths.items()}
    load_start = os.getloadavg()[0]
    timings = time_commands(paths, commands, args.runs)
    data: dict[str, Any] = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, load {load_start:.2f} at the start and "
        f"{os.getloadavg()[0]:.2f} at the end",
        "runs": args.runs,
        "bytecode": args.bytecode,
        "dont_write_bytecode": _env().get("PYTHONDONTWRITEBYTECODE", ""),
        "pyc_files": pyc,
        "roots": {label: str(path) for label, path in paths.items()},
        "env": EXTRA_ENV,
        "timings": [asdict(t) for t in timings],
        "pth": {label: pth_files(path) for label, path in paths.items()},
        "importtime_runs": args.importtime_runs,
        "top": args.top,
        "importtime": {
            label: {
                command: importtime(path, cli_args, args.importtime_runs, label)
                for command, cli_args in IMPORTTIME.items()
            }
            for label, path in paths.items()
        },
    }
    print("\n".join(_table(timings, list(paths))))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1) + "\n")
    if args.write:
        write_report([data])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Tests for clustersim.files: output paths are written to, never replaced (issue 17 items 1,
11, 12, 17): FIFOs and terminals are written straight to, symlinks stay symlinks, new files
honour the umask, errors name the user's path, a full device is exit 74.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
import threading
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from clustersim import files
from clustersim.cli import main

SMALL = ["single-job", "--set", "workload.jobs.0.work=2d"]
SAMPLES = Path(__file__).parents[2] / "src" / "clustersim" / "traces" / "samples"


def _drain(fd: int, sink: list[bytes]) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO on a pty master once the slave side is closed
            return
        if not chunk:
            return
        sink.append(chunk)


def _no_temp_files(directory: Path) -> None:
    assert not [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


def test_run_out_to_a_fifo_writes_through_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []

    def reader() -> None:
        fd = os.open(fifo, os.O_RDONLY)
        try:
            _drain(fd, got)
        finally:
            os.close(fd)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    code = main(["run", *SMALL, "--out", str(fifo)])
    thread.join(timeout=30)
    assert code == 0, capsys.readouterr().err
    assert stat.S_ISFIFO(fifo.lstat().st_mode)  # not replaced by a regular file
    assert json.loads(b"".join(got))["scenario"]["name"] == "single-job"
    _no_temp_files(tmp_path)


@pytest.fixture
def pty_path() -> Iterator[tuple[str, list[bytes]]]:
    """A character device the test owns: the slave side of a new pseudo-terminal."""
    master, slave = os.openpty()
    tty.setraw(slave)
    got: list[bytes] = []
    thread = threading.Thread(target=_drain, args=(master, got), daemon=True)
    thread.start()
    try:
        yield os.ttyname(slave), got
    finally:
        os.close(slave)
        thread.join(timeout=10)
        os.close(master)


def test_run_out_to_a_character_device_writes_through_it(
    pty_path: tuple[str, list[bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = pty_path
    code = main(["run", *SMALL, "--no-jobs", "--out", path])
    assert code == 0, capsys.readouterr().err
    assert stat.S_ISCHR(os.stat(path).st_mode)
    assert files._plan(Path(path)).direct
    # the reader may still be catching up: the plan says direct, the run said 0


def test_device_check_is_on_the_target_not_the_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[tuple[Path, bytes]] = []
    real_stat = Path.stat

    def fake_stat(self: Path, *, follow_symlinks: bool = True) -> os.stat_result:
        st = real_stat(self, follow_symlinks=follow_symlinks)
        if follow_symlinks and os.path.realpath(self).endswith("device"):  # a device stand-in
            return os.stat_result((stat.S_IFCHR | 0o666, *st[1:]))
        return st

    def fake_open(path: object, flags: int, *args: object) -> int:
        assert not flags & os.O_CREAT
        written.append((Path(str(path)), b""))
        return real_open(os.devnull, os.O_WRONLY)

    real_open = os.open
    (tmp_path / "device").write_bytes(b"")
    (tmp_path / "link").symlink_to(tmp_path / "device")
    monkeypatch.setattr(Path, "stat", fake_stat)
    monkeypatch.setattr(files.os, "open", fake_open)
    files.write_atomic([(tmp_path / "link", b"data")])
    assert written == [(tmp_path / "link", b"")]  # opened (the kernel follows the link)
    assert (tmp_path / "link").is_symlink()


def _link(tmp_path: Path, name: str) -> tuple[Path, Path]:
    real_dir = tmp_path / "real"
    real_dir.mkdir(exist_ok=True)
    target = real_dir / name
    target.write_bytes(b"old")
    link = tmp_path / name
    link.symlink_to(target)
    return link, target


def test_every_output_option_follows_symlinks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    out, out_t = _link(tmp_path, "run.json")
    events, events_t = _link(tmp_path, "events.jsonl")
    plot, plot_t = _link(tmp_path, "gpus.png")
    argv = ["run", *SMALL, "--out", str(out), "--events", str(events), "--plot", str(plot)]
    assert main(argv) == 0, capsys.readouterr().err
    conv, conv_t = _link(tmp_path, "t.csv")
    assert main(["trace", "convert", str(SAMPLES / "sample.swf"), str(conv)]) == 0
    plan_md, plan_t = _link(tmp_path, "plan.md")
    argv = ["plan", *SMALL, "--target", "ettr=0.8", "--budget", "4", "--out", str(plan_md)]
    assert main(argv) == 0, capsys.readouterr().err
    report, report_t = _link(tmp_path, "report.html")
    assert main(["report", str(out), "--out", str(report)]) == 0, capsys.readouterr().err
    sweep_out = tmp_path / "s.jsonl"
    grid = ["--grid", "checkpoint.interval=5m,20m", "--reps", "2", "--out", str(sweep_out)]
    assert main(["sweep", *SMALL, *grid]) == 0, capsys.readouterr().err
    png, png_t = _link(tmp_path, "sweep.png")
    assert main(["plot", str(sweep_out), "--x", "checkpoint.interval", "--out", str(png)]) == 0
    pairs = [
        (out, out_t),
        (events, events_t),
        (plot, plot_t),
        (conv, conv_t),
        (plan_md, plan_t),
        (report, report_t),
        (png, png_t),
    ]
    for link, target in pairs:
        assert link.is_symlink(), link
        assert target.read_bytes() != b"old", target
    _no_temp_files(tmp_path)
    _no_temp_files(tmp_path / "real")


def test_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "new.json")
    files.write_atomic([(link, b"{}")])
    assert link.is_symlink() and (tmp_path / "new.json").read_bytes() == b"{}"


def test_errors_name_the_users_path(tmp_path: Path) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "missing" / "t.json")
    with pytest.raises(files.UsageError, match=f"cannot write {link}: directory"):
        files.write_atomic([(link, b"{}")])


def test_full_device_is_exit_74_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, data: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files, "_write_all", full)
    out = tmp_path / "r.json"
    code = main(["run", *SMALL, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 74 and err.count("\n") == 1
    assert f"cannot write {out}: No space left on device" in err
    assert not out.exists()
    _no_temp_files(tmp_path)


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_honour_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    old = os.umask(umask)
    try:
        files.write_atomic([(tmp_path / "new", b"x")])
        with files.atomic_open(tmp_path / "streamed") as fh:
            fh.write(b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "streamed").stat().st_mode) == mode


def test_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "kept"
    path.write_bytes(b"old")
    path.chmod(0o640)
    files.write_atomic([(path, b"new")])
    assert stat.S_IMODE(path.stat().st_mode) == 0o640 and path.read_bytes() == b"new"


def test_same_path_twice_is_refused_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    same = tmp_path / "x.json"
    alias = tmp_path / "alias.json"
    alias.symlink_to(same)
    for argv in (
        ["--events", str(same), "--out", str(same)],
        ["--events", str(alias), "--out", str(same)],
        ["--out", str(same), "--plot", str(tmp_path / "." / "x.json")],
    ):
        assert main(["run", *SMALL, *argv]) == 2
        err = capsys.readouterr().err
        assert "are the same file" in err and err.count("\n") == 1
        assert not same.exists()


def test_closed_stdout_is_exit_74() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, runpy, sys; os.close(1); sys.stdout = None; "
            "sys.argv = ['clustersim', 'presets']; "
            "from clustersim.cli import main; raise SystemExit(main())",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 74, err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("form", [["--json"], []])
def test_stdout_pipe_closed_by_reader_is_exit_74(form: list[str]) -> None:
    # Both the JSON and the rich summary (rich's own reaction is a silent exit 1).
    proc = subprocess.Popen(
        [sys.executable, "-m", "clustersim", "run", *SMALL, *form],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read()
    proc.wait(timeout=120)
    assert proc.returncode == 74, err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("value", ["-3", "0"])
def test_reps_below_one_says_at_least_one(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", *SMALL, "--reps", value]) == 2
    err = capsys.readouterr().err
    assert f"must be >= 1, got {value}" in err and err.count("\n") == 1


def test_memory_error_is_a_resource_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from clustersim import api

    def exhausted(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(api.experiment, "run", exhausted)
    assert main(["run", *SMALL]) == 71
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "out of memory" in err and "internal error" not in err


def test_figures_are_written_in_the_format_their_name_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    magic = {"png": b"\x89PNG", "svg": b"<?xml", "pdf": b"%PDF"}
    for fmt, head in magic.items():
        fig = tmp_path / f"run.{fmt.upper() if fmt == 'pdf' else fmt}"
        assert main(["run", *SMALL, "--plot", str(fig)]) == 0, capsys.readouterr().err
        assert fig.read_bytes().startswith(head), fmt
    sweep_out = tmp_path / "s.jsonl"
    grid = ["--grid", "checkpoint.interval=5m,20m", "--reps", "2", "--out", str(sweep_out)]
    assert main(["sweep", *SMALL, *grid]) == 0
    for fmt, head in magic.items():
        fig = tmp_path / f"sweep.{fmt}"
        argv = ["plot", str(sweep_out), "--x", "checkpoint.interval", "--out", str(fig)]
        assert main(argv) == 0, capsys.readouterr().err
        assert fig.read_bytes().startswith(head), fmt
    capsys.readouterr()
    for argv in (
        ["run", *SMALL, "--plot", str(tmp_path / "x.jpg")],
        ["plot", str(sweep_out), "--x", "checkpoint.interval", "--out", str(tmp_path / "x.jpg")],
        ["run", *SMALL, "--plot", str(tmp_path / "noext")],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "use .png, .svg or .pdf" in err
    assert not (tmp_path / "x.jpg").exists() and not (tmp_path / "noext").exists()


def test_a_path_naming_an_open_descriptor_is_written_through_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    redirected = tmp_path / "stdout.txt"  # like `clustersim run ... --out /dev/stdout > FILE`
    fd = os.open(redirected, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, b"before\n")
        inode = redirected.stat().st_ino
        code = main(["run", *SMALL, "--no-jobs", "--out", f"/proc/self/fd/{fd}"])
        assert code == 0, capsys.readouterr().err
        os.write(fd, b"after\n")  # the shared offset: nothing overwritten
    finally:
        os.close(fd)
    assert redirected.stat().st_ino == inode  # not replaced behind the descriptor's back
    data = redirected.read_bytes()
    assert data.startswith(b"before\n{") and data.endswith(b"}\nafter\n")
    assert json.loads(data[len(b"before\n") : -len(b"after\n")])["seed"] == 0

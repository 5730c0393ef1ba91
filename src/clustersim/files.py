"""Output files: written whole or not at all, and never in place of what the path points at.

Owns the one writer behind every ``--out``/``--events``/``--plot`` option, ``trace convert``
and the sweep results files. A regular file (or a path that does not exist yet) is written
to a temporary file beside it and renamed over it, so a failed run leaves no partial file. A
symlink is followed first: the temporary file goes beside its *target*, which is replaced,
and the link stays a link. A path that exists and is not a regular file (a FIFO, a character
device) is written straight to, never replaced; one that names an open descriptor of this
process (``/dev/stdout``, ``/dev/fd/N``, ``/proc/self/fd/N``: maybe a shell redirection into a
file) is written through that descriptor, sharing its offset. New files get the mode ``0666``
less the umask, and a replaced file keeps its mode. Every error names the path the user gave.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar

from clustersim.config import UsageError, single_line
from clustersim.errors import ClusterSimError

__all__ = ["OutputError", "atomic_open", "check_writable", "write_atomic"]

EXIT_IOERR = 74
IO_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EPIPE, errno.EFBIG, errno.EBADF, errno.EROFS}
)
"""Errors of the device rather than of the command line: exit 74 instead of 2."""


class OutputError(ClusterSimError):
    """Writing an output failed on the device (full disk, I/O error, closed pipe): exit 74."""

    exit_code: ClassVar[int] = EXIT_IOERR

    def __init__(self, message: str) -> None:
        super().__init__(single_line(message))


def error_for(path: Path | str, exc: OSError) -> Exception:
    """The one-line error for ``exc`` while writing the user's ``path``."""
    message = f"cannot write {path}: {exc.strerror or exc}"
    return OutputError(message) if exc.errno in IO_ERRNOS else UsageError(message)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@dataclass(slots=True)
class _Plan:
    """Where the bytes for one user path go."""

    path: Path
    target: Path
    direct: bool
    mode: int
    fd: int | None = None
    """An open descriptor of this process to write through (not closed)."""


_FD_LINK = re.compile(r"/(?:proc/(?:self|thread-self|(\d+))|dev)/fd/(\d+)")


def _own_fd(path: Path) -> int | None:
    """The descriptor ``path`` names, if it is (or links to) ``/dev/fd/N`` or ``/proc/self/fd/N``.

    Such a path is an open file of this process (``/dev/stdout`` after a shell redirection):
    it is written through the descriptor itself, never replaced by a file the shell's
    descriptor does not see, nor reopened at another offset.
    """
    name = os.fspath(path)
    for _ in range(40):
        found = _FD_LINK.fullmatch(name)
        if found and (found.group(1) is None or int(found.group(1)) == os.getpid()):
            return int(found.group(2))
        try:
            link = os.readlink(name)
        except OSError:
            return None
        name = os.path.normpath(os.path.join(os.path.dirname(name), link))
    return None


def _plan(path: Path) -> _Plan:
    try:
        st = path.stat()  # follows links, as the kernel does (even /proc's magic links)
    except FileNotFoundError:  # new, or a dangling link: create the link's target
        target = path.resolve() if path.is_symlink() else path
        return _Plan(path, target, False, 0o666 & ~_umask())
    except OSError as exc:
        raise error_for(path, exc) from None
    if stat.S_ISDIR(st.st_mode):
        raise UsageError(f"cannot write {path}: it is a directory")
    fd = _own_fd(path)
    if fd is not None or not stat.S_ISREG(st.st_mode):  # /dev/stdout, a pipe, a tty
        return _Plan(path, path, True, 0, fd)
    target = path.resolve() if path.is_symlink() else path
    return _Plan(path, target, False, stat.S_IMODE(st.st_mode))


def check_writable(paths: Sequence[Path | None]) -> None:
    """Refuse, before any work is done, outputs that cannot be written or that collide.

    Raises:
        UsageError: a missing directory, a directory in the way, or two outputs that are
            the same file.
    """
    seen: dict[Path, Path] = {}
    for path in paths:
        if path is None:
            continue
        plan = _plan(path)
        if not plan.direct and not plan.target.parent.is_dir():
            raise UsageError(f"cannot write {path}: directory {plan.target.parent} does not exist")
        key = Path(os.path.realpath(plan.target))
        if plan.direct:
            st = plan.target.stat()
            key = Path(f"/dev-inode/{st.st_dev}/{st.st_ino}")
        if key in seen:
            raise UsageError(f"{seen[key]} and {path} are the same file; give different paths")
        seen[key] = path


def _open_temp(plan: _Plan) -> tuple[int, str]:
    fd, tmp = tempfile.mkstemp(
        dir=plan.target.parent, prefix=f".{plan.target.name}.", suffix=".tmp"
    )
    try:
        os.fchmod(fd, plan.mode)
    except OSError:
        os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise
    return fd, tmp


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_dir(directory: Path) -> None:
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_atomic(files: Sequence[tuple[Path, bytes]], *, durable: bool = False) -> None:
    """Write every file or none (as far as devices and FIFOs allow).

    Regular files go to temporary files first and are renamed once all are written; devices
    and FIFOs are written straight to, before any rename. With ``durable`` the data and the
    directory are fsynced. An OS error becomes a one-line :class:`UsageError` (no permission,
    no such directory) or :class:`OutputError` (full disk, I/O error), naming the user's path,
    and no temporary file outlives the call.

    Raises:
        UsageError: bad path, or two entries that are the same file.
        OutputError: the device failed.
    """
    check_writable([path for path, _ in files])
    plans = [(_plan(path), data) for path, data in files]
    temps: list[tuple[str, _Plan]] = []
    current: Path | None = None
    try:
        for plan, data in plans:
            if plan.direct:
                continue
            current = plan.path
            fd, tmp = _open_temp(plan)
            temps.append((tmp, plan))
            try:
                _write_all(fd, data)
                if durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
        for plan, data in plans:
            if plan.direct:
                current = plan.path
                if plan.fd is not None:
                    _write_all(plan.fd, data)
                    continue
                fd = os.open(plan.target, os.O_WRONLY)
                try:
                    _write_all(fd, data)
                finally:
                    os.close(fd)
        for tmp, plan in temps:
            current = plan.path
            os.replace(tmp, plan.target)
            if durable:
                _fsync_dir(plan.target.parent)
    except OSError as exc:
        raise error_for(current or exc.filename or "", exc) from None
    finally:
        for tmp, _ in temps:
            Path(tmp).unlink(missing_ok=True)


@contextmanager
def atomic_open(path: Path, *, text: bool = False) -> Iterator[IO[Any]]:
    """Open ``path`` for streaming output; the file appears (or is replaced) only on success.

    A device or FIFO is opened and written directly. Text mode is UTF-8 with no newline
    translation. OS errors become one-line errors naming ``path`` (see :func:`write_atomic`).
    """
    check_writable([path])
    plan = _plan(path)
    tmp = ""
    try:
        if plan.fd is not None:
            fd = os.dup(plan.fd)
        elif plan.direct:
            fd = os.open(plan.target, os.O_WRONLY)
        else:
            fd, tmp = _open_temp(plan)
        mode = "w" if text else "wb"
        kwargs: dict[str, Any] = {"encoding": "utf-8", "newline": ""} if text else {}
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
        if tmp:
            os.replace(tmp, plan.target)
    except OSError as exc:
        raise error_for(path, exc) from None
    finally:
        if tmp:
            Path(tmp).unlink(missing_ok=True)

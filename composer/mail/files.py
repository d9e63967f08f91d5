"""Files Composer owns: written atomically, and set aside rather than lost when damaged."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from composer.mail.sizes import format_size

# What a failed write means for the user, by errno; anything else is said as the system says.
_WRITE_ERRORS = {
    errno.ENOSPC: "the disk is full",
    getattr(errno, "EDQUOT", -1): "the disk quota is used up",
    errno.EFBIG: "the file is too large for this system (as good as a full disk)",
    errno.EROFS: "the disk is read-only",
    errno.EACCES: "the folder is read-only for you (permission denied)",
    errno.EPERM: "the folder is read-only for you (not permitted)",
    errno.ENOTDIR: "a file stands where a folder should be",
    errno.EISDIR: "a folder stands where a file should be",
}
# Read in pieces, so that a file that grows while it is read costs no more than the limit.
_PIECE = 1024 * 1024
LARGER_THAN = "is larger than"
_KINDS = (
    (stat.S_ISDIR, "is a folder, not a file"),
    (stat.S_ISFIFO, "is a named pipe, not a file"),
    (stat.S_ISSOCK, "is a socket, not a file"),
    (stat.S_ISCHR, "is a device, not a file"),
    (stat.S_ISBLK, "is a device, not a file"),
)


class FileRefused(ValueError):
    """read_regular_file() left a file unread; str() says why, in words that follow its name
    ("is a named pipe, not a file", "is larger than 4.2 MB")."""


def read_regular_file(path: Path, limit: int) -> bytes:
    """path's bytes if it is a regular file of at most limit bytes; else raises FileRefused.

    Never waits on a pipe or a device: it is looked at before it is opened, opened with
    O_NONBLOCK (a FIFO put in its place meanwhile opens at once) and looked at again, on what
    was opened, before a byte is read. Raises OSError (FileNotFoundError…) as open() does.
    """
    _refuse_unless_regular(os.stat(path), limit)
    fd = _open_regular(path, limit)
    try:
        data = _read_at_most(fd, limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:  # it grew since it was looked at
        raise FileRefused(f"{LARGER_THAN} {format_size(limit)}")
    return data


def open_regular_file(path: Path) -> BinaryIO:
    """path, opened to read, if it is a regular file; else raises FileRefused. Never waits on
    a pipe or a device (see read_regular_file). Raises OSError as open() does."""
    fd = _open_regular(path, sys.maxsize)
    try:
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _open_regular(path: Path, limit: int) -> int:
    """A descriptor of path, opened without waiting, once fstat shows a regular file of at
    most limit bytes; else raises FileRefused."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    try:
        _refuse_unless_regular(os.fstat(fd), limit)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _refuse_unless_regular(found: os.stat_result, limit: int) -> None:
    for is_kind, words in _KINDS:
        if is_kind(found.st_mode):
            raise FileRefused(words)
    if not stat.S_ISREG(found.st_mode):
        raise FileRefused("is not a regular file")
    if found.st_size > limit:
        raise FileRefused(f"{LARGER_THAN} {format_size(limit)}")


def _read_at_most(fd: int, size: int) -> bytes:
    pieces: list[bytes] = []
    left = size
    while left > 0:
        piece = os.read(fd, min(left, _PIECE))
        if not piece:
            break
        pieces.append(piece)
        left -= len(piece)
    return b"".join(pieces)


def describe_write_error(error: OSError) -> str:
    """Why a write failed, in plain words: "the disk is full", "the disk is read-only"…"""
    known = _WRITE_ERRORS.get(error.errno or 0)
    if known:
        return known
    return str(error.strerror or error)


def broken_copy_path(path: Path) -> Path:
    """A free name beside path for keeping a damaged file: ``name.broken-<time>[-N]``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = path.with_name(f"{path.name}.broken-{stamp}")
    counter = 1
    while backup.exists():
        counter += 1
        backup = path.with_name(f"{path.name}.broken-{stamp}-{counter}")
    return backup


def set_aside(path: Path) -> Path:
    """Move path (a file, or whatever stands in a file's place) to broken_copy_path(path);
    returns where it went. Nothing is deleted; raises OSError when it cannot be moved."""
    backup = broken_copy_path(path)
    os.replace(path, backup)
    return backup


@contextlib.contextmanager
def atomic_writer(path: Path, *, durable: bool = True) -> Iterator[BinaryIO]:
    """A binary stream whose bytes become path only if the with-block ends without an error.

    They go to a temporary file in path's folder (so the rename stays on one file system),
    which is flushed, synced and renamed over path; then the folder is synced, so the
    rename survives a power cut too. Until then, and whenever the block raises, path is
    untouched and the temporary file is removed. A file that is replaced keeps its
    permissions; a new one is readable by its owner only.

    Not durable: no syncs, so a power cut may lose the write (or, for a new file, leave it
    empty); a crash of Composer alone loses nothing. Only for what recovery can do without.
    """
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            _keep_permissions(path, stream.fileno())
            yield stream
            stream.flush()
            if durable:
                os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    if durable:
        sync_folder(path.parent)


def write_atomically(path: Path, text: str) -> None:
    """Write text to path as UTF-8, creating its folder, all or nothing (see atomic_writer)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path) as stream:
        stream.write(text.encode("utf-8"))


def _keep_permissions(path: Path, fd: int) -> None:
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:  # no file there yet: mkstemp's owner-only mode stays
        return
    if sys.platform != "win32":
        os.fchmod(fd, mode)


def sync_files(folder: Path, paths: list[Path]) -> None:
    """Make paths (files in folder, written without a sync) durable, and their names.

    On Linux one syncfs(2) of folder's file system does it: one journal commit for every
    file, where a sync per file costs a commit each (about 0.25 ms here). Elsewhere, or
    where syncfs cannot be had, each file is synced and then the folder. Raises OSError.
    """
    if not paths:
        return
    if _syncfs(folder):
        return
    # Opened for writing: Windows flushes a file (FlushFileBuffers) only through a handle
    # that may write it, and fails os.fsync of a read-only one.
    flags = os.O_RDWR | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    for path in paths:
        fd = os.open(path, flags)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    sync_folder(folder)


def _syncfs(folder: Path) -> bool:
    """syncfs(2) of folder's file system; False where it cannot be called."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes  # here: only a batch of sends needs it

    try:
        call = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return False
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | os.O_CLOEXEC)
    try:
        failed = call(fd) != 0
        number = ctypes.get_errno() if failed else 0
    finally:
        os.close(fd)
    if number in (errno.ENOSYS, errno.EPERM):
        return False  # a kernel or sandbox without it: sync file by file instead
    if failed:
        raise OSError(number, os.strerror(number), str(folder))
    return True


def sync_folder(folder: Path) -> None:
    """Sync folder itself, so that files made, renamed or removed in it survive a power cut."""
    if sys.platform == "win32":
        return  # a folder cannot be opened as a file there; NTFS journals the rename itself
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as error:
        # Some file systems (and FUSE mounts) cannot sync a folder; the file itself is synced.
        if error.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)

"""Advisory locks between Composer processes sharing one config or data directory.

Two Composers can run on the same files: the single-instance socket normally hands a second
launch to the first, but not when the launches use different names for it or handing over
fails. Every file is written atomically (files.atomic_writer), so neither ever sees half a
file; these locks order what atomic writes alone cannot: a read-modify-write of a shared
file, start-up clean-up, and who sends an Outbox entry.

flock() locks belong to an open file, so they order threads of one process too, and the
system drops them when a process dies: a crash never leaves a lock behind. Where flock()
does not exist (Windows) every lock is granted at once and Composer behaves as before.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

if sys.platform != "win32":
    import fcntl

log = logging.getLogger(__name__)

# False where locks are granted without being taken (no flock()).
LOCKS_AVAILABLE = sys.platform != "win32"

# Long enough for another process's read-modify-write of a small file, and for a slow disk;
# short enough that a stuck process never holds the writer thread for long.
DEFAULT_TIMEOUT = 5.0
_POLL = 0.02


class LockTimeout(OSError):
    """Another Composer held the lock for longer than the bound; str() says which file."""


def _open(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)


@contextlib.contextmanager
def exclusive(path: Path, timeout: float = DEFAULT_TIMEOUT) -> Iterator[None]:
    """Hold the lock file at path exclusively for the with-block, waiting up to timeout.

    Raises LockTimeout when another process (or thread) holds it that long, and OSError when
    the lock file cannot be made. Never hold it across anything that waits for the user.
    """
    if sys.platform == "win32":
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _open(path)
    try:
        deadline = time.monotonic() + timeout
        while not try_lock(fd):
            if time.monotonic() >= deadline:
                seconds = "1 second" if timeout == 1 else f"{timeout:g} seconds"
                raise LockTimeout(
                    errno.EWOULDBLOCK,
                    f"another Composer kept {path} locked for more than {seconds}",
                )
            time.sleep(_POLL)
        yield
    finally:
        os.close(fd)  # releases the lock


def try_lock(fd: int) -> bool:
    """Take an exclusive lock on the open file fd if nobody else holds one; never waits."""
    if sys.platform == "win32":
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class Presence:
    """A shared lock held on a directory's lock file for as long as one Composer uses it,
    which tells a starting Composer whether another process uses the directory too.

    Every AppContext of one process shares one hold (tests make several), so "alone" means
    no other process. join() must run under the directory's start-up lock: taking the
    exclusive lock and going back to a shared one are two steps, and another start-up must
    not slip in between.
    """

    _guard: ClassVar[threading.Lock] = threading.Lock()
    _holds: ClassVar[dict[Path, list[int]]] = {}  # path → [fd, number of joins]

    def __init__(self, path: Path) -> None:
        self.path = path
        self._joined = False

    def join(self) -> bool:
        """Hold the shared lock; True when no other process holds it."""
        if sys.platform == "win32":
            return True
        with Presence._guard:
            hold = Presence._holds.get(self.path)
            if hold is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                hold = Presence._holds[self.path] = [_open(self.path), 0]
            fd = hold[0]
            alone = try_lock(fd)
            fcntl.flock(fd, fcntl.LOCK_SH)
            hold[1] += 1
            self._joined = True
            return alone

    def leave(self) -> None:
        """Let go of the hold (the last one in this process closes the lock file)."""
        if not self._joined:
            return
        self._joined = False
        with Presence._guard:
            hold = Presence._holds.get(self.path)
            if hold is None:
                return
            hold[1] -= 1
            if hold[1] <= 0:
                del Presence._holds[self.path]
                os.close(hold[0])

"""The Outbox's commit marks: "the final dot of this entry is about to go", on disk first.

A mark is one line appended to a log file of the process's own and synced (fdatasync)
before the dot is written: one small write and one sync, where rewriting the entry's state
file durably costs a new file, two syncs and a rename. That mark is the only write a send
must wait for; everything else about an attempt may be lost in a power cut, since recovery
makes the same of it (see Outbox.recover).

A log is ``commits-<key>.log`` in the Outbox folder, held under an exclusive flock for as
long as its process has entries past their mark, and deleted once it has none; a log that
nobody holds was left by a Composer that stopped, and only recovery reads and removes it.
A line is JSON ``[key, attempt, host, when]``: attempt is the entry's attempt count, so
that a mark is never taken for a later attempt's. Each is written after a line break of its
own, so that a line a failed write cut short (a full disk) cannot swallow the next mark.

In a batch the next message's mark may be written ahead (mark_ahead), as soon as the one
before it is answered, and synced on a thread of the log's own while that message's envelope
and body go out; its final dot then waits only for what is left of the sync (wait_ahead).
A crash in between makes that message "may have been sent" although its dot never went: the
price of hiding the sync, as long as a message's SMTP exchange, behind the network.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path

from composer.mail.files import sync_folder
from composer.mail.lock import try_lock
from composer.mail.store import new_key

log = logging.getLogger(__name__)

_PREFIX = "commits-"
_SUFFIX = ".log"
# Logs are short (a line per message of one flush); a longer file is not one of ours.
_MAX_LOG = 16 * 1024 * 1024


@dataclass(frozen=True)
class Mark:
    """One commit mark: attempt number attempt of key was about to end at host, at when."""

    key: str
    attempt: int
    host: str
    when: str


class CommitLog:
    """This process's log of commit marks in one Outbox folder; safe from any thread."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._fd: int | None = None
        self._path: Path | None = None
        self._lock = threading.Lock()
        # Marks written ahead whose sync was asked for: (key, attempt) → their line's number.
        self._ahead: dict[tuple[str, int], int] = {}
        self._written = 0  # lines written so far
        self._synced = 0  # of those, how many are on disk for sure
        # A background sync that failed, and the lines it was for: they may never reach the
        # disk, whatever a later sync says (a failed writeback is not tried again).
        self._sync_error: OSError | None = None
        self._failed_through = 0
        self._syncing = False
        self._changed = threading.Condition(self._lock)
        self._syncer: threading.Thread | None = None

    def mark(self, key: str, attempt: int, host: str, when: str) -> None:
        """Append the mark and sync it; raises OSError when it cannot be written."""
        with self._lock:
            fd = self._write(key, attempt, host, when)
            line = self._written
            self._wait_idle()
            # A background sync that failed meanwhile may have taken this line with it, and
            # the next fdatasync would not say so (an error is reported once per file).
            self._raise_if_failed(line)
            try:
                _sync(fd)
            except OSError as error:
                self._failed(error)
                raise
            self._synced = max(self._synced, self._written)

    def mark_ahead(self, key: str, attempt: int, host: str, when: str) -> None:
        """Append the mark and have it synced in the background; wait_ahead() waits for it.
        A mark that cannot be written is only logged: wait_ahead() then says so."""
        try:
            with self._lock:
                self._write(key, attempt, host, when)
                self._ahead[(key, attempt)] = self._written
                if self._syncer is None:
                    syncer = threading.Thread(
                        target=self._sync_forever, name="composer-commit-sync", daemon=True
                    )
                    syncer.start()  # only a started one counts: wait_ahead relies on it
                    self._syncer = syncer
                self._changed.notify_all()
        except OSError as error:
            log.warning("could not write the commit mark of %s ahead: %s", key, error)

    def wait_ahead(self, key: str, attempt: int) -> bool:
        """Wait until the mark written ahead for key's attempt is on disk; False when there
        is none (call mark() then). Raises OSError when its sync failed."""
        with self._lock:
            line = self._ahead.pop((key, attempt), None)
            if line is None:
                return False
            while self._synced < line:
                self._changed.wait()
            self._raise_if_failed(line)
            return True

    def forget_ahead(self, key: str, attempt: int) -> bool:
        """Drop the mark written ahead for key's attempt (its send never came to the dot);
        True when there was one: it stays in the log, so the attempt counts."""
        with self._lock:
            return self._ahead.pop((key, attempt), None) is not None

    def _write(self, key: str, attempt: int, host: str, when: str) -> int:
        data = ("\n" + json.dumps([key, attempt, host, when], ensure_ascii=True) + "\n").encode()
        fd = self._open()
        while data:
            data = data[os.write(fd, data) :]
        self._written += 1
        return fd

    def _failed(self, error: OSError) -> None:
        """A sync failed: every line written so far (some while it ran) may be lost."""
        self._sync_error, self._failed_through = error, self._written

    def _raise_if_failed(self, line: int) -> None:
        if line <= self._failed_through and self._sync_error is not None:
            raise OSError(self._sync_error.errno, self._sync_error.strerror)

    def _wait_idle(self) -> None:
        """Until the background sync (if one runs) is done with the log's descriptor."""
        while self._syncing:
            self._changed.wait()

    def _sync_forever(self) -> None:
        """The background sync: one fdatasync for whatever lines are written by then."""
        with self._lock:
            while True:
                while self._fd is None or self._synced >= self._written:
                    self._changed.wait()
                fd, upto = self._fd, self._written
                self._syncing = True
                self._lock.release()
                failed: OSError | None = None
                try:
                    _sync(fd)
                except OSError as error:
                    failed = error
                except Exception as error:  # never leave a final dot waiting for good
                    failed = OSError(errno.EIO, f"the commit log could not be synced ({error})")
                finally:
                    self._lock.acquire()
                    self._syncing = False
                if failed is not None:
                    # Not upto: lines written while it ran may have gone with it as well.
                    self._failed(failed)
                self._synced = max(self._synced, upto)  # failed or not: waiters may look
                self._changed.notify_all()

    def close(self) -> None:
        """Delete the log, once the folder is synced: the removals of the entries it spoke
        of must not come back after a power cut that kept the log's removal."""
        with self._lock:
            self._wait_idle()
            self._ahead.clear()
            self._sync_error = None
            self._written = self._synced = self._failed_through = 0
            if self._fd is None:
                return
            fd, path = self._fd, self._path
            self._fd = self._path = None
            os.close(fd)  # first: Windows cannot delete an open file
            with contextlib.suppress(OSError):
                sync_folder(self._folder)
                if path is not None:
                    path.unlink()

    def _open(self) -> int:
        if self._fd is not None:
            return self._fd
        path = self._folder / f"{_PREFIX}{new_key()}{_SUFFIX}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            if not try_lock(fd):  # new, but a recovery looking at the folder opened it first
                raise BlockingIOError(errno.EAGAIN, "the commit log is being read", str(path))
            # The file's name must be on disk before a mark in it can be counted on.
            sync_folder(self._folder)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        self._fd, self._path = fd, path
        return fd


def _sync(fd: int) -> None:
    # fdatasync writes the data and the size, all a reader needs; where it is missing, fsync.
    if hasattr(os, "fdatasync"):
        os.fdatasync(fd)
    else:
        os.fsync(fd)


@dataclass
class LeftMarks:
    """What logs left by Composers that stopped say (see left_marks)."""

    by_key: dict[str, list[Mark]] = field(default_factory=dict)
    # The logs read, for remove_logs once what they say is settled.
    logs: list[Path] = field(default_factory=list)
    # A log nobody holds could not be read: any entry still SENDING may be past its dot.
    unread: bool = False


def left_marks(folder: Path) -> LeftMarks:
    """The marks in logs no running Composer holds, by key, and those logs' paths.

    A line cut short (the process stopped while writing it) was never synced, so its dot
    never went: it is skipped, as is anything else that is not a mark.
    """
    left = LeftMarks()
    try:
        names = sorted(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return left
    for name in names:
        if not (name.startswith(_PREFIX) and name.endswith(_SUFFIX)):
            continue
        path = folder / name
        try:
            text = _read_unheld(path)
        except OSError:
            left.unread = True  # kept: read again at the next start
            continue
        if text is None:
            continue
        left.logs.append(path)
        for line in text.split(b"\n")[:-1]:  # the last piece is "" or a line cut short
            mark = _parse(line) if line else None
            if mark is not None:
                left.by_key.setdefault(mark.key, []).append(mark)
    return left


def remove_logs(logs: list[Path]) -> None:
    """Delete logs that left_marks gave, once what they said is settled."""
    for path in logs:
        with contextlib.suppress(OSError):
            path.unlink()


def _read_unheld(path: Path) -> bytes | None:
    """path's bytes when it is a log nobody holds; None when a running Composer holds it,
    or it is gone or not a file at all. Raises OSError when it cannot be read."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    try:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode):
            return None
        if found.st_size > _MAX_LOG:
            raise OSError(errno.EFBIG, "larger than a commit log can be", str(path))
        if not try_lock(fd):
            return None  # a running Composer's
        with os.fdopen(os.dup(fd), "rb") as stream:
            return stream.read()
    finally:
        os.close(fd)


def _parse(line: bytes) -> Mark | None:
    try:
        key, attempt, host, when = json.loads(line)
    except (ValueError, TypeError):
        return None
    if not (isinstance(key, str) and isinstance(attempt, int)):
        return None
    return Mark(key, attempt, str(host), str(when))

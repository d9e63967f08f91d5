"""The child half of test_interrupted_writes.py: a file write of Composer's, killed at one step.

Usage: ``python -m tests.integration.interrupt_child CONFIG_DIR OPERATION WRITE STEP``.
The operation runs once unharmed as far as it needs to (a first version of the draft, the
message queued and being sent), then is done again with the atomic writes watched: at the
WRITE-th file written from then on (0 = the first), the process SIGKILLs itself at STEP, one
of STEPS. Only this process's os and tempfile functions are wrapped, to find the moment; the
files, the folder and the SMTP server (the account in CONFIG_DIR's settings) are real.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

from composer.context import AppContext
from composer.mail.draft import Draft
from composer.mail.message import build_message
from composer.mail.store import new_key
from composer.paths import Paths

STEPS = ("mkstemp", "write", "flush", "fsync", "replace", "dirsync")
# An atomic write that is not synced (files.atomic_writer(durable=False)).
UNSYNCED_STEPS = ("mkstemp", "write", "flush", "replace")
# The commit mark (commit_log.py): the log made, half the line written, all of it, synced.
MARK_STEPS = ("open", "write", "written", "sync")
# A state written over in place (MessageFolder.overwrite_state): opened, then written in one
# write, which a kill cannot cut short.
OVERWRITE_STEPS = ("open", "written")
# How many writes each operation makes once armed.
WRITES = {
    "draft": 1,
    "outbox-add": 2,
    "begin": 1,
    "committing": 1,
    "delivered": 1,
    "delivered-batch": 1,
}
STEPS_OF = {
    "begin": OVERWRITE_STEPS,
    "committing": MARK_STEPS,
    "delivered-batch": UNSYNCED_STEPS,
}


def steps_of(operation: str) -> tuple[str, ...]:
    return STEPS_OF.get(operation, STEPS)


SUBJECT = "Interrupted ✓"
MESSAGE_ID = "<draft@composer.invalid>"
# Long enough that the second version is written in more than one piece of the file.
LONGER = " viel länger ✓" * 2000


def first_draft() -> Draft:
    return Draft(to="zoe@example.org", subject="First version", body="Erste Fassung ✓\n")


def second_draft() -> Draft:
    return Draft(
        to="zoe@example.org, bob@example.net",
        subject="Second version — longer",
        body="Zweite Fassung," + LONGER,
        html=f"<p>Zweite <b>Fassung</b>,{LONGER}</p>",
    )


def outgoing_draft() -> Draft:
    return Draft(to="bob@example.net", subject=SUBJECT, body="Sent once, never twice. ✓\n")


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class _Watched:
    """The temporary file's stream, killing the process at its step."""

    def __init__(self, stream: BinaryIO, step: str) -> None:
        self._stream = stream
        self._step = step

    def __enter__(self) -> _Watched:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stream.__exit__(*exc)  # type: ignore[arg-type]

    def fileno(self) -> int:
        return self._stream.fileno()

    def write(self, data: bytes) -> int:
        if self._step != "write":
            return self._stream.write(data)
        # Half the bytes reach the file, then the process dies.
        self._stream.write(data[: len(data) // 2])
        self._stream.flush()
        die()
        return 0

    def flush(self) -> None:
        self._stream.flush()
        if self._step == "flush":
            die()


def arm(write: int, step: str) -> None:
    """Kill this process at step of the write-th atomic write from now on."""
    mkstemp, fdopen, fsync, replace = tempfile.mkstemp, os.fdopen, os.fsync, os.replace
    seen = {"writes": -1, "fsyncs": 0}

    def target() -> bool:
        return seen["writes"] == write

    def watched_mkstemp(*args: Any, **kwargs: Any) -> Any:
        made = mkstemp(*args, **kwargs)
        seen["writes"] += 1
        seen["fsyncs"] = 0
        if target() and step == "mkstemp":
            die()
        return made

    def watched_fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
        stream = fdopen(fd, *args, **kwargs)
        return _Watched(stream, step) if target() else stream

    def watched_fsync(fd: int) -> None:
        fsync(fd)
        if target():
            seen["fsyncs"] += 1
            if (step, seen["fsyncs"]) in (("fsync", 1), ("dirsync", 2)):
                die()

    def watched_replace(source: Any, destination: Any) -> None:
        replace(source, destination)
        if target() and step == "replace":
            die()

    tempfile.mkstemp = watched_mkstemp
    os.fdopen = watched_fdopen
    os.fsync = watched_fsync  # type: ignore[assignment]
    os.replace = watched_replace  # type: ignore[assignment]


def arm_mark(step: str) -> None:
    """Kill this process at step of writing the next commit mark."""
    open_, write, sync = os.open, os.write, os.fdatasync

    def watched_open(path: Any, *args: Any, **kwargs: Any) -> int:
        fd = open_(path, *args, **kwargs)
        if step == "open" and Path(path).name.startswith("commits-"):
            die()
        return fd

    def watched_write(fd: int, data: bytes) -> int:
        if step == "write":
            write(fd, data[: len(data) // 2])
            die()
        written = write(fd, data)
        if step == "written":
            die()
        return written

    def watched_sync(fd: int) -> None:
        sync(fd)
        if step == "sync":
            die()

    os.open = watched_open  # type: ignore[assignment]
    os.write = watched_write  # type: ignore[assignment]
    os.fdatasync = watched_sync  # type: ignore[assignment]


def arm_overwrite(step: str) -> None:
    """Kill this process at step of the next state written over in place."""
    open_, write = os.open, os.write
    opened: set[int] = set()

    def watched_open(path: Any, *args: Any, **kwargs: Any) -> int:
        fd = open_(path, *args, **kwargs)
        if str(path).endswith(".json"):
            if step == "open":
                die()
            opened.add(fd)
        return fd

    def watched_write(fd: int, data: bytes) -> int:
        written = write(fd, data)
        if fd in opened and step == "written":
            die()
        return written

    os.open = watched_open  # type: ignore[assignment]
    os.write = watched_write  # type: ignore[assignment]


def main(config_dir: Path, operation: str, write: int, step: str) -> None:
    context = AppContext(Paths(config_dir, config_dir))
    if operation == "draft":
        key, now = new_key(), context.clock()
        context.drafts.save(key, first_draft(), sender=None, message_id=MESSAGE_ID, saved_at=now)
        context.drafts.set_window_open(key, True)
        arm(write, step)
        context.drafts.save(key, second_draft(), sender=None, message_id=MESSAGE_ID, saved_at=now)
        return
    account = context.accounts()[0]
    message = build_message(outgoing_draft(), account.sender(), account.reply_to)
    if operation == "outbox-add":
        arm(write, step)
    entry = context.outbox.add(message, account.id)
    if operation == "begin":
        arm_overwrite(step)
    stored = context.outbox.begin(entry.key)

    def before_final_dot() -> None:
        if operation == "committing":
            arm_mark(step)
        context.outbox.committing(entry.key, account.host)

    result = context.delivery(account).send_message(stored, before_final_dot=before_final_dot)
    if operation.startswith("delivered"):
        arm(write, step)
    if operation == "delivered-batch":
        # As in a batch: the Sent record is synced with the others' (settle), then removed.
        context.outbox.delivered(entry.key, result, settle_later=True)
        context.outbox.settle()
        return
    context.outbox.delivered(entry.key, result)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4])
    # Reaching this line means the step was never reached: the parent sees exit status 0.

"""A write killed at every step (interrupt_child.py) leaves the old file or the new, never a
broken one: drafts reopen whole, and the Outbox never sends a message twice or loses one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from composer.app import create_main_window
from composer.mail.accounts import Security
from composer.mail.draft import Draft
from composer.mail.drafts import DraftStore
from composer.mail.outbox import EntryState
from composer.mail.store import MessageFolder
from tests.integration.interrupt_child import (
    MESSAGE_ID,
    STEPS,
    SUBJECT,
    WRITES,
    first_draft,
    second_draft,
    steps_of,
)
from tests.integration.test_nothing_lost import session_of
from tests.servers import SmtpServer, account_for, plaintext_server, running
from tests.windows import configure

ROOT = Path(__file__).resolve().parents[2]
# Until the rename the old file stands; from it on, the new one. A commit mark counts once
# all of its line is in the log, synced or not (a process that dies leaves what it wrote).
REPLACED = ("replace", "dirsync")
MARKED = ("written", "sync")


def kill_at(config_dir: Path, operation: str, write: int, step: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    module = "tests.integration.interrupt_child"
    done = subprocess.run(
        [sys.executable, "-m", module, str(config_dir), operation, str(write), step],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def cases(operation: str) -> list[tuple[int, str]]:
    return [(write, step) for write in range(WRITES[operation]) for step in steps_of(operation)]


def typed(draft: Draft) -> tuple[str, str, str, str]:
    return (draft.to, draft.subject, draft.body, draft.html)


@pytest.fixture
def server(config_dir: Path) -> Iterator[SmtpServer]:
    with running(plaintext_server()) as server:
        configure(config_dir, account_for(server, Security.NONE, username=""))
        yield server


@pytest.mark.parametrize("step", STEPS)
def test_a_draft_save_killed_at_any_step_leaves_one_whole_version(
    qtbot: QtBot, config_dir: Path, step: str
) -> None:
    kill_at(config_dir, "draft", 0, step)
    drafts_dir = config_dir / "Drafts"
    expected = second_draft() if step in REPLACED else first_draft()
    # The kill came mid-write: its temporary file is still there before the rename.
    assert bool(leftovers(drafts_dir)) == (step not in REPLACED)
    window = create_main_window(config_dir)  # the next start: sweep, recover, reopen
    qtbot.addWidget(window)
    shown = window.draft()
    assert typed(shown)[:3] == typed(expected)[:3]
    assert ("<b>Fassung</b>" in shown.html) == bool(expected.html)
    assert leftovers(drafts_dir) == []
    store = DraftStore(MessageFolder(drafts_dir))
    assert store.recover() == []
    [key] = store.folder.keys()
    loaded = store.load(key)
    assert typed(loaded.draft) == typed(expected)
    assert loaded.message_id == MESSAGE_ID


OUTBOX_CASES = [
    (operation, write, step)
    for operation in ("outbox-add", "begin", "committing", "delivered", "delivered-batch")
    for write, step in cases(operation)
]


@pytest.mark.parametrize(("operation", "write", "step"), OUTBOX_CASES)
def test_an_outbox_write_killed_at_any_step_never_sends_twice_nor_loses_the_message(
    qtbot: QtBot, config_dir: Path, server: SmtpServer, operation: str, write: int, step: str
) -> None:
    kill_at(config_dir, operation, write, step)
    outbox_dir = config_dir / "Outbox"
    before_the_dot = len(server.received)
    window = create_main_window(config_dir)  # recovers, then sends what is due
    qtbot.addWidget(window)
    session = session_of(window)
    sending = session.sending

    def settled() -> bool:
        return not sending.is_busy() and all(
            e.state is EntryState.MAY_HAVE_BEEN_SENT for e in sending.entries()
        )

    qtbot.waitUntil(settled, timeout=20_000)
    assert leftovers(outbox_dir) == []
    assert sorted(p.suffix for p in outbox_dir.iterdir() if p.is_file()) in ([], [".eml", ".json"])
    copies = [m for m in server.received if m["Subject"] == SUBJECT]
    sent = [s for s in session.context.sent.summaries() if s.subject == SUBJECT]
    entries = sending.entries()
    queued = not (operation == "outbox-add" and (write == 0 or step not in REPLACED))
    if not queued:
        # Outbox.add never returned: nothing was queued, and nothing of it is left.
        assert (entries, sent, copies) == ([], [], [])
        return
    committed = operation == "committing" and step in MARKED
    unrecorded = operation.startswith("delivered") and step not in REPLACED
    if committed or unrecorded:
        # The final dot may have gone: kept, not resent without the user's word.
        [entry] = entries
        assert entry.state is EntryState.MAY_HAVE_BEEN_SENT
        assert sent == []
        assert len(copies) == (1 if unrecorded else 0)
        return
    assert entries == []
    assert len(copies) == 1
    assert len(sent) == 1
    assert sent[0].message_id == copies[0]["Message-ID"]
    assert before_the_dot == (1 if operation.startswith("delivered") else 0)

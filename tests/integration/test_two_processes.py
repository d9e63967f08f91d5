"""Two Composer processes on the same files at once (sharing_child.py): every file stays
whole, nothing either wrote is lost, and no Outbox entry is sent twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from composer.app import create_main_window
from composer.context import AppContext
from composer.mail.accounts import AccountSettings, AccountStore, Security
from composer.mail.addressbook import AddressBook
from composer.mail.draft import Draft
from composer.mail.drafts import DraftStore
from composer.mail.message import build_message
from composer.mail.store import MessageFolder
from composer.paths import Paths
from tests.integration.test_nothing_lost import session_of
from tests.servers import SmtpServer, account_for, plaintext_server, running
from tests.windows import configure

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="advisory locks are POSIX")

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120


class Child:
    """One Composer process running a job of sharing_child.py."""

    def __init__(self, job: str, config_dir: Path, go: Path, *arguments: str) -> None:
        paths = (str(config_dir), str(go))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.sharing_child", job, *paths, *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline().strip()
        assert first == "ready", self.process.stderr.read() if self.process.stderr else first

    def line(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def finish(self) -> list[str]:
        out, err = self.process.communicate(timeout=TIMEOUT)
        assert self.process.returncode == 0, err
        return out.split()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate(timeout=TIMEOUT)


@pytest.fixture
def children() -> Iterator[list[Child]]:
    started: list[Child] = []
    yield started
    for child in started:
        child.kill()


def start(children: list[Child], job: str, config_dir: Path, *arguments: str) -> Child:
    child = Child(job, config_dir, config_dir.parent / "go", *arguments)
    children.append(child)
    return child


def go(config_dir: Path) -> None:
    (config_dir.parent / "go").touch()


def finish(children: Sequence[Child]) -> list[list[str]]:
    return [child.finish() for child in children]


@pytest.fixture
def server(config_dir: Path) -> Iterator[SmtpServer]:
    with running(plaintext_server()) as server:
        configure(config_dir, account_for(server, Security.NONE, username=""))
        yield server


def test_two_composers_never_send_one_outbox_entry_twice(
    config_dir: Path, server: SmtpServer, children: list[Child]
) -> None:
    context = AppContext(Paths.under(config_dir))
    account = context.accounts()[0]
    subjects = [f"Queued {number}" for number in range(30)]
    for subject in subjects:
        draft = Draft(to="bob@example.net", subject=subject)
        context.outbox.add(build_message(draft, account.sender()), account.id)
    context.close()

    both = [start(children, "send", config_dir) for _ in range(2)]
    go(config_dir)
    finish(both)

    received = Counter(str(message["Subject"]) for message in server.received)
    assert received == Counter(subjects)  # each once: none twice, none lost
    after = AppContext(Paths.under(config_dir))
    try:
        assert sorted(s.subject for s in after.sent.summaries()) == sorted(subjects)
        assert after.outbox.entries() == []
    finally:
        after.close()


def test_an_account_added_in_one_composer_survives_the_others_settings_writes(
    config_dir: Path, children: list[Child]
) -> None:
    AccountStore(config_dir / "settings.json").save(AccountSettings())
    stop = config_dir.parent / "stop"
    chooser = start(children, "remember", config_dir, str(stop), "last")
    adder = start(children, "add-accounts", config_dir, "20", "added")
    go(config_dir)
    seen = 0
    while adder.process.poll() is None:
        # At every moment the file is whole: written atomically, never half.
        data = json.loads((config_dir / "settings.json").read_text("utf-8"))
        assert data["version"] == 2
        seen += 1
    adder.finish()
    stop.touch()  # the chooser writes a few more times, after the last account was added
    chooser.finish()

    data = json.loads((config_dir / "settings.json").read_text("utf-8"))
    assert [a["id"] for a in data["accounts"]] == [f"added-{n}" for n in range(20)]
    assert data["last_used_account"] in ("last-0", "last-1")
    assert seen > 0


def test_two_composers_keep_every_draft_and_address_they_write(
    config_dir: Path, children: list[Child]
) -> None:
    both = [start(children, "drafts", config_dir, "40", tag) for tag in ("ann", "bob")]
    go(config_dir)
    finish(both)

    store = DraftStore(MessageFolder(config_dir / "Drafts"))
    assert [p.name for p in (config_dir / "Drafts").iterdir() if p.name.endswith(".tmp")] == []
    for tag in ("ann", "bob"):
        loaded = store.load(f"0000000000000001-{tag}")
        assert loaded.draft.subject == f"{tag} version 39"
    book = AddressBook(config_dir / "addressbook.sqlite3")
    try:
        assert book.load() == []
        for tag in ("ann", "bob"):
            assert len(book.search(tag, limit=100)) == 40
        assert len(book.search("shared")) == 1
        assert book._entries["shared@example.org"].count == 80  # every use of both counted
    finally:
        book.close()


def test_a_second_composer_leaves_the_first_ones_work_in_progress_alone(
    config_dir: Path, children: list[Child]
) -> None:
    drafts = config_dir / "Drafts"
    first = AppContext(Paths.under(config_dir))
    key = "0000000000000001-open"
    first.drafts.save(
        key,
        Draft(subject="Open in a window"),
        sender=None,
        message_id="<o@x.invalid>",
        saved_at=first.clock(),
    )
    first.drafts.set_window_open(key, True)
    first.close()
    # The first Composer is running now, with this file half written.
    running_one = start(children, "hold", config_dir)
    assert running_one.line() == "alone True"
    in_progress = drafts / f".{key}.eml.abc123.tmp"
    in_progress.write_bytes(b"half a draft")

    second = AppContext(Paths.under(config_dir))
    try:
        assert not second.alone
        assert in_progress.exists()
        assert second.check_sent() is None  # nor are its Sent records checked
    finally:
        second.close()

    running_one.kill()  # it ends (or dies): the next start is alone and tidies
    third = AppContext(Paths.under(config_dir))
    try:
        assert third.alone
        assert not in_progress.exists()
        sent_check = third.check_sent()
        assert sent_check is not None
        sent_check.join(10)
        assert not sent_check.is_alive()
        assert third.drafts.open_in_windows() == [key]
    finally:
        third.close()


def test_a_second_composer_does_not_reopen_the_windows_of_the_first(
    qtbot: QtBot, config_dir: Path, children: list[Child]
) -> None:
    first = AppContext(Paths.under(config_dir))
    key = "0000000000000001-open"
    first.drafts.save(
        key,
        Draft(subject="Open in the first Composer"),
        sender=None,
        message_id="<o@x.invalid>",
        saved_at=first.clock(),
    )
    first.drafts.set_window_open(key, True)
    first.close()
    running_one = start(children, "hold", config_dir)
    assert running_one.line() == "alone True"

    second = create_main_window(config_dir)
    qtbot.addWidget(second)
    assert second.form.subject.text() == ""  # a new message, not the other one's window

    running_one.kill()
    second.close()
    qtbot.waitUntil(lambda: not session_of(second).windows())
    after = create_main_window(config_dir)
    qtbot.addWidget(after)
    assert after.form.subject.text() == "Open in the first Composer"

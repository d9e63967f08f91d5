"""Save in Accounts while another Composer process holds the settings file's lock: the window
keeps answering, and the save goes through once the other lets go, or says why it did not."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from composer.mail.lock import DEFAULT_TIMEOUT
from composer.ui.accounts_dialog import AccountsDialog
from tests.integration.test_accounts_dialog import enter_account, open_dialog
from tests.integration.test_nothing_lost import session_of
from tests.servers import PASSWORD, SmtpServer
from tests.windows import MakeWindow

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="advisory locks are POSIX")

# Another process that holds path's lock, as a Composer writing its settings does, until it
# reads a line (or its stdin closes).
_HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.readline()
"""


class LockHolder:
    def __init__(self, path: Path) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        assert self._process.stdout.readline().strip() == "locked"

    def let_go(self) -> None:
        """Unlock (the process ends), and wait until it has."""
        if self._process.returncode is None:
            self._process.communicate(timeout=10)


@pytest.fixture
def settings_locked_elsewhere(config_dir: Path) -> Iterator[LockHolder]:
    holder = LockHolder(config_dir / ".settings.json.lock")
    try:
        yield holder
    finally:
        holder.let_go()


class Ticks:
    """A timer ticking every 10 ms on the GUI thread: it ticks only while its loop runs."""

    def __init__(self, dialog: AccountsDialog) -> None:
        self.times: list[float] = []
        self._timer = QTimer(dialog)
        self._timer.timeout.connect(lambda: self.times.append(time.monotonic()))
        self._timer.start(10)

    def between(self, start: float, end: float) -> int:
        return sum(start < tick < end for tick in self.times)


def save(dialog: AccountsDialog) -> None:
    dialog.button_box.button(dialog.button_box.StandardButton.Save).click()


def saved_names(config_dir: Path) -> list[str]:
    path = config_dir / "settings.json"
    if not path.exists():
        return []
    return [a["name"] for a in json.loads(path.read_text(encoding="utf-8"))["accounts"]]


def test_save_waits_for_another_composer_without_freezing_then_goes_through(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    smtp_server: SmtpServer,
    settings_locked_elsewhere: LockHolder,
) -> None:
    window = make_window()
    context = session_of(window).context
    # A change saved in the background first: the writer thread is already waiting.
    context.set_undo_send_seconds(30)
    dialog = open_dialog(qtbot, window)
    enter_account(qtbot, dialog, smtp_server, PASSWORD)
    ticks = Ticks(dialog)

    clicked = time.monotonic()
    save(dialog)
    # Well inside the lock's timeout: still waiting, and the window answers meanwhile.
    qtbot.waitUntil(lambda: ticks.between(clicked, time.monotonic()) >= 30, timeout=3_000)
    assert dialog.isVisible()
    assert dialog.hint.text() == "Saving…"
    assert saved_names(config_dir) == []
    dialog.reject()  # Escape meanwhile: the save under way decides
    assert dialog.isVisible()
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        settings_locked_elsewhere.let_go()

    assert saved_names(config_dir) == ["Work"]
    assert context.store.read().undo_send_seconds == 30  # type: ignore[union-attr]
    assert [a.name for a in context.accounts()] == ["Work"]


def test_save_while_another_composer_keeps_the_lock_says_so_and_keeps_what_was_typed(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    smtp_server: SmtpServer,
    settings_locked_elsewhere: LockHolder,
) -> None:
    window = make_window()
    dialog = open_dialog(qtbot, window)
    enter_account(qtbot, dialog, smtp_server, PASSWORD)
    ticks = Ticks(dialog)

    clicked = time.monotonic()
    save(dialog)
    qtbot.waitUntil(
        lambda: "Could not save" in dialog.hint.text(), timeout=int(DEFAULT_TIMEOUT + 5) * 1000
    )
    ended = time.monotonic()

    # The event loop ran all through the wait for the lock, not only after it.
    assert ticks.between(clicked, ended) >= 50
    said = dialog.hint.text()
    assert str(config_dir / "settings.json") in said
    assert "another Composer is saving its settings; try again in a moment" in said
    assert "What you entered is still here" in said
    assert "free some space" not in said
    assert dialog.isVisible()
    assert dialog.findChild(QLineEdit, "accountName").text() == "Work"
    assert dialog.form.isEnabled()
    assert saved_names(config_dir) == []

    settings_locked_elsewhere.let_go()
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        save(dialog)
    assert saved_names(config_dir) == ["Work"]
    assert window.form.from_account.findText("Ann Lee <ann@example.org>") >= 0

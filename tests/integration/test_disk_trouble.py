"""A data directory that cannot be written (full): a clear sentence in the window, the
message kept in memory (in a window again if its own closed), and the next save retries.

A full disk is made with RLIMIT_FSIZE: past the limit every write of this process fails
(EFBIG), as on a full disk (ENOSPC), whoever runs the test, root included. The limit is set
only around the write being tested.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLineEdit, QMessageBox
from pytestqt.qtbot import QtBot

from composer.mail.accounts import Security
from composer.ui.compose_window import ComposeWindow
from tests.integration.test_accounts_dialog import enter_account, open_dialog
from tests.integration.test_nothing_lost import drafts_in, session_of
from tests.servers import SmtpServer, account_for, plaintext_server, running
from tests.windows import AnswerQuestions, MakeWindow, configure, fill, snapshot

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs RLIMIT_FSIZE (POSIX)")

Buttons = QMessageBox.StandardButton
# Larger than the limit below: the draft cannot be written whole.
BODY = "Every word of this must survive a full disk. ✓\n" * 4000
LIMIT = 64 * 1024


@contextlib.contextmanager
def disk_full() -> Iterator[None]:
    import resource  # POSIX only

    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


@pytest.fixture
def server(config_dir: Path) -> Iterator[SmtpServer]:
    with running(plaintext_server()) as server:
        configure(config_dir, account_for(server, Security.NONE, username=""))
        yield server


def fill_long(window: ComposeWindow) -> None:
    fill(window, to="bob@example.org", subject="Long letter", body=BODY)


def test_a_draft_that_cannot_be_saved_is_said_kept_and_saved_at_the_next_try(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path
) -> None:
    window = make_window()
    fill_long(window)
    typed = snapshot(window)
    keeper = session_of(window).keeper(window)
    with disk_full():
        window.actions_.save_draft.trigger()
        session_of(window).context.writer.flush(10)
        qtbot.waitUntil(lambda: "could not save the draft" in window.statusBar().currentMessage())

    said = window.statusBar().currentMessage()
    assert "“Long letter”" in said
    assert str(config_dir / "Drafts") in said
    assert "too large" in said  # in words, not "[Errno 27]"
    assert "Your message is still here" in said
    assert snapshot(window) == typed
    assert drafts_in(config_dir).summaries() == []
    # Every failure said so far has reached the window.
    qtbot.waitUntil(lambda: not session_of(window)._unsaved)
    # Space again: the next autosave writes it, though nothing was typed since.
    keeper.save_soon_now()
    session_of(window).context.writer.flush(10)
    [summary] = drafts_in(config_dir).summaries()
    assert drafts_in(config_dir).load(summary.key).draft.body == BODY


def test_a_draft_that_cannot_be_saved_as_its_window_closes_comes_back_in_a_window(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    answer_questions: AnswerQuestions,
) -> None:
    window = make_window()
    session = session_of(window)
    opened: list[ComposeWindow] = []
    session.window_opened.connect(opened.append)
    session.window_opened.connect(qtbot.addWidget)
    fill_long(window)
    answer_questions(Buttons.Save)
    with disk_full():
        assert window.close()
        qtbot.waitUntil(lambda: bool(opened), timeout=10_000)

    [again] = opened
    assert again.form.subject.text() == "Long letter"
    assert again.form.body.toPlainText() == BODY
    box = again.findChild(QMessageBox, "startupWarning")
    assert isinstance(box, QMessageBox)
    assert "could not save the draft" in box.text()
    assert "opened it again" in box.text()
    # With space again, closing it keeps it in Drafts.
    assert again.close()
    session.context.writer.flush(10)
    [summary] = drafts_in(config_dir).summaries()
    assert drafts_in(config_dir).load(summary.key).draft.body == BODY


def test_send_when_the_outbox_cannot_be_written_keeps_the_message_in_the_window(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, server: SmtpServer
) -> None:
    window = make_window()
    fill_long(window)
    typed = snapshot(window)
    # What the window says as the send ends (the draft it keeps again may fail after it).
    shown: list[str] = []
    window.send_finished.connect(lambda _ok: shown.append(window.statusBar().currentMessage()))
    with disk_full(), qtbot.waitSignal(window.send_finished, timeout=20_000):
        window.action_send.trigger()

    [said] = shown
    assert "could not keep the message in its Outbox" in said
    assert "too large" in said
    assert snapshot(window) == typed
    assert server.received == []
    assert session_of(window).sending.entries() == []


def test_accounts_that_cannot_be_saved_stay_in_the_dialog_with_the_reason(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, server: SmtpServer
) -> None:
    window = make_window()
    dialog = open_dialog(qtbot, window)
    enter_account(qtbot, dialog, server, "secret")
    # A folder now stands where the settings file must go: no user can write it, root included.
    (config_dir / "settings.json").unlink()
    (config_dir / "settings.json").mkdir()

    dialog.button_box.button(dialog.button_box.StandardButton.Save).click()

    qtbot.waitUntil(lambda: "Could not save" in dialog.hint.text())
    assert dialog.isVisible()  # not closed: what was typed is still there
    said = dialog.hint.text()
    assert f"Could not save the accounts in {config_dir / 'settings.json'}" in said
    assert "a folder stands where a file should be" in said
    assert "still here" in said
    assert dialog.findChild(QLineEdit, "accountName").text() == "Work"
    (config_dir / "settings.json").rmdir()
    with qtbot.waitSignal(dialog.accepted):
        dialog.button_box.button(dialog.button_box.StandardButton.Save).click()
    assert "Work" in [a.name for a in session_of(window).context.accounts()]

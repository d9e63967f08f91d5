"""Nothing typed is lost, through the real windows: drafts, the Outbox, undo, send later, Sent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from composer.app import create_main_window
from composer.mail.accounts import Security
from composer.mail.drafts import DraftStore
from composer.mail.outbox import EntryState
from composer.mail.store import MessageFolder
from composer.session import Session
from composer.ui.compose_window import ComposeWindow
from tests.servers import SmtpServer, account_for, plaintext_server, running
from tests.windows import (
    AnswerQuestions,
    FakeClock,
    MakeWindow,
    configure,
    fill,
    send,
    snapshot,
)

Buttons = QMessageBox.StandardButton


def session_of(window: ComposeWindow) -> Session:
    session = window._sending.parent()
    assert isinstance(session, Session)
    return session


def drafts_in(config_dir: Path) -> DraftStore:
    return DraftStore(MessageFolder(config_dir / "Drafts"))


def wait_for_draft(qtbot: QtBot, window: ComposeWindow, config_dir: Path, subject: str) -> str:
    """Wait until the window's autosave has written a draft with subject; returns its key."""
    store = drafts_in(config_dir)
    session_of(window).keeper(window).save_soon_now()

    def written() -> bool:
        session_of(window).context.writer.flush(1)
        return any(s.subject == subject for s in store.summaries())

    qtbot.waitUntil(written, timeout=10_000)
    return next(s.key for s in store.summaries() if s.subject == subject)


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with running(plaintext_server()) as server:
        yield server


@pytest.fixture
def configured(config_dir: Path, server: SmtpServer) -> SmtpServer:
    configure(config_dir, account_for(server, Security.NONE, username=""))
    return server


# --- drafts -------------------------------------------------------------------------------


def test_typing_is_autosaved_and_a_new_session_reopens_it(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, configured: SmtpServer
) -> None:
    window = make_window()
    fill(window, to="bob@example.org, bad@", subject="Half written", body="Line one\nLine two")
    wait_for_draft(qtbot, window, config_dir, "Half written")
    typed = snapshot(window)
    # As after a crash: the first session never closed its window.
    restored = create_main_window(config_dir)
    qtbot.addWidget(restored)
    assert snapshot(restored) == typed
    assert "not sent when Composer last closed" in restored.statusBar().currentMessage()


def test_several_unsent_drafts_each_reopen_in_a_window(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, configured: SmtpServer
) -> None:
    first, second = make_window(), make_window()
    fill(first, to="a@example.org", subject="One")
    fill(second, to="b@example.org", subject="Two")
    wait_for_draft(qtbot, first, config_dir, "One")
    wait_for_draft(qtbot, second, config_dir, "Two")
    before = set(QApplication.topLevelWidgets())
    returned = create_main_window(config_dir)
    qtbot.addWidget(returned)
    opened = [w for w in QApplication.topLevelWidgets() if w not in before]
    windows = [w for w in opened if isinstance(w, ComposeWindow)]
    for window in windows:
        qtbot.addWidget(window)
    assert {w.objectName() for w in windows} == {"composerWindow"}
    assert sorted(w.form.subject.text() for w in windows) == ["One", "Two"]
    assert returned.form.subject.text() == "One"


def test_closing_asks_and_save_keeps_a_draft_that_reopens(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    configured: SmtpServer,
    answer_questions: AnswerQuestions,
) -> None:
    window = make_window()
    fill(window, to="bob@example.org", subject="Keep me", body="Text")
    typed = snapshot(window)
    asked = answer_questions(Buttons.Save)
    session = session_of(window)
    assert window.close()
    assert asked == ["Save this message as a draft?"]
    session.context.writer.flush(5)
    [summary] = drafts_in(config_dir).summaries()
    assert summary.subject == "Keep me"
    assert not summary.window_open  # closed on purpose: not reopened at the next start
    other = create_main_window(config_dir)
    qtbot.addWidget(other)
    assert other.form.subject.text() == ""
    with qtbot.waitSignal(session_of(other).window_opened, timeout=10_000) as opened:
        session_of(other).folders.open_draft(summary.key)
    reopened = opened.args[0]
    qtbot.addWidget(reopened)
    assert snapshot(reopened) == typed
    # Opening it again shows the same window, not a second copy.
    session_of(other).folders.open_draft(summary.key)
    assert len(session_of(other).windows()) == 2


def test_closing_and_discarding_leaves_no_draft(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    configured: SmtpServer,
    answer_questions: AnswerQuestions,
) -> None:
    window = make_window()
    fill(window, to="bob@example.org", subject="Throw away")
    wait_for_draft(qtbot, window, config_dir, "Throw away")
    answer_questions(Buttons.Discard)
    session = session_of(window)
    assert window.close()
    session.context.writer.flush(5)
    assert drafts_in(config_dir).summaries() == []


def test_closing_and_cancelling_keeps_the_window(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    configured: SmtpServer,
    answer_questions: AnswerQuestions,
) -> None:
    window = make_window()
    fill(window, subject="Still writing")
    answer_questions(Buttons.Cancel)
    assert not window.close()
    assert window.isVisible()
    assert window.form.subject.text() == "Still writing"


def test_a_window_with_nothing_typed_closes_without_asking(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    configured: SmtpServer,
    answer_questions: AnswerQuestions,
) -> None:
    window = make_window()
    asked = answer_questions(Buttons.Cancel)
    assert window.close()
    assert asked == []


def test_quitting_with_several_unsaved_windows_asks_once(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    configured: SmtpServer,
    answer_questions: AnswerQuestions,
) -> None:
    first = make_window()
    session = session_of(first)
    first.actions_.new_window.trigger()
    second = session.windows()[-1]
    qtbot.addWidget(second)
    fill(first, subject="A")
    fill(second, subject="B")
    asked = answer_questions(Buttons.Save)
    first.actions_.quit.trigger()
    assert asked == ["Save 2 messages as drafts?"]
    assert not first.isVisible()
    assert not second.isVisible()
    session.context.writer.flush(5)
    assert sorted(s.subject for s in drafts_in(config_dir).summaries()) == ["A", "B"]


def test_save_draft_then_close_without_changes_does_not_ask(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    configured: SmtpServer,
    answer_questions: AnswerQuestions,
) -> None:
    window = make_window()
    fill(window, subject="Saved")
    window.actions_.save_draft.trigger()
    asked = answer_questions(Buttons.Cancel)
    session = session_of(window)
    assert window.close()
    assert asked == []
    session.context.writer.flush(5)
    assert [s.subject for s in drafts_in(config_dir).summaries()] == ["Saved"]


def test_sending_a_draft_removes_it(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, configured: SmtpServer
) -> None:
    window = make_window()
    fill(window, to="bob@example.org", subject="Going out")
    wait_for_draft(qtbot, window, config_dir, "Going out")
    assert send(qtbot, window)
    session_of(window).context.writer.flush(5)
    assert drafts_in(config_dir).summaries() == []
    assert len(configured.received) == 1


# --- the Outbox ---------------------------------------------------------------------------


def test_a_server_that_is_down_puts_the_message_in_the_outbox_until_it_is_back(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, clock: FakeClock
) -> None:
    server = plaintext_server().start()
    port = server.port
    server.stop()
    configure(config_dir, account_for(server, Security.NONE, username="", port=port, timeout=2))
    window = make_window()
    fill(window, to="bob@example.org", subject="Later")
    assert not send(qtbot, window)
    status = window.statusBar().currentMessage()
    assert "Outbox" in status
    assert window.form.subject.text() == ""  # the Outbox has it now
    session = session_of(window)
    [entry] = session.sending.entries()
    assert entry.state is EntryState.WAITING
    assert entry.last_error
    assert entry.next_attempt is not None
    back = plaintext_server()
    back.start(port=port)
    try:
        session.sending.flush_due()  # not due yet: nothing is tried
        assert back.commands == []
        clock.advance(hours=1, minutes=5)
        with qtbot.waitSignal(session.sending.finished, timeout=20_000):
            session.sending.flush_due()
        assert len(back.received) == 1
        assert session.sending.entries() == []
        assert [s.subject for s in session.context.sent.summaries()] == ["Later"]
        clock.advance(hours=5)
        session.sending.flush_due()
        assert len(back.received) == 1
    finally:
        back.stop()


@pytest.mark.parametrize("reply", ["550 5.1.1 No such user", "535 5.7.8 Authentication failed"])
def test_a_permanent_refusal_gives_the_message_back_and_is_not_retried(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, server: SmtpServer, reply: str
) -> None:
    server.rcpt_replies["bob@example.org"] = reply
    configure(config_dir, account_for(server, Security.NONE, username=""))
    window = make_window()
    fill(window, to="bob@example.org", subject="Refused", body="Body")
    typed = snapshot(window)
    assert not send(qtbot, window)
    assert snapshot(window) == typed
    assert session_of(window).sending.entries() == []


def test_undo_within_the_delay_sends_nothing_and_gives_the_message_back(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, configured: SmtpServer
) -> None:
    window = make_window()
    session_of(window).context.set_undo_send_seconds(30)
    fill(window, to="bob@example.org", subject="Oops", body="Not yet")
    typed = snapshot(window)
    window.action_send.trigger()
    qtbot.waitUntil(window.actions_.undo_send.isEnabled, timeout=10_000)
    assert window.undo_button.isVisible()
    assert window.statusBar().currentMessage().startswith("Sending in ")
    assert "Undo Send takes it back" in window.statusBar().currentMessage()
    with qtbot.waitSignal(window.send_finished, timeout=10_000) as finished:
        window.actions_.undo_send.trigger()
    assert finished.args == [False]
    assert snapshot(window) == typed
    assert not window.form.subject.isReadOnly()
    assert not window.actions_.undo_send.isEnabled()
    assert configured.commands == []
    assert session_of(window).sending.entries() == []


def test_after_the_undo_delay_the_message_goes_once(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, configured: SmtpServer
) -> None:
    window = make_window()
    session_of(window).context.set_undo_send_seconds(1)
    fill(window, to="bob@example.org", subject="Go")
    assert send(qtbot, window)
    assert len(configured.received) == 1
    assert not window.actions_.undo_send.isEnabled()


def test_send_later_waits_for_its_time(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    configured: SmtpServer,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from composer.ui import send_later_dialog

    when = clock.now + timedelta(hours=3)
    monkeypatch.setattr(send_later_dialog, "ask_send_time", lambda _parent, _now: when)
    window = make_window()
    fill(window, to="bob@example.org", subject="Tomorrow")
    with qtbot.waitSignal(window.send_finished, timeout=10_000):
        window.actions_.send_later.trigger()
    assert "will be sent" in window.statusBar().currentMessage()
    session = session_of(window)
    [entry] = session.sending.entries()
    assert entry.scheduled
    session.sending.flush_due()
    assert configured.commands == []
    clock.advance(hours=3, seconds=1)
    with qtbot.waitSignal(session.sending.finished, timeout=20_000):
        session.sending.flush_due()
    assert len(configured.received) == 1


# --- Sent, and one build for everything --------------------------------------------------


def test_the_sent_copy_and_the_source_shown_are_what_the_server_got(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, configured: SmtpServer
) -> None:
    from composer.ui.source_dialog import SourceDialog

    window = make_window()
    fill(window, to="bob@example.org", subject="Same bytes", body="Hello")
    window.actions_.show_source.trigger()
    qtbot.waitUntil(lambda: window.findChild(SourceDialog) is not None, timeout=10_000)
    dialog = window.findChild(SourceDialog)
    assert dialog is not None
    shown = dialog.text.toPlainText()
    assert send(qtbot, window)
    [raw] = configured.raw
    assert raw.decode().replace("\r\n", "\n") == shown
    session = session_of(window)
    [sent] = session.context.sent.summaries()
    assert session.context.sent.message_bytes(sent.key) == raw


def test_folders_window_lists_the_outbox_and_back_to_drafts_reopens_it(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path
) -> None:
    server = plaintext_server().start()
    port = server.port
    server.stop()
    configure(config_dir, account_for(server, Security.NONE, username="", port=port, timeout=2))
    window = make_window()
    fill(window, to="bob@example.org", bcc="hidden@example.org", subject="Queued", body="B")
    assert not send(qtbot, window)
    session = session_of(window)
    window.actions_.outbox.trigger()
    folders = session.folders.window()
    qtbot.addWidget(folders)
    qtbot.waitUntil(lambda: folders.outbox.topLevelItemCount() == 1, timeout=10_000)
    assert folders.outbox.topLevelItem(0).text(0) == "Queued"
    key = session.sending.entries()[0].key
    with qtbot.waitSignal(session.window_opened, timeout=10_000) as opened:
        session.folders.back_to_drafts(key)
    back = opened.args[0]
    qtbot.addWidget(back)
    assert back.form.subject.text() == "Queued"
    assert back.form.bcc.text() == "hidden@example.org"
    assert back.form.body.toPlainText() == "B"
    assert session.sending.entries() == []


def test_a_message_from_the_command_line_is_kept_like_one_typed(
    qtbot: QtBot, config_dir: Path, configured: SmtpServer
) -> None:
    from composer.mail.draft import Draft

    session = session_of(create_main_window(config_dir))
    window = session.new_window(Draft(to="ann@example.org", subject="From a link"))
    qtbot.addWidget(window)
    wait_for_draft(qtbot, window, config_dir, "From a link")
    assert session.keeper(window).has_unsaved_changes()


def test_a_sent_message_opens_read_only_and_again_as_new(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, configured: SmtpServer
) -> None:
    from composer.ui.message_view import MessageView

    window = make_window()
    fill(window, to="bob@example.org", cc="carl@example.org", subject="Minutes", body="Done.")
    assert send(qtbot, window)
    session = session_of(window)
    [sent] = session.context.sent.summaries()
    assert sent.reply.startswith("250")
    session.folders.open_sent(sent.key)
    folders = session.folders.window()
    qtbot.addWidget(folders)
    qtbot.waitUntil(lambda: folders.findChild(MessageView) is not None, timeout=10_000)
    view = folders.findChild(MessageView)
    assert view is not None
    assert view.text.isReadOnly()
    assert "Subject: Minutes" in view.text.toPlainText()
    assert "Done." in view.text.toPlainText()
    with qtbot.waitSignal(session.window_opened, timeout=10_000) as opened:
        session.folders.edit_as_new(sent.key)
    again = opened.args[0]
    qtbot.addWidget(again)
    assert (again.form.to.text(), again.form.cc.text()) == ("bob@example.org", "carl@example.org")
    assert (again.form.subject.text(), again.form.body.toPlainText()) == ("Minutes", "Done.")


def test_a_queued_message_is_never_also_a_draft_even_before_the_window_hears(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, configured: SmtpServer
) -> None:
    import time

    window = make_window()
    session_of(window).context.set_undo_send_seconds(60)
    fill(window, to="bob@example.org", subject="Only once")
    key = wait_for_draft(qtbot, window, config_dir, "Only once")
    window.action_send.trigger()
    # The GUI thread is held here, as by a crash right after the Outbox took the message: the
    # window has not been told, and the draft must be gone already.
    outbox = MessageFolder(config_dir / "Outbox")
    deadline = time.monotonic() + 10
    while not outbox.keys() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert outbox.keys()
    # The job that queued it deletes the draft next, still without the window; were Composer
    # stopped in between, the next start deletes it (the test below).
    [entry] = session_of(window).context.outbox.entries()
    assert entry.draft_key == key
    while (config_dir / "Drafts" / f"{key}.eml").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert key not in drafts_in(config_dir).open_in_windows()
    assert not (config_dir / "Drafts" / f"{key}.eml").exists()


def test_a_draft_already_queued_when_composer_stopped_is_not_reopened(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, configured: SmtpServer
) -> None:
    window = make_window()
    session = session_of(window)
    session.context.set_undo_send_seconds(60)
    fill(window, to="bob@example.org", subject="Queued, then stopped")
    key = wait_for_draft(qtbot, window, config_dir, "Queued, then stopped")
    # As if Composer stopped right after the Outbox took the message, before the draft went.
    account = session.context.accounts()[0]
    message = session.sending.build(window.form.draft(), account)
    session.context.outbox.add(message, account.id, draft_key=key)
    assert key in drafts_in(config_dir).open_in_windows()

    before = set(QApplication.topLevelWidgets())
    restarted = create_main_window(config_dir)
    qtbot.addWidget(restarted)
    opened = [w for w in QApplication.topLevelWidgets() if w not in before]
    for other in opened:
        qtbot.addWidget(other)
    assert not (config_dir / "Drafts" / f"{key}.eml").exists()
    assert all(
        w.form.subject.text() != "Queued, then stopped"
        for w in opened
        if isinstance(w, ComposeWindow)
    )
    [entry] = session_of(restarted).context.outbox.entries()
    assert entry.subject == "Queued, then stopped"


def test_recipients_asked_to_wait_are_the_outboxs_and_nobody_gets_two_copies(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    configured: SmtpServer,
    clock: FakeClock,
) -> None:
    configured.rcpt_replies["bob@example.org"] = "451 4.7.1 Greylisted, try again later"
    window = make_window()
    fill(window, to="alice@example.org, bob@example.org", subject="Both")
    assert send(qtbot, window)
    status = window.statusBar().currentMessage()
    assert "do not send it to them again" in status
    assert window.form.subject.text() == ""  # nothing left for the user to send again
    session = session_of(window)
    [entry] = session.sending.entries()
    assert entry.envelope.recipients == ("bob@example.org",)
    del configured.rcpt_replies["bob@example.org"]
    clock.advance(hours=2)
    with qtbot.waitSignal(session.sending.finished, timeout=20_000):
        session.sending.flush_due()
    assert [rcpts for _, rcpts in configured.envelopes] == [
        ("alice@example.org",),
        ("bob@example.org",),
    ]
    assert session.sending.entries() == []


def test_back_to_drafts_keeps_attachment_copies_under_the_windows_draft(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, tmp_path: Path
) -> None:
    server = plaintext_server().start()
    port = server.port
    server.stop()
    configure(config_dir, account_for(server, Security.NONE, username="", port=port, timeout=2))
    attached = tmp_path / "report.pdf"
    attached.write_bytes(b"%PDF-1.4 report")
    window = make_window()
    fill(window, to="bob@example.org", subject="With a file")
    window.attach_files([attached])
    assert not send(qtbot, window)
    attached.unlink()  # the Outbox holds the only copy now
    session = session_of(window)
    key = session.sending.entries()[0].key
    with qtbot.waitSignal(session.window_opened, timeout=10_000) as opened:
        session.folders.back_to_drafts(key)
    back = opened.args[0]
    qtbot.addWidget(back)
    [restored] = back.form.attachment_list.attachments()
    assert restored.name == "report.pdf"
    assert restored.path.read_bytes() == b"%PDF-1.4 report"
    assert restored.path.parent.name == session.keeper(back).key
    session.context.writer.flush(5)
    # The next start keeps the copy: it belongs to a draft that exists.
    assert drafts_in(config_dir).recover() == []
    assert restored.path.exists()


def test_a_flush_that_takes_a_message_at_once_still_reports_to_its_window(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, configured: SmtpServer
) -> None:
    import time

    window = make_window()
    fill(window, to="bob@example.org", subject="Quick")
    session = session_of(window)
    window.action_send.trigger()
    outbox = MessageFolder(config_dir / "Outbox")
    deadline = time.monotonic() + 10
    while not outbox.keys() and time.monotonic() < deadline:
        time.sleep(0.005)
    # A retry timer (say) runs before the window has heard that the Outbox has it.
    session.sending.flush_due()
    qtbot.waitUntil(lambda: not window.is_sending(), timeout=20_000)
    assert window.statusBar().currentMessage().startswith("Sent to 1 recipient")
    assert len(configured.received) == 1


def test_stale_outbox_rows_are_harmless(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, configured: SmtpServer
) -> None:
    window = make_window()
    session = session_of(window)
    gone = "18ed000000000000-0000abcd"  # no such message
    assert not session.sending.remove(gone)
    session.sending.send_now(gone)  # tells the user; raises nothing
    session.folders.send_now(gone)


def test_save_as_eml_then_send_sends_the_same_bytes(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    configured: SmtpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from PySide6.QtWidgets import QFileDialog

    saved = tmp_path / "saved.eml"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_args: (str(saved), ""))
    window = make_window()
    fill(window, to="bob@example.org", subject="Kept", body="Same")
    window.actions_.save_eml.trigger()
    qtbot.waitUntil(lambda: "Saved as" in window.statusBar().currentMessage(), timeout=10_000)
    assert send(qtbot, window)
    assert configured.raw == [saved.read_bytes()]


def test_the_status_tooltip_shows_server_text_as_plain_text(
    qtbot: QtBot, make_window: MakeWindow, configured: SmtpServer
) -> None:
    window = make_window()
    window.show_status('554 <img src="file:///dev/zero"> no')
    tip = window.statusBar().toolTip()
    assert "<img" not in tip
    assert "&lt;img" in tip


def test_a_message_refused_before_the_outbox_after_its_window_closed_keeps_its_draft(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    configured: SmtpServer,
    tmp_path: Path,
) -> None:
    attached = tmp_path / "notes.txt"
    attached.write_text("notes")
    window = make_window()
    fill(window, to="bob@example.org", subject="File gone")
    window.attach_files([attached])
    key = wait_for_draft(qtbot, window, config_dir, "File gone")
    session = session_of(window)
    attached.unlink()  # so building the message fails
    window.action_send.trigger()
    assert window.close()  # at once, while the message is being built
    with qtbot.waitSignal(session.window_opened, timeout=10_000) as opened:
        pass
    again = opened.args[0]
    qtbot.addWidget(again)
    assert again.form.subject.text() == "File gone"
    assert "not sent" in again.statusBar().currentMessage()
    assert session.keeper(again).key == key  # the same draft, not a second one
    session.context.writer.flush(5)
    assert [s.key for s in drafts_in(config_dir).summaries()] == [key]


def test_close_window_closes_this_window_as_its_title_bar_would(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    configured: SmtpServer,
    answer_questions: AnswerQuestions,
) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QKeySequence

    window = make_window()
    close = window.actions_.close
    assert close.objectName() == "actionClose"
    assert close.shortcuts() == QKeySequence.keyBindings(QKeySequence.StandardKey.Close)
    assert close in window.menuBar().actions()[0].menu().actions()
    fill(window, subject="Still writing")
    asked = answer_questions(Buttons.Cancel)
    close.trigger()
    assert asked == ["Save this message as a draft?"]
    assert window.isVisible()
    assert window.form.subject.text() == "Still writing"
    answer_questions(Buttons.Save)
    session = session_of(window)
    # Window shortcuts only reach the active window; offscreen, activation must be asked for.
    window.windowHandle().requestActivate()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    window.form.body.setFocus()
    qtbot.keyClick(window.form.body, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    assert not window.isVisible()
    session.context.writer.flush(5)
    assert [s.subject for s in drafts_in(config_dir).summaries()] == ["Still writing"]

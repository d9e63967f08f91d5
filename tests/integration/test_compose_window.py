"""Writing and sending through the compose window, against real SMTP servers on loopback."""

from __future__ import annotations

import email.policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from composer.mail.accounts import Security
from tests.servers import PASSWORD, SilentServer, SmtpServer, account_for, plaintext_server, running
from tests.windows import AnswerQuestions, MakeWindow, configure, fill, send, snapshot


def test_send_through_starttls_server(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, smtp_server: SmtpServer
) -> None:
    configure(config_dir, account_for(smtp_server, Security.STARTTLS), password=PASSWORD)
    window = make_window()
    fill(
        window,
        to='Ann Lée <ann@example.org>, "Lee, Bob" <bob@example.org>',
        cc="carl@example.org; ann@example.org",
        bcc="Hidden Person <hidden@example.net>",
        subject="Grüße aus Köln — ✓",
        body="Hällo Ann,\n.a line that starts with a dot\n\nBye\n",
    )

    assert send(qtbot, window) is True

    status = window.statusBar().currentMessage()
    assert "Sent to 4 recipients via 127.0.0.1" in status
    [message] = smtp_server.received
    assert message["Subject"] == "Grüße aus Köln — ✓"
    assert [a.display_name for a in message["To"].addresses] == ["Ann Lée", "Lee, Bob"]
    assert message["From"].addresses[0].addr_spec == "ann@example.org"
    body = message.get_content().replace("\r\n", "\n")
    assert body == "Hällo Ann,\n.a line that starts with a dot\n\nBye\n"
    assert "Bcc" not in message
    assert b"hidden@example.net" not in smtp_server.raw[0]
    mail_from, recipients = smtp_server.envelopes[0]
    assert mail_from == "ann@example.org"
    assert sorted(recipients) == [
        "ann@example.org",
        "bob@example.org",
        "carl@example.org",
        "hidden@example.net",
    ]
    # The form is cleared for the next message; the account stays.
    assert (window.form.to.text(), window.form.subject.text(), window.form.body.toPlainText()) == (
        "",
        "",
        "",
    )
    assert window.form.from_account.currentText() == "Ann Lee <ann@example.org>"


def test_send_through_implicit_tls_server(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, smtps_server: SmtpServer
) -> None:
    configure(config_dir, account_for(smtps_server, Security.SSL_TLS), password=PASSWORD)
    window = make_window()
    fill(window, to="bob@example.org", subject="Over TLS", body="Hi")

    assert send(qtbot, window) is True

    assert "Sent to 1 recipient via 127.0.0.1" in window.statusBar().currentMessage()
    assert smtps_server.received[0]["Subject"] == "Over TLS"
    assert smtps_server.auth_attempts == [("ann", PASSWORD)]


def test_wrong_password_is_explained_and_nothing_is_lost(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, smtp_server: SmtpServer
) -> None:
    configure(config_dir, account_for(smtp_server, Security.STARTTLS), password="wrong")
    window = make_window()
    fill(window, to="bob@example.org", cc="c@example.org", subject="S", body="Body\ntext")
    before = snapshot(window)

    assert send(qtbot, window) is False

    status = window.statusBar().currentMessage()
    assert "password" in status
    assert "127.0.0.1" in status
    assert "535" in status
    assert snapshot(window) == before
    assert smtp_server.received == []
    assert window.action_send.isEnabled()


def test_untrusted_certificate_stops_before_the_password(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, untrusted_server: SmtpServer
) -> None:
    configure(config_dir, account_for(untrusted_server, Security.STARTTLS), password=PASSWORD)
    window = make_window()
    fill(window, to="bob@example.org", subject="S", body="B")
    before = snapshot(window)

    assert send(qtbot, window) is False

    status = window.statusBar().currentMessage()
    assert "certificate" in status
    assert "127.0.0.1" in status
    assert untrusted_server.auth_attempts == []
    assert snapshot(window) == before


def test_starttls_not_offered_stops_before_the_password(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, plain_server: SmtpServer
) -> None:
    configure(config_dir, account_for(plain_server, Security.STARTTLS), password=PASSWORD)
    window = make_window()
    fill(window, to="bob@example.org", subject="S", body="B")

    assert send(qtbot, window) is False

    assert "does not offer STARTTLS" in window.statusBar().currentMessage()
    assert plain_server.auth_attempts == []
    assert plain_server.received == []


def test_silent_server_keeps_window_responsive_and_cancel_ends_it(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, silent_server: SilentServer
) -> None:
    account = account_for(silent_server, Security.SSL_TLS, username="", timeout=120)
    configure(config_dir, account)
    window = make_window()
    fill(window, to="bob@example.org", subject="Patience", body="Still here")
    before = snapshot(window)

    window.action_send.trigger()
    qtbot.waitUntil(lambda: silent_server.accepted >= 1, timeout=10_000)
    # The GUI thread keeps running its event loop while the worker waits for the server.
    ticks: list[int] = []
    timer = QTimer(window, interval=10)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    qtbot.waitUntil(lambda: len(ticks) >= 5, timeout=5000)
    timer.stop()
    assert not window.action_send.isEnabled()
    assert window.action_cancel.isEnabled()
    assert window.action_accounts.isEnabled()
    assert window.form.to.isReadOnly()

    with qtbot.waitSignal(window.send_finished, timeout=5000) as blocker:
        window.action_cancel.trigger()

    assert blocker.args == [False]
    assert "cancelled" in window.statusBar().currentMessage()
    assert snapshot(window) == before
    assert window.action_send.isEnabled()
    assert not window.action_cancel.isEnabled()
    assert not window.form.to.isReadOnly()


def test_timeout_is_reported_with_host_and_port(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, silent_server: SilentServer
) -> None:
    account = account_for(silent_server, Security.NONE, username="", timeout=1)
    configure(config_dir, account)
    window = make_window()
    fill(window, to="bob@example.org", subject="S", body="B")

    assert send(qtbot, window) is False

    status = window.statusBar().currentMessage()
    assert "timed out" in status
    assert f"127.0.0.1:{silent_server.port}" in status


def test_connection_refused_names_host_and_port(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, silent_server: SilentServer
) -> None:
    port = silent_server.port
    silent_server.stop()  # now nothing listens on that port
    account = account_for(silent_server, Security.NONE, username="", port=port)
    configure(config_dir, account)
    window = make_window()
    fill(window, to="bob@example.org", subject="S", body="B")

    assert send(qtbot, window) is False

    status = window.statusBar().currentMessage()
    assert "refused" in status
    assert f"127.0.0.1:{port}" in status


def test_refused_recipient_is_named_and_the_others_get_it(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, smtp_server: SmtpServer
) -> None:
    configure(config_dir, account_for(smtp_server, Security.STARTTLS), password=PASSWORD)
    smtp_server.refuse.add("nobody@example.org")
    window = make_window()
    fill(window, to="bob@example.org, nobody@example.org", subject="S", body="B")
    before = snapshot(window)

    assert send(qtbot, window) is True

    status = window.statusBar().currentMessage()
    assert "Sent to 1 of 2 recipients" in status
    assert "nobody@example.org" in status
    assert "550" in status
    assert smtp_server.envelopes[0][1] == ("bob@example.org",)
    # Kept, so the refused address can be corrected and the message sent again.
    assert snapshot(window) == before


def test_too_large_for_the_server(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, smtp_server: SmtpServer
) -> None:
    smtp_server.size_limit = 2000
    configure(config_dir, account_for(smtp_server, Security.STARTTLS), password=PASSWORD)
    window = make_window()
    fill(window, to="bob@example.org", subject="Big", body="x" * 5000)
    before = snapshot(window)

    assert send(qtbot, window) is False

    status = window.statusBar().currentMessage()
    assert "too large" in status or "at most 2 kB" in status
    assert "2 kB" in status
    assert smtp_server.received == []
    assert snapshot(window) == before


def test_no_recipient_is_refused_before_connecting(
    make_window: MakeWindow, config_dir: Path, smtp_server: SmtpServer
) -> None:
    configure(config_dir, account_for(smtp_server, Security.STARTTLS), password=PASSWORD)
    window = make_window()
    fill(window, subject="Nobody", body="B")

    window.action_send.trigger()

    assert "Add at least one recipient" in window.statusBar().currentMessage()
    assert window.action_send.isEnabled()
    assert smtp_server.auth_attempts == []


def test_invalid_addresses_are_named(make_window: MakeWindow) -> None:
    window = make_window()
    fill(window, to="ann@example.org, bob@", cc="carl example.org", subject="S", body="B")
    before = snapshot(window)

    window.action_send.trigger()

    status = window.statusBar().currentMessage()
    assert "bob@" in status
    assert "carl example.org" in status
    assert "ann@example.org" not in status
    assert snapshot(window) == before
    assert not window.is_sending()


@pytest.mark.parametrize(
    ("answer", "sent"),
    [(QMessageBox.StandardButton.No, False), (QMessageBox.StandardButton.Yes, True)],
)
def test_empty_subject_asks_first(
    qtbot: QtBot,
    make_window: MakeWindow,
    answer_questions: AnswerQuestions,
    answer: QMessageBox.StandardButton,
    sent: bool,
) -> None:
    asked = answer_questions(answer)
    window = make_window()
    fill(window, to="bob@example.org", body="No subject")

    if sent:
        assert send(qtbot, window) is True
    else:
        window.action_send.trigger()
        assert not window.is_sending()
        assert window.form.body.toPlainText() == "No subject"
    assert asked == ["Send without a subject?"]


def test_line_break_in_subject_cannot_inject_a_header(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, smtp_server: SmtpServer
) -> None:
    configure(config_dir, account_for(smtp_server, Security.STARTTLS), password=PASSWORD)
    window = make_window()
    fill(window, to="bob@example.org", body="B")
    window.form.subject.setText("Hello\r\nBcc: victim@example.net")

    assert send(qtbot, window) is False

    assert "line break" in window.statusBar().currentMessage()
    assert smtp_server.received == []
    assert window.form.subject.text() == "Hello\r\nBcc: victim@example.net"


def test_sandbox_is_the_working_default(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path
) -> None:
    window = make_window()
    assert window.form.from_account.currentText() == "Local sandbox <me@sandbox.localhost>"
    fill(window, to="friend@example.org", subject="First message", body="Hello sandbox")

    assert send(qtbot, window) is True

    status = window.statusBar().currentMessage()
    assert "local sandbox" in status
    [stored] = (config_dir / "sandbox" / "Maildir" / "new").iterdir()
    assert str(stored) in status
    message = BytesParser(policy=email.policy.default).parsebytes(stored.read_bytes())
    assert message["Subject"] == "First message"
    assert message.get_content().strip() == "Hello sandbox"


def test_ctrl_return_sends_and_ctrl_n_clears(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window()
    # Window shortcuts only reach the active window; offscreen, activation must be asked for.
    window.windowHandle().requestActivate()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    fill(window, to="friend@example.org", subject="Keys", body="B")
    window.form.body.setFocus()

    with qtbot.waitSignal(window.send_finished, timeout=20_000) as blocker:
        qtbot.keyClick(window.form.body, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert blocker.args == [True]
    assert window.form.body.toPlainText() == ""
    assert not window.action_restore.isEnabled()  # a sent message is not "discarded"

    fill(window, to="x@example.org", subject="Draft", body="Some text")
    typed = snapshot(window)
    qtbot.keyClick(window.form.body, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert snapshot(window)[1:] == ("", "", "", "", "")

    # What New Message cleared is not lost.
    window.action_restore.trigger()
    assert snapshot(window) == typed


def test_last_used_account_is_remembered(
    make_window: MakeWindow, config_dir: Path, smtp_server: SmtpServer
) -> None:
    first = account_for(smtp_server, Security.STARTTLS, name="Work")
    second = account_for(smtp_server, Security.STARTTLS, name="Home", email="home@example.org")
    configure(config_dir, first, second)
    window = make_window()
    assert window.form.from_account.currentText() == "Ann Lee <ann@example.org>"
    window.form.from_account.setCurrentIndex(1)
    window.close()

    again = make_window()

    assert again.form.from_account.currentText() == "Ann Lee <home@example.org>"


def test_corrupt_config_file_is_set_aside(make_window: MakeWindow, config_dir: Path) -> None:
    (config_dir / "settings.json").write_text('{"version": 1, "accounts": [', encoding="utf-8")

    window = make_window()

    status = window.statusBar().currentMessage()
    assert "damaged" in status
    backups = list(config_dir.glob("settings.json.broken-*"))
    assert len(backups) == 1
    assert backups[0].read_text(encoding="utf-8") == '{"version": 1, "accounts": ['
    assert window.form.from_account.currentText() == "Local sandbox <me@sandbox.localhost>"


@pytest.fixture
def large_file(tmp_path: Path) -> Path:
    """19 MB of zeros (sparse, so instant to make): about 26 MB once base64-encoded."""
    path = tmp_path / "video.bin"
    with path.open("wb") as stream:
        stream.truncate(19_000_000)
    return path


@pytest.mark.parametrize("answer", [QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No])
def test_a_large_message_to_a_server_without_size_goes_only_if_the_user_says_so(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    large_file: Path,
    answer_questions: AnswerQuestions,
    answer: QMessageBox.StandardButton,
) -> None:
    with running(plaintext_server(size_limit=0)) as server:
        server.data_reply = "250 2.0.0 Taken unread"  # aiosmtpd would parse 26 MB slowly
        configure(config_dir, account_for(server, Security.NONE, username=""))
        window = make_window()
        fill(window, to="bob@example.org", subject="Holiday", body="Film attached")
        window.attach_files([large_file])
        before = snapshot(window)
        asked = answer_questions(answer)

        sent = send(qtbot, window, timeout=60_000)

    assert asked == ["Send this large message?"]
    status = window.statusBar().currentMessage()
    if answer == QMessageBox.StandardButton.Yes:
        assert sent is True
        assert "Sent to 1 recipient" in status
        assert "DATA" in server.commands
    else:
        assert sent is False
        assert "did not say how large a message it accepts" in status
        assert "MAIL" not in " ".join(server.commands)
        assert snapshot(window) == before
        assert window.form.attachment_list.attachments()[0].path == large_file

"""Full composition through the window: attachments, formatting, signatures, questions asked."""

from __future__ import annotations

import email.policy
import os
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QObject, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QImage, QTextCursor
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QMessageBox, QToolButton
from pytestqt.qtbot import QtBot

from composer.mail.accounts import Security
from composer.ui.compose_window import ComposeWindow
from tests.servers import PASSWORD, SmtpServer, account_for
from tests.windows import (
    AnswerQuestions,
    MakeWindow,
    answer_boxes,
    configure,
    drag_event,
    fill,
    send,
    snapshot,
)

_Button = QMessageBox.StandardButton


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """A text file with a non-ASCII name and a binary file."""
    folder = tmp_path / "files"
    folder.mkdir()
    text = folder / "Übersicht März – Bericht.txt"
    text.write_text("Zahlen für März\n", encoding="utf-8")
    binary = folder / "data.bin"
    binary.write_bytes(bytes(range(256)) * 64 + os.urandom(300_000))
    return text, binary


def drop_files(target: QObject, paths: list[Path]) -> None:
    """Drag paths onto target and drop them, as a file manager would."""
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    args = (Qt.DropAction.CopyAction, data, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    enter = drag_event(QDragEnterEvent, QPoint(5, 5), data, Qt.MouseButton.NoButton)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(target, QDropEvent(QPointF(5, 5), *args))


def received(server: SmtpServer) -> EmailMessage:
    [message] = server.received
    return message


def test_two_attachments_arrive_with_identical_bytes_and_names(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    smtp_server: SmtpServer,
    files: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure(config_dir, account_for(smtp_server, Security.STARTTLS), password=PASSWORD)
    window = make_window()
    monkeypatch.setattr(
        QFileDialog, "getOpenFileNames", lambda *_args: ([str(p) for p in files], "")
    )
    window.findChild(type(window.action_attach), "actionAttach").trigger()
    assert window.form.attachment_list.count() == 2
    assert "2 attachments" in window.form.attachment_panel.total.text()
    fill(window, to="bob@example.org", subject="Files", body="See the files.")

    assert send(qtbot, window) is True

    message = received(smtp_server)
    parts = {p.get_filename(): p.get_payload(decode=True) for p in message.iter_attachments()}
    assert parts == {
        "Übersicht März – Bericht.txt": files[0].read_bytes(),
        "data.bin": files[1].read_bytes(),
    }
    assert window.form.attachment_list.count() == 0  # cleared with the rest after sending


def test_files_dropped_on_the_window_are_attached_and_can_be_removed(
    qtbot: QtBot, make_window: MakeWindow, files: tuple[Path, Path]
) -> None:
    window = make_window()

    drop_files(window.centralWidget(), [files[0]])
    drop_files(window.form.to, [files[1]])
    drop_files(window, [files[0]])  # already attached: not twice

    assert window.form.to.text() == ""
    assert [a.path for a in window.draft().attachments] == [files[0], files[1]]
    remove = window.findChild(QToolButton, "removeAttachment")
    assert not remove.isEnabled()
    window.form.attachment_list.setCurrentRow(0)
    remove.click()
    assert [a.path for a in window.draft().attachments] == [files[1]]
    window.form.attachment_list.setCurrentRow(0)
    qtbot.keyClick(window.form.attachment_list, Qt.Key.Key_Delete)
    assert window.draft().attachments == ()
    assert not window.form.attachment_panel.isVisible()


def test_non_image_file_dropped_on_the_body_is_attached_not_pasted(
    make_window: MakeWindow, files: tuple[Path, Path]
) -> None:
    window = make_window()
    body_before = window.form.body.toPlainText()

    drop_files(window.form.body.viewport(), [files[1]])

    assert [a.path for a in window.draft().attachments] == [files[1]]
    assert window.form.body.toPlainText() == body_before


def test_vanished_attachment_is_named_and_nothing_is_lost(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    smtp_server: SmtpServer,
    files: tuple[Path, Path],
) -> None:
    configure(config_dir, account_for(smtp_server, Security.STARTTLS), password=PASSWORD)
    window = make_window()
    window.attach_files(list(files))
    fill(window, to="bob@example.org", subject="Files", body="See the files.")
    before = snapshot(window)
    files[1].unlink()

    assert send(qtbot, window) is False

    status = window.statusBar().currentMessage()
    assert "data.bin" in status
    assert snapshot(window) == before
    assert window.form.attachment_list.count() == 2
    assert smtp_server.received == []


def test_size_limit_of_the_server_names_both_sizes(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    smtp_server: SmtpServer,
    files: tuple[Path, Path],
) -> None:
    smtp_server.size_limit = 100_000
    configure(config_dir, account_for(smtp_server, Security.STARTTLS), password=PASSWORD)
    window = make_window()
    window.attach_files([files[1]])
    fill(window, to="bob@example.org", subject="Big", body="B")

    assert send(qtbot, window) is False

    status = window.statusBar().currentMessage()
    assert "100 kB" in status
    assert "at most" in status
    assert smtp_server.received == []


@pytest.mark.parametrize(("answer", "sent"), [(_Button.No, False), (_Button.Yes, True)])
def test_attachment_reminder(
    qtbot: QtBot,
    make_window: MakeWindow,
    answer_questions: AnswerQuestions,
    answer: QMessageBox.StandardButton,
    sent: bool,
) -> None:
    asked = answer_questions(answer)
    window = make_window()
    fill(window, to="bob@example.org", subject="Report", body="The report is attached.")

    if sent:
        assert send(qtbot, window) is True
    else:
        window.action_send.trigger()
        assert not window.is_sending()
    assert asked == ["Forgot an attachment?"]


def test_many_visible_recipients_can_be_moved_to_bcc(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer_boxes(monkeypatch, lambda _title: _Button.Yes)
    window = make_window()
    people = ", ".join(f"person{i}@example.org" for i in range(12))
    fill(window, to=people, subject="Party", body="Saturday!")

    assert send(qtbot, window) is True

    [stored] = (config_dir / "sandbox" / "Maildir" / "new").iterdir()
    message = BytesParser(policy=email.policy.default).parsebytes(stored.read_bytes())
    assert "person0@example.org" not in str(message["To"] or "")
    assert "Bcc" not in message
    assert message["Delivered-To"].count("@example.org") == 12


def test_formatted_message_arrives_as_alternative_with_a_plain_twin(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, smtp_server: SmtpServer
) -> None:
    configure(config_dir, account_for(smtp_server, Security.STARTTLS), password=PASSWORD)
    window = make_window()
    fill(window, to="bob@example.org", subject="Formatted", body="")
    cursor = window.form.body.textCursor()
    cursor.insertText("Hello ")
    bold = cursor.charFormat()
    bold.setFontWeight(700)
    cursor.insertText("world", bold)

    assert send(qtbot, window) is True

    message = received(smtp_server)
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert "Hello world" in plain.get_content()
    assert "<b>world</b>" in html.get_content() or "<strong>world</strong>" in html.get_content()


def test_plain_text_toggle_sends_text_only(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, smtp_server: SmtpServer
) -> None:
    configure(config_dir, account_for(smtp_server, Security.STARTTLS), password=PASSWORD)
    window = make_window()
    fill(window, to="bob@example.org", subject="Plain", body="")
    cursor = window.form.body.textCursor()
    bold = cursor.charFormat()
    bold.setForeground(QColor("#cc0000"))
    cursor.insertText("red words", bold)
    window.actions_.plain_text.setChecked(True)

    assert send(qtbot, window) is True

    message = received(smtp_server)
    assert message.get_content_type() == "text/plain"
    assert "red words" in message.get_content()


def test_inline_image_arrives_as_related_and_is_referenced(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, smtp_server: SmtpServer
) -> None:
    configure(config_dir, account_for(smtp_server, Security.STARTTLS), password=PASSWORD)
    window = make_window()
    fill(window, to="bob@example.org", subject="Picture", body="")
    image = QImage(20, 10, QImage.Format.Format_RGB32)
    image.fill(QColor("#3366cc"))
    data = QMimeData()
    data.setImageData(image)
    window.form.body.insertFromMimeData(data)

    assert send(qtbot, window) is True

    message = received(smtp_server)
    related = next(p for p in message.walk() if p.get_content_type() == "multipart/related")
    html = message.get_body(("html",))
    assert html is not None
    images = [p for p in related.iter_parts() if p.get_content_maintype() == "image"]
    assert len(images) == 1
    cid = images[0]["Content-ID"].strip("<>")
    assert f"cid:{cid}" in html.get_content()
    assert QImage.fromData(images[0].get_content()).size() == image.size()


def test_reply_to_of_the_account_is_in_the_message(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, smtp_server: SmtpServer
) -> None:
    account = account_for(smtp_server, Security.STARTTLS, reply_to="team@example.org")
    configure(config_dir, account, password=PASSWORD)
    window = make_window()
    fill(window, to="bob@example.org", subject="Replies", body="B")

    assert send(qtbot, window) is True

    assert received(smtp_server)["Reply-To"] == "team@example.org"


def _with_signatures(config_dir: Path, server: SmtpServer) -> None:
    work = account_for(
        server, Security.STARTTLS, name="Work", signature="Ann Lee\nACME Corp", default_cc=""
    )
    home = account_for(
        server,
        Security.STARTTLS,
        name="Home",
        email="ann@home.example",
        signature="Ann",
        default_bcc="archive@home.example",
    )
    configure(config_dir, work, home)


def test_signature_is_inserted_and_follows_the_account(
    make_window: MakeWindow, config_dir: Path, smtp_server: SmtpServer
) -> None:
    _with_signatures(config_dir, smtp_server)
    window = make_window()
    assert window.form.body.toPlainText().endswith("\n-- \nAnn Lee\nACME Corp")

    cursor = window.form.body.textCursor()
    cursor.movePosition(QTextCursor.MoveOperation.Start)
    cursor.insertText("Dear Bob,")
    window.form.from_account.setCurrentIndex(1)

    assert window.form.body.toPlainText() == "Dear Bob,\n\n-- \nAnn"
    assert window.form.bcc.text() == "archive@home.example"
    window.form.from_account.setCurrentIndex(0)
    assert window.form.body.toPlainText() == "Dear Bob,\n\n-- \nAnn Lee\nACME Corp"
    assert window.form.bcc.text() == ""


def test_an_edited_signature_is_left_alone(
    make_window: MakeWindow, config_dir: Path, smtp_server: SmtpServer
) -> None:
    _with_signatures(config_dir, smtp_server)
    window = make_window()
    cursor = window.form.body.textCursor()
    cursor.movePosition(QTextCursor.MoveOperation.End)
    cursor.insertText(" (Berlin office)")

    window.form.from_account.setCurrentIndex(1)

    assert window.form.body.toPlainText().endswith("ACME Corp (Berlin office)")


def test_show_source_and_save_as_eml(
    qtbot: QtBot, make_window: MakeWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window()
    fill(window, to="bob@example.org", bcc="secret@example.org", subject="Source", body="Hi")

    window.actions_.show_source.trigger()
    qtbot.waitUntil(lambda: window.findChild(QDialog, "sourceDialog") is not None, timeout=10_000)
    dialog = window.findChild(QDialog, "sourceDialog")
    text = dialog.text.toPlainText()  # type: ignore[union-attr]
    assert "Subject: Source" in text
    assert "secret@example.org" not in text

    target = tmp_path / "saved.eml"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_args: (str(target), ""))
    window.actions_.save_eml.trigger()
    qtbot.waitUntil(lambda: "Saved as" in window.statusBar().currentMessage(), timeout=10_000)
    saved = BytesParser(policy=email.policy.default).parsebytes(target.read_bytes())
    assert saved["Subject"] == "Source"
    assert "Bcc" not in saved


def test_new_window_action_asks_for_a_window(qtbot: QtBot, make_window: MakeWindow) -> None:
    window: ComposeWindow = make_window()
    with qtbot.waitSignal(window.new_window_requested, timeout=1000):
        window.actions_.new_window.trigger()

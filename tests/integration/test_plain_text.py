"""Text Composer did not write (server replies, names, paths) is shown literally: HTML in it is
never rendered, so an ``<img src>`` in a server's greeting never makes Composer open a file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QHelpEvent, QImage
from PySide6.QtWidgets import QApplication, QLineEdit, QMessageBox, QPushButton, QToolTip, QWidget
from pytestqt.qtbot import QtBot

from composer.mail.accounts import Security
from composer.mail.outbox import EntryState
from tests.integration.test_accounts_dialog import enter_account, open_dialog
from tests.integration.test_nothing_lost import session_of
from tests.pipes import WatchedPipe
from tests.servers import CLOSE, SmtpServer, account_for, plaintext_server
from tests.windows import MakeWindow, answer_boxes, configure, fill, send

PlainText = Qt.TextFormat.PlainText
IMAGE = '<img src="file:///dev/zero">'


@pytest.fixture
def pipe(tmp_path: Path) -> Iterator[WatchedPipe]:
    with WatchedPipe(tmp_path / "pipe") as watched:
        yield watched


def image_of(pipe: WatchedPipe) -> str:
    return f'<img src="file://{pipe.path}">'


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    server = plaintext_server().start()
    yield server
    server.stop()


def show_tooltip(widget: QWidget, position: QPoint) -> None:
    """Hover: the tooltip event Qt sends when the pointer rests on widget at position."""
    event = QHelpEvent(QEvent.Type.ToolTip, position, widget.mapToGlobal(position))
    QApplication.sendEvent(widget, event)


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    """A large image: a label that rendered an <img> of it would grow to its size. (A pipe
    would freeze such a label instead of failing the test.)"""
    path = tmp_path / "secret.png"
    image = QImage(400, 400, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.red)
    assert image.save(str(path))
    return path


def test_a_greeting_with_html_is_shown_literally_in_the_connection_result(
    qtbot: QtBot, make_window: MakeWindow, server: SmtpServer, picture: Path
) -> None:
    html = f'<img src="file://{picture}">'
    server.greeting = f"554 {html} go away"
    dialog = open_dialog(qtbot, make_window())
    enter_account(qtbot, dialog, server, "secret")

    dialog.test_button.click()
    qtbot.waitUntil(dialog.test_button.isEnabled, timeout=20_000)
    qtbot.waitUntil(lambda: dialog.test_result.isVisible())

    assert html in dialog.test_result.text()
    assert dialog.test_result.textFormat() is PlainText
    assert dialog.test_result.sizeHint().height() < 200  # no 400-pixel picture in it
    dialog.reject()


def test_an_account_name_with_html_is_shown_literally_in_the_hint(
    qtbot: QtBot, make_window: MakeWindow, picture: Path
) -> None:
    html = f'<img src="file://{picture}">'
    dialog = open_dialog(qtbot, make_window())
    dialog.findChild(QPushButton, "addAccount").click()
    dialog.findChild(QLineEdit, "accountName").setText(html)

    dialog.button_box.button(dialog.button_box.StandardButton.Save).click()

    assert html in dialog.hint.text()
    assert dialog.hint.textFormat() is PlainText
    assert dialog.hint.sizeHint().height() < 200
    dialog.reject()


def test_a_refusal_with_html_is_shown_literally_in_the_status_bar_and_its_tooltip(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, server: SmtpServer, pipe: WatchedPipe
) -> None:
    configure(config_dir, account_for(server, Security.NONE, username=""))
    server.greeting = f"554 {image_of(pipe)} go away"
    window = make_window()
    fill(window, to="bob@example.org", subject="Hi")

    assert not send(qtbot, window)
    show_tooltip(window.statusBar(), QPoint(5, 5))

    assert image_of(pipe) in window.statusBar().currentMessage()
    assert QToolTip.isVisible()
    assert "<img" not in QToolTip.text()
    QToolTip.hideText()
    assert pipe.stop() == 0


def test_an_attachment_path_with_html_is_shown_literally_in_its_tooltip(
    qtbot: QtBot,
    make_window: MakeWindow,
    tmp_path: Path,
    pipe: WatchedPipe,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A file name cannot hold "/": its image is the pipe beside it, found from the current folder.
    monkeypatch.chdir(tmp_path)
    attached = tmp_path / '<img src="pipe">.txt'
    attached.write_text("notes")
    window = make_window()
    window.attach_files([attached])
    attachments = window.form.attachment_list
    qtbot.waitUntil(lambda: attachments.isVisible() and attachments.count() == 1)

    show_tooltip(attachments.viewport(), attachments.visualItemRect(attachments.item(0)).center())

    assert QToolTip.isVisible()
    assert "&lt;img src=&quot;pipe&quot;&gt;.txt" in QToolTip.text()
    QToolTip.hideText()
    assert pipe.stop() == 0


def test_a_subject_with_html_is_shown_literally_when_asked_to_send_again(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure(config_dir, account_for(server, Security.NONE, username="", timeout=1))
    server.data_reply = CLOSE
    window = make_window()
    fill(window, to="bob@example.org", subject=IMAGE)
    assert not send(qtbot, window)
    session = session_of(window)
    [entry] = session.sending.entries()
    assert entry.state is EntryState.MAY_HAVE_BEEN_SENT
    asked = answer_boxes(monkeypatch, lambda _title: QMessageBox.StandardButton.No)

    session.folders.send_now(entry.key)

    [question] = asked
    assert question.title == "Send this message again?"
    assert IMAGE in question.text
    assert question.text_format is PlainText

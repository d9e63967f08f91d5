"""Files dropped on watched widgets are taken for attaching; other drops keep their meaning."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QLineEdit
from pytestqt.qtbot import QtBot

from composer.ui.file_drops import FileDropCatcher, local_files
from tests.windows import drag_event


def mime_with(*urls: QUrl, text: str = "") -> QMimeData:
    mime = QMimeData()
    if urls:
        mime.setUrls(list(urls))
    if text:
        mime.setText(text)
    return mime


@pytest.fixture
def watched(qtbot: QtBot) -> tuple[QLineEdit, FileDropCatcher]:
    edit = QLineEdit()
    qtbot.addWidget(edit)
    catcher = FileDropCatcher(edit)
    catcher.watch(edit)
    edit.show()
    qtbot.waitExposed(edit)
    return edit, catcher


def drop_on(edit: QLineEdit, mime: QMimeData) -> tuple[bool, bool]:
    """Drag mime onto edit and drop it; whether the enter and the drop were accepted."""
    position = QPointF(edit.rect().center())
    enter = drag_event(QDragEnterEvent, position, mime)
    QApplication.sendEvent(edit, enter)
    event = QDropEvent(
        position,
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(edit, event)
    return enter.isAccepted(), event.isAccepted()


def test_local_files_are_the_file_urls_in_order(tmp_path: Path) -> None:
    first, second = tmp_path / "ü b.txt", tmp_path / "report.pdf"
    mime = mime_with(
        QUrl.fromLocalFile(str(first)),
        QUrl("https://example.org/report.pdf"),
        QUrl("mailto:ann@example.org"),
        QUrl.fromLocalFile(str(second)),
        text=f"{first}\n{second}",
    )

    assert local_files(mime) == [first, second]


@pytest.mark.parametrize(
    "mime",
    [
        mime_with(),
        mime_with(text="/etc/passwd"),  # a path as text is text
        mime_with(text="file:///etc/passwd"),
        mime_with(QUrl("https://example.org/a.txt"), QUrl("ftp://example.org/b")),
    ],
    ids=["nothing", "path-as-text", "url-as-text", "remote-urls"],
)
def test_text_and_remote_urls_are_no_local_files(mime: QMimeData) -> None:
    assert local_files(mime) == []


def test_dropped_files_are_taken_and_reported(
    qtbot: QtBot, watched: tuple[QLineEdit, FileDropCatcher], tmp_path: Path
) -> None:
    edit, catcher = watched
    report = tmp_path / "report.pdf"
    mime = mime_with(QUrl.fromLocalFile(str(report)), text=str(report))

    with qtbot.waitSignal(catcher.dropped, timeout=5_000) as dropped:
        accepted = drop_on(edit, mime)

    assert accepted == (True, True)
    assert dropped.args == [[report]]
    assert edit.text() == ""  # not pasted as a path


def test_dropped_text_is_left_to_the_widget(
    qtbot: QtBot, watched: tuple[QLineEdit, FileDropCatcher]
) -> None:
    edit, catcher = watched

    with qtbot.assertNotEmitted(catcher.dropped):
        drop_on(edit, mime_with(text="Hello there"))

    assert edit.text() == "Hello there"


def test_watching_makes_a_widget_accept_drops(qtbot: QtBot) -> None:
    edit = QLineEdit()
    qtbot.addWidget(edit)
    edit.setAcceptDrops(False)

    FileDropCatcher(edit).watch(edit)

    assert edit.acceptDrops()

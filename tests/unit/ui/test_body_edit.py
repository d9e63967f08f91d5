"""The body editor: dropped files are attached, dropped and pasted images are inline."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QByteArray, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import (
    QAction,
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QImage,
    QKeySequence,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from composer.ui.document_images import png_bytes
from composer.ui.rich_text import document_parts
from composer.ui.widgets.body_edit import BodyEdit
from composer.ui.widgets.format_toolbar import FormatToolBar
from tests.windows import drag_event

DOT_PNG = (  # a one-pixel PNG, as web pages inline images
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"
    "2mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture
def body(qtbot: QtBot) -> BodyEdit:
    """A shown body editor holding "Hello ", the cursor at its end."""
    edit = BodyEdit()
    qtbot.addWidget(edit)
    edit.resize(400, 300)
    edit.show()
    qtbot.waitExposed(edit)
    edit.setPlainText("Hello ")
    edit.moveCursor(QTextCursor.MoveOperation.End)
    return edit


def picture(width: int = 40, height: int = 20) -> QImage:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("#2a62c9"))
    return image


def files(*paths: Path) -> QMimeData:
    """What a file manager puts on a drag: file URLs and their paths as text."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    mime.setText("\n".join(str(path) for path in paths))
    return mime


def drop(edit: BodyEdit, mime: QMimeData) -> bool:
    """Drag mime over the end of the text and drop it there, as a mouse would."""
    end = edit.textCursor()
    end.movePosition(QTextCursor.MoveOperation.End)
    point = edit.cursorRect(end).center()
    viewport = edit.viewport()
    copy = Qt.DropAction.CopyAction
    left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = drag_event(QDragEnterEvent, point, mime)
    QApplication.sendEvent(viewport, enter)
    if not enter.isAccepted():
        return False
    QApplication.sendEvent(viewport, drag_event(QDragMoveEvent, point, mime))
    event = QDropEvent(QPointF(point), copy, mime, left, none)
    QApplication.sendEvent(viewport, event)
    return event.isAccepted()


def test_dropped_file_is_attached_not_pasted_as_a_path(
    qtbot: QtBot, body: BodyEdit, tmp_path: Path
) -> None:
    report = tmp_path / "report.pdf"
    report.write_bytes(b"%PDF-1.4 not really")

    with qtbot.waitSignal(body.files_dropped) as dropped:
        assert drop(body, files(report))

    assert dropped.args == [[report]]
    assert body.toPlainText() == "Hello "


def test_dropped_png_file_is_placed_inline_with_its_bytes(
    qtbot: QtBot, body: BodyEdit, tmp_path: Path
) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(png_bytes(picture()))

    with qtbot.assertNotEmitted(body.files_dropped, wait=100):
        assert drop(body, files(photo))
        # Read off the GUI thread: a grey placeholder shows until then.
        qtbot.waitUntil(lambda: bool(document_parts(body.document()).images))

    parts = document_parts(body.document())
    [image] = parts.images
    assert image.data == photo.read_bytes()
    assert image.filename == "photo.png"
    assert parts.plain == "Hello [image: photo.png]"
    assert f'Hello <img src="cid:{image.cid}" alt="photo.png">' in parts.html


def test_dropping_images_and_other_files_together(
    qtbot: QtBot, body: BodyEdit, tmp_path: Path
) -> None:
    photo, notes = tmp_path / "photo.png", tmp_path / "notes.txt"
    photo.write_bytes(png_bytes(picture()))
    notes.write_text("not an image, even if Qt could read text")

    with qtbot.waitSignal(body.files_dropped) as dropped:
        drop(body, files(notes, photo))

    assert dropped.args == [[notes]]
    qtbot.waitUntil(lambda: len(document_parts(body.document()).images) == 1)


def test_image_files_over_the_limit_are_attached(
    qtbot: QtBot, body: BodyEdit, tmp_path: Path
) -> None:
    huge = tmp_path / "huge.png"
    with huge.open("wb") as file:
        file.write(png_bytes(picture()))
        file.truncate(11 * 1024 * 1024)

    with qtbot.waitSignal(body.files_dropped) as dropped:
        drop(body, files(huge))

    assert dropped.args == [[huge]]
    assert document_parts(body.document()).images == ()


def test_a_dropped_file_named_like_an_image_that_is_none_is_attached(
    qtbot: QtBot, body: BodyEdit, tmp_path: Path
) -> None:
    fake = tmp_path / "photo.png"
    fake.write_text("not a picture")

    with qtbot.waitSignal(body.files_dropped) as dropped:
        drop(body, files(fake))

    assert dropped.args == [[fake]]
    assert body.toPlainText() == "Hello "


def test_pasted_image_data_is_placed_inline_as_png(body: BodyEdit) -> None:
    mime = QMimeData()
    mime.setImageData(picture(30, 10))

    body.insertFromMimeData(mime)

    parts = document_parts(body.document())
    [image] = parts.images
    assert image.content_type == "image/png"
    assert QImage.fromData(image.data).size() == picture(30, 10).size()
    assert parts.plain == "Hello [image: image.png]"


def test_pasted_jpeg_bytes_are_kept(body: BodyEdit) -> None:
    jpeg = QImage(picture())
    mime = QMimeData()
    data = _jpeg(jpeg)
    mime.setData("image/jpeg", QByteArray(data))

    assert body.canInsertFromMimeData(mime)
    body.insertFromMimeData(mime)

    [image] = document_parts(body.document()).images
    assert (image.data, image.content_type, image.filename) == (data, "image/jpeg", "image.jpg")


def _jpeg(image: QImage) -> bytes:
    from PySide6.QtCore import QBuffer, QIODevice

    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "JPG")
    return bytes(buffer.data().data())


def test_html_from_another_program_keeps_basic_formatting_only(body: BodyEdit) -> None:
    mime = QMimeData()
    mime.setHtml(
        '<p style="font-size:30px;color:#d00;background:yellow;font-family:Comic Sans MS">'
        '<b>bold</b>, <i>it</i>, <a href="https://example.org">link</a>, '
        '<a href="javascript:alert(1)">trap</a></p>'
        "<ul><li>item<ul><li>sub</li></ul></li></ul><blockquote>said</blockquote>"
        f'<p><img src="data:image/png;base64,{DOT_PNG}" alt="dot">'
        '<img src="https://tracker.example/pixel.gif"></p>'
    )
    mime.setText("bold, it, link, trap")

    body.insertFromMimeData(mime)

    parts = document_parts(body.document())
    assert parts.plain == (
        "Hello bold, it, link <https://example.org>, trap\n- item\n  - sub\n> said\n[image: dot]"
    )
    for kept in ("<b>bold</b>", "<i>it</i>", '<a href="https://example.org">link</a>', "<ul>"):
        assert kept in parts.html
    for dropped in ("color:", "font-size", "Comic", "yellow", "javascript", "tracker"):
        assert dropped not in parts.html
    [dot] = parts.images
    assert dot.data.startswith(b"\x89PNG")


def test_copy_and_paste_inside_the_editor_keeps_all_formatting(body: BodyEdit) -> None:
    toolbar = FormatToolBar(body)
    body.selectAll()
    toolbar.set_color(QColor("#008800"))
    toolbar.set_font_size(20)
    body.selectAll()
    copied = body.createMimeDataFromSelection()
    body.moveCursor(QTextCursor.MoveOperation.End)
    body.textCursor().insertText("and ", QTextCharFormat())

    body.insertFromMimeData(copied)

    assert body.toPlainText() == "Hello and Hello "
    assert document_parts(body.document()).html.count("color:#008800; font-size:20pt") == 2


def test_images_copied_to_another_compose_window_go_along(qtbot: QtBot, body: BodyEdit) -> None:
    jpeg = _jpeg(picture())
    body.insert_image(picture(), "p.jpg", jpeg)
    body.selectAll()
    copied = body.createMimeDataFromSelection()
    other = BodyEdit()
    qtbot.addWidget(other)

    other.insertFromMimeData(copied)

    [image] = document_parts(other.document()).images
    assert image == document_parts(body.document()).images[0]
    assert image.data == jpeg


def test_copying_one_image_offers_it_to_other_programs(body: BodyEdit) -> None:
    body.insert_image(picture(), "p.png")
    body.moveCursor(QTextCursor.MoveOperation.End)
    body.moveCursor(QTextCursor.MoveOperation.Left, QTextCursor.MoveMode.KeepAnchor)

    copied = body.createMimeDataFromSelection()

    assert copied.hasImage()
    assert QImage(copied.imageData()).size() == picture().size()


def test_plain_mode_pastes_text_and_attaches_images(
    qtbot: QtBot, body: BodyEdit, tmp_path: Path
) -> None:
    body.set_plain_mode(True)
    mime = QMimeData()
    mime.setHtml("<b>bold</b>")
    mime.setText("bold")
    body.insertFromMimeData(mime)
    photo = tmp_path / "photo.png"
    photo.write_bytes(png_bytes(picture()))

    with qtbot.waitSignal(body.files_dropped) as dropped:
        drop(body, files(photo))

    assert dropped.args == [[photo]]
    assert document_parts(body.document()).formatted is False
    assert body.toPlainText() == "Hello bold"


def test_a_draft_comes_back_with_its_formatting_and_images(body: BodyEdit, qtbot: QtBot) -> None:
    toolbar = FormatToolBar(body)
    body.selectAll()
    toolbar.set_bold(True)
    body.moveCursor(QTextCursor.MoveOperation.End)
    body.insert_image(picture(), "p.png", png_bytes(picture()))
    body.textCursor().insertBlock()
    toolbar.indent_quote()
    toolbar.indent_quote()
    body.textCursor().insertText("deep")
    before = document_parts(body.document())

    restored = BodyEdit()
    qtbot.addWidget(restored)
    restored.set_html_with_images(before.html, before.images)

    after = document_parts(restored.document())
    assert after.plain == before.plain == "Hello [image: p.png]\n> > deep"
    assert after.images == before.images
    assert "<b>Hello </b>" in after.html


def test_quoted_text_shows_a_bar_per_level(qtbot: QtBot, body: BodyEdit) -> None:
    FormatToolBar(body).indent_quote()
    body.repaint()
    shot = body.viewport().grab().toImage()

    rect = body.document().documentLayout().blockBoundingRect(body.document().begin())
    bar_x = round(rect.left() + body.document().indentWidth() / 4)
    row = round(rect.center().y())
    assert shot.pixelColor(QPoint(bar_x, row)) != shot.pixelColor(QPoint(bar_x + 6, row))


def test_actions_on_the_editor_come_before_its_own_keys(qtbot: QtBot, body: BodyEdit) -> None:
    """QTextEdit claims keys for itself (Ctrl+K deletes to the end of the line on X11)."""
    action = QAction("Claimed", body)
    action.setShortcut(QKeySequence("Ctrl+Z"))  # QTextEdit's undo, on every platform
    action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    body.addAction(action)
    body.activateWindow()
    body.setFocus()
    qtbot.waitUntil(body.hasFocus)
    qtbot.keyClicks(body, "typed")

    with qtbot.waitSignal(action.triggered):
        qtbot.keyClick(body, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)

    assert body.toPlainText() == "Hello typed"

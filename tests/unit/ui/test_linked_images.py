"""Pasted or dropped HTML naming local files: only small regular files are read, off the GUI
thread; devices, pipes, folders and large files are left out with a note; the rest is listed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QByteArray, QMimeData, Qt, QTimer, QUrl
from PySide6.QtGui import QImage, QTextCursor, QTextDocument
from PySide6.QtWidgets import QTextEdit
from pytestqt.qtbot import QtBot

from composer.mail.linked_files import MAX_IMAGE_BYTES
from composer.ui.account_form import AccountForm
from composer.ui.rich_text import document_parts
from composer.ui.widgets.body_edit import OWN_RICH_TEXT, BodyEdit
from tests.pipes import WatchedPipe
from tests.unit.ui.test_body_edit import drop
from tests.unit.ui.test_pasted_html import images

# A reader blocked on the pipe is let go after this long: a test that blocked fails, not hangs.
PIPE_DELAY = 3.0


@pytest.fixture
def body(qtbot: QtBot) -> BodyEdit:
    edit = BodyEdit()
    qtbot.addWidget(edit)
    edit.resize(400, 300)
    edit.show()
    qtbot.waitExposed(edit)
    return edit


@pytest.fixture
def pipe(tmp_path: Path) -> Iterator[WatchedPipe]:
    """A named pipe nobody writes to (a reader is let go only after PIPE_DELAY)."""
    with WatchedPipe(tmp_path / "pipe", delay=PIPE_DELAY) as watched:
        yield watched


@pytest.fixture
def png(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    image = QImage(30, 20, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.green)
    assert image.save(str(path))
    return path


@pytest.fixture
def huge(tmp_path: Path) -> Path:
    """An image file over the cap (sparse: it takes no disk)."""
    path = tmp_path / "huge.png"
    with path.open("wb") as stream:
        stream.write(QByteArray(b"\x89PNG\r\n\x1a\n").data())
        stream.truncate(MAX_IMAGE_BYTES + 1)
    return path


def html_mime(html: str) -> QMimeData:
    mime = QMimeData()
    mime.setHtml(html)
    return mime


def img(path: Path | str) -> str:
    return f'<img src="{QUrl.fromLocalFile(str(path)).toString()}">'


class LoopWatch:
    """Ticks on the GUI thread; the longest gap between ticks is how long the loop stood."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._last = time.monotonic()
        self._timer = QTimer(interval=10)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    def _tick(self) -> None:
        now = time.monotonic()
        self.longest = max(self.longest, now - self._last)
        self._last = now

    def stop(self) -> float:
        self._timer.stop()
        self._tick()
        return self.longest


def paste_from_the_event_loop(qtbot: QtBot, body: BodyEdit, mime: QMimeData) -> tuple[str, float]:
    """Paste mime as Ctrl+V does (from the event loop); the note and the longest stall."""
    watch = LoopWatch()
    with qtbot.waitSignal(body.linked_images_read, timeout=10_000) as read:
        QTimer.singleShot(20, lambda: body.insertFromMimeData(mime))
    return str(read.args[0]), watch.stop()


def test_a_named_pipe_is_left_out_and_the_window_never_waits(
    qtbot: QtBot, body: BodyEdit, pipe: WatchedPipe
) -> None:
    note, stall = paste_from_the_event_loop(
        qtbot, body, html_mime(f"<p>before {img(pipe.path)} after</p>")
    )

    assert stall < 1.0, f"the event loop stood still for {stall:.1f} s"
    assert pipe.stop() == 0
    assert note == (
        "Left out 1 image that the pasted text took from this computer: pipe is a named pipe, "
        "not a file."
    )
    assert images(body.document()) == []
    assert body.toPlainText() == "before  after"


@pytest.mark.parametrize(
    ("src", "words"),
    [
        ("/dev/zero", "zero is a device, not a file"),
        ("{tmp}", "{name} is a folder, not a file"),
        ("{tmp}/gone.png", "gone.png does not exist"),
        ("gone.png", "gone.png does not say which folder it is in"),
    ],
)
def test_what_is_no_file_is_left_out_with_a_note(
    qtbot: QtBot, body: BodyEdit, tmp_path: Path, src: str, words: str
) -> None:
    path = src.format(tmp=tmp_path)
    source = img(path) if path.startswith("/") else f'<img src="{path}">'

    note, stall = paste_from_the_event_loop(qtbot, body, html_mime(f"<p>a {source} b</p>"))

    assert words.format(name=tmp_path.name) in note
    assert note.startswith("Left out 1 image")
    assert images(body.document()) == []
    assert document_parts(body.document()).images == ()
    assert stall < 1.0


def test_a_file_over_the_cap_is_left_out_unread(qtbot: QtBot, body: BodyEdit, huge: Path) -> None:
    note, _stall = paste_from_the_event_loop(qtbot, body, html_mime(f"<p>{img(huge)}</p>"))

    assert "huge.png is larger than 10.5 MB" in note
    assert note.endswith("Attach a large image instead, with Attach Files.")
    assert images(body.document()) == []


def test_a_real_image_file_is_shown_sent_and_listed(
    qtbot: QtBot, body: BodyEdit, png: Path
) -> None:
    note, _stall = paste_from_the_event_loop(
        qtbot, body, html_mime(f'<p>see <a href="https://example.org/">{img(png)}</a> now</p>')
    )

    assert note == "Pasted 1 image from a file on this computer: photo.png."
    (name,) = images(body.document())
    shown = body.document().resource(QTextDocument.ResourceType.ImageResource, QUrl(name))
    assert shown.width() == 30
    [image] = document_parts(body.document()).images
    assert (image.data, image.content_type, image.filename) == (
        png.read_bytes(),
        "image/png",
        "photo.png",
    )
    assert 'href="https://example.org/"' in document_parts(body.document()).html


def test_all_at_once_the_image_appears_and_the_rest_is_named(
    qtbot: QtBot, body: BodyEdit, pipe: WatchedPipe, png: Path, huge: Path, tmp_path: Path
) -> None:
    sources = [pipe.path, "/dev/zero", huge, tmp_path, tmp_path / "gone.png", png]
    html = "<p>" + " ".join(img(source) for source in sources) + "</p>"

    note, stall = paste_from_the_event_loop(qtbot, body, html_mime(html))

    assert stall < 1.0
    assert pipe.stop() == 0
    assert note.startswith("Pasted 1 image from a file on this computer: photo.png. ")
    assert "Left out 5 images" in note
    for name in ("pipe", "zero", "huge.png", tmp_path.name, "gone.png"):
        assert f" {name} " in note
    assert len(images(body.document())) == 1
    assert len(document_parts(body.document()).images) == 1


def test_dropped_html_is_treated_like_a_paste(
    qtbot: QtBot, body: BodyEdit, pipe: WatchedPipe, png: Path
) -> None:
    watch = LoopWatch()
    with qtbot.waitSignal(body.linked_images_read, timeout=10_000) as read:
        assert drop(body, html_mime(f"<p>{img(pipe.path)}{img('/dev/zero')}{img(png)}</p>"))

    assert watch.stop() < 1.0
    assert pipe.stop() == 0
    assert str(read.args[0]).startswith("Pasted 1 image from a file on this computer: photo.png.")
    assert len(document_parts(body.document()).images) == 1


def test_undo_takes_the_paste_and_its_image_away_together(
    qtbot: QtBot, body: BodyEdit, png: Path
) -> None:
    body.setPlainText("Hi ")
    body.moveCursor(QTextCursor.MoveOperation.End)
    paste_from_the_event_loop(qtbot, body, html_mime(f"<p>{img(png)}</p>"))

    body.undo()

    assert body.toPlainText() == "Hi "


# --- HTML that reaches the document some other way: Qt itself must not open the file --------


def own_copy(html: str) -> QMimeData:
    """What another body editor (or a program pretending to be one) puts on the clipboard."""
    mime = html_mime(html)
    mime.setData(OWN_RICH_TEXT, QByteArray(b"1"))
    return mime


def shown_for_a_while(qtbot: QtBot, edit: QTextEdit) -> None:
    edit.viewport().repaint()
    qtbot.wait(50)


@pytest.mark.parametrize("way", ["draft", "own copy", "style sheet"])
def test_the_body_document_never_opens_a_file_itself(
    qtbot: QtBot, body: BodyEdit, pipe: WatchedPipe, way: str
) -> None:
    html = f'<p>x <img src="{pipe.path}"> {img(pipe.path)}</p>'
    start = time.monotonic()
    if way == "draft":
        body.set_html_with_images(html, [])
    elif way == "own copy":
        body.insertFromMimeData(own_copy(html))
    else:
        body.setHtml(f'<link rel="stylesheet" type="text/css" href="{pipe.path}"><p>x</p>')
    shown_for_a_while(qtbot, body)

    assert time.monotonic() - start < 1.0
    assert pipe.stop() == 0
    assert document_parts(body.document()).images == ()  # the placeholder is never sent


def test_the_signature_editor_never_opens_a_file(qtbot: QtBot, pipe: WatchedPipe) -> None:
    form = AccountForm()
    qtbot.addWidget(form)
    form.setCurrentIndex(1)  # Identity, where the signature is
    form.show()
    qtbot.waitExposed(form)
    assert form.signature.isVisible()
    start = time.monotonic()

    form.signature.insertFromMimeData(html_mime(f"<p>Ann {img(pipe.path)}</p>"))
    shown_for_a_while(qtbot, form.signature)

    assert time.monotonic() - start < 1.0
    assert pipe.stop() == 0

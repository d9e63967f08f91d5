"""The message body editor: rich text, with pasted and dropped images placed inline."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QCoreApplication,
    QEvent,
    QPoint,
    Signal,
    Slot,
)
from PySide6.QtGui import QKeyEvent, QKeySequence, QPaintEvent
from PySide6.QtWidgets import QWidget

from composer.mail.draft import InlineImage
from composer.ui.body_model import quote_level
from composer.ui.file_drops import local_files
from composer.ui.widgets.offline_text_edit import OfflineTextEdit

if TYPE_CHECKING:
    from PySide6.QtCore import QMimeData
    from PySide6.QtGui import QImage, QPainter

    from composer.tasks import Task
    from composer.ui.linked_images import LinkedImage

# What pasted HTML and dropped image files need (linked_images, pasted_html), and the images
# of the document (document_images, and Qt's image and painting classes, whose enums take
# some 3 ms to make), are imported at the first paste, drop, draft with images or quote bar:
# the first frame needs none of them, and the warm-up imports them soon after. So are the
# formatting commands: the first frame reads no document, whose classes (QTextDocument,
# QTextCursor, the formats) would make their enums for it; what is read from a document
# goes through the objects at hand (document.ResourceType, palette.ColorRole).

# Put on what this editor copies, so pasting it back keeps all of its formatting, and its
# images in another compose window too.
OWN_RICH_TEXT = "application/x-composer-rich-text"
OWN_IMAGES = "application/x-composer-images"
_PASTED_TYPES = ("image/png", "image/jpeg", "image/gif")

# Runs a job on a worker thread; the task brings its result back to the GUI thread.
Runner = Callable[[Callable[[], object]], "Task"]


def _run_for_the_application(job: Callable[[], object]) -> Task:
    # The application outlives the editor; the window gives its send service's runner instead.
    app = QCoreApplication.instance()
    assert app is not None
    from composer.tasks import Task  # with the warm-up, not before the first frame

    task = Task(lambda _report: job(), app)
    task.start()
    return task


class BodyEdit(OfflineTextEdit):
    """The body: rich text; images pasted or dropped are inline, other files are attached.

    Signals:
        files_dropped(list[Path]): files dropped or pasted that are not placed inline (not
            images, images over 10 MB, any image in plain-text mode); the window attaches them.
        linked_images_read(str): the files that pasted HTML took images from were read; a
            sentence for the status bar names those shown and those left out, and why.
    """

    files_dropped = Signal(list)
    linked_images_read = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptRichText(True)
        self.setTabChangesFocus(False)
        self._plain = False
        self.run_in_background: Runner = _run_for_the_application
        # Until the document first changes there is nothing to draw quote bars for; looking
        # would make the document's classes for the first frame (see above).
        self._changed_once = False
        self.textChanged.connect(self._on_first_change)

    def set_plain_mode(self, plain: bool) -> None:
        """Plain text: pastes lose their formatting and dropped images are attached instead."""
        self._plain = plain
        self.setAcceptRichText(not plain)

    def is_plain_mode(self) -> bool:
        return self._plain

    def is_untouched(self) -> bool:
        """True until the document first changes: nothing typed, pasted or loaded yet."""
        return not self._changed_once

    def set_html_with_images(self, html: str, images: Sequence[InlineImage]) -> None:
        """Show html (as document_parts wrote it), its cid: images taken from images."""
        from PySide6.QtGui import QImage

        from composer.ui.document_images import add_image

        document = self.document()
        for image in images:
            add_image(document, QImage.fromData(image.data), image.filename, image.data, image.cid)
        self.setHtml(html)
        from composer.ui import formatting

        formatting.normalize_imported(document)
        document.setModified(False)

    def insert_image(self, image: QImage, filename: str, data: bytes = b"") -> None:
        """Place image at the cursor; data (PNG, JPEG or GIF bytes) is what will be sent."""
        from composer.ui.document_images import insert_image

        cursor = self.textCursor()
        insert_image(cursor, image, filename, data)
        self.setTextCursor(cursor)

    # --- clipboard and drops --------------------------------------------------------------

    def canInsertFromMimeData(self, source: QMimeData) -> bool:  # noqa: N802
        if local_files(source) or _has_picture(source):
            return True
        return super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:  # noqa: N802
        from composer.ui.pasted_html import basic_fragment, has_text

        files = local_files(source)
        if files:
            self._insert_files(files)
        elif source.hasFormat(OWN_RICH_TEXT) or self._plain:
            if not self._plain:
                self._add_copied_images(source)
            super().insertFromMimeData(source)
        elif _has_picture(source) and not (source.hasHtml() and has_text(source.html())):
            self._insert_pasted_image(source)
        elif source.hasHtml():
            palette = self.palette()
            link = palette.brush(palette.ColorRole.Link)
            pasted = basic_fragment(source.html(), self.document(), link)
            cursor = self.textCursor()
            cursor.insertFragment(pasted.fragment)
            self.setTextCursor(cursor)
            if pasted.linked:
                self._read_linked(pasted.linked)
        else:
            super().insertFromMimeData(source)
        self.ensureCursorVisible()

    def _read_linked(self, linked: list[LinkedImage], *, dropped: bool = False) -> None:
        """Read the files of images off the GUI thread (a pipe, a slow disk)."""
        from composer.ui.linked_images import read_images

        task = self.run_in_background(lambda: read_images(linked))
        task.succeeded.connect(self._on_dropped_read if dropped else self._on_linked_read)

    @Slot(object)
    def _on_linked_read(self, results: object) -> None:
        from composer.ui.linked_images import place_images

        assert isinstance(results, list)
        self.linked_images_read.emit(place_images(self.document(), results).note())

    @Slot(object)
    def _on_dropped_read(self, results: object) -> None:
        from composer.ui.linked_images import place_images

        assert isinstance(results, list)
        left_out = place_images(self.document(), results).left_out
        if left_out:  # not a picture after all, or too large to show: attached instead
            self.files_dropped.emit([file.path for file in left_out])

    def createMimeDataFromSelection(self) -> QMimeData:  # noqa: N802
        original = super().createMimeDataFromSelection()
        import json

        from PySide6.QtCore import QByteArray, QMimeData

        mime = QMimeData()
        for kind in original.formats():
            mime.setData(kind, original.data(kind))
        mime.setData(OWN_RICH_TEXT, QByteArray(b"1"))
        mime.setData(OWN_IMAGES, QByteArray(json.dumps(self._selected_images()).encode()))
        picture = self._selected_picture()
        if picture is not None:
            mime.setImageData(picture)  # so that other programs can paste a copied image
        return mime

    def _selected_images(self) -> dict[str, str]:
        """The images in the selection, as their bytes in base64 by cid."""
        from composer.ui import formatting
        from composer.ui.document_images import image_bytes, is_own

        images: dict[str, str] = {}
        for _start, _end, char_format in formatting.selected_runs(self.textCursor()):
            name = char_format.toImageFormat().name() if char_format.isImageFormat() else ""
            loaded = image_bytes(self.document(), name) if is_own(name) else None
            if loaded is not None:
                images[name.removeprefix("cid:")] = base64.b64encode(loaded[0]).decode("ascii")
        return images

    def _add_copied_images(self, source: QMimeData) -> None:
        """Store the images of a copy from another body that this document lacks."""
        import json

        from composer.ui.document_images import add_image, decode, holds_image

        try:
            images = json.loads(bytes(source.data(OWN_IMAGES).data()) or b"{}")
        except ValueError:
            return
        document = self.document()
        for cid, encoded in images.items() if isinstance(images, dict) else ():
            if not holds_image(document, f"cid:{cid}"):
                data = base64.b64decode(str(encoded))
                add_image(document, decode(data), "", data, str(cid))

    def _insert_files(self, paths: list[Path]) -> None:
        from composer.ui.document_images import is_image_file
        from composer.ui.linked_images import placeholder_for, placeholder_format

        attach: list[Path] = []
        linked: list[LinkedImage] = []
        cursor = self.textCursor()
        for path in paths:
            if self._plain or not is_image_file(path):
                attach.append(path)
            else:
                linked.append(placeholder_for(self.document(), path.absolute()))
                cursor.insertImage(placeholder_format(linked[-1]))
        self.setTextCursor(cursor)
        if attach:
            self.files_dropped.emit(attach)
        if linked:
            self._read_linked(linked, dropped=True)

    def _insert_pasted_image(self, source: QMimeData) -> None:
        from PySide6.QtGui import QImage

        from composer.ui.document_images import EXTENSIONS, decode, sniff

        data = next(
            (raw for kind in _PASTED_TYPES if sniff(raw := bytes(source.data(kind).data()))),
            b"",
        )
        image = decode(data) if data else QImage(source.imageData())  # null if there is none
        if not image.isNull():
            self.insert_image(image, "image" + EXTENSIONS.get(sniff(data), ".png"), data)

    def _selected_picture(self) -> QImage | None:
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QImage, QPixmap

        from composer.ui.document_images import is_placeholder

        cursor = self.textCursor()
        if cursor.selectedText() != "\ufffc":
            return None
        if cursor.position() < cursor.anchor():
            cursor.setPosition(cursor.anchor())  # the format is that of the character before
        name = cursor.charFormat().toImageFormat().name()
        document = self.document()
        resource = document.resource(document.ResourceType.ImageResource, QUrl(name))
        if isinstance(resource, QPixmap):
            return None if is_placeholder(resource) else resource.toImage()
        return resource if isinstance(resource, QImage) else None

    # --- keys -----------------------------------------------------------------------------

    def event(self, event: QEvent) -> bool:
        # QTextEdit claims some keys for itself (Ctrl+K deletes to the end of the line on
        # X11); the formatting actions added to this editor come first.
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            pressed = QKeySequence(event.keyCombination())
            for action in self.actions():
                if action.isEnabled() and pressed in action.shortcuts():
                    event.ignore()
                    return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if not self._plain and self._list_key(event):
            event.accept()
            return
        super().keyPressEvent(event)

    def _list_key(self, event: QKeyEvent) -> bool:
        """Tab and Shift+Tab nest list items, Backspace at an item's start ends its bullet."""
        cursor = self.textCursor()
        if cursor.currentList() is None or cursor.hasSelection() or self.isReadOnly():
            return False
        from PySide6.QtCore import Qt  # here: not before the first frame (see qt_values.py)

        from composer.ui import formatting

        key, modifiers = event.key(), event.modifiers()
        if key == Qt.Key.Key_Backtab:
            formatting.change_indent(cursor, -1)
        elif not cursor.atBlockStart() or modifiers & ~Qt.KeyboardModifier.KeypadModifier:
            return False
        elif key == Qt.Key.Key_Tab:
            formatting.change_indent(cursor, 1)
        elif key == Qt.Key.Key_Backspace:
            # Qt would keep the item's indent, which here means quoting it.
            formatting.remove_from_list(cursor.block())
        else:
            return False
        self.cursorPositionChanged.emit()  # the toolbar follows the block's new state
        return True

    # --- drawing --------------------------------------------------------------------------

    @Slot()
    def _on_first_change(self) -> None:
        self._changed_once = True
        self.textChanged.disconnect(self._on_first_change)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        super().paintEvent(event)
        if self._changed_once:
            self._paint_quote_bars(event.rect().bottom())

    def _paint_quote_bars(self, bottom: int) -> None:
        """A bar left of quoted text per level, as mail clients show the sent <blockquote>."""
        document = self.document()
        layout = document.documentLayout()
        step = document.indentWidth()
        dx, dy = -self.horizontalScrollBar().value(), -self.verticalScrollBar().value()
        # Made at the first bar: most paints have none, and setPen() would make Qt's enums
        # before the first frame (see qt_values.py).
        painter: QPainter | None = None
        block = self.cursorForPosition(QPoint(0, 0)).block()
        # bottom: of the part being painted. Not viewport(): the first call to it looks its
        # widget's type up through every QWidget subclass, making some forty of their enums.
        while block.isValid():
            rect = layout.blockBoundingRect(block).translated(dx, dy)
            if rect.top() > bottom:
                break
            for level in range(quote_level(block.blockFormat())):
                if painter is None:
                    from PySide6.QtGui import QPainter, QPen

                    painter = QPainter(self.viewport())
                    palette = self.palette()
                    painter.setPen(QPen(palette.color(palette.ColorRole.Mid), 2))
                x = rect.left() + level * step + step / 4
                painter.drawLine(round(x), round(rect.top()), round(x), round(rect.bottom()))
            block = block.next()
        if painter is not None:
            painter.end()


def _has_picture(source: QMimeData) -> bool:
    # hasImage() only knows Qt's own image type; other programs offer PNG or JPEG bytes.
    return source.hasImage() or any(source.hasFormat(kind) for kind in _PASTED_TYPES)

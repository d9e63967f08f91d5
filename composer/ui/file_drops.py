"""Catching files dropped on widgets, so they are attached rather than pasted as text."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from PySide6.QtCore import QMimeData

_DRAG_EVENTS = (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop)


class FileDropCatcher(QObject):
    """An event filter that takes drops of local files from the widgets it watches.

    Signals:
        dropped(list): the paths of local files dropped on a watched widget.
    """

    dropped = Signal(list)

    def watch(self, *widgets: QWidget) -> None:
        for widget in widgets:
            widget.setAcceptDrops(True)
            widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() not in _DRAG_EVENTS:
            return False
        assert isinstance(event, QDropEvent)
        files = local_files(event.mimeData())
        if not files:
            return False  # text and other drops keep their usual meaning
        event.acceptProposedAction()
        if event.type() == QEvent.Type.Drop:
            self.dropped.emit(files)
        return True


def local_files(mime: QMimeData) -> list[Path]:
    """The local files a drag or a paste carries (none for text, links or remote URLs)."""
    urls = mime.urls() if mime.hasUrls() else []
    return [Path(url.toLocalFile()) for url in urls if url.isLocalFile()]

"""Messages for the user from code that has no window of its own.

A background settings write that failed, a message that went out after its window closed:
such code posts a Message here (from any thread), and the application shows it in the
windows open at that moment, or keeps it for the first window that opens.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

from PySide6.QtCore import QObject, Signal, Slot


class Level(enum.Enum):
    INFO = "info"
    # Asks for attention: shown in a message box, not only in the status bar.
    WARNING = "warning"


class Message(NamedTuple):
    text: str
    level: Level = Level.INFO


class MessageBridge(QObject):
    """Where code without a window posts messages; they come out on the GUI thread.

    Signals:
        shown(Message): a message for the user; the application shows it in the windows
            open now, or keeps it for the first one.
    """

    shown = Signal(object)
    _posted = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        # A bound slot of this GUI-thread object: a post from a worker thread is queued here.
        self._posted.connect(self._on_posted)

    def post(self, text: str, level: Level = Level.INFO) -> None:
        """Show text to the user; safe from any thread."""
        self._posted.emit(Message(text, level))

    @Slot(object)
    def _on_posted(self, message: Message) -> None:
        self.shown.emit(message)

"""Show Message Source and Save as .eml: the message exactly as it will be sent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPlainTextEdit, QVBoxLayout, QWidget

from composer.mail.accounts import Account
from composer.mail.draft import Draft
from composer.mail.message import build_message
from composer.mail.source import message_source
from composer.ui.naming import named


def message_source_job(draft: Draft, account: Account) -> Callable[[], str]:
    """Work for a background thread: the wire text of draft sent from account."""
    return lambda: message_source(draft, account.sender(), account.reply_to)


def save_eml_job(draft: Draft, account: Account, path: Path) -> Callable[[], int]:
    """Work for a background thread: write the message to path; returns the bytes written."""

    def save() -> int:
        outgoing = build_message(draft, account.sender(), account.reply_to)
        with path.open("wb") as stream:
            return outgoing.write_to(stream)

    return save


class SourceDialog(QDialog):
    """Read-only view of the raw message.

    Signals:
        save_requested(): the user wants the message saved as .eml.
    """

    save_requested = Signal()

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sourceDialog")
        self.setWindowTitle("Message Source")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(760, 560)
        self.text = named("sourceText", QPlainTextEdit())
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setPlainText(text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        save = buttons.addButton("Save as .eml…", QDialogButtonBox.ButtonRole.ActionRole)
        save.setObjectName("saveEml")
        save.clicked.connect(self.save_requested.emit)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)

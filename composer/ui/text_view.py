"""Read-only text to look at and copy: the log, a connection's SMTP transcript."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from composer.ui.naming import named


class TextViewDialog(QDialog):
    """Shows text exactly as written (server replies in it are never read as markup), with
    Copy; deletes itself when closed."""

    def __init__(
        self, name: str, title: str, view_name: str, text: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setWindowTitle(title)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(760, 520)
        # QPlainTextEdit has no rich text at all: nothing in the text can load a file.
        self.view = named(view_name, QPlainTextEdit())
        self.view.setReadOnly(True)
        self.view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.view.setPlainText(text)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.add_button("copyText", "&Copy").clicked.connect(self.copy)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view)
        layout.addWidget(self.buttons)

    def add_button(self, name: str, text: str) -> QPushButton:
        button = self.buttons.addButton(text, QDialogButtonBox.ButtonRole.ActionRole)
        button.setObjectName(name)
        return button

    def copy(self) -> None:
        """The whole text to the clipboard, as shown."""
        QGuiApplication.clipboard().setText(self.view.toPlainText())

    def scroll_to_end(self) -> None:
        bar = self.view.verticalScrollBar()
        bar.setValue(bar.maximum())

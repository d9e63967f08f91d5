"""The small dialog that asks for a link's address and text."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLineEdit, QWidget

from composer.ui.naming import named


class LinkDialog(QDialog):
    """Asks for a link's address and the text that shows it.

    Signals:
        link_chosen(str, str): the address (empty: remove the link) and the text, on OK.
    """

    link_chosen = Signal(str, str)

    def __init__(self, url: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("linkDialog")
        self.setWindowTitle("Link")
        self.text = named("linkText", QLineEdit(text))
        self.text.setAccessibleName("Link text")
        self.text.setPlaceholderText("The address itself")
        self.url = named("linkUrl", QLineEdit(url))
        self.url.setAccessibleName("Link address")
        self.url.setPlaceholderText("https://example.org or ann@example.org")
        self.url.setMinimumWidth(320)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        remove = named(
            "linkRemove",
            buttons.addButton("&Remove Link", QDialogButtonBox.ButtonRole.DestructiveRole),
        )
        remove.setEnabled(bool(url))
        remove.clicked.connect(self._on_remove)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QFormLayout(self)
        layout.addRow("&Text:", self.text)
        layout.addRow("&Address:", self.url)
        layout.addRow(buttons)
        self.url.setFocus()

    def accept(self) -> None:
        self.link_chosen.emit(self.url.text().strip(), self.text.text())
        super().accept()

    @Slot()
    def _on_remove(self) -> None:
        self.url.clear()
        self.accept()

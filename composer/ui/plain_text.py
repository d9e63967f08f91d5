"""Text Composer did not write (server replies, paths, names), shown literally, never as HTML.

Qt guesses the format of label, tooltip and message box text: anything that looks like HTML is
rendered as rich text, and rich text loads ``<img src="file://…">`` from disk on the GUI thread
(a named pipe blocks the window, ``/dev/zero`` eats memory). Labels take
``setTextFormat(Qt.TextFormat.PlainText)``; tooltips and questions go through here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMessageBox, QWidget


# What html.escape replaces; the html package would load its table of every named entity
# (some 2 ms) before the first frame, for the status bar's tooltip.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"})


def plain_tooltip(text: str) -> str:
    """A tooltip that shows text as written: tooltips offer no plain-text format of their own."""
    return f"<p>{text.translate(_ESCAPES)}</p>" if text else ""


def question(
    parent: QWidget | None,
    title: str,
    text: str,
    buttons: QMessageBox.StandardButton,
    default: QMessageBox.StandardButton,
) -> QMessageBox.StandardButton:
    """QMessageBox.question, with text shown as plain text; the button chosen."""
    from PySide6.QtCore import Qt  # here: not before the first frame (see qt_values.py)
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(QMessageBox.Icon.Question, title, text, buttons, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setDefaultButton(default)
    box.exec()
    clicked = box.clickedButton()
    # As QMessageBox.question: closed without a button is Cancel.
    answer = (
        box.standardButton(clicked) if clicked is not None else QMessageBox.StandardButton.Cancel
    )
    box.deleteLater()
    return answer

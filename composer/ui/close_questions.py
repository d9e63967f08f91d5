"""The question before unsaved messages close: keep them as drafts, or let them go."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from composer.ui.plain_text import question

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget


class CloseChoice(enum.Enum):
    """What to do with unsaved changes when a window closes."""

    SAVE = "save"
    DISCARD = "discard"


def ask_keep(parent: QWidget, count: int) -> CloseChoice | None:
    """Ask what to do with count messages that have unsaved changes; None means Cancel."""
    from PySide6.QtWidgets import QMessageBox  # asked on closing, not before the first frame

    buttons = QMessageBox.StandardButton
    if count == 1:
        title = "Save this message as a draft?"
        text = (
            "This message has changes that are not saved as a draft. Save it in Drafts to "
            "finish it later, or discard it."
        )
    else:
        title = f"Save {count} messages as drafts?"
        text = (
            f"{count} open messages have changes that are not saved as drafts. Save them all "
            "in Drafts to finish them later, or discard them all."
        )
    answer = question(
        parent, title, text, buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save
    )
    if answer == buttons.Save:
        return CloseChoice.SAVE
    if answer == buttons.Discard:
        return CloseChoice.DISCARD
    return None

"""What counts as bold in the body: one rule for its toolbar, pasted HTML and the HTML sent."""

from __future__ import annotations

from PySide6.QtGui import QFont, QTextCharFormat

# From DemiBold (CSS font-weight 600) up: what other programs paste as "semibold" shows as
# bold, so the Bold button must show it checked and the sent HTML must keep it bold.
BOLD_WEIGHT = QFont.Weight.DemiBold.value


def is_bold(char_format: QTextCharFormat) -> bool:
    """True when text of char_format is bold: the toolbar checks Bold, the mail gets <b>."""
    return char_format.fontWeight() >= BOLD_WEIGHT

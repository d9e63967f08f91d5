"""What counts as bold in the body: one rule for its toolbar, pasted HTML and the HTML sent."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtGui import QTextCharFormat

# From DemiBold (CSS font-weight 600) up: what other programs paste as "semibold" shows as
# bold, so the Bold button must show it checked and the sent HTML must keep it bold. The
# number, not QFont.Weight.DemiBold: the toolbar's module imports this one, and QFont's
# thirteen enums are not needed for the first frame (tests/unit/ui/test_fonts.py holds it
# to Qt's).
BOLD_WEIGHT = 600


def is_bold(char_format: QTextCharFormat) -> bool:
    """True when text of char_format is bold: the toolbar checks Bold, the mail gets <b>."""
    return char_format.fontWeight() >= BOLD_WEIGHT

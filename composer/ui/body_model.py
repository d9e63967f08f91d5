"""How the body editor's document holds a message's structure: quote levels, lists, line breaks.

The editor, its formatting commands and the tool bar read it while the user types; rich_text,
which writes the document out as mail, is only needed once there is something to keep or send.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtGui import QTextBlockFormat, QTextListFormat

# The Qt classes are not imported here: their enums (QTextFormat.Property alone has 116
# members) would be made for the first frame, which reads no document. What is read goes
# through the objects given, whose classes exist by then.

QUOTE_STYLE = "margin:0 0 0 .8ex;border-left:2px solid #ccc;padding-left:1ex"
BODY_STYLE = "font-family: sans-serif;"
# Qt's HTML import marks <blockquote> with BlockQuoteLevel and indents it by this many pixels.
QT_BLOCKQUOTE_MARGIN = 40
LINE_SEPARATOR = "\u2028"
_BULLETS = ("ListDisc", "ListCircle", "ListSquare")  # of QTextListFormat.Style


def quote_level(block_format: QTextBlockFormat) -> int:
    """How many levels deep a block is quote-indented (our indent, or Qt's <blockquote>)."""
    level = block_format.indent()
    if block_format.hasProperty(block_format.Property.BlockQuoteLevel):
        level += max(1, round(block_format.leftMargin() / QT_BLOCKQUOTE_MARGIN))
    return level


def is_bullet(style: QTextListFormat.Style) -> bool:
    return style.name in _BULLETS

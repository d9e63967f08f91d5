"""Links in the body document: making, finding, changing and removing them."""

from __future__ import annotations

import re

from PySide6.QtGui import QBrush, QTextCharFormat, QTextCursor, QTextFormat

from composer.ui.formatting import replace_formats

_HAS_SCHEME = re.compile(r"^(?:(?:https?|ftp)://|(?:mailto|tel):)", re.IGNORECASE)
_LINK_LOOK = (
    QTextFormat.Property.IsAnchor,
    QTextFormat.Property.AnchorHref,
    QTextFormat.Property.AnchorName,
    QTextFormat.Property.TextUnderlineStyle,
    QTextFormat.Property.ForegroundBrush,
)


def normalized_url(text: str) -> str:
    """What the user typed as a link target, made a URL: "example.org" gets https://."""
    text = text.strip()
    if not text or _HAS_SCHEME.match(text):
        return text
    if "@" in text and "/" not in text and " " not in text:
        return f"mailto:{text}"
    return f"https://{text}"


def select_link(cursor: QTextCursor) -> str:
    """Select the link cursor is in (unless something is selected); returns the link's href."""
    if not cursor.hasSelection():
        span = _link_span(cursor)
        if span is not None:
            cursor.setPosition(span[0])
            cursor.setPosition(span[1], QTextCursor.MoveMode.KeepAnchor)
    char_format = cursor.charFormat()
    return char_format.anchorHref() if char_format.isAnchor() else ""


def _link_span(cursor: QTextCursor) -> tuple[int, int] | None:
    """Where the link that cursor is in, or at the end of, starts and ends in its block."""
    href = cursor.charFormat().anchorHref() if cursor.charFormat().isAnchor() else ""
    if not href:
        return None
    position = cursor.position()
    start = end = -1
    iterator = cursor.block().begin()
    while not iterator.atEnd():
        fragment = iterator.fragment()
        if fragment.charFormat().anchorHref() != href:
            if end >= position:
                break
            start = end = -1
        else:
            start = fragment.position() if start < 0 else start
            end = fragment.position() + fragment.length()
        iterator += 1
    return (start, end) if 0 <= start <= position <= end else None


def without_link(char_format: QTextCharFormat) -> QTextCharFormat:
    """char_format with a link's properties and look (underline, colour) taken away."""
    plain = QTextCharFormat(char_format)
    for prop in _LINK_LOOK:
        plain.clearProperty(prop)
    return plain


def link_format(href: str, colour: QBrush) -> QTextCharFormat:
    """The properties that make text a link to href, drawn underlined in colour."""
    char_format = QTextCharFormat()
    char_format.setAnchor(True)
    char_format.setAnchorHref(href)
    char_format.setFontUnderline(True)
    char_format.setForeground(colour)
    return char_format


def apply_link(cursor: QTextCursor, url: str, text: str | None, colour: QBrush) -> None:
    """Link the selection (or the link at cursor) to url, or insert text as that link.

    With nothing selected, text (or the address) is inserted. Text other than the selected
    text replaces it. An empty url removes the link. cursor ends after the link.
    """
    select_link(cursor)
    href = normalized_url(url)
    cursor.beginEditBlock()
    if not href:
        replace_formats(cursor, without_link)
    elif not cursor.hasSelection() or (text and text != cursor.selectedText()):
        char_format = without_link(cursor.charFormat())
        char_format.merge(link_format(href, colour))
        cursor.insertText(text or href.removeprefix("mailto:"), char_format)
    else:
        cursor.mergeCharFormat(link_format(href, colour))
    cursor.endEditBlock()
    cursor.setPosition(max(cursor.position(), cursor.anchor()))

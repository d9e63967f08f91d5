"""One run of the body's text as inline HTML: escaped, in the tags and styles it asks for."""

from __future__ import annotations

import html
import re

from PySide6.QtGui import QTextCharFormat, QTextDocument, QTextFormat

from composer.ui.fonts import is_bold

_SIZE_WORDS = {-2: "x-small", -1: "small", 1: "large", 2: "x-large", 3: "xx-large"}
_SPACES = re.compile(r" {2,}")


def escaped_text(text: str, line_start: bool) -> str:
    """text escaped for HTML, keeping runs of spaces and tabs that HTML would collapse."""
    escaped = html.escape(text.replace("\t", "    "), quote=False).replace("\u00a0", "&nbsp;")
    escaped = _SPACES.sub(lambda run: " " + "&nbsp;" * (len(run.group()) - 1), escaped)
    if line_start and escaped.startswith(" "):
        escaped = "&nbsp;" + escaped[1:]
    return escaped


def styled(markup: str, char_format: QTextCharFormat, document: QTextDocument) -> str:
    """markup wrapped in the tags and inline styles that char_format asks for."""
    if not markup:
        return markup
    # A link's underline and colour are its look in the editor, not formatting (also for a
    # link that is not sent, such as javascript:).
    link = char_format.isAnchor()
    styles = [*_colour(char_format, link), *_size(char_format, document)]
    families = char_format.fontFamilies()
    if char_format.fontFixedPitch() or (isinstance(families, list) and "monospace" in families):
        styles.append("font-family:monospace")
    tags = [
        ("u", char_format.fontUnderline() and not link),
        ("s", char_format.fontStrikeOut()),
        ("i", char_format.fontItalic()),
        ("b", is_bold(char_format)),
    ]
    for tag, wanted in tags:
        if wanted:
            markup = f"<{tag}>{markup}</{tag}>"
    if styles:
        markup = f'<span style="{"; ".join(styles)}">{markup}</span>'
    return markup


def _colour(char_format: QTextCharFormat, link: bool) -> list[str]:
    if link or not char_format.hasProperty(QTextFormat.Property.ForegroundBrush):
        return []
    from PySide6.QtCore import Qt  # here: not before the first frame (see qt_values.py)

    brush = char_format.foreground()
    if brush.style() == Qt.BrushStyle.NoBrush:
        return []
    name = brush.color().name()
    # Black is every client's default; sending it would only fight a dark theme.
    return [] if name == "#000000" else [f"color:{name}"]


def _size(char_format: QTextCharFormat, document: QTextDocument) -> list[str]:
    default = document.defaultFont().pointSizeF()
    if char_format.hasProperty(QTextFormat.Property.FontPointSize):
        points = char_format.fontPointSize()
    elif char_format.hasProperty(QTextFormat.Property.FontPixelSize):
        points = char_format.intProperty(QTextFormat.Property.FontPixelSize) * 0.75
    elif char_format.hasProperty(QTextFormat.Property.FontSizeAdjustment):
        word = _SIZE_WORDS.get(char_format.intProperty(QTextFormat.Property.FontSizeAdjustment))
        return [f"font-size:{word}"] if word else []
    else:
        return []
    return [] if points <= 0 or abs(points - default) < 0.01 else [f"font-size:{points:g}pt"]

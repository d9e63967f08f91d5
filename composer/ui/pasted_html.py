"""HTML pasted from other programs, reduced to the formatting a mail keeps.

Kept: bold, italic, underline, strike-through, links (http, https, mailto, ftp, tel), lists,
quotes and images that can be embedded. Dropped: fonts, sizes, colours, backgrounds, margins,
alignment, and images on the web (they could only be sent as remote references). Images that
name files on this computer get a placeholder and are read later, off the GUI thread
(linked_images.py): Qt would read them whole, on the GUI thread, a pipe or /dev/zero too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtGui import (
    QBrush,
    QFont,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextDocumentFragment,
    QTextFormat,
    QTextList,
)

from composer.mail.linked_files import local_path
from composer.ui.document_images import add_image, decode, image_bytes
from composer.ui.fonts import is_bold
from composer.ui.formatting import normalize_imported
from composer.ui.linked_images import LinkedImage, placeholder_for, placeholder_format
from composer.ui.links import link_format
from composer.ui.rich_text import link_target


@dataclass
class PastedHtml:
    """What basic_fragment made: the fragment to insert, and the files its images wait for."""

    fragment: QTextDocumentFragment
    linked: list[LinkedImage] = field(default_factory=list)


def has_text(html: str) -> bool:
    """True when html shows some text, not only images (a copied picture comes as <img>)."""
    text = QTextDocumentFragment.fromHtml(html).toPlainText()
    return bool(text.replace("\ufffc", "").strip())


def basic_fragment(html: str, target: QTextDocument, link_colour: QBrush) -> PastedHtml:
    """html's content with basic formatting only, its images stored in target, to insert there.

    Images that name local files are placeholders in target until read_images has read them.
    """
    # No resource provider (a document) for the import, so a linked style sheet is not read.
    scratch = QTextDocument()
    QTextCursor(scratch).insertFragment(QTextDocumentFragment.fromHtml(html))
    normalize_imported(scratch)
    _simplify_blocks(scratch)
    pasted = PastedHtml(QTextDocumentFragment())
    _simplify_text(scratch, target, link_colour, pasted.linked)
    everything = QTextCursor(scratch)
    everything.select(QTextCursor.SelectionType.Document)
    pasted.fragment = QTextDocumentFragment(everything)
    return pasted


def _simplify_blocks(document: QTextDocument) -> None:
    block = document.begin()
    while block.isValid():
        simple = QTextBlockFormat()
        simple.setIndent(block.blockFormat().indent())
        text_list: QTextList | None = block.textList()
        if text_list is not None:
            simple.setObjectIndex(text_list.objectIndex())
        cursor = QTextCursor(block)
        cursor.setBlockFormat(simple)
        cursor.setBlockCharFormat(QTextCharFormat())
        block = block.next()


def _simplify_text(
    document: QTextDocument,
    target: QTextDocument,
    link_colour: QBrush,
    linked: list[LinkedImage],
) -> None:
    spans: list[tuple[int, int, QTextCharFormat | None]] = []
    block = document.begin()
    while block.isValid():
        iterator = block.begin()
        while not iterator.atEnd():
            fragment = iterator.fragment()
            old = fragment.charFormat()
            new: QTextCharFormat | None = _basic(old, link_colour)
            if old.isImageFormat():
                image = _stored_image(document, old, target, linked)
                if image is not None:
                    image.merge(_basic(old, link_colour))  # a linked image stays linked
                new = image
            spans.append((fragment.position(), fragment.position() + fragment.length(), new))
            iterator += 1
        block = block.next()
    # Formats are set after the walk (setting them merges fragments), removals from the end.
    cursor = QTextCursor(document)
    for start, end, char_format in reversed(spans):
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        if char_format is None:
            cursor.removeSelectedText()
        else:
            cursor.setCharFormat(char_format)


def _basic(old: QTextCharFormat, link_colour: QBrush) -> QTextCharFormat:
    new = QTextCharFormat()
    if is_bold(old):
        new.setFontWeight(QFont.Weight.Bold)
    if old.fontItalic():
        new.setFontItalic(True)
    if old.fontStrikeOut():
        new.setFontStrikeOut(True)
    href = link_target(old)
    if href:
        new.merge(link_format(href, link_colour))
    elif old.fontUnderline() and not old.isAnchor():
        new.setFontUnderline(True)
    return new


def _stored_image(
    document: QTextDocument,
    old: QTextCharFormat,
    target: QTextDocument,
    linked: list[LinkedImage],
) -> QTextCharFormat | None:
    """The pasted image added to target, as the format that shows it; None if it cannot be.

    An image from a local file is a placeholder, added to linked.
    """
    image_format = old.toImageFormat()
    alt = str(image_format.property(QTextFormat.Property.ImageAltText) or "")
    path = local_path(image_format.name())
    if path is not None:
        linked.append(placeholder_for(target, path, alt))
        return placeholder_format(linked[-1])
    loaded = image_bytes(document, image_format.name())
    if loaded is None:
        return None
    data, _content_type = loaded
    picture = decode(data)
    if picture.isNull():
        return None
    return add_image(target, picture, alt, data)

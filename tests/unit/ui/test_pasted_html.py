"""HTML pasted from other programs keeps the formatting a mail keeps, and nothing else."""

from __future__ import annotations

import base64

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import (
    QBrush,
    QColor,
    QImage,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)

from composer.ui.body_model import quote_level
from composer.ui.document_images import image_bytes, is_own, png_bytes
from composer.ui.fonts import is_bold
from composer.ui.pasted_html import basic_fragment, has_text

LINK = QBrush(QColor("#1a0dab"))

# Documents and fonts need the QApplication to exist first.
pytestmark = pytest.mark.usefixtures("qapp")


def png_data_url() -> str:
    image = QImage(3, 2, QImage.Format.Format_RGB32)
    image.fill(0x00FF00)
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


def paste(html: str) -> QTextDocument:
    """A fresh body document with html pasted into it."""
    target = QTextDocument()
    QTextCursor(target).insertFragment(basic_fragment(html, target, LINK).fragment)
    return target


def format_at(document: QTextDocument, position: int) -> QTextCharFormat:
    """The format of the character at position (a cursor reports the one before it)."""
    cursor = QTextCursor(document)
    cursor.setPosition(position + 1)
    return cursor.charFormat()


def images(document: QTextDocument) -> list[str]:
    names = []
    block = document.begin()
    while block.isValid():
        iterator = block.begin()
        while not iterator.atEnd():
            char_format = iterator.fragment().charFormat()
            if char_format.isImageFormat():
                names.append(char_format.toImageFormat().name())
            iterator += 1
        block = block.next()
    return names


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>Hello</p>", True),
        ('<img src="photo.png">', False),
        ('<p> &nbsp; <img src="a.png"> </p>', False),
        ("<p>   </p>", False),
        ("", False),
        ('<p><img src="a.png"> caption</p>', True),
    ],
)
def test_has_text_tells_a_copied_picture_from_text(html: str, expected: bool) -> None:
    assert has_text(html) is expected


def test_bold_italic_underline_and_strike_through_are_kept() -> None:
    pasted = paste("<p><b>b</b><i>i</i><u>u</u><s>s</s>n</p>")

    looks = [
        (is_bold(f), f.fontItalic(), f.fontUnderline(), f.fontStrikeOut())
        for f in (format_at(pasted, position) for position in range(5))
    ]
    assert looks == [
        (True, False, False, False),
        (False, True, False, False),
        (False, False, True, False),
        (False, False, False, True),
        (False, False, False, False),
    ]


def test_fonts_sizes_and_colours_are_dropped() -> None:
    pasted = paste(
        '<p><span style="font-family:Comic Sans MS; font-size:30pt; color:red; '
        'background-color:yellow">loud</span></p>'
    )

    char_format = format_at(pasted, 1)
    for prop in (
        QTextFormat.Property.FontFamilies,
        QTextFormat.Property.FontPointSize,
        QTextFormat.Property.ForegroundBrush,
        QTextFormat.Property.BackgroundBrush,
    ):
        assert not char_format.hasProperty(prop), prop
    assert pasted.toPlainText() == "loud"


def test_a_heading_keeps_its_boldness_but_not_its_size() -> None:
    pasted = paste("<h1>Title</h1><p>text</p>")

    title = format_at(pasted, 1)
    assert is_bold(title)
    assert not title.hasProperty(QTextFormat.Property.FontSizeAdjustment)
    assert not title.hasProperty(QTextFormat.Property.FontPointSize)


def test_alignment_and_margins_are_dropped() -> None:
    pasted = paste('<p align="center" style="margin-left:80px; margin-top:40px">middle</p>')

    block_format = pasted.begin().blockFormat()
    assert block_format.alignment() & Qt.AlignmentFlag.AlignHCenter != Qt.AlignmentFlag.AlignHCenter
    assert (block_format.leftMargin(), block_format.topMargin()) == (0, 0)


def test_lists_are_kept() -> None:
    pasted = paste("<ul><li>one</li><li>two</li></ul><ol><li>first</li></ol>")

    first, second, third = pasted.begin(), pasted.begin().next(), pasted.begin().next().next()
    assert first.textList() is not None
    assert first.textList() == second.textList()
    assert third.textList() is not None
    assert third.textList() != first.textList()


def test_quotes_become_quote_levels() -> None:
    pasted = paste("<p>mine</p><blockquote><p>theirs</p><p>more</p></blockquote>")

    levels = []
    block = pasted.begin()
    while block.isValid():
        levels.append((block.text(), quote_level(block.blockFormat())))
        block = block.next()
    assert levels == [("mine", 0), ("theirs", 1), ("more", 1)]


@pytest.mark.parametrize(
    "href",
    ["https://example.org/a", "http://example.org/", "mailto:ann@example.org", "tel:+4930123"],
)
def test_links_worth_sending_are_kept_in_the_editors_colour(href: str) -> None:
    pasted = paste(f'<p>see <a href="{href}" style="color:green">this</a></p>')

    link = format_at(pasted, 5)
    assert link.isAnchor()
    assert link.anchorHref() == href
    assert link.fontUnderline()
    assert link.foreground().color() == LINK.color()


@pytest.mark.parametrize(
    "href", ["javascript:alert(1)", "file:///etc/passwd", "data:text/html,<b>x</b>"]
)
def test_other_links_become_plain_text(href: str) -> None:
    pasted = paste(f'<p>see <a href="{href}">this</a></p>')

    text = format_at(pasted, 5)
    assert pasted.toPlainText() == "see this"
    assert not text.isAnchor()
    assert not text.fontUnderline()  # a link's underline is its look, not formatting


def test_an_embedded_image_is_stored_in_the_body_with_its_bytes() -> None:
    url = png_data_url()

    pasted = paste(f'<p>logo: <img src="{url}" alt="logo.png"> done</p>')

    (name,) = images(pasted)
    assert is_own(name)
    stored = image_bytes(pasted, name)
    assert stored is not None
    assert stored == (base64.b64decode(url.partition(",")[2]), "image/png")
    assert pasted.resource(QTextDocument.ResourceType.ImageResource, QUrl(name)) is not None


def test_an_image_on_the_web_is_left_out() -> None:
    pasted = paste('<p>before <img src="https://example.org/track.png"> after</p>')

    assert images(pasted) == []
    assert pasted.toPlainText() == "before  after"


def test_a_linked_image_stays_linked() -> None:
    pasted = paste(f'<p><a href="https://example.org/"><img src="{png_data_url()}"></a></p>')

    (name,) = images(pasted)
    image = format_at(pasted, 0)
    assert image.isImageFormat()
    assert image.anchorHref() == "https://example.org/"
    assert is_own(name)

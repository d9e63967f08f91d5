"""Reading the body document as mail: the HTML part, its plain twin and inline images."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QImage,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextListFormat,
)
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from composer.ui.body_model import QUOTE_STYLE
from composer.ui.document_images import insert_image, png_bytes
from composer.ui.rich_text import document_parts
from composer.ui.widgets.body_edit import BodyEdit

Build = Callable[[QTextCursor], None]
_Style = QTextListFormat.Style


def char(**properties: object) -> QTextCharFormat:
    """A character format from keyword properties: bold, italic, underline, href, colour, size."""
    char_format = QTextCharFormat()
    if properties.get("bold"):
        char_format.setFontWeight(QFont.Weight.Bold)
    if properties.get("italic"):
        char_format.setFontItalic(True)
    if properties.get("underline"):
        char_format.setFontUnderline(True)
    if "href" in properties:
        char_format.setAnchor(True)
        char_format.setAnchorHref(str(properties["href"]))
        char_format.setFontUnderline(True)
        char_format.setForeground(QBrush(QColor("#0000ee")))
    if "colour" in properties:
        char_format.setForeground(QBrush(QColor(str(properties["colour"]))))
    if "size" in properties:
        char_format.setFontPointSize(float(str(properties["size"])))
    return char_format


def text(*pieces: str | tuple[str, QTextCharFormat]) -> Build:
    """Insert pieces (plain strings or (text, format)) into the current block."""

    def build(cursor: QTextCursor) -> None:
        for piece in pieces:
            if isinstance(piece, tuple):
                cursor.insertText(piece[0], piece[1])
            else:
                cursor.insertText(piece, QTextCharFormat())

    return build


def listed(*items: tuple[str, int], style: _Style = _Style.ListDisc, quote: int = 0) -> Build:
    """List items of (text, depth); items at one depth that follow each other share a list."""

    def build(cursor: QTextCursor) -> None:
        open_lists: dict[int, object] = {}
        for number, (content, depth) in enumerate(items):
            if number:
                cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
            block_format = QTextBlockFormat()
            block_format.setIndent(quote)
            cursor.setBlockFormat(block_format)
            cursor.insertText(content)
            for deeper in [d for d in open_lists if d > depth]:
                del open_lists[deeper]
            if depth in open_lists:
                open_lists[depth].add(cursor.block())  # type: ignore[attr-defined]
            else:
                list_format = QTextListFormat()
                list_format.setStyle(style)
                list_format.setIndent(depth)
                open_lists[depth] = cursor.createList(list_format)

    return build


def quoted(*items: tuple[str, int]) -> Build:
    """Paragraphs of (text, quote level)."""

    def build(cursor: QTextCursor) -> None:
        for number, (content, level) in enumerate(items):
            if number:
                cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
            block_format = QTextBlockFormat()
            block_format.setIndent(level)
            cursor.setBlockFormat(block_format)
            cursor.insertText(content)

    return build


def parts_of(build: Build) -> tuple[str, str, bool]:
    document = QTextDocument()
    build(QTextCursor(document))
    parts = document_parts(document)
    return parts.html, parts.plain, parts.formatted


FORMATTED = [
    pytest.param(text("a ", ("b", char(bold=True))), ["a <b>b</b>"], "a b", id="bold"),
    pytest.param(text(("it", char(italic=True))), ["<i>it</i>"], "it", id="italic"),
    pytest.param(text(("under", char(underline=True))), ["<u>under</u>"], "under", id="underline"),
    pytest.param(
        text(("both", char(bold=True, italic=True))), ["<b><i>both</i></b>"], "both", id="nested"
    ),
    pytest.param(
        text("see ", ("the docs", char(href="https://example.org/docs")), "."),
        ['see <a href="https://example.org/docs">the docs</a>.'],
        "see the docs <https://example.org/docs>.",
        id="link",
    ),
    pytest.param(
        text(("https://example.org", char(href="https://example.org"))),
        ['<a href="https://example.org">https://example.org</a>'],
        "https://example.org",
        id="link-that-is-its-url",
    ),
    pytest.param(
        text(("ann@example.org", char(href="mailto:ann@example.org"))),
        ['<a href="mailto:ann@example.org">ann@example.org</a>'],
        "ann@example.org",
        id="mail-link",
    ),
    pytest.param(
        text(("a&b", char(href="https://example.org/?a=1&b=2"))),
        ['<a href="https://example.org/?a=1&amp;b=2">a&amp;b</a>'],
        "a&b <https://example.org/?a=1&b=2>",
        id="link-escaped",
    ),
    pytest.param(
        listed(("one", 1), ("two", 1)),
        ["<ul>\n<li>one</li>\n<li>two</li></ul>"],
        "- one\n- two",
        id="bullets",
    ),
    pytest.param(
        listed(("one", 1), ("two", 1), style=_Style.ListDecimal),
        ["<ol>\n<li>one</li>\n<li>two</li></ol>"],
        "1. one\n2. two",
        id="numbers",
    ),
    pytest.param(
        listed(("one", 1), ("inner", 2), ("deeper", 3), ("two", 1)),
        ["<li>one<ul>\n<li>inner<ul>\n<li>deeper</li></ul></li></ul></li>\n<li>two</li>"],
        "- one\n  - inner\n    - deeper\n- two",
        id="nested-bullets",
    ),
    pytest.param(
        listed(("one", 1), ("sub", 2), ("two", 1), style=_Style.ListDecimal),
        ["<ol>\n<li>one<ol>\n<li>sub</li></ol></li>\n<li>two</li></ol>"],
        "1. one\n   1. sub\n2. two",
        id="nested-numbers",
    ),
    pytest.param(
        listed(("in a quote", 1), quote=1),
        [f'<blockquote style="{QUOTE_STYLE}">\n<ul>\n<li>in a quote</li></ul></blockquote>'],
        "> - in a quote",
        id="list-in-quote",
    ),
    pytest.param(
        quoted(("me", 0), ("you", 1), ("", 1), ("them", 2), ("me", 0)),
        [
            "<div>me</div>\n"
            f'<blockquote style="{QUOTE_STYLE}">\n<div>you</div>\n<div><br></div>\n'
            f'<blockquote style="{QUOTE_STYLE}">\n<div>them</div>'
            "</blockquote></blockquote>\n<div>me</div>"
        ],
        "me\n> you\n>\n> > them\nme",
        id="quotes",
    ),
    pytest.param(
        text(("red", char(colour="#ff0000"))),
        ['<span style="color:#ff0000">red</span>'],
        "red",
        id="colour",
    ),
    pytest.param(
        text(("big", char(size=20))), ['<span style="font-size:20pt">big</span>'], "big", id="size"
    ),
    pytest.param(
        text(("both", char(size=14, colour="#00aa00", bold=True))),
        ['<span style="color:#00aa00; font-size:14pt"><b>both</b></span>'],
        "both",
        id="colour-and-size",
    ),
    pytest.param(
        text(("<script>alert('x')</script> & co", char(bold=True))),
        ["<b>&lt;script&gt;alert('x')&lt;/script&gt; &amp; co</b>"],
        "<script>alert('x')</script> & co",
        id="escaping",
    ),
    pytest.param(
        text(("b", char(bold=True)), "one\u2028two   spaced\u2028 lead"),
        ["<b>b</b>one<br>two &nbsp;&nbsp;spaced<br>&nbsp;lead"],
        "bone\ntwo   spaced\n lead",
        id="line-breaks-and-spaces",
    ),
    pytest.param(
        text(("b", char(bold=True)), "end\u2028"),
        ["<div><b>b</b>end<br><br></div>"],  # a browser shows no line for a final <br>
        "bend\n",
        id="line-break-at-the-end",
    ),
    pytest.param(
        text(("bold\u2028", char(bold=True))),
        ["<div><b>bold<br></b><br></div>"],
        "bold\n",
        id="styled-line-break-at-the-end",
    ),
]


@pytest.mark.parametrize(("build", "fragments", "plain"), FORMATTED)
def test_formatting_gives_html_and_plain_twin(
    qapp: QApplication, build: Build, fragments: list[str], plain: str
) -> None:
    html, plain_text, formatted = parts_of(build)

    assert formatted is True
    assert html.startswith('<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n')
    assert '<body style="font-family: sans-serif;">' in html
    assert html.rstrip().endswith("</body></html>")
    for fragment in fragments:
        assert fragment in html
    assert plain_text == plain


UNFORMATTED = [
    pytest.param(text("Hello,\n"), id="plain"),
    pytest.param(text("<script>alert(1)</script>"), id="markup-typed-as-text"),
    pytest.param(text(("black", char(colour="#000000"))), id="black-is-the-default"),
    pytest.param(text(("js", char(href="javascript:alert(1)"))), id="script-link-dropped"),
    pytest.param(text(("here", char(href="#top"))), id="page-anchor-dropped"),
]


@pytest.mark.parametrize("build", UNFORMATTED)
def test_no_formatting_means_plain_text_only(qapp: QApplication, build: Build) -> None:
    document = QTextDocument()
    build(QTextCursor(document))

    parts = document_parts(document)

    assert parts.formatted is False
    assert parts.html == ""
    assert parts.images == ()
    assert parts.plain == document.toPlainText()


def test_the_default_font_size_is_no_formatting(qapp: QApplication) -> None:
    document = QTextDocument()
    size = document.defaultFont().pointSizeF()
    QTextCursor(document).insertText("same", char(size=size))

    assert document_parts(document).formatted is False


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\ufffc")))
def test_typed_text_is_sent_exactly_as_typed(qapp: QApplication, typed: str) -> None:
    document = QTextDocument()
    document.setPlainText(typed)

    parts = document_parts(document)

    assert parts.formatted is False
    assert parts.plain == document.toPlainText()


def test_signature_separator_keeps_its_space(qapp: QApplication) -> None:
    document = QTextDocument()
    cursor = QTextCursor(document)
    cursor.insertText("Hi ")
    cursor.insertText("there", char(bold=True))
    cursor.insertText("\n-- \nAnn")

    assert document_parts(document).plain == "Hi there\n-- \nAnn"


def picture(width: int = 32, height: int = 16, colour: str = "#3366cc") -> QImage:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor(colour))
    return image


def test_inserted_image_becomes_one_inline_image(qapp: QApplication) -> None:
    document = QTextDocument()
    cursor = QTextCursor(document)
    cursor.insertText("Look: ")
    insert_image(cursor, picture(), "chart.bmp")

    parts = document_parts(document)

    assert parts.formatted is True
    [image] = parts.images
    assert image.content_type == "image/png"
    assert image.filename == "chart.png"
    assert image.cid.endswith("@composer")
    assert QImage.fromData(image.data).size() == picture().size()
    assert f'<img src="cid:{image.cid}" alt="chart.bmp">' in parts.html
    assert parts.plain == "Look: [image: chart.bmp]"


def test_jpeg_and_png_data_are_sent_unchanged(qapp: QApplication) -> None:
    png = png_bytes(picture())
    document = QTextDocument()
    cursor = QTextCursor(document)
    insert_image(cursor, picture(), "one.png", png)
    insert_image(cursor, picture(colour="#cc3366"), "two.jpg", b"\xff\xd8\xff\xe0 pretend")

    images = document_parts(document).images

    assert [(i.data, i.content_type, i.filename) for i in images] == [
        (png, "image/png", "one.png"),
        (b"\xff\xd8\xff\xe0 pretend", "image/jpeg", "two.jpg"),
    ]


def test_an_image_shown_twice_is_sent_once(qapp: QApplication) -> None:
    document = QTextDocument()
    cursor = QTextCursor(document)
    insert_image(cursor, picture(), "logo.png")
    image_format = document.begin().begin().fragment().charFormat().toImageFormat()
    cursor.insertText(" and ")
    cursor.insertImage(image_format)

    parts = document_parts(document)

    [image] = parts.images
    assert parts.html.count(f'src="cid:{image.cid}"') == 2
    assert parts.plain == "[image: logo.png] and [image: logo.png]"


def test_wide_images_are_sent_at_display_width(qapp: QApplication) -> None:
    document = QTextDocument()
    insert_image(QTextCursor(document), picture(1280, 320), "wide.png")

    parts = document_parts(document)

    assert 'width="640" height="160"' in parts.html
    assert QImage.fromData(parts.images[0].data).width() == 1280


def test_html_from_elsewhere_is_read_too(qapp: QApplication) -> None:
    """Signatures and drafts arrive as HTML through Qt's importer (its <blockquote> too)."""
    document = QTextDocument()
    document.setHtml(
        "<p>Hi <b>Ann</b></p><blockquote>quoted</blockquote>"
        "<ol><li>one<ul><li>sub</li></ul></li></ol>"
        '<p><img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlE'
        'QVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==" alt="dot"></p>'
        '<p><img src="https://example.org/logo.png" alt="logo"></p>'
    )

    parts = document_parts(document)

    assert parts.plain == "Hi Ann\n> quoted\n1. one\n   - sub\n[image: dot]\n[image: logo]"
    [dot] = parts.images
    assert dot.data.startswith(b"\x89PNG")
    assert dot.filename == "dot.png"
    assert f'<img src="cid:{dot.cid}" alt="dot">' in parts.html
    # Not embedded: the recipient's client decides whether to fetch it.
    assert '<img src="https://example.org/logo.png" alt="logo">' in parts.html


@pytest.mark.parametrize(("build", "fragments", "plain"), FORMATTED)
def test_html_written_reads_back_the_same(
    qtbot: QtBot, build: Build, fragments: list[str], plain: str
) -> None:
    """A draft saved as HTML and shown again is the same message."""
    document = QTextDocument()
    build(QTextCursor(document))
    written = document_parts(document)
    body = BodyEdit()
    qtbot.addWidget(body)

    body.set_html_with_images(written.html, written.images)

    assert document_parts(body.document()) == written

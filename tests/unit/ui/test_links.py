"""Links in the body: what a typed target becomes, and making, finding and removing links."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QBrush, QColor, QFont, QTextCharFormat, QTextCursor, QTextDocument

from composer.ui.fonts import is_bold
from composer.ui.links import apply_link, link_format, normalized_url, select_link, without_link

BLUE = QBrush(QColor("#0000ee"))

# Documents need the QApplication to exist first.
pytestmark = pytest.mark.usefixtures("qapp")


@pytest.mark.parametrize(
    ("typed", "url"),
    [
        ("example.org", "https://example.org"),
        ("  example.org/a?b=c  ", "https://example.org/a?b=c"),
        ("http://example.org", "http://example.org"),
        ("HTTPS://Example.org", "HTTPS://Example.org"),
        ("ftp://files.example.org", "ftp://files.example.org"),
        ("mailto:ann@example.org", "mailto:ann@example.org"),
        ("tel:+4930123", "tel:+4930123"),
        ("ann@example.org", "mailto:ann@example.org"),
        ("example.org/@ann", "https://example.org/@ann"),  # a path, not an address
        ("", ""),
        ("   ", ""),
    ],
)
def test_what_the_user_typed_is_made_a_url(typed: str, url: str) -> None:
    assert normalized_url(typed) == url


def linked_document() -> QTextDocument:
    """'see the site now', with 'the site' linked to https://example.org/."""
    doc = QTextDocument()
    cursor = QTextCursor(doc)
    cursor.insertText("see ", QTextCharFormat())
    cursor.insertText("the site", link_format("https://example.org/", BLUE))
    cursor.insertText(" now", QTextCharFormat())
    return doc


def at(doc: QTextDocument, position: int, anchor: int | None = None) -> QTextCursor:
    cursor = QTextCursor(doc)
    cursor.setPosition(position if anchor is None else anchor)
    cursor.setPosition(position, QTextCursor.MoveMode.KeepAnchor)
    return cursor


@pytest.mark.parametrize("position", [5, 8, 12], ids=["inside", "middle", "at-end"])
def test_the_link_at_the_cursor_is_selected_whole(position: int) -> None:
    doc = linked_document()
    cursor = at(doc, position)

    href = select_link(cursor)

    assert href == "https://example.org/"
    assert cursor.selectedText() == "the site"


@pytest.mark.parametrize("position", [1, 14])
def test_outside_a_link_nothing_is_selected(position: int) -> None:
    doc = linked_document()
    cursor = at(doc, position)

    assert select_link(cursor) == ""
    assert not cursor.hasSelection()


def test_a_selection_is_kept_as_it_is() -> None:
    doc = linked_document()
    cursor = at(doc, 6, anchor=2)

    select_link(cursor)

    assert cursor.selectedText() == "e th"


def test_two_links_side_by_side_are_told_apart() -> None:
    doc = QTextDocument()
    cursor = QTextCursor(doc)
    cursor.insertText("one", link_format("https://one.example/", BLUE))
    cursor.insertText("two", link_format("https://two.example/", BLUE))

    found = at(doc, 4)
    href = select_link(found)

    assert (href, found.selectedText()) == ("https://two.example/", "two")


def test_a_link_looks_like_one() -> None:
    char_format = link_format("https://example.org/", BLUE)

    assert char_format.isAnchor()
    assert char_format.anchorHref() == "https://example.org/"
    assert char_format.fontUnderline()
    assert char_format.foreground().color() == BLUE.color()


def test_without_a_link_the_text_keeps_its_other_formatting() -> None:
    char_format = link_format("https://example.org/", BLUE)
    char_format.setFontWeight(QFont.Weight.Bold)

    plain = without_link(char_format)

    assert not plain.isAnchor()
    assert plain.anchorHref() == ""
    assert not plain.fontUnderline()
    assert plain.foreground().color() != BLUE.color()
    assert is_bold(plain)


def test_a_selection_becomes_a_link_and_the_cursor_ends_after_it() -> None:
    doc = QTextDocument()
    doc.setPlainText("read this page")
    cursor = at(doc, 5, anchor=9)  # selected leftwards, as a mouse drag may

    apply_link(cursor, "example.org", None, BLUE)

    check = at(doc, 7)
    assert select_link(check) == "https://example.org"
    assert check.selectedText() == "this"
    assert (cursor.position(), cursor.hasSelection()) == (9, False)
    assert doc.toPlainText() == "read this page"


def test_with_nothing_selected_the_address_is_inserted_as_the_link() -> None:
    doc = QTextDocument()
    doc.setPlainText("write to ")
    cursor = at(doc, 9)

    apply_link(cursor, "ann@example.org", None, BLUE)

    assert doc.toPlainText() == "write to ann@example.org"
    check = at(doc, 12)
    assert select_link(check) == "mailto:ann@example.org"
    assert cursor.position() == len("write to ann@example.org")


def test_text_other_than_the_selection_replaces_it() -> None:
    doc = QTextDocument()
    doc.setPlainText("see here")
    cursor = at(doc, 8, anchor=4)

    apply_link(cursor, "https://example.org/", "our site", BLUE)

    assert doc.toPlainText() == "see our site"
    check = at(doc, 6)
    assert (select_link(check), check.selectedText()) == ("https://example.org/", "our site")


def test_a_link_at_the_cursor_is_changed_whole() -> None:
    doc = linked_document()
    cursor = at(doc, 6)

    apply_link(cursor, "https://other.example/", None, BLUE)

    check = at(doc, 10)
    assert (select_link(check), check.selectedText()) == ("https://other.example/", "the site")
    assert doc.toPlainText() == "see the site now"


def test_an_empty_url_removes_the_link_and_keeps_the_text() -> None:
    doc = linked_document()
    cursor = at(doc, 6)

    apply_link(cursor, "  ", None, BLUE)

    assert doc.toPlainText() == "see the site now"
    assert select_link(at(doc, 6)) == ""


def test_making_a_link_is_one_undo_step() -> None:
    doc = QTextDocument()
    doc.setPlainText("see here")
    cursor = at(doc, 8, anchor=4)

    apply_link(cursor, "example.org", "our site", BLUE)
    doc.undo()

    assert doc.toPlainText() == "see here"
    assert select_link(at(doc, 6)) == ""

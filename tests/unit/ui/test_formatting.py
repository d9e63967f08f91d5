"""Formatting commands on the body's document: lists, quote levels, clearing, imported HTML."""

from __future__ import annotations

import pytest
from PySide6.QtGui import (
    QFont,
    QImage,
    QTextBlock,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
    QTextListFormat,
)

from composer.ui import formatting
from composer.ui.body_model import quote_level
from composer.ui.document_images import insert_image
from composer.ui.fonts import is_bold
from composer.ui.rich_text import document_parts

Style = QTextListFormat.Style

# Documents and fonts need the QApplication to exist first.
pytestmark = pytest.mark.usefixtures("qapp")


def document(*paragraphs: str) -> QTextDocument:
    result = QTextDocument()
    result.setPlainText("\n".join(paragraphs))
    return result


def blocks(doc: QTextDocument) -> list[QTextBlock]:
    found, block = [], doc.begin()
    while block.isValid():
        found.append(block)
        block = block.next()
    return found


def select(doc: QTextDocument, start: int, end: int) -> QTextCursor:
    cursor = QTextCursor(doc)
    cursor.setPosition(start)
    cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
    return cursor


def select_all(doc: QTextDocument) -> QTextCursor:
    cursor = QTextCursor(doc)
    cursor.select(QTextCursor.SelectionType.Document)
    return cursor


def shape(doc: QTextDocument) -> list[tuple[str, str | None, int, int]]:
    """Each block: its text, list style name (None outside lists), list depth, quote level."""
    result = []
    for block in blocks(doc):
        text_list = block.textList()
        style = text_list.format().style().name if text_list else None
        depth = text_list.format().indent() if text_list else 0
        result.append((block.text(), style, depth, quote_level(block.blockFormat())))
    return result


# --- which blocks a command applies to ------------------------------------------------------


def test_without_a_selection_the_cursors_block() -> None:
    doc = document("one", "two", "three")

    chosen = formatting.selected_blocks(select(doc, 5, 5))

    assert [b.text() for b in chosen] == ["two"]


def test_a_selection_ending_at_a_blocks_start_leaves_that_block_out() -> None:
    doc = document("one", "two", "three")

    # From inside "one" to the very start of "three", as a triple-click drag selects.
    chosen = formatting.selected_blocks(select(doc, 1, 8))

    assert [b.text() for b in chosen] == ["one", "two"]


def test_a_selection_into_a_block_takes_it() -> None:
    doc = document("one", "two", "three")

    chosen = formatting.selected_blocks(select(doc, 1, 9))

    assert [b.text() for b in chosen] == ["one", "two", "three"]


# --- lists ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("depth", "expected"),
    [(1, Style.ListDisc), (2, Style.ListCircle), (3, Style.ListSquare), (7, Style.ListSquare)],
)
def test_bullets_change_shape_with_depth(depth: int, expected: Style) -> None:
    assert formatting.list_style(Style.ListDisc, depth) == expected
    assert formatting.list_style(Style.ListSquare, depth) == expected


@pytest.mark.parametrize("style", [Style.ListDecimal, Style.ListLowerAlpha, Style.ListUpperRoman])
def test_numbers_keep_their_style_at_every_depth(style: Style) -> None:
    assert {formatting.list_style(style, depth) for depth in (1, 2, 5)} == {style}


def test_toggling_a_list_makes_one_and_undoes_it() -> None:
    doc = document("one", "two", "three")

    formatting.toggle_list(select(doc, 0, 7), Style.ListDisc)

    assert shape(doc) == [
        ("one", "ListDisc", 1, 0),
        ("two", "ListDisc", 1, 0),
        ("three", None, 0, 0),
    ]
    assert blocks(doc)[0].textList() == blocks(doc)[1].textList()

    formatting.toggle_list(select(doc, 0, 7), Style.ListDisc)

    assert shape(doc) == [("one", None, 0, 0), ("two", None, 0, 0), ("three", None, 0, 0)]


def test_toggling_the_other_kind_changes_the_list_in_place() -> None:
    doc = document("one", "two")
    formatting.toggle_list(select_all(doc), Style.ListDisc)
    bullets = blocks(doc)[0].textList()

    formatting.toggle_list(select_all(doc), Style.ListDecimal)

    assert [s[1] for s in shape(doc)] == ["ListDecimal", "ListDecimal"]
    assert blocks(doc)[0].textList() == bullets


def test_toggling_over_a_list_and_a_paragraph_makes_one_list() -> None:
    doc = document("one", "two")
    formatting.toggle_list(select(doc, 0, 0), Style.ListDecimal)

    formatting.toggle_list(select_all(doc), Style.ListDisc)

    assert [s[1] for s in shape(doc)] == ["ListDisc", "ListDisc"]
    assert blocks(doc)[0].textList() == blocks(doc)[1].textList()


def test_a_list_made_in_a_quote_stays_quoted_and_leaving_it_keeps_the_quote() -> None:
    doc = document("quoted")
    formatting.set_quote_level(doc.begin(), 2)

    formatting.toggle_list(select(doc, 0, 0), Style.ListDisc)
    assert shape(doc) == [("quoted", "ListDisc", 1, 2)]

    formatting.remove_from_list(doc.begin())
    assert shape(doc) == [("quoted", None, 0, 2)]


def test_removing_a_paragraph_from_no_list_does_nothing() -> None:
    doc = document("plain")

    formatting.remove_from_list(doc.begin())

    assert shape(doc) == [("plain", None, 0, 0)]


# --- indent and quote levels ------------------------------------------------------------------


def test_indent_quotes_a_paragraph_and_outdent_stops_at_zero() -> None:
    doc = document("text")
    cursor = select(doc, 0, 0)

    formatting.change_indent(cursor, 1)
    formatting.change_indent(cursor, 1)
    assert shape(doc) == [("text", None, 0, 2)]

    for _ in range(3):
        formatting.change_indent(cursor, -1)
    assert shape(doc) == [("text", None, 0, 0)]


def test_indent_nests_a_list_item_under_the_one_above() -> None:
    doc = document("one", "two", "three")
    formatting.toggle_list(select_all(doc), Style.ListDisc)

    formatting.change_indent(select(doc, 4, 4), 1)

    assert shape(doc) == [
        ("one", "ListDisc", 1, 0),
        ("two", "ListCircle", 2, 0),
        ("three", "ListDisc", 1, 0),
    ]
    assert blocks(doc)[0].textList() == blocks(doc)[2].textList()


def test_a_nested_item_rejoins_a_sibling_list_at_its_depth() -> None:
    doc = document("one", "two", "three")
    formatting.toggle_list(select_all(doc), Style.ListDisc)
    formatting.change_indent(select(doc, 4, 4), 1)

    formatting.change_indent(select(doc, 8, 8), 1)

    assert [s[2] for s in shape(doc)] == [1, 2, 2]
    assert blocks(doc)[1].textList() == blocks(doc)[2].textList()


def test_outdenting_a_top_level_item_ends_its_bullet() -> None:
    doc = document("one", "two")
    formatting.toggle_list(select_all(doc), Style.ListDecimal)

    formatting.change_indent(select(doc, 0, 0), -1)

    assert shape(doc) == [("one", None, 0, 0), ("two", "ListDecimal", 1, 0)]


def test_a_quote_level_replaces_the_margins_of_an_imported_blockquote() -> None:
    doc = QTextDocument()
    doc.setHtml("<blockquote>quoted</blockquote>")
    block = doc.begin()
    assert block.blockFormat().hasProperty(QTextFormat.Property.BlockQuoteLevel)

    formatting.set_quote_level(block, 1)

    block = doc.begin()
    assert not block.blockFormat().hasProperty(QTextFormat.Property.BlockQuoteLevel)
    assert (block.blockFormat().leftMargin(), block.blockFormat().indent()) == (0, 1)
    assert quote_level(block.blockFormat()) == 1


# --- imported HTML ----------------------------------------------------------------------------


def imported(html: str) -> QTextDocument:
    doc = QTextDocument()
    doc.setHtml(html)
    formatting.normalize_imported(doc)
    return doc


def test_every_block_of_an_imported_quote_gets_its_level() -> None:
    doc = imported("<p>before</p><blockquote><p>one</p><p>two</p></blockquote><p>after</p>")

    assert [(s[0], s[3]) for s in shape(doc)] == [
        ("before", 0),
        ("one", 1),
        ("two", 1),
        ("after", 0),
    ]
    assert all(b.blockFormat().leftMargin() == 0 for b in blocks(doc))


def test_nested_imported_quotes_count_their_depth() -> None:
    doc = imported("<blockquote><p>one</p><blockquote><p>two</p></blockquote></blockquote>")

    assert [(s[0], s[3]) for s in shape(doc)] == [("one", 1), ("two", 2)]


def test_our_own_sent_quotes_read_back_at_their_level() -> None:
    source = document("top", "deeper", "top again")
    formatting.set_quote_level(blocks(source)[0], 1)
    formatting.set_quote_level(blocks(source)[1], 3)
    formatting.set_quote_level(blocks(source)[2], 1)
    html = document_parts(source).html
    assert html is not None

    doc = imported(html)

    assert [(s[0], s[3]) for s in shape(doc)] == [("top", 1), ("deeper", 3), ("top again", 1)]


def test_a_line_break_that_ends_a_paragraph_is_dropped() -> None:
    doc = imported("<p>one<br></p><p>two<br>three</p>")

    assert [b.text() for b in blocks(doc)] == ["one", "two\u2028three"]


# --- runs and clearing ------------------------------------------------------------------------


def bold_document() -> QTextDocument:
    doc = QTextDocument()
    cursor = QTextCursor(doc)
    bold = QTextCharFormat()
    bold.setFontWeight(QFont.Weight.Bold)
    cursor.insertText("plain ")
    cursor.insertText("bold", bold)
    cursor.insertText(" plain", QTextCharFormat())
    return doc


def test_runs_are_cut_at_the_selection() -> None:
    doc = bold_document()

    runs = list(formatting.selected_runs(select(doc, 3, 8)))

    assert [(start, end, is_bold(f)) for start, end, f in runs] == [(3, 6, False), (6, 8, True)]


def test_runs_span_blocks() -> None:
    doc = document("ab", "cd")

    runs = list(formatting.selected_runs(select(doc, 1, 4)))

    assert [(start, end) for start, end, _ in runs] == [(1, 2), (3, 4)]


def test_replacing_formats_keeps_images() -> None:
    doc = document("text ")
    cursor = QTextCursor(doc)
    cursor.movePosition(QTextCursor.MoveOperation.End)
    image = QImage(4, 4, QImage.Format.Format_RGB32)
    image.fill(0xFF0000)
    insert_image(cursor, image, "red.png")

    formatting.replace_formats(select_all(doc), lambda _format: QTextCharFormat())

    last = QTextCursor(doc)
    last.movePosition(QTextCursor.MoveOperation.End)
    assert last.charFormat().isImageFormat()


def test_clearing_makes_text_plain_and_blocks_unquoted_paragraphs() -> None:
    doc = bold_document()
    formatting.toggle_list(select_all(doc), Style.ListDisc)
    formatting.set_quote_level(doc.begin(), 2)

    formatting.clear_formatting(select_all(doc))

    assert shape(doc) == [("plain bold plain", None, 0, 0)]
    assert not any(is_bold(f) for *_, f in formatting.selected_runs(select_all(doc)))
    assert not document_parts(doc).formatted


def test_clearing_is_one_undo_step() -> None:
    doc = bold_document()
    formatting.toggle_list(select_all(doc), Style.ListDisc)
    before = shape(doc)

    formatting.clear_formatting(select_all(doc))
    doc.undo()

    assert shape(doc) == before
    assert [is_bold(f) for *_, f in formatting.selected_runs(select_all(doc))] == [
        False,
        True,
        False,
    ]

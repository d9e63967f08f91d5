"""The form's draft of a blank body, taken without the rich-text writer, is the writer's own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtGui import QTextCursor, QTextListFormat
from pytestqt.qtbot import QtBot

from composer.mail.addressbook import AddressBook
from composer.ui import formatting
from composer.ui.compose_form import ComposeForm
from composer.ui.rich_text import document_parts


def _nothing(cursor: QTextCursor) -> None:
    pass


def _bullet_list(cursor: QTextCursor) -> None:
    formatting.toggle_list(cursor, QTextListFormat.Style.ListDisc)


def _quote(cursor: QTextCursor) -> None:
    formatting.change_indent(cursor, 1)


def _typed_then_deleted(cursor: QTextCursor) -> None:
    cursor.insertText("gone")
    cursor.select(QTextCursor.SelectionType.Document)
    cursor.removeSelectedText()


def _empty_lines(cursor: QTextCursor) -> None:
    cursor.insertText("\n\n")


@pytest.mark.parametrize(
    "change", [_nothing, _bullet_list, _quote, _typed_then_deleted, _empty_lines]
)
def test_the_draft_of_an_empty_looking_body_is_what_the_writer_makes(
    qtbot: QtBot, tmp_path: Path, change: Callable[[QTextCursor], None]
) -> None:
    form = ComposeForm(AddressBook(tmp_path / "addressbook.sqlite3"))
    qtbot.addWidget(form)
    cursor = form.body.textCursor()
    change(cursor)
    form.body.setTextCursor(cursor)

    parts = document_parts(form.body.document())
    draft = form.draft()

    assert (draft.body, draft.html, draft.inline_images) == (
        parts.plain,
        parts.html if parts.formatted else "",
        parts.images if parts.formatted else (),
    )
    if change is _bullet_list or change is _quote:
        assert parts.formatted  # the cases the shortcut must leave to the writer

"""The account's signature at the end of the body, swapped with the From account while untouched."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QTextEdit
from pytestqt.qtbot import QtBot

from composer.mail.accounts import Account
from composer.ui.fonts import is_bold
from composer.ui.signature import SEPARATOR, SignatureKeeper

WORK = Account(id="work", name="Work", email="ann@work.example", signature="Ann Lee\nACME")
HOME = Account(id="home", name="Home", email="ann@home.example", signature="Ann")
BARE = Account(id="bare", name="Bare", email="ann@bare.example")


@pytest.fixture
def body(qtbot: QtBot) -> QTextEdit:
    edit = QTextEdit()
    qtbot.addWidget(edit)
    return edit


def type_at_start(body: QTextEdit, text: str) -> None:
    cursor = QTextCursor(body.document())
    cursor.insertText(text)


def place_cursor(body: QTextEdit, position: int) -> None:
    cursor = body.textCursor()
    cursor.setPosition(position)
    body.setTextCursor(cursor)


def test_the_separator_keeps_its_trailing_space() -> None:
    assert SEPARATOR == "-- "


def test_a_new_message_gets_the_signature_below_the_separator(body: QTextEdit) -> None:
    SignatureKeeper(body).insert(WORK)

    assert body.toPlainText() == "\n\n-- \nAnn Lee\nACME"
    assert body.textCursor().position() == 0  # the user writes above it
    assert not body.document().isModified()


@pytest.mark.parametrize("account", [None, BARE, Account(signature="  \n ")])
def test_no_signature_adds_nothing(body: QTextEdit, account: Account | None) -> None:
    SignatureKeeper(body).insert(account)

    assert body.toPlainText() == ""


def test_an_html_signature_keeps_its_formatting(body: QTextEdit) -> None:
    account = Account(signature="<b>Ann</b> Lee", signature_html=True)

    SignatureKeeper(body).insert(account)

    assert body.toPlainText() == "\n\n-- \nAnn Lee"
    cursor = QTextCursor(body.document())
    cursor.setPosition(len("\n\n-- \nA"))
    assert is_bold(cursor.charFormat())
    cursor.setPosition(len("\n\n-- \nAnn L"))
    assert not is_bold(cursor.charFormat())


def test_an_untouched_signature_follows_the_account(body: QTextEdit) -> None:
    keeper = SignatureKeeper(body)
    keeper.insert(WORK)
    type_at_start(body, "Dear Bob,")
    place_cursor(body, 4)

    keeper.switch(HOME)

    assert body.toPlainText() == "Dear Bob,\n\n-- \nAnn"
    assert body.textCursor().position() == 4


def test_switching_back_and_forth_keeps_one_signature(body: QTextEdit) -> None:
    keeper = SignatureKeeper(body)
    keeper.insert(WORK)

    for account in (HOME, WORK, HOME, WORK):
        keeper.switch(account)

    assert body.toPlainText() == "\n\n-- \nAnn Lee\nACME"


def test_an_edited_signature_is_the_users(body: QTextEdit) -> None:
    keeper = SignatureKeeper(body)
    keeper.insert(WORK)
    cursor = QTextCursor(body.document())
    cursor.movePosition(QTextCursor.MoveOperation.End)
    cursor.insertText(" (Berlin office)")

    keeper.switch(HOME)

    assert body.toPlainText() == "\n\n-- \nAnn Lee\nACME (Berlin office)"


def test_text_typed_below_the_signature_keeps_it(body: QTextEdit) -> None:
    keeper = SignatureKeeper(body)
    keeper.insert(WORK)
    cursor = QTextCursor(body.document())
    cursor.movePosition(QTextCursor.MoveOperation.End)
    cursor.insertText("\nP.S. call me")

    keeper.switch(HOME)

    assert body.toPlainText().endswith("ACME\nP.S. call me")
    assert "\nAnn\n" not in body.toPlainText()


def test_switching_to_an_account_without_signature_removes_it(body: QTextEdit) -> None:
    keeper = SignatureKeeper(body)
    keeper.insert(WORK)
    type_at_start(body, "Hi")

    keeper.switch(BARE)
    keeper.switch(HOME)

    assert body.toPlainText() == "Hi"  # the typed text is no longer known to be ours alone


def test_an_empty_body_gets_the_new_accounts_signature(body: QTextEdit) -> None:
    keeper = SignatureKeeper(body)
    keeper.insert(BARE)

    keeper.switch(HOME)

    assert body.toPlainText() == "\n\n-- \nAnn"


def test_typed_text_without_a_signature_is_left_alone(body: QTextEdit) -> None:
    keeper = SignatureKeeper(body)
    keeper.insert(BARE)
    body.setPlainText("All mine")

    keeper.switch(HOME)

    assert body.toPlainText() == "All mine"


def test_a_forgotten_signature_is_not_removed(body: QTextEdit) -> None:
    keeper = SignatureKeeper(body)
    keeper.insert(WORK)
    keeper.forget()  # e.g. a draft was loaded in its place

    keeper.switch(HOME)

    assert body.toPlainText() == "\n\n-- \nAnn Lee\nACME"


def test_the_cursor_stays_inside_a_shorter_body(body: QTextEdit) -> None:
    keeper = SignatureKeeper(body)
    keeper.insert(WORK)
    place_cursor(body, len(body.toPlainText()))

    keeper.switch(HOME)

    assert body.textCursor().position() == len("\n\n-- \nAnn")


def test_an_html_signature_of_several_paragraphs_is_swapped_whole(body: QTextEdit) -> None:
    keeper = SignatureKeeper(body)
    keeper.insert(
        Account(id="x", signature="<p>Ann Lee</p><p><i>ACME</i></p>", signature_html=True)
    )
    type_at_start(body, "Hello")

    keeper.switch(HOME)

    assert body.toPlainText() == "Hello\n\n-- \nAnn"

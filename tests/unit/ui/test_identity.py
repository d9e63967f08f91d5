"""A message follows its From account: signature and default Cc and Bcc, where untouched."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from PySide6.QtWidgets import QLineEdit, QTextEdit
from pytestqt.qtbot import QtBot

from composer.mail.accounts import Account
from composer.ui.identity import IdentityKeeper

WORK = Account(
    id="work",
    email="ann@work.example",
    signature="Ann, ACME",
    default_cc="team@work.example",
    default_bcc="archive@work.example",
)
HOME = Account(id="home", email="ann@home.example", signature="Ann", default_cc="me@home.example")


@dataclass
class Message:
    body: QTextEdit
    cc: QLineEdit
    bcc: QLineEdit
    keeper: IdentityKeeper

    def fields(self) -> tuple[str, str, str]:
        return self.body.toPlainText(), self.cc.text(), self.bcc.text()


@pytest.fixture
def message(qtbot: QtBot) -> Message:
    body, cc, bcc = QTextEdit(), QLineEdit(), QLineEdit()
    for widget in (body, cc, bcc):
        qtbot.addWidget(widget)
    return Message(body, cc, bcc, IdentityKeeper(body, cc, bcc))


def test_a_new_message_is_filled_for_its_account(message: Message) -> None:
    message.keeper.start(WORK)

    assert message.fields() == ("\n\n-- \nAnn, ACME", "team@work.example", "archive@work.example")
    assert message.keeper.account == WORK


def test_a_new_message_without_an_account_stays_empty(message: Message) -> None:
    message.keeper.start(None)

    assert message.fields() == ("", "", "")
    assert message.keeper.account is None


def test_switching_swaps_everything_still_untouched(message: Message) -> None:
    message.keeper.start(WORK)

    message.keeper.switch(HOME)

    assert message.fields() == ("\n\n-- \nAnn", "me@home.example", "")
    assert message.keeper.account == HOME


def test_what_the_user_changed_stays(message: Message) -> None:
    message.keeper.start(WORK)
    message.cc.setText("bob@example.net")

    message.keeper.switch(HOME)

    assert message.fields() == ("\n\n-- \nAnn", "bob@example.net", "")


def test_switching_to_the_same_account_changes_nothing(message: Message) -> None:
    message.keeper.start(WORK)
    message.cc.clear()
    renamed = Account(id="work", email="ann@work.example", default_cc="other@work.example")

    message.keeper.switch(renamed)

    assert message.fields() == ("\n\n-- \nAnn, ACME", "", "archive@work.example")
    assert message.keeper.account == renamed


def test_a_forgotten_body_keeps_its_text_on_a_switch(message: Message) -> None:
    message.keeper.start(WORK)
    message.keeper.forget()

    message.keeper.switch(HOME)

    assert message.fields() == ("\n\n-- \nAnn, ACME", "me@home.example", "")

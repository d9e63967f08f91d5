"""Completion after a sent message: send through the sandbox, then the address is suggested."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from composer.mail.addresses import parse_list
from composer.ui.widgets.address_edit import AddressLineEdit
from tests.windows import MakeWindow, fill, send

pytestmark = [
    # The offscreen platform cannot raise or grab for the completer's popup; harmless.
    pytest.mark.qt_log_ignore(
        "This plugin does not support raise", "This plugin does not support grabbing", extend=True
    ),
]


def suggestions_for(qtbot: QtBot, edit: AddressLineEdit, typed: str) -> list[str]:
    """Type into edit as a keyboard does and return what the popup offers."""
    # Offscreen, a window is only active when asked; the popup closes when its field has no focus.
    edit.window().windowHandle().requestActivate()
    qtbot.waitUntil(edit.window().isActiveWindow, timeout=5000)
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus, timeout=5000)
    for char in typed:
        qtbot.keyClicks(QApplication.activePopupWidget() or edit, char)
    popup = edit.address_completer().popup()
    assert popup is not None
    qtbot.waitUntil(popup.isVisible, timeout=5000)
    model = edit.address_completer().completionModel()
    return [model.index(row, 0).data() for row in range(model.rowCount())]


def test_sent_addresses_are_suggested_in_a_new_window(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    window = make_window()
    fill(
        window,
        to="Friend Person <friend@example.org>, frank@example.net",
        cc='"Lee, Bob" <bob@example.org>',
        bcc="Hidden <hidden@example.org>",
        subject="Hello",
        body="Hi",
    )
    assert send(qtbot, window) is True
    fill(window, to="frank@example.net", subject="Again", body="Hi again")
    assert send(qtbot, window) is True
    window.close()

    again = make_window()
    assert isinstance(again.form.to, AddressLineEdit)

    # Frank was sent to twice, Friend once.
    assert suggestions_for(qtbot, again.form.to, "fr") == [
        "frank@example.net",
        "Friend Person <friend@example.org>",
    ]
    qtbot.keyClick(QApplication.activePopupWidget() or again.form.to, Qt.Key.Key_Down)
    qtbot.keyClick(QApplication.activePopupWidget() or again.form.to, Qt.Key.Key_Return)
    assert again.form.to.text() == "Friend Person <friend@example.org>, "

    # Cc and Bcc complete from the same book, Bcc recipients included.
    assert isinstance(again.form.cc, AddressLineEdit)
    assert suggestions_for(qtbot, again.form.cc, "bo") == ["Lee, Bob <bob@example.org>"]
    qtbot.keyClick(QApplication.activePopupWidget() or again.form.cc, Qt.Key.Key_Return)
    assert parse_list(again.form.cc.text()).valid[0].display_name == "Lee, Bob"
    assert isinstance(again.form.bcc, AddressLineEdit)
    assert suggestions_for(qtbot, again.form.bcc, "hid") == ["Hidden <hidden@example.org>"]


def test_the_sending_window_suggests_right_away(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window()
    fill(window, to="Ann Lee <ann@example.org>", subject="Hi", body="B")
    assert send(qtbot, window) is True

    assert suggestions_for(qtbot, window.form.to, "lee") == ["Ann Lee <ann@example.org>"]

"""AddressLineEdit: completion from the address book, and pasting lists of addresses."""

from __future__ import annotations

from collections.abc import Iterator
from email.headerregistry import Address
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import (
    QAction,
    QContextMenuEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
)
from PySide6.QtWidgets import QApplication, QLineEdit, QMenu
from pytestqt.qtbot import QtBot

from composer.mail.addressbook import AddressBook
from composer.mail.addresses import parse_list
from composer.ui.widgets.address_edit import AddressLineEdit
from tests.windows import drag_event

# The offscreen platform cannot raise or grab for the completer's popup; harmless.
pytestmark = pytest.mark.qt_log_ignore(
    "This plugin does not support raise", "This plugin does not support grabbing", extend=True
)

ANN = Address("Ann Lee", "ann", "example.org")
ANDY = Address("Andy Ng", "andy", "example.net")
BOB = Address("Lee, Bob", "bob", "example.org")
SPREADSHEET = "Ann Lee\tann@example.org\nbob@example.org\nLee, Carl\tcarl@example.org\n"


@pytest.fixture
def book(tmp_path: Path) -> Iterator[AddressBook]:
    """Ann sent to three times, Bob twice, Andy once but most recently."""
    book = AddressBook(tmp_path / "addressbook.sqlite3")
    assert book.load() == []
    book.record([ANN, BOB], when=1.0)
    book.record([ANN, BOB], when=2.0)
    book.record([ANN], when=3.0)
    book.record([ANDY], when=4.0)
    yield book
    book.close()


@pytest.fixture
def edit(qtbot: QtBot, book: AddressBook) -> AddressLineEdit:
    """A shown, focused AddressLineEdit over book."""
    edit = AddressLineEdit(book)
    qtbot.addWidget(edit)
    edit.show()
    qtbot.waitExposed(edit)
    edit.activateWindow()
    edit.setFocus()
    return edit


def type_keys(qtbot: QtBot, edit: AddressLineEdit, text: str) -> None:
    """Type as a keyboard does: into the suggestion popup while it is open."""
    for char in text:
        qtbot.keyClicks(QApplication.activePopupWidget() or edit, char)


def press(qtbot: QtBot, edit: AddressLineEdit, key: Qt.Key) -> None:
    qtbot.keyClick(QApplication.activePopupWidget() or edit, key)


def suggestions(qtbot: QtBot, edit: AddressLineEdit) -> list[str]:
    """The rows of the popup once it shows."""
    popup = edit.address_completer().popup()
    assert popup is not None
    qtbot.waitUntil(popup.isVisible, timeout=5000)
    model = edit.address_completer().completionModel()
    return [model.index(row, 0).data() for row in range(model.rowCount())]


def popup_shown(edit: AddressLineEdit) -> bool:
    popup = edit.address_completer().popup()
    return popup is not None and popup.isVisible()


def test_typing_offers_most_used_then_most_recent(qtbot: QtBot, edit: AddressLineEdit) -> None:
    type_keys(qtbot, edit, "an")

    assert suggestions(qtbot, edit) == ["Ann Lee <ann@example.org>", "Andy Ng <andy@example.net>"]
    assert edit.text() == "an"  # nothing is filled in until a suggestion is chosen
    # The best match is highlighted: it is what Return or Tab takes.
    popup = edit.address_completer().popup()
    assert popup is not None
    assert popup.currentIndex().row() == 0
    assert popup.selectionModel().isSelected(popup.currentIndex())


def test_return_takes_the_first_suggestion(qtbot: QtBot, edit: AddressLineEdit) -> None:
    type_keys(qtbot, edit, "an")
    assert suggestions(qtbot, edit)[0] == "Ann Lee <ann@example.org>"

    press(qtbot, edit, Qt.Key.Key_Return)

    assert edit.text() == "Ann Lee <ann@example.org>, "
    assert edit.cursorPosition() == len(edit.text())
    assert not popup_shown(edit)


def test_arrow_keys_choose_another_suggestion(qtbot: QtBot, edit: AddressLineEdit) -> None:
    type_keys(qtbot, edit, "an")
    assert len(suggestions(qtbot, edit)) == 2

    press(qtbot, edit, Qt.Key.Key_Down)
    press(qtbot, edit, Qt.Key.Key_Tab)

    assert edit.text() == "Andy Ng <andy@example.net>, "


def test_clicking_a_suggestion_chooses_it(qtbot: QtBot, edit: AddressLineEdit) -> None:
    type_keys(qtbot, edit, "an")
    assert suggestions(qtbot, edit)[1] == "Andy Ng <andy@example.net>"
    popup = edit.address_completer().popup()
    assert popup is not None
    index = popup.model().index(1, 0)

    qtbot.mouseClick(
        popup.viewport(), Qt.MouseButton.LeftButton, pos=popup.visualRect(index).center()
    )

    assert edit.text() == "Andy Ng <andy@example.net>, "


def test_typing_goes_on_while_suggestions_show(qtbot: QtBot, edit: AddressLineEdit) -> None:
    type_keys(qtbot, edit, "a")
    assert len(suggestions(qtbot, edit)) == 2

    type_keys(qtbot, edit, "nd")

    assert edit.text() == "and"
    assert suggestions(qtbot, edit) == ["Andy Ng <andy@example.net>"]
    type_keys(qtbot, edit, "x")
    assert edit.text() == "andx"
    assert not popup_shown(edit)


def test_escape_closes_suggestions_and_keeps_the_text(qtbot: QtBot, edit: AddressLineEdit) -> None:
    type_keys(qtbot, edit, "bo")
    assert suggestions(qtbot, edit) == ["Lee, Bob <bob@example.org>"]

    press(qtbot, edit, Qt.Key.Key_Escape)

    assert not popup_shown(edit)
    assert edit.text() == "bo"


def test_after_a_comma_only_that_address_is_completed(qtbot: QtBot, edit: AddressLineEdit) -> None:
    type_keys(qtbot, edit, "an")
    assert suggestions(qtbot, edit)
    press(qtbot, edit, Qt.Key.Key_Return)

    type_keys(qtbot, edit, "lee")
    # Ann is already in the field, so only Bob is offered.
    assert suggestions(qtbot, edit) == ["Lee, Bob <bob@example.org>"]
    press(qtbot, edit, Qt.Key.Key_Return)

    assert edit.text() == 'Ann Lee <ann@example.org>, "Lee, Bob" <bob@example.org>, '
    parsed = parse_list(edit.text())
    assert parsed.valid == (ANN, BOB)
    assert parsed.invalid == ()


def test_completing_before_other_addresses_keeps_them(qtbot: QtBot, edit: AddressLineEdit) -> None:
    edit.setText("a, carl@example.org")
    edit.setCursorPosition(1)

    type_keys(qtbot, edit, "n")
    assert suggestions(qtbot, edit)[0] == "Ann Lee <ann@example.org>"
    press(qtbot, edit, Qt.Key.Key_Return)

    assert edit.text() == "Ann Lee <ann@example.org>, carl@example.org"
    assert edit.text()[edit.cursorPosition() :] == "carl@example.org"


def test_no_suggestions_without_a_match_or_a_book(qtbot: QtBot, edit: AddressLineEdit) -> None:
    type_keys(qtbot, edit, "zz")
    assert not popup_shown(edit)

    edit.clear()
    edit.set_address_book(None)
    type_keys(qtbot, edit, "an")
    assert not popup_shown(edit)
    assert edit.text() == "an"


def test_paste_key_makes_a_spreadsheet_selection_a_list(
    qtbot: QtBot, edit: AddressLineEdit
) -> None:
    QGuiApplication.clipboard().setText(SPREADSHEET)

    qtbot.keyClick(edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)

    assert edit.text() == (
        'Ann Lee <ann@example.org>, bob@example.org, "Lee, Carl" <carl@example.org>'
    )
    parsed = parse_list(edit.text())
    assert parsed.invalid == ()
    assert [a.display_name for a in parsed.valid] == ["Ann Lee", "", "Lee, Carl"]
    assert not popup_shown(edit)


def test_pasting_after_an_address_adds_a_comma_and_undoes_in_one_step(
    qtbot: QtBot, edit: AddressLineEdit
) -> None:
    type_keys(qtbot, edit, "dee@example.org")
    QGuiApplication.clipboard().setText("ann@example.org\r\nbob@example.org")

    qtbot.keyClick(edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)

    assert edit.text() == "dee@example.org, ann@example.org, bob@example.org"
    edit.undo()
    assert edit.text() == "dee@example.org"


def test_pasting_over_a_selection_between_addresses(qtbot: QtBot, edit: AddressLineEdit) -> None:
    edit.setText("ann@example.org, XXX, dee@example.org")
    edit.setSelection(17, 3)
    QGuiApplication.clipboard().setText("bob@example.org; carl@example.org")

    qtbot.keyClick(edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)

    assert edit.text() == "ann@example.org, bob@example.org, carl@example.org, dee@example.org"


def test_pasting_part_of_an_address_is_plain_paste(qtbot: QtBot, edit: AddressLineEdit) -> None:
    type_keys(qtbot, edit, "ann@")
    QGuiApplication.clipboard().setText("example.org")

    qtbot.keyClick(edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)

    assert edit.text() == "ann@example.org"


def test_context_menu_paste_makes_a_list(qtbot: QtBot, edit: AddressLineEdit) -> None:
    QGuiApplication.clipboard().setText(SPREADSHEET)
    event = QContextMenuEvent(
        QContextMenuEvent.Reason.Mouse, QPoint(5, 5), edit.mapToGlobal(QPoint(5, 5))
    )

    QApplication.sendEvent(edit, event)
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu), timeout=5000)
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu)
    paste = menu.findChild(QAction, "edit-paste")
    assert paste is not None
    assert paste.isEnabled()
    paste.trigger()
    menu.close()

    assert parse_list(edit.text()).invalid == ()
    assert edit.text().startswith("Ann Lee <ann@example.org>, bob@example.org, ")
    edit.undo()
    assert edit.text() == ""


def test_other_paste_routes_are_made_a_list_too(qtbot: QtBot, edit: AddressLineEdit) -> None:
    # QLineEdit's own paste, as a middle click on X11 does it.
    type_keys(qtbot, edit, "dee@example.org")
    QGuiApplication.clipboard().setText("ann@example.org\nbob@example.org\n")

    QLineEdit.paste(edit)

    assert edit.text() == "dee@example.org, ann@example.org, bob@example.org"
    assert not popup_shown(edit)


def test_dropped_text_is_made_a_list(qtbot: QtBot, edit: AddressLineEdit) -> None:
    mime = QMimeData()
    mime.setText("Ann Lee\tann@example.org\nbob@example.org")
    position = QPointF(edit.rect().center())
    actions = Qt.DropAction.CopyAction
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = drag_event(QDragEnterEvent, position, mime)
    QApplication.sendEvent(edit, enter)
    assert enter.isAccepted()

    QApplication.sendEvent(edit, QDropEvent(position, actions, mime, buttons, modifiers))

    assert edit.text() == "Ann Lee <ann@example.org>, bob@example.org"


def test_dragged_files_are_left_to_the_window(edit: AddressLineEdit, tmp_path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "report.pdf"))])
    mime.setText(str(tmp_path / "report.pdf"))
    event = drag_event(QDragEnterEvent, edit.rect().center(), mime)

    QApplication.sendEvent(edit, event)

    assert not event.isAccepted()


def test_read_only_field_neither_suggests_nor_pastes(qtbot: QtBot, edit: AddressLineEdit) -> None:
    edit.setText("an")
    edit.setReadOnly(True)
    QGuiApplication.clipboard().setText(SPREADSHEET)

    qtbot.keyClick(edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    edit.paste_addresses()

    assert edit.text() == "an"
    assert not popup_shown(edit)

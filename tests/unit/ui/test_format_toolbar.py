"""The formatting toolbar: shortcuts and actions change the body, and follow its cursor."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QColor, QTextCursor
from PySide6.QtWidgets import QComboBox, QLineEdit, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from composer.ui.rich_text import RichParts, document_parts
from composer.ui.widgets.body_edit import BodyEdit
from composer.ui.widgets.format_toolbar import FormatToolBar
from composer.ui.widgets.link_dialog import LinkDialog

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


@dataclass
class Editor:
    window: QWidget
    edit: BodyEdit
    bar: FormatToolBar
    subject: QLineEdit

    def parts(self) -> RichParts:
        return document_parts(self.edit.document())

    def write(self, text: str) -> None:
        """Replace the body with text (paragraphs split at newlines), cursor at the end."""
        self.edit.setPlainText(text)
        self.edit.moveCursor(QTextCursor.MoveOperation.End)

    def select(self, start: int, end: int) -> None:
        cursor = self.edit.textCursor()
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        self.edit.setTextCursor(cursor)

    def select_all(self) -> None:
        self.edit.selectAll()

    def place(self, position: int) -> None:
        self.select(position, position)

    def action(self, name: str) -> QAction:
        action = self.bar.findChild(QAction, name)
        assert action is not None, name
        return action


@pytest.fixture
def editor(qtbot: QtBot) -> Iterator[Editor]:
    """A shown window with a Subject line, the toolbar and the body editor, body focused."""
    window = QWidget()
    subject = QLineEdit()
    edit = BodyEdit()
    bar = FormatToolBar(edit)
    layout = QVBoxLayout(window)
    for widget in (subject, bar, edit):
        layout.addWidget(widget)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus)
    yield Editor(window, edit, bar, subject)
    window.close()


def test_names_that_tests_and_assistive_technology_use(editor: Editor) -> None:
    assert editor.bar.objectName() == "formatToolBar"
    for name in (
        "actionBold",
        "actionItalic",
        "actionUnderline",
        "actionBulletList",
        "actionNumberedList",
        "actionLink",
        "actionIndentQuote",
        "actionOutdentQuote",
        "actionTextColor",
        "actionClearFormatting",
    ):
        assert editor.action(name).text()
    assert isinstance(editor.bar.findChild(QComboBox, "fontSize"), QComboBox)


@pytest.mark.parametrize(
    ("key", "name", "tag"),
    [
        (Qt.Key.Key_B, "actionBold", "<b>world</b>"),
        (Qt.Key.Key_I, "actionItalic", "<i>world</i>"),
        (Qt.Key.Key_U, "actionUnderline", "<u>world</u>"),
    ],
)
def test_shortcut_styles_the_selection_and_toggles_back(
    qtbot: QtBot, editor: Editor, key: Qt.Key, name: str, tag: str
) -> None:
    editor.write("hello world")
    editor.select(6, 11)

    qtbot.keyClick(editor.edit, key, CTRL)

    assert f"hello {tag}" in editor.parts().html
    assert editor.action(name).isChecked()
    editor.place(2)
    assert not editor.action(name).isChecked()
    editor.place(8)
    assert editor.action(name).isChecked()

    editor.select(6, 11)
    qtbot.keyClick(editor.edit, key, CTRL)

    assert editor.parts().formatted is False


def test_bold_with_no_selection_applies_to_what_is_typed_next(qtbot: QtBot, editor: Editor) -> None:
    editor.write("plain ")
    editor.action("actionBold").trigger()
    qtbot.keyClicks(editor.edit, "strong")

    assert "plain <b>strong</b>" in editor.parts().html


def test_shortcuts_do_not_reach_the_body_from_another_field(qtbot: QtBot, editor: Editor) -> None:
    editor.write("hello")
    editor.select_all()
    editor.subject.setFocus()
    qtbot.waitUntil(editor.subject.hasFocus)

    qtbot.keyClick(editor.subject, Qt.Key.Key_B, CTRL)

    assert editor.parts().formatted is False


def test_bullet_list_shortcut_toggles_a_list(qtbot: QtBot, editor: Editor) -> None:
    editor.write("one\ntwo\nafter")
    editor.select(0, 5)

    qtbot.keyClick(editor.edit, Qt.Key.Key_8, CTRL | SHIFT)

    assert editor.parts().plain == "- one\n- two\nafter"
    assert editor.action("actionBulletList").isChecked()
    assert not editor.action("actionNumberedList").isChecked()

    qtbot.keyClick(editor.edit, Qt.Key.Key_8, CTRL | SHIFT)

    assert editor.parts().plain == "one\ntwo\nafter"
    assert editor.parts().formatted is False
    assert not editor.action("actionBulletList").isChecked()


def test_numbered_list_shortcut_and_switching_kinds(qtbot: QtBot, editor: Editor) -> None:
    editor.write("one\ntwo")
    editor.select_all()

    qtbot.keyClick(editor.edit, Qt.Key.Key_7, CTRL | SHIFT)
    assert editor.parts().plain == "1. one\n2. two"
    assert editor.action("actionNumberedList").isChecked()

    editor.place(1)
    editor.action("actionBulletList").trigger()  # the whole list changes kind
    assert editor.parts().plain == "- one\n- two"
    assert "<ul>" in editor.parts().html


def test_quote_indent_and_outdent(qtbot: QtBot, editor: Editor) -> None:
    editor.write("mine\ntheirs")
    editor.place(6)
    assert not editor.action("actionOutdentQuote").isEnabled()

    qtbot.keyClick(editor.edit, Qt.Key.Key_BracketRight, CTRL)
    qtbot.keyClick(editor.edit, Qt.Key.Key_BracketRight, CTRL)

    assert editor.parts().plain == "mine\n> > theirs"
    assert editor.parts().html.count("<blockquote") == 2
    assert editor.action("actionOutdentQuote").isEnabled()

    qtbot.keyClick(editor.edit, Qt.Key.Key_BracketLeft, CTRL)
    assert editor.parts().plain == "mine\n> theirs"
    editor.action("actionOutdentQuote").trigger()
    assert editor.parts().formatted is False


def test_indent_in_a_list_nests_the_item(qtbot: QtBot, editor: Editor) -> None:
    editor.write("one\ntwo\nthree")
    editor.select_all()
    editor.action("actionNumberedList").trigger()
    editor.place(5)

    qtbot.keyClick(editor.edit, Qt.Key.Key_BracketRight, CTRL)
    assert editor.parts().plain == "1. one\n   1. two\n2. three"

    qtbot.keyClick(editor.edit, Qt.Key.Key_BracketLeft, CTRL)
    assert editor.parts().plain == "1. one\n2. two\n3. three"

    qtbot.keyClick(editor.edit, Qt.Key.Key_BracketLeft, CTRL)
    # The list goes on after the paragraph, as in word processors.
    assert editor.parts().plain == "1. one\ntwo\n2. three"
    assert '<ol start="2">\n<li>three' in editor.parts().html


def test_tab_nests_a_list_item_and_backspace_ends_its_bullet(qtbot: QtBot, editor: Editor) -> None:
    editor.write("one\ntwo")
    editor.select_all()
    editor.action("actionBulletList").trigger()
    editor.place(4)  # the start of "two"

    qtbot.keyClick(editor.edit, Qt.Key.Key_Tab)
    assert editor.parts().plain == "- one\n  - two"

    qtbot.keyClick(editor.edit, Qt.Key.Key_Backtab, SHIFT)
    assert editor.parts().plain == "- one\n- two"

    qtbot.keyClick(editor.edit, Qt.Key.Key_Backspace)
    # A paragraph again, and not quoted (Qt alone would indent it).
    assert editor.parts().plain == "- one\ntwo"
    assert "<blockquote" not in editor.parts().html


def test_set_link_on_a_selection(editor: Editor) -> None:
    editor.write("read the docs now")
    editor.select(9, 13)

    editor.bar.set_link("example.org/docs")

    parts = editor.parts()
    assert 'read the <a href="https://example.org/docs">docs</a> now' in parts.html
    assert parts.plain == "read the docs <https://example.org/docs> now"


def test_set_link_without_selection_inserts_it_and_typing_goes_on_plain(
    qtbot: QtBot, editor: Editor
) -> None:
    editor.write("mail ")

    editor.bar.set_link("ann@example.org")
    qtbot.keyClicks(editor.edit, " today")

    parts = editor.parts()
    assert 'mail <a href="mailto:ann@example.org">ann@example.org</a> today' in parts.html
    assert parts.plain == "mail ann@example.org today"


def test_set_link_inside_a_link_edits_it_and_empty_url_removes_it(editor: Editor) -> None:
    editor.write("see ")
    editor.bar.set_link("https://old.example", "this page")
    editor.place(6)  # inside "this page"

    editor.bar.set_link("https://new.example", "that page")
    assert editor.parts().plain == "see that page <https://new.example>"

    editor.place(6)
    editor.bar.set_link("")
    assert editor.parts().plain == "see that page"
    assert editor.parts().formatted is False


def test_ctrl_k_opens_the_link_dialog(qtbot: QtBot, editor: Editor) -> None:
    editor.write("the site")
    editor.select(4, 8)

    qtbot.keyClick(editor.edit, Qt.Key.Key_K, CTRL)

    dialog = editor.window.findChild(LinkDialog, "linkDialog")
    assert dialog is not None
    assert dialog.text.text() == "site"
    dialog.url.setText("https://example.org")
    dialog.accept()
    assert editor.parts().plain == "the site <https://example.org>"
    assert editor.edit.toPlainText() == "the site"


def test_link_dialog_links_a_selection_across_paragraphs_as_it_is(
    qtbot: QtBot, editor: Editor
) -> None:
    editor.write("first\nsecond")
    editor.select_all()

    editor.action("actionLink").trigger()
    dialog = editor.window.findChild(LinkDialog, "linkDialog")
    assert dialog is not None
    assert not dialog.text.isEnabled()
    dialog.url.setText("https://example.org")
    dialog.accept()

    assert editor.parts().plain == "first <https://example.org>\nsecond <https://example.org>"


def test_colour_and_size(editor: Editor) -> None:
    editor.write("red and big")
    editor.select(0, 3)
    editor.bar.set_color(QColor("#cc0000"))
    editor.select(8, 11)
    size = editor.bar.findChild(QComboBox, "fontSize")
    assert size is not None
    size.setCurrentText("18")
    size.textActivated.emit("18")

    html = editor.parts().html
    assert '<span style="color:#cc0000">red</span>' in html
    assert '<span style="font-size:18pt">big</span>' in html
    editor.place(9)
    assert size.currentText() == "18"


def _bar_colour(editor: Editor) -> str:
    """The colour of the bar under the "A" of the text colour button, as #rrggbb."""
    image = editor.action("actionTextColor").icon().pixmap(QSize(24, 24), 2.0).toImage()
    return image.pixelColor(24, 42).name()  # device pixels: the bar is at y 19-23 of 24


def test_the_colour_button_shows_the_colour_at_the_cursor(editor: Editor) -> None:
    assert _bar_colour(editor) == "#000000"  # the editor's own colour, as in the icon file

    editor.write("red and plain")
    editor.select(0, 3)
    editor.bar.set_color(QColor("#cc0000"))
    editor.place(2)
    assert _bar_colour(editor) == "#cc0000"
    editor.place(10)
    assert _bar_colour(editor) == "#000000"


def test_a_new_body_shows_the_defaults_its_cursor_has(qtbot: QtBot) -> None:
    edit = BodyEdit()
    qtbot.addWidget(edit)
    bar = FormatToolBar(edit)
    assert edit.is_untouched()

    assert bar.font_size.currentText() == f"{edit.document().defaultFont().pointSizeF():g}"
    assert not bar.action_bold.isChecked()
    assert not bar.action_bullets.isChecked()
    assert not bar.action_outdent.isEnabled()

    edit.setPlainText("written")
    assert not edit.is_untouched()


def test_font_size_typed_into_the_box(qtbot: QtBot, editor: Editor) -> None:
    editor.write("big")
    editor.select_all()
    size = editor.bar.font_size
    size.lineEdit().selectAll()
    qtbot.keyClicks(size.lineEdit(), "22")
    qtbot.keyClick(size.lineEdit(), Qt.Key.Key_Return)

    assert '<span style="font-size:22pt">big</span>' in editor.parts().html


@pytest.mark.parametrize("key", [Qt.Key.Key_Backslash, Qt.Key.Key_Space])
def test_clear_formatting_makes_the_selection_plain(
    qtbot: QtBot, editor: Editor, key: Qt.Key
) -> None:
    editor.write("one\ntwo")
    editor.select_all()
    editor.bar.set_bold(True)
    editor.bar.set_color(QColor("#0000cc"))
    editor.action("actionBulletList").trigger()
    editor.action("actionIndentQuote").trigger()
    editor.select_all()
    editor.bar.set_link("https://example.org")
    assert editor.parts().formatted is True
    editor.select_all()

    qtbot.keyClick(editor.edit, key, CTRL)

    assert editor.parts().formatted is False
    assert editor.parts().plain == "one\ntwo"


def test_plain_mode_turns_every_command_off(qtbot: QtBot, editor: Editor) -> None:
    editor.write("hello")
    editor.select_all()

    editor.bar.set_plain_mode(True)
    qtbot.keyClick(editor.edit, Qt.Key.Key_B, CTRL)
    editor.bar.set_link("https://example.org")

    assert editor.parts().formatted is False
    assert not editor.action("actionBold").isEnabled()
    assert not editor.bar.font_size.isEnabled()
    assert editor.edit.is_plain_mode()  # pastes text only, attaches dropped images

    editor.bar.set_plain_mode(False)
    qtbot.keyClick(editor.edit, Qt.Key.Key_B, CTRL)
    assert editor.parts().formatted is True

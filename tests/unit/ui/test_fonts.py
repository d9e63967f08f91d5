"""One rule for bold: the toolbar, pasted HTML and the sent HTML agree on every weight."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QAction, QBrush, QColor, QTextCharFormat, QTextCursor, QTextDocument
from pytestqt.qtbot import QtBot

from composer.ui.fonts import BOLD_WEIGHT, is_bold
from composer.ui.inline_html import styled
from composer.ui.pasted_html import basic_fragment
from composer.ui.widgets.body_edit import BodyEdit
from composer.ui.widgets.format_toolbar import FormatToolBar

# Fonts and documents need the QApplication to exist first.
pytestmark = pytest.mark.usefixtures("qapp")

# CSS weights and whether each is bold; 600 is what "semibold" text is pasted as.
WEIGHTS = [(100, False), (400, False), (500, False), (600, True), (700, True), (900, True)]


def char_format(weight: int) -> QTextCharFormat:
    result = QTextCharFormat()
    result.setFontWeight(weight)
    return result


def test_bold_weight_is_qts_demibold() -> None:
    from PySide6.QtGui import QFont

    assert QFont.Weight.DemiBold.value == BOLD_WEIGHT


@pytest.mark.parametrize(("weight", "bold"), WEIGHTS)
def test_bold_starts_at_semibold(weight: int, bold: bool) -> None:
    assert is_bold(char_format(weight)) is bold


def test_the_threshold_is_semibold() -> None:
    assert BOLD_WEIGHT == 600


@pytest.mark.parametrize(("weight", "bold"), WEIGHTS)
def test_sent_html_is_bold_exactly_when_the_text_is(weight: int, bold: bool) -> None:
    markup = styled("word", char_format(weight), QTextDocument())

    assert (markup == "<b>word</b>") is bold
    assert (markup == "word") is not bold


@pytest.mark.parametrize(("weight", "bold"), WEIGHTS)
def test_pasted_html_stays_bold_exactly_when_it_was(weight: int, bold: bool) -> None:
    target = QTextDocument()
    pasted = f'<p><span style="font-weight:{weight}">word</span></p>'

    fragment = basic_fragment(pasted, target, QBrush(QColor("blue"))).fragment

    cursor = QTextCursor(target)
    cursor.insertFragment(fragment)
    cursor.setPosition(2)
    assert is_bold(cursor.charFormat()) is bold


@pytest.mark.parametrize(("weight", "bold"), WEIGHTS)
def test_the_bold_button_is_checked_exactly_when_the_text_is_bold(
    qtbot: QtBot, weight: int, bold: bool
) -> None:
    edit = BodyEdit()
    qtbot.addWidget(edit)
    bar = FormatToolBar(edit)
    qtbot.addWidget(bar)
    edit.setHtml(f'<p><span style="font-weight:{weight}">word</span></p>')
    action = bar.findChild(QAction, "actionBold")
    assert isinstance(action, QAction)

    cursor = edit.textCursor()
    cursor.setPosition(2)
    edit.setTextCursor(cursor)

    assert action.isChecked() is bold

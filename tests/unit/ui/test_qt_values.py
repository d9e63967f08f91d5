"""The numbers the first window sets in place of Qt-namespace enums are Qt's own."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QListWidget, QToolBar
from pytestqt.qtbot import QtBot

from composer.ui import qt_values


@pytest.mark.parametrize(
    ("number", "value"),
    [
        (qt_values.TOOL_BUTTON_TEXT_BESIDE_ICON, Qt.ToolButtonStyle.ToolButtonTextBesideIcon),
        (qt_values.CUSTOM_CONTEXT_MENU, Qt.ContextMenuPolicy.CustomContextMenu),
        (qt_values.WIDGET_SHORTCUT, Qt.ShortcutContext.WidgetShortcut),
        (qt_values.WIDGET_WITH_CHILDREN_SHORTCUT, Qt.ShortcutContext.WidgetWithChildrenShortcut),
        (qt_values.USER_ROLE, Qt.ItemDataRole.UserRole),
    ],
)
def test_each_number_is_the_value_of_its_enum(number: int, value: object) -> None:
    assert number == value.value  # type: ignore[attr-defined]


def test_an_enum_property_set_by_number_reads_back_as_the_enum(qtbot: QtBot) -> None:
    bar = QToolBar()
    qtbot.addWidget(bar)
    qt_values.set_enum_property(bar, "toolButtonStyle", qt_values.TOOL_BUTTON_TEXT_BESIDE_ICON)
    assert bar.toolButtonStyle() is Qt.ToolButtonStyle.ToolButtonTextBesideIcon
    listing = QListWidget()
    qtbot.addWidget(listing)
    qt_values.set_enum_property(listing, "contextMenuPolicy", qt_values.CUSTOM_CONTEXT_MENU)
    assert listing.contextMenuPolicy() is Qt.ContextMenuPolicy.CustomContextMenu


def test_a_property_qt_does_not_have_is_an_error(qtbot: QtBot) -> None:
    bar = QToolBar()
    qtbot.addWidget(bar)
    with pytest.raises(ValueError, match="toolButtonStyel"):
        qt_values.set_enum_property(bar, "toolButtonStyel", 2)


def test_shortcuts_are_set_as_set_shortcut_sets_them() -> None:
    typed, standard = QAction("Send"), QAction("Delete")
    qt_values.set_shortcut(typed, "Ctrl+Return")
    qt_values.set_shortcut(standard, QKeySequence.StandardKey.Delete)
    assert typed.shortcut() == QKeySequence("Ctrl+Return")
    assert standard.shortcut() == QKeySequence(QKeySequence.StandardKey.Delete)
    assert qt_values.keys("Ctrl+Shift+Enter") == QKeySequence("Ctrl+Shift+Enter")

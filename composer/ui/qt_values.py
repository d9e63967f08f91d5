"""The numbers of the few Qt-namespace enum values the first window sets, and how it sets them.

The first use of ``PySide6.QtCore.Qt`` makes a Python enum of each of its ninety-odd enums
(``Qt.Key`` alone has 471 members): some 12 ms here, a tenth of a bare window's start-up.
The first window sets these values through QObject.setProperty, which takes the number and
converts it in C++, so that the namespace is made after the first frame, by whatever needs
it first (a key press, a dialog). tests/unit/ui/test_qt_values.py holds each number to Qt's.
Modules of the first window import ``Qt`` inside the functions that use it.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence

TOOL_BUTTON_TEXT_BESIDE_ICON = 2  # Qt.ToolButtonStyle.ToolButtonTextBesideIcon
CUSTOM_CONTEXT_MENU = 3  # Qt.ContextMenuPolicy.CustomContextMenu
WIDGET_SHORTCUT = 0  # Qt.ShortcutContext.WidgetShortcut
WIDGET_WITH_CHILDREN_SHORTCUT = 3  # Qt.ShortcutContext.WidgetWithChildrenShortcut
USER_ROLE = 0x0100  # Qt.ItemDataRole.UserRole


def set_enum_property(target: QObject, name: str, value: int) -> None:
    """target's Qt property name (an enum) set to value; raises ValueError when Qt refuses."""
    if not target.setProperty(name, value):
        raise ValueError(f"{type(target).__name__} has no settable property {name!r}")


def keys(text: str) -> QKeySequence:
    """QKeySequence(text), as QKeySequence.fromString makes it: the constructor's overloads
    are resolved through Qt.Key, which makes the namespace."""
    return QKeySequence.fromString(text)


def set_shortcut(action: QAction, shortcut: str | QKeySequence.StandardKey) -> None:
    """action.setShortcut(shortcut) by setShortcuts, whose overloads do not go through Qt.Key
    as setShortcut's do; a standard key gets every binding the platform has for it."""
    if isinstance(shortcut, str):
        action.setShortcuts([keys(shortcut)])
    else:
        action.setShortcuts(shortcut)

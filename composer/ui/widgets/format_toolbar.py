"""The formatting toolbar over the body editor: styles, lists, links, quotes, size, colour."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Slot
from PySide6.QtGui import QAction, QColor, QDoubleValidator, QIcon, QKeySequence
from PySide6.QtWidgets import QComboBox, QLineEdit, QTextEdit, QToolBar, QWidget

from composer.ui.body_model import is_bullet, quote_level
from composer.ui.fonts import is_bold
from composer.ui.icons import icon
from composer.ui.naming import named
from composer.ui.qt_values import (
    WIDGET_WITH_CHILDREN_SHORTCUT,
    set_enum_property,
    set_shortcut,
)
from composer.ui.qt_values import keys as key_sequence
from composer.ui.widgets.body_edit import BodyEdit

if TYPE_CHECKING:
    from PySide6.QtGui import QPixmap, QTextCharFormat, QTextList, QTextListFormat

# The document's classes (the formats, the cursor, QFont, QPainter: some 35 M instructions of
# enums to make) wait for the first command or the first move of the cursor: the bar of a
# new, empty message shows the defaults it would read (_show_defaults), and reads the editor
# once the window is on the screen. Commands import formatting and links when first used.

_PARAGRAPH_BREAKS = ("\u2029", "\ufffc")  # in QTextCursor.selectedText(): blocks, images


class FormatToolBar(QToolBar):
    """Formatting for a QTextEdit; the buttons follow the editor's cursor.

    Shortcuts, as in common word processors, work while the editor has focus: Ctrl+B bold,
    Ctrl+I italic, Ctrl+U underline, Ctrl+Shift+8 bullet list, Ctrl+Shift+7 numbered list,
    Ctrl+K link, Ctrl+] quote (or nest a list item), Ctrl+[ unquote (or un-nest),
    Ctrl+\\ or Ctrl+Space clear formatting.
    """

    SIZES = (8, 9, 10, 11, 12, 14, 16, 18, 20, 24, 28, 36)

    def __init__(self, edit: QTextEdit, parent: QWidget | None = None) -> None:
        super().__init__("Format", parent)
        self.setObjectName("formatToolBar")
        self._edit = edit
        self._plain = False
        self._actions: list[QAction] = []
        bar = self._action
        self.action_bold = bar("actionBold", "&Bold", "format-text-bold", "bold", "Ctrl+B")
        self.action_italic = bar(
            "actionItalic", "&Italic", "format-text-italic", "italic", "Ctrl+I"
        )
        self.action_underline = bar(
            "actionUnderline", "&Underline", "format-text-underline", "underline", "Ctrl+U"
        )
        self.addSeparator()
        self.action_bullets = bar(
            "actionBulletList", "Bullet &List", "format-list-unordered", "bullets", "Ctrl+Shift+8"
        )
        self.action_numbers = bar(
            "actionNumberedList", "&Numbered List", "format-list-ordered", "numbers", "Ctrl+Shift+7"
        )
        self.action_indent = bar(
            "actionIndentQuote", "&Quote", "format-indent-more", "quote-more", "Ctrl+]"
        )
        self.action_outdent = bar(
            "actionOutdentQuote", "Un&quote", "format-indent-less", "quote-less", "Ctrl+["
        )
        self.addSeparator()
        self.action_link = bar("actionLink", "Lin&k…", "insert-link", "link", "Ctrl+K")
        self.font_size = self._size_box()
        self.addWidget(self.font_size)
        self.action_color = bar("actionTextColor", "Text &Colour…", "", "", "")
        self.action_clear = bar(
            "actionClearFormatting", "Clear &Formatting", "edit-clear-all", "clear", "Ctrl+\\"
        )
        self.action_clear.setShortcuts([key_sequence("Ctrl+\\"), key_sequence("Ctrl+Space")])
        for action in (self.action_bold, self.action_italic, self.action_underline):
            action.setCheckable(True)
        for action in (self.action_bullets, self.action_numbers):
            action.setCheckable(True)
        self.action_bold.triggered.connect(self.set_bold)
        self.action_italic.triggered.connect(self.set_italic)
        self.action_underline.triggered.connect(self.set_underline)
        self.action_bullets.triggered.connect(self._on_bullets)
        self.action_numbers.triggered.connect(self._on_numbers)
        self.action_indent.triggered.connect(self.indent_quote)
        self.action_outdent.triggered.connect(self.outdent_quote)
        self.action_link.triggered.connect(self.edit_link)
        self.action_color.triggered.connect(self.choose_color)
        self.action_clear.triggered.connect(self.clear_formatting)
        edit.currentCharFormatChanged.connect(self._on_char_format_changed)
        edit.cursorPositionChanged.connect(self._on_cursor_moved)
        self._default_colour = icon("", "format-text-color")
        self._colour_shown: int | None = -1  # the rgba of the colour the icon shows
        if isinstance(edit, BodyEdit) and edit.is_untouched():
            self._show_defaults()
        else:
            self._on_char_format_changed(edit.currentCharFormat())
            self._on_cursor_moved()

    # --- building -------------------------------------------------------------------------

    def _action(self, name: str, text: str, theme: str, fallback: str, keys: str) -> QAction:
        own = f"format-{fallback}" if fallback else ""
        action = named(name, QAction(icon(theme, own), text, self))
        if keys:
            set_shortcut(action, keys)
            shown = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{text.replace('&', '').rstrip('…')} ({shown})")
        # Only while the editor (or this bar) has focus: Ctrl+B in Subject must not bold the body.
        set_enum_property(action, "shortcutContext", WIDGET_WITH_CHILDREN_SHORTCUT)
        self._edit.addAction(action)
        self.addAction(action)
        self._actions.append(action)
        return action

    def _show_defaults(self) -> None:
        """What the cursor of an editor never written in has: nothing checked, no list or
        quote to leave, the editor's font size and colour."""
        self.action_outdent.setEnabled(False)
        self.font_size.setCurrentText(f"{self._edit.fontInfo().pointSizeF():g}")
        self._show_colour(None)

    def _size_box(self) -> QComboBox:
        box = named("fontSize", QComboBox())
        line = QLineEdit(box)
        box.setLineEdit(line)
        box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        box.setAccessibleName("Font size")
        box.setToolTip("Font size (points)")
        box.setValidator(QDoubleValidator(1, 400, 1, box))
        box.addItems([str(size) for size in self.SIZES])
        box.setMinimumContentsLength(3)
        box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        box.textActivated.connect(self._on_size_chosen)
        # A size that is not in the list activates nothing; Return applies it all the same.
        line.returnPressed.connect(lambda: self._on_size_chosen(line.text()))
        return box

    # --- commands (also what tests call) --------------------------------------------------

    def set_plain_mode(self, plain: bool) -> None:
        """Plain text only: every formatting command off (the formatting stays, unsent).

        A BodyEdit editor is told too: it then pastes text only and attaches dropped images.
        """
        self._plain = plain
        if isinstance(self._edit, BodyEdit):
            self._edit.set_plain_mode(plain)
        for action in self._actions:
            action.setEnabled(not plain)
        self.font_size.setEnabled(not plain)
        self._on_cursor_moved()

    @Slot(bool)
    def set_bold(self, bold: bool) -> None:
        from PySide6.QtGui import QFont, QTextCharFormat

        char_format = QTextCharFormat()
        char_format.setFontWeight(QFont.Weight.Bold if bold else QFont.Weight.Normal)
        self._merge(char_format)

    @Slot(bool)
    def set_italic(self, italic: bool) -> None:
        from PySide6.QtGui import QTextCharFormat

        char_format = QTextCharFormat()
        char_format.setFontItalic(italic)
        self._merge(char_format)

    @Slot(bool)
    def set_underline(self, underline: bool) -> None:
        from PySide6.QtGui import QTextCharFormat

        char_format = QTextCharFormat()
        char_format.setFontUnderline(underline)
        self._merge(char_format)

    def set_font_size(self, points: float) -> None:
        from PySide6.QtGui import QTextCharFormat

        char_format = QTextCharFormat()
        char_format.setFontPointSize(points)
        self._merge(char_format)

    def set_color(self, color: QColor) -> None:
        """Colour the selection (or what is typed next); an invalid colour does nothing."""
        if color.isValid():
            from PySide6.QtGui import QBrush, QTextCharFormat

            char_format = QTextCharFormat()
            char_format.setForeground(QBrush(color))
            self._merge(char_format)

    def toggle_list(self, style: QTextListFormat.Style) -> None:
        """Make the selected paragraphs a list of style's kind, or plain if they are one."""
        from composer.ui import formatting

        self._run(lambda: formatting.toggle_list(self._edit.textCursor(), style))

    @Slot()
    def indent_quote(self) -> None:
        from composer.ui import formatting

        self._run(lambda: formatting.change_indent(self._edit.textCursor(), 1))

    @Slot()
    def outdent_quote(self) -> None:
        from composer.ui import formatting

        self._run(lambda: formatting.change_indent(self._edit.textCursor(), -1))

    @Slot()
    def clear_formatting(self) -> None:
        from PySide6.QtGui import QTextCharFormat

        from composer.ui import formatting

        def clear() -> None:
            cursor = self._edit.textCursor()
            formatting.clear_formatting(cursor)
            if not cursor.hasSelection():
                self._edit.setCurrentCharFormat(QTextCharFormat())

        self._run(clear)

    def set_link(self, url: str, text: str | None = None) -> None:
        """Link the selection (or the link at the cursor) to url, showing text if given.

        With nothing selected, text (or the address) is inserted as the link. An empty url
        removes the link. "example.org" becomes https://example.org, an address mailto:.
        """
        if not self._usable():
            return
        from composer.ui import links

        cursor = self._edit.textCursor()
        palette = self._edit.palette()
        links.apply_link(cursor, url, text, palette.brush(palette.ColorRole.Link))
        # What is typed after the link is not part of it.
        self._edit.setTextCursor(cursor)
        self._edit.setCurrentCharFormat(links.without_link(self._edit.currentCharFormat()))

    # --- dialogs --------------------------------------------------------------------------

    @Slot()
    def edit_link(self) -> None:
        """Ask for the link's address and text (LinkDialog, window-modal), then set_link."""
        if not self._usable():
            return
        from composer.ui import links

        cursor = self._edit.textCursor()
        href = links.select_link(cursor)
        selected = cursor.selectedText()
        # Text across paragraphs or images cannot be retyped in one line: link it as it is.
        whole = any(mark in selected for mark in _PARAGRAPH_BREAKS)
        from PySide6.QtCore import Qt

        from composer.ui.widgets.link_dialog import LinkDialog  # at first use

        dialog = LinkDialog(href, "" if whole else selected, self._edit.window())
        if whole:
            dialog.text.setEnabled(False)
            dialog.text.setPlaceholderText("The selection")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.link_chosen.connect(
            lambda url, text: self.set_link(url, None if whole or not text else text)
        )
        dialog.open()

    @Slot()
    def choose_color(self) -> None:
        """Ask for a text colour (QColorDialog, window-modal), then set_color."""
        if not self._usable():
            return
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QColorDialog  # dialogs are not in the first frame

        dialog = QColorDialog(self._current_colour(), self._edit.window())
        dialog.setObjectName("textColorDialog")
        dialog.setWindowTitle("Text Colour")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.colorSelected.connect(self.set_color)
        dialog.open()

    # --- following the cursor -------------------------------------------------------------

    def _usable(self) -> bool:
        return not self._plain and not self._edit.isReadOnly()

    def _merge(self, char_format: QTextCharFormat) -> None:
        if self._usable():
            self._edit.mergeCurrentCharFormat(char_format)

    def _run(self, command: Callable[[], None]) -> None:
        if self._usable():
            command()
            self._on_cursor_moved()
            self._on_char_format_changed(self._edit.currentCharFormat())

    @Slot(bool)
    def _on_bullets(self, _checked: bool) -> None:
        from PySide6.QtGui import QTextListFormat

        self.toggle_list(QTextListFormat.Style.ListDisc)

    @Slot(bool)
    def _on_numbers(self, _checked: bool) -> None:
        from PySide6.QtGui import QTextListFormat

        self.toggle_list(QTextListFormat.Style.ListDecimal)

    @Slot(str)
    def _on_size_chosen(self, text: str) -> None:
        try:
            points = float(text.replace(",", "."))
        except ValueError:
            return
        if points > 0:
            self.set_font_size(points)
            self._edit.setFocus()

    @Slot("QTextCharFormat")
    def _on_char_format_changed(self, char_format: QTextCharFormat) -> None:
        self.action_bold.setChecked(is_bold(char_format))
        self.action_italic.setChecked(char_format.fontItalic())
        self.action_underline.setChecked(char_format.fontUnderline() and not char_format.isAnchor())
        points = (
            char_format.fontPointSize()
            if char_format.hasProperty(char_format.Property.FontPointSize)
            else self._edit.document().defaultFont().pointSizeF()
        )
        self.font_size.setCurrentText(f"{points:g}")
        self._show_colour(self._chosen_colour(char_format))

    @Slot()
    def _on_cursor_moved(self) -> None:
        block = self._edit.textCursor().block()
        text_list: QTextList | None = block.textList()
        bullet = text_list is not None and is_bullet(text_list.format().style())
        self.action_bullets.setChecked(bullet)
        self.action_numbers.setChecked(text_list is not None and not bullet)
        can_outdent = text_list is not None or quote_level(block.blockFormat()) > 0
        self.action_outdent.setEnabled(not self._plain and can_outdent)

    def _current_colour(self) -> QColor:
        chosen = self._chosen_colour(self._edit.currentCharFormat())
        if chosen is not None:
            return chosen
        palette = self._edit.palette()
        return palette.color(palette.ColorRole.Text)

    @staticmethod
    def _chosen_colour(char_format: QTextCharFormat) -> QColor | None:
        """The colour given to text of char_format; None for the editor's own (links too)."""
        if char_format.hasProperty(char_format.Property.ForegroundBrush) and not (
            char_format.isAnchor()
        ):
            return char_format.foreground().color()
        return None

    def _show_colour(self, colour: QColor | None) -> None:
        rgba = None if colour is None else colour.rgba()
        if rgba != self._colour_shown:
            self._colour_shown = rgba
            default = self._default_colour
            self.action_color.setIcon(default if colour is None else _colour_icon(default, colour))


def _colour_icon(default: QIcon, colour: QColor) -> QIcon:
    """The text colour button's icon: the default one (an "A" over a bar) with its bar in
    colour. Drawn with pixmaps only: QPainter's setPen, setBrush and fillRect resolve their
    overloads through the Qt namespace, which would make its enums (see qt_values.py)."""
    from PySide6.QtGui import QPainter, QPixmap

    size = QSize(24, 24)
    pixmap = default.pixmap(size, 2.0) if not default.isNull() else QPixmap()
    if pixmap.isNull():  # no icon folder: the bar alone
        pixmap = _filled(size, QColor(0, 0, 0, 0))
    painter = QPainter(pixmap)
    # Where format-text-color.svg has its bar.
    painter.drawPixmap(3, 19, _filled(QSize(18, 4), colour))
    painter.end()
    return QIcon(pixmap)


def _filled(size: QSize, colour: QColor) -> QPixmap:
    """A pixmap of size (at twice the pixels, for high-density screens) all of colour."""
    from PySide6.QtGui import QPixmap

    pixmap = QPixmap(size * 2)
    pixmap.setDevicePixelRatio(2)
    pixmap.fill(colour)
    return pixmap

"""A To, Cc or Bcc field: completes from the address book and takes pasted lists."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from PySide6.QtCore import Slot
from PySide6.QtGui import (
    QAction,
    QContextMenuEvent,
    QDragEnterEvent,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
)
from PySide6.QtWidgets import QLineEdit, QWidget

from composer.mail.addressbook import AddressBook, address_key
from composer.mail.addresses import (
    LIST_BREAKS,
    addresses_from_pasted,
    format_address,
    is_pasted_list,
    parse_list,
    splice_list,
    token_span,
    typed_prefix,
)

if TYPE_CHECKING:
    from PySide6.QtCore import QStringListModel
    from PySide6.QtWidgets import QCompleter


class AddressLineEdit(QLineEdit):
    """Recipients separated by commas; suggests the address being typed, most used first.

    Suggestions only appear while typing and only change the text when one is chosen
    (Return, Tab or a click), replacing just the address under the cursor. A list pasted
    from a spreadsheet or another client becomes one comma-separated list.
    """

    def __init__(
        self,
        address_book: AddressBook | None = None,
        parent: QWidget | None = None,
        *,
        max_suggestions: int = 10,
    ) -> None:
        super().__init__(parent)
        self._address_book = address_book
        self._max_suggestions = max_suggestions
        # What each suggestion shown inserts: quoted where the name needs it ("Lee, Bob").
        self._insert_texts: dict[str, str] = {}
        # Made when first asked for, as its popup is: the completer, its model and their
        # Qt classes (with their enums) would cost the window's start-up three times over.
        self._completion: tuple[QCompleter, QStringListModel] | None = None
        self._rewriting = False
        self._popup_made = False
        self._previous_text = ""
        self.textEdited.connect(self._on_text_edited)
        self.textChanged.connect(self._on_text_changed)

    def address_book(self) -> AddressBook | None:
        """Where suggestions come from; None when there are none."""
        return self._address_book

    def set_address_book(self, address_book: AddressBook | None) -> None:
        """Suggest from address_book from now on; None turns suggestions off."""
        self._address_book = address_book
        self._hide_popup()

    def address_completer(self) -> QCompleter:
        """The completer whose popup shows the suggestions (for tests and accessibility)."""
        return self._completing()[0]

    def _completing(self) -> tuple[QCompleter, QStringListModel]:
        if self._completion is None:
            from PySide6.QtCore import QStringListModel
            from PySide6.QtWidgets import QCompleter

            model = QStringListModel(self)
            # Not setCompleter(): QLineEdit would complete the whole text, not one address.
            completer = QCompleter(model, self)
            completer.setWidget(self)
            completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
            completer.setMaxVisibleItems(self._max_suggestions)
            completer.activated.connect(self._on_activated)
            self._completion = (completer, model)
        return self._completion

    @Slot()
    def paste_addresses(self) -> None:
        """Paste the clipboard; a pasted list of addresses becomes a comma-separated list."""
        from PySide6.QtGui import QClipboard  # its class is not needed for the first frame

        self.insert_addresses(QGuiApplication.clipboard().text(QClipboard.Mode.Clipboard))

    def insert_addresses(self, text: str) -> None:
        """Insert text at the cursor (over the selection) as paste does, lists made inline."""
        if self.isReadOnly() or not text:
            return
        start, stop = self._selection_or_cursor()
        if is_pasted_list(text):
            self._splice(start, stop, text)
        else:
            self._replace(start, stop, text)

    # --- completion -----------------------------------------------------------------------

    @Slot(str)
    def _on_text_edited(self, text: str) -> None:
        if self._rewriting:
            return
        start, stop = _changed_span(self._previous_text, text)
        if any(char in LIST_BREAKS for char in text[start:stop]):
            # Pasted or dropped by a route that bypassed insert_addresses (middle click,
            # drag and drop): make what arrived a list in place.
            self._splice(start, stop, text[start:stop])
            return
        self._suggest(text)

    @Slot(str)
    def _on_text_changed(self, text: str) -> None:
        # QLineEdit emits textEdited before textChanged, so _on_text_edited still sees
        # the text as it was before the edit.
        self._previous_text = text

    def _suggest(self, text: str) -> None:
        prefix = typed_prefix(text, self.cursorPosition())
        if self._address_book is None or not prefix or self.isReadOnly():
            self._hide_popup()
            return
        start, end = token_span(text, self.cursorPosition())
        present = {address_key(a) for a in parse_list(text[:start] + text[end:]).valid}
        found = self._address_book.search(prefix, self._max_suggestions + len(present))
        suggestions = [a for a in found if address_key(a) not in present]
        suggestions = suggestions[: self._max_suggestions]
        self._insert_texts = {format_address(a): str(a) for a in suggestions}
        completer, model = self._completing()
        model.setStringList(list(self._insert_texts))
        self._popup_made = True
        popup = completer.popup()
        if suggestions and popup is not None:
            completer.complete()
            # Shown chosen, so Return or Tab takes the best match, as in other mail clients.
            popup.setCurrentIndex(completer.completionModel().index(0, 0))
        else:
            self._hide_popup()

    def _hide_popup(self) -> None:
        if not self._popup_made or self._completion is None:
            return  # nothing shown yet
        popup = self._completion[0].popup()
        if popup is not None:
            popup.hide()

    @Slot(str)
    def _on_activated(self, shown: str) -> None:
        chosen = self._insert_texts.get(shown)
        if chosen is None or self.isReadOnly():
            return
        text = self.text()
        start, end = token_span(text, self.cursorPosition())
        if end < len(text):
            # A separator follows: reuse it rather than adding a second one.
            end += 1
            while end < len(text) and text[end] == " ":
                end += 1
        lead = " " if start else ""
        self._replace(start, end, f"{lead}{chosen}, ")

    # --- pasting --------------------------------------------------------------------------

    def _splice(self, start: int, stop: int, pasted: str) -> None:
        listed = addresses_from_pasted(pasted)
        if listed:
            self._replace(*splice_list(self.text(), start, stop, listed))
        else:
            self._replace(start, stop, "")
        self._hide_popup()

    def _selection_or_cursor(self) -> tuple[int, int]:
        if self.hasSelectedText():
            start = self.selectionStart()
            return start, start + len(self.selectedText())
        return self.cursorPosition(), self.cursorPosition()

    def _replace(self, start: int, stop: int, replacement: str) -> None:
        """Put replacement in place of text[start:stop] as one undo step."""
        with self._rewrite():
            self._end_undo_step()
            self.setSelection(start, stop - start)
            if replacement:
                self.insert(replacement)
            elif self.hasSelectedText():
                self.del_()
            self._end_undo_step()

    def _end_undo_step(self) -> None:
        # QLineEdit merges consecutive insertions into one undo step. Moving the cursor
        # closes the step (QWidgetLineControl::separate(), which has no public API);
        # the caller sets any selection it needs afterwards.
        position = self.cursorPosition()
        if self.text():
            self.setCursorPosition(position - 1 if position else position + 1)
            self.setCursorPosition(position)

    @contextlib.contextmanager
    def _rewrite(self) -> Iterator[None]:
        """While the field rewrites its own text, textEdited is not someone typing."""
        self._rewriting = True
        try:
            yield
        finally:
            self._rewriting = False

    # --- Qt overrides ---------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.matches(QKeySequence.StandardKey.Paste) and not self.isReadOnly():
            self.paste_addresses()
            event.accept()
            return
        super().keyPressEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802
        menu = self.createStandardContextMenu()
        # createStandardContextMenu() is not virtual; its Paste calls QLineEdit::paste().
        paste = menu.findChild(QAction, "edit-paste")
        if paste is not None:
            paste.triggered.disconnect()
            paste.triggered.connect(self.paste_addresses)
        from PySide6.QtCore import Qt

        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(event.globalPos())

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        # Files dropped on a recipients field are meant for the window (to attach them),
        # not to be typed in as paths.
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.ignore()
            return
        super().dragEnterEvent(event)


def _changed_span(old: str, new: str) -> tuple[int, int]:
    """The part of new that replaced something in old: what is left after the common ends."""
    prefix = 0
    limit = min(len(old), len(new))
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    return prefix, len(new) - suffix

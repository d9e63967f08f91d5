"""Keeping the account's signature at the end of the body, switching it with the From account."""

from __future__ import annotations

from typing import TYPE_CHECKING

from composer.mail.accounts import Account

if TYPE_CHECKING:
    from PySide6.QtWidgets import QTextEdit

# QTextCursor is imported where a signature is inserted or swapped: a window whose account
# has none, the first one for a start, never makes its class (and its enums).

SEPARATOR = "-- "


class SignatureKeeper:
    """Inserts a signature below "-- " and swaps it for another only while it is untouched."""

    def __init__(self, body: QTextEdit) -> None:
        self._body = body
        # Exactly the text that was inserted, separator included, as the document holds it.
        self._inserted = ""

    def insert(self, account: Account | None) -> None:
        """Add account's signature to a body that has none (a new message)."""
        self._inserted = ""
        if account is None or not _has_signature(account):
            return
        from PySide6.QtGui import QTextCursor

        cursor = QTextCursor(self._body.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        start = cursor.position()
        cursor.insertText(f"\n\n{SEPARATOR}\n")
        if account.signature_html:
            cursor.insertHtml(account.signature)
        else:
            cursor.insertText(account.signature)
        self._inserted = self._body.toPlainText()[start:]
        # The user writes above the signature.
        top = QTextCursor(self._body.document())
        top.movePosition(QTextCursor.MoveOperation.Start)
        self._body.setTextCursor(top)
        self._body.document().setModified(False)

    def switch(self, account: Account | None) -> None:
        """Replace the inserted signature with account's, unless the user edited it."""
        text = self._body.toPlainText()
        if self._inserted and not text.endswith(self._inserted):
            return  # edited: the signature is the user's now
        if not self._inserted and not text.strip() and not _has_signature(account):
            return  # nothing to take out, nothing to put in
        from PySide6.QtGui import QTextCursor

        saved = self._body.textCursor().position()
        if self._inserted:
            cursor = QTextCursor(self._body.document())
            cursor.setPosition(len(text) - len(self._inserted))
            cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
            cursor.removeSelectedText()
        elif text.strip():
            return  # typed text and no signature of ours: leave the body alone
        self.insert(account)
        cursor = self._body.textCursor()
        cursor.setPosition(min(saved, len(self._body.toPlainText())))
        self._body.setTextCursor(cursor)

    def forget(self) -> None:
        """The body was replaced wholesale (cleared or restored)."""
        self._inserted = ""


def _has_signature(account: Account | None) -> bool:
    return account is not None and bool(account.signature.strip())

"""Following the From account in a message: its signature and its default Cc and Bcc."""

from __future__ import annotations

from PySide6.QtWidgets import QLineEdit, QTextEdit

from composer.mail.accounts import Account
from composer.ui.signature import SignatureKeeper


class IdentityKeeper:
    """Fills a new message for an account, and swaps what is still untouched on a switch."""

    def __init__(self, body: QTextEdit, cc: QLineEdit, bcc: QLineEdit) -> None:
        self._signature = SignatureKeeper(body)
        self._cc, self._bcc = cc, bcc
        self.account: Account | None = None

    def start(self, account: Account | None) -> None:
        """A fresh message: the account's signature and default Cc/Bcc."""
        self.account = account
        self._signature.insert(account)
        if account is not None:
            self._cc.setText(account.default_cc)
            self._bcc.setText(account.default_bcc)

    def switch(self, account: Account | None) -> None:
        """Follow a new From account where the user has not changed what the old one put in."""
        previous, self.account = self.account, account
        if previous is None or account is None or previous.id == account.id:
            return
        self._signature.switch(account)
        for edit, old, new in (
            (self._cc, previous.default_cc, account.default_cc),
            (self._bcc, previous.default_bcc, account.default_bcc),
        ):
            if edit.text() == old:
                edit.setText(new)

    def forget(self) -> None:
        """The body was replaced wholesale (cleared, restored or loaded)."""
        self._signature.forget()

"""The lasting warning under a Security field while a connection would be unencrypted."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from composer.mail.accounts import Security, names_this_computer
from composer.ui.naming import named

# The order of every Security field's items.
SECURITIES = (Security.SSL_TLS, Security.STARTTLS, Security.NONE)


def in_clear_elsewhere(security: Security, host: str) -> bool:
    """Whether a connection to host would be unencrypted and leave this computer (a name
    that merely ends in localhost may resolve anywhere)."""
    return security is Security.NONE and not names_this_computer(host)


class SecurityWarning(QLabel):
    """Bold, plain text; what travels in the clear is said by what (``"the copies of your
    messages"``)."""

    def __init__(self, object_name: str, what: str, parent: QWidget | None = None) -> None:
        super().__init__(
            f"⚠ Not encrypted: anyone on the network between you and this server can read "
            f"{what}. Composer will not send your password over this connection. Choose "
            "SSL/TLS or STARTTLS unless the server is on this computer.",
            parent,
        )
        named(object_name, self)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        font = self.font()
        font.setBold(True)
        self.setFont(font)

    def show_if(self, shown: bool) -> bool:
        """Shown or hidden as said; True when it has just appeared (the window may need room)."""
        appeared = shown and self.isHidden()
        self.setVisible(shown)
        return appeared

"""Who a message is from and to, as given to MAIL FROM and RCPT TO."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Envelope:
    """Who the message is from and to, as given to MAIL FROM and RCPT TO."""

    sender: str
    recipients: tuple[str, ...]

    def needs_utf8(self) -> bool:
        """True when an address is not ASCII: the message then goes out with SMTPUTF8."""
        return any(not address.isascii() for address in (self.sender, *self.recipients))

"""One message a window handed to the send service, as the window follows it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from composer.mail.accounts import Account
from composer.mail.draft import Draft

if TYPE_CHECKING:
    from composer.send_service import SendService


class Submission(QObject):
    """One message a window handed over; belongs to the SendService, not to the window.

    Signals:
        queued(OutboxEntry): built and stored in the Outbox; undo() works until it starts.
        progressed(Progress): how far the send got.
        sent(SendResult): the server accepted it for at least one recipient.
        deferred(OutboxEntry): not sent now, but kept in the Outbox: it is retried later,
            waits for its send-later time, or may have been sent (never retried unasked).
        failed(SendError): it was not sent and is not in the Outbox (cancelled, undone, or
            refused for good): the window has the message to change and send again.
        finished(): the window's part is over, after sent, deferred or failed.
    """

    queued = Signal(object)
    progressed = Signal(object)
    sent = Signal(object)
    deferred = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(self, draft: Draft, account: Account, service: SendService) -> None:
        super().__init__(service)
        self.draft = draft
        self.account = account
        self.key = ""
        # The draft in Drafts the message was typed in ("" when none).
        self.draft_key = ""
        # True while a window shows this send; a window that closes lets go of it, and the
        # application then reports the outcome instead.
        self.watched = True
        self.cancelled = False
        self._service = service

    def undo(self) -> bool:
        """Take the message back before it starts going out; False once it has started."""
        return self._service.undo(self)

    def cancel(self) -> None:
        """Stop the send; failed(CANCELLED) follows within a moment (or it was too late)."""
        self.cancelled = True
        self._service.cancel(self)

    def release(self) -> None:
        """The window that watched this send is closing."""
        self.watched = False

"""How a send ended that no window watches, told to the user by the session.

Its window closed while the message went out, or the message was in the Outbox from before
this run: the outcome goes to every open window's status bar (or the next window's), a
warning in a box as well, and a message some recipients refused for good, or one refused
before it reached the Outbox, comes back in a window of its own to be fixed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from composer.latest_only import LatestOnly
from composer.mail.errors import ErrorKind, SendError
from composer.mail.outbox import EntryState, OutboxEntry
from composer.mail.outbox_notes import describe_entry
from composer.mail.progress import SendResult, permanently_refused
from composer.message_bridge import Level

if TYPE_CHECKING:
    from composer.session import Session
    from composer.submission import Submission

log = logging.getLogger(__name__)

# Status lines of messages sent: at most one in this long (the latest), as a queue going out
# would otherwise repaint every window's status bar for each of its messages.
SENT_LINE_MS = 100


class UnwatchedSends(QObject):
    """Reports the sends of session that no window watches; GUI thread only."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self._session = session
        self._sent_lines: LatestOnly[str] = LatestOnly(SENT_LINE_MS, session.bridge.post, self)

    def flush(self) -> None:
        """Show the status line held now: before a message that came after it."""
        self._sent_lines.flush()

    def forget_held(self) -> None:
        """A window showed how its own send ended, which is newer than the line held."""
        self._sent_lines.drop()

    def report(self, submission: Submission | None, outcome: object, subject: str) -> None:
        """submission (None: queued before this run) ended with outcome: a SendResult, the
        OutboxEntry that keeps it, or the SendError that refused it."""
        named = f"“{subject.strip() or '(no subject)'}”"
        if isinstance(outcome, SendResult) and not permanently_refused(outcome):
            log.info("sent without a window watching: %s", outcome.summary)
            self._sent_lines.put(f"{named}: {outcome.summary}")
            return
        self._sent_lines.flush()  # what went before this comes before it
        session = self._session
        if isinstance(outcome, SendResult) and submission is not None:
            # Some recipients will not get it as it is: the message comes back for them.
            window = session.open_window(submission.draft)
            window.show_status(outcome.summary)
        elif isinstance(outcome, SendResult):  # refused for some, and no draft to reopen
            log.info("sent without a window watching: %s", outcome.summary)
            session.bridge.post(f"{named}: {outcome.summary}")
        elif isinstance(outcome, OutboxEntry):
            level = Level.INFO if outcome.state is EntryState.WAITING else Level.WARNING
            session.bridge.post(describe_entry(outcome), level)
            if outcome.last_error_kind == ErrorKind.SIGN_IN_NEEDED.value:
                # Kept in the Outbox until the account is signed in again (Accounts).
                for window in session.windows():
                    window.offer_sign_in_again(outcome.account_id)
        elif (
            isinstance(outcome, SendError)
            and outcome.kind is not ErrorKind.CANCELLED
            and submission is not None
        ):
            # Refused before it reached the Outbox (a file gone, say): it comes back to be
            # fixed, kept under the draft it was typed in.
            window = session.open_window(submission.draft, draft_key=submission.draft_key)
            window.show_status(f"This message was not sent: {outcome.message}")

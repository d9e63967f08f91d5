"""Where a send stands, and what it achieved: the values a transport reports."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from composer.mail.errors import describe_refused
from composer.mail.sizes import format_size


class Stage(enum.Enum):
    """The steps of one SMTP exchange, in order."""

    CONNECTING = "connecting"
    SECURING = "securing"
    AUTHENTICATING = "authenticating"
    SENDING = "sending"


@dataclass(frozen=True)
class Progress:
    """Where a send stands; ``text`` is what the status bar shows."""

    stage: Stage
    host: str
    sent: int = 0
    total: int = 0
    detail: str = ""

    @property
    def text(self) -> str:
        if self.stage is Stage.CONNECTING:
            return f"Connecting to {self.host}…"
        if self.stage is Stage.SECURING:
            return f"Securing the connection to {self.host}…"
        if self.stage is Stage.AUTHENTICATING:
            return f"Logging in to {self.host} as {self.detail}…"
        if self.stage is Stage.SENDING and self.total:
            percent = 100 * self.sent // self.total
            return (
                f"Sending to {self.host}… {percent}% "
                f"({format_size(self.sent)} of {format_size(self.total)})"
            )
        return f"Sending to {self.host}…"


ProgressCallback = Callable[[Progress], None]

# A large message reports every 64 KiB; a status bar needs an update at most this often.
PROGRESS_INTERVAL = 0.05


@dataclass(frozen=True)
class SendResult:
    """A message the server accepted for at least one recipient."""

    host: str
    message_id: str
    accepted: tuple[str, ...]
    refused: dict[str, tuple[int, str]] = field(default_factory=dict)
    size: int = 0
    stored_at: str = ""
    # The server's reply to the final "." (e.g. "250 2.0.0 Ok: queued as 4F2A"), and when.
    reply: str = ""
    sent_at: str = ""

    @property
    def summary(self) -> str:
        count = len(self.accepted)
        noun = "recipient" if count == 1 else "recipients"
        via = f"the local sandbox ({self.host})" if self.stored_at else self.host
        later = {r: reply for r, reply in self.refused.items() if _temporary(reply)}
        refused = {r: reply for r, reply in self.refused.items() if not _temporary(reply)}
        total = count + len(self.refused)
        if refused:
            text = (
                f"Sent to {count} of {total} recipients via {via}; they got it, but the "
                f"server refused {describe_refused(refused)}. Correct those addresses and "
                "send again to them."
            )
        elif later:
            text = f"Sent to {count} of {total} recipients via {via}."
        else:
            text = f"Sent to {count} {noun} via {via}."
        if later:
            text += (
                f" The server asked to try {describe_refused(later)} again later: the Outbox "
                "does that by itself, so do not send it to them again."
            )
        if self.stored_at:
            text += f" Saved as {self.stored_at}"
        return text


def permanently_refused(result: SendResult) -> dict[str, tuple[int, str]]:
    """The recipients result's server refused for good (5xx): the user must act for them.

    Those refused for now (4xx) are the Outbox's: it tries them again by itself."""
    return {r: reply for r, reply in result.refused.items() if not _temporary(reply)}


def _temporary(reply: tuple[int, str]) -> bool:
    return 400 <= reply[0] < 500


class ProgressThrottle:
    """Passes a transport's progress on at most every 50 ms while data flows (and every change
    of stage, and the end); each report is a signal queued across threads."""

    def __init__(self) -> None:
        self.report: Callable[[Progress], None] = lambda _progress: None
        self._last = 0.0
        self._stage: Stage | None = None

    def __call__(self, step: Progress) -> None:
        now = time.monotonic()
        done = step.total and step.sent >= step.total
        if step.stage is self._stage and not done and now - self._last < PROGRESS_INTERVAL:
            return
        self._last, self._stage = now, step.stage
        self.report(step)

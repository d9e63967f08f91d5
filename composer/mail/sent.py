"""The Sent folder: what went out, byte for byte, and what the server said when it took it.

A Sent record is ``<key>.eml``: ``X-Composer-*`` lines (when, through which server, its reply,
who got it and who was refused), then the exact bytes that were sent.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

from composer.mail.store import (
    MessageFolder,
    StoreError,
    composer_headers,
    new_key,
    split_composer_headers,
)

if TYPE_CHECKING:
    from composer.mail.message import Sendable
    from composer.mail.progress import SendResult

log = logging.getLogger(__name__)

FORMAT = "sent-1"
# Wire bytes are copied in pieces this large (a message may be tens of megabytes).
PIECE = 64 * 1024
# A field longer than this goes in numbered lines (Name, Name-2, …): store.py reads lines
# of at most 8 KiB.
_FIELD_PIECE = 4000
# Subject and To are only for lists; a longer one is cut here.
_DISPLAY_LIMIT = 1000
# The message's own header block is looked for in its first bytes only.
_HEAD_LIMIT = 256 * 1024


@dataclass(frozen=True)
class SentSummary:
    """What the Sent list shows of one record; read from the head of its file only."""

    key: str
    subject: str
    to: str
    sent_at: str
    server: str
    reply: str
    size: int
    account_id: str = ""
    message_id: str = ""
    accepted: tuple[str, ...] = ()
    refused: dict[str, tuple[int, str]] = field(default_factory=dict)
    note: str = ""


class SentFolder:
    """Sent records in one MessageFolder; safe from worker threads (every write is atomic)."""

    def __init__(
        self, folder: MessageFolder, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.folder = folder
        # Only for a result that does not say when it was sent.
        self._clock = clock

    def record(
        self,
        message: Sendable,
        result: SendResult,
        *,
        account_id: str,
        key: str | None = None,
        note: str = "",
        display: tuple[str, str] | None = None,
        durable: bool = True,
    ) -> str:
        """Store message as sent with result, streamed and all or nothing; returns its key.

        key may be given (the Outbox entry's, so that recovery can tell it was recorded);
        a record already there under that key is replaced. display is (Subject, To) as
        peek_display gives them for this message, when the caller has them already.
        Not durable: not synced (see atomic_writer) until sync_records() is called.
        """
        pieces = message.chunks()
        if display is None:
            subject, to, pieces = peek_display(pieces, message.envelope.recipients)
        else:
            subject, to = display
        sent_at = result.sent_at or _formatted(self._clock())
        fields: dict[str, Any] = {
            "Sent-At": sent_at,
            "Server": printable(result.host),
            "Server-Reply": printable(result.reply),
            "Account": account_id,
            "Message-Id": printable(result.message_id or message.message_id),
            "Subject": subject,
            "To": to,
            "Accepted": list(result.accepted),
            "Refused": {r: [code, printable(text)] for r, (code, text) in result.refused.items()},
            "Note": note,
        }
        head = composer_headers({"Format": FORMAT, **json_headers(fields)})
        key = key or new_key()
        self.folder.write(key, chain([head], pieces), durable=durable)
        return key

    def sync_records(self, keys: list[str]) -> None:
        """Make records written with durable=False durable; raises OSError."""
        self.folder.sync_written(keys)

    def set_aside_unreadable(self) -> list[str]:
        """Move the records that cannot be read aside (never deleting them); returns a
        sentence for each. After the folder's tidy() at start-up, and safe while records
        are written: each write is one rename."""
        said = []
        for key in self.folder.keys():  # noqa: SIM118 - a folder, not a dict
            path = self.folder.file(key)
            if self.summary(key) is not None:  # None too for a folder or a pipe in its place
                continue
            if not os.path.lexists(path):
                continue  # removed meanwhile
            try:
                [kept, *_] = self.folder.set_aside(key)
            except (OSError, ValueError) as error:
                said.append(f"{path} in Sent could not be read, nor moved aside ({error}).")
                continue
            said.append(f"{path} in Sent was damaged and could not be read; it was kept as {kept}.")
        return said

    def exists(self, key: str) -> bool:
        return self.folder.exists(key)

    def summary(self, key: str) -> SentSummary | None:
        """key's summary; None when it is missing or not a Sent record Composer wrote."""
        try:
            with self.folder.open(key) as stream:
                values, offset = split_composer_headers(stream)
                size = os.fstat(stream.fileno()).st_size - offset
        except (StoreError, OSError):
            return None
        try:
            return _summary(key, values, size)
        except (ValueError, TypeError, KeyError):
            log.warning("Sent record %s is not one Composer wrote; skipped", key)
            return None

    def summaries(self) -> list[SentSummary]:
        """Every readable record, newest first; other files in the folder are skipped."""
        found = [s for s in map(self.summary, self.folder.keys()) if s is not None]
        found.sort(key=lambda s: s.key, reverse=True)
        found.sort(key=_sent_time, reverse=True)  # stable: same time → newer key first
        return found

    def message_bytes(self, key: str) -> bytes:
        """The bytes that were sent (without Composer's own lines); raises StoreError."""
        with self.folder.open(key) as stream:
            values, _ = split_composer_headers(stream)
            if values.get("Format") != FORMAT:
                raise StoreError(f"{self.folder.file(key)} is not a Sent record.")
            return stream.read()

    def file(self, key: str) -> Path:
        """The record's file, for "show in file manager"."""
        return self.folder.file(key)

    def remove(self, key: str) -> None:
        self.folder.delete(key)


def json_headers(fields: Mapping[str, Any]) -> dict[str, str]:
    """fields as X-Composer values: compact ASCII JSON, long ones in numbered pieces.

    Spaces are escaped too (JSON allows ``\\u0020``), since the reader strips them from the
    ends of a value and a piece may start or end inside a string.
    """
    values: dict[str, str] = {}
    for name, value in fields.items():
        text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
        text = text.replace(" ", "\\u0020")
        pieces = [text[i : i + _FIELD_PIECE] for i in range(0, len(text), _FIELD_PIECE)]
        for number, piece in enumerate(pieces, start=1):
            values[name if number == 1 else f"{name}-{number}"] = piece
    return values


def json_value(values: Mapping[str, str], name: str) -> Any:
    """The field written by json_headers; raises KeyError or ValueError when it is not there."""
    text = values[name]
    number = 2
    while f"{name}-{number}" in values:
        text += values[f"{name}-{number}"]
        number += 1
    return json.loads(text)


def printable(text: str) -> str:
    """text on one line of printable characters (server text is untrusted)."""
    if text.isprintable():  # as nearly every reply is: no character by character
        return " ".join(text.split())
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def peek_display(
    pieces: Iterable[bytes], recipients: Sequence[str]
) -> tuple[str, str, Iterator[bytes]]:
    """Subject and To (for lists) from the message's header block, and the pieces unchanged.

    Holds no more than the header block (at most 256 KiB) and one piece. To falls back to
    the envelope's recipients when the message names none (everyone in Bcc).
    """
    iterator = iter(pieces)
    held: list[bytes] = []
    length = 0
    for piece in iterator:
        held.append(piece)
        length += len(piece)
        if b"\r\n\r\n" in b"".join(held[-2:]) or length > _HEAD_LIMIT:
            break
    head = b"".join(held)[:_HEAD_LIMIT]
    subject, to = _display_fields(head.partition(b"\r\n\r\n")[0])
    if not to or to == "undisclosed-recipients:;":
        to = ", ".join(recipients)
    return _cut(subject), _cut(to), chain(held, iterator)


def _display_fields(head: bytes) -> tuple[str, str]:
    # The email package is loaded here, by the first record listed or kept, not at start.
    import email.policy
    from email.parser import BytesHeaderParser

    try:
        parsed = BytesHeaderParser(policy=email.policy.default).parsebytes(head + b"\r\n\r\n")
        return printable(str(parsed.get("Subject", ""))), printable(str(parsed.get("To", "")))
    except Exception:  # a header the email package cannot read: the list shows it blank
        log.warning("could not read Subject and To of a message", exc_info=True)
        return "", ""


def _cut(text: str) -> str:
    return text if len(text) <= _DISPLAY_LIMIT else text[: _DISPLAY_LIMIT - 1] + "…"


def _summary(key: str, values: Mapping[str, str], size: int) -> SentSummary:
    if values.get("Format") != FORMAT:
        raise ValueError("not a Sent record")
    refused = json_value(values, "Refused")
    accepted = json_value(values, "Accepted")
    return SentSummary(
        key=key,
        subject=str(json_value(values, "Subject")),
        to=str(json_value(values, "To")),
        sent_at=str(json_value(values, "Sent-At")),
        server=str(json_value(values, "Server")),
        reply=str(json_value(values, "Server-Reply")),
        size=size,
        account_id=str(json_value(values, "Account")),
        message_id=str(json_value(values, "Message-Id")),
        accepted=tuple(str(r) for r in accepted),
        refused={str(r): (int(code), str(text)) for r, (code, text) in refused.items()},
        note=str(json_value(values, "Note")),
    )


def _formatted(when: datetime) -> str:
    from email.utils import format_datetime

    return format_datetime(when)


def _sent_time(summary: SentSummary) -> datetime:
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(summary.sent_at)
    except (TypeError, ValueError):
        return datetime.min.replace(tzinfo=UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)

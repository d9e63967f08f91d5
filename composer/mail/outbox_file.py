"""One Outbox entry's file: its head (the X-Composer lines written once) and its wire bytes,
read as a transport reads a message."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from composer.mail.envelope import Envelope
from composer.mail.errors import ErrorKind, SendError
from composer.mail.sent import PIECE, json_value

FORMAT = "outbox-1"


@dataclass(frozen=True)
class EntryHead:
    """The entry's X-Composer lines (written once) and where its wire bytes start."""

    account_id: str
    envelope: Envelope
    eight_bit: bool
    queued_at: datetime
    message_id: str
    subject: str
    to: str
    offset: int
    file_size: int
    draft_key: str = ""  # the draft this message was sent from, if any


class StoredMessage:
    """An Outbox entry as a transport reads it (a Sendable): the stored wire bytes."""

    def __init__(self, path: Path, head: EntryHead, envelope: Envelope) -> None:
        self._path = path
        self._head = head
        self._envelope = envelope

    @property
    def envelope(self) -> Envelope:
        return self._envelope

    @property
    def message_id(self) -> str:
        return self._head.message_id

    def size(self) -> int:
        return self._head.file_size - self._head.offset

    def is_ascii(self) -> bool:
        return not self._head.eight_bit

    def check_files(self) -> None:
        try:
            size = self._path.stat().st_size
        except OSError:
            raise self._gone() from None
        if size != self._head.file_size:
            raise self._changed()

    def chunks(self) -> Iterator[bytes]:
        try:
            stream = self._path.open("rb")
        except OSError:
            raise self._gone() from None
        with stream:
            if os.fstat(stream.fileno()).st_size != self._head.file_size:
                raise self._changed()
            stream.seek(self._head.offset)
            remaining = self.size()
            while remaining:
                piece = stream.read(min(PIECE, remaining))
                if not piece:
                    raise self._changed()
                remaining -= len(piece)
                yield piece

    def _gone(self) -> SendError:
        return SendError(
            ErrorKind.FILE,
            f"The queued message “{self._head.subject}” is no longer in the Outbox "
            f"({self._path}), so it was not sent.",
        )

    def _changed(self) -> SendError:
        return SendError(
            ErrorKind.FILE,
            f"The queued message “{self._head.subject}” was changed on disk after it was "
            f"queued ({self._path}), so Composer did not send it. Delete it from the Outbox "
            "and send it again from a draft.",
        )


def parse_head(values: dict[str, str], offset: int, file_size: int) -> EntryHead:
    if values.get("Format") != FORMAT or values.get("Eight-Bit") not in ("yes", "no"):
        raise ValueError("not an Outbox entry")
    recipients = json_value(values, "Envelope-To")
    if not isinstance(recipients, list) or not recipients:
        raise ValueError("no recipients")
    queued_at = datetime.fromisoformat(json_value(values, "Queued-At"))
    if queued_at.tzinfo is None:
        raise ValueError("a queue time without its time zone")
    return EntryHead(
        account_id=str(json_value(values, "Account")),
        envelope=Envelope(
            str(json_value(values, "Envelope-From")), tuple(str(r) for r in recipients)
        ),
        eight_bit=values["Eight-Bit"] == "yes",
        queued_at=queued_at,
        message_id=str(json_value(values, "Message-Id")),
        subject=str(json_value(values, "Subject")),
        to=str(json_value(values, "To")),
        offset=offset,
        file_size=file_size,
        draft_key=str(json_value(values, "Draft")) if "Draft" in values else "",
    )

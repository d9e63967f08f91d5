"""The message every sender in a send row carries, built once by Composer's own builder."""

from __future__ import annotations

from email.headerregistry import Address
from pathlib import Path

from composer.mail.draft import Attachment, Draft
from composer.mail.message import build_message

SUBJECT = "Benchmark"
BODY = "A large file."


def write_eml(attachment: Path, eml: Path) -> int:
    """Write, as eml, the message Composer's window builds for this attachment; its size.

    The same To, Subject, body and attachment as bench_send's window, so the peers send what
    Composer sends (only the Date and Message-ID differ).
    """
    draft = Draft(
        to="bob@example.net", subject=SUBJECT, body=BODY, attachments=(Attachment(attachment),)
    )
    message = build_message(draft, Address(addr_spec="ann@example.org"))
    with eml.open("wb") as file:
        return message.write_to(file)

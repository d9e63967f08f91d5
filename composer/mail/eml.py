"""Saving a message as an .eml file: the bytes that would be sent, written all or nothing."""

from __future__ import annotations

from pathlib import Path

from composer.mail.accounts import Account
from composer.mail.draft import Draft
from composer.mail.errors import ErrorKind, SendError
from composer.mail.files import atomic_writer
from composer.mail.message import OutgoingMessage, build_message


def write_eml(draft: Draft, account: Account, path: Path) -> int:
    """Write draft, as account would send it (without Bcc), to path; returns the bytes written.

    Streams, so memory stays flat for large attachments. A file already at path is replaced
    only once the whole message is written; on any failure it is left as it was. Raises
    SendError: what build_message raises, FILE when an attached file is gone or changed, or
    when path cannot be written.
    """
    return write_outgoing(build_message(draft, account.sender(), account.reply_to), path)


def write_outgoing(outgoing: OutgoingMessage, path: Path) -> int:
    """Write a built message to path, as write_eml does; returns the bytes written."""
    try:
        with atomic_writer(path) as stream:
            written = outgoing.write_to(stream)
    except OSError as error:
        reason = error.strerror or str(error)
        raise SendError(
            ErrorKind.FILE,
            f"Could not save the message as {path}: {reason}. "
            "Your message is unchanged; try saving it in another folder.",
        ) from error
    return written

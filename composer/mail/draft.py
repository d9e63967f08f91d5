"""A message as the user wrote it: a plain value that can be stored, restored and sent."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from composer.mail.addresses import ParsedAddresses, parse_list
from composer.mail.errors import ErrorKind, SendError


class Attachment(NamedTuple):
    """A file to attach; it is read only when the message is built, off the GUI thread."""

    path: Path
    # The name recipients see; the file's own name unless given.
    filename: str = ""
    # A MIME type such as "application/pdf"; guessed from the name when empty.
    content_type: str = ""

    @property
    def name(self) -> str:
        return self.filename or self.path.name


class InlineImage(NamedTuple):
    """An image shown inside a formatted body, referenced from the HTML as ``cid:<cid>``."""

    cid: str
    data: bytes
    content_type: str = "image/png"
    filename: str = ""


class Draft(NamedTuple):
    """What the compose window holds; fields are kept exactly as typed.

    ``body`` is always the plain text. ``html`` is set only when the user formatted the
    message; it may reference ``inline_images`` by ``cid:``.
    """

    account_id: str = ""
    to: str = ""
    cc: str = ""
    bcc: str = ""
    subject: str = ""
    body: str = ""
    html: str = ""
    attachments: tuple[Attachment, ...] = ()
    inline_images: tuple[InlineImage, ...] = ()
    in_reply_to: str = ""

    def recipients(self) -> dict[str, ParsedAddresses]:
        """The parsed To, Cc and Bcc fields, by field name."""
        return {"To": parse_list(self.to), "Cc": parse_list(self.cc), "Bcc": parse_list(self.bcc)}

    def invalid_addresses(self) -> list[str]:
        """Every piece of the recipient fields that is not a valid address."""
        return [bad for parsed in self.recipients().values() for bad in parsed.invalid]

    def has_recipients(self) -> bool:
        """True when at least one recipient field holds something."""
        return any(parsed.valid or parsed.invalid for parsed in self.recipients().values())

    def is_empty(self) -> bool:
        """True when nothing was typed or attached (the account does not count)."""
        return self == Draft(account_id=self.account_id)


def check_recipients(draft: Draft) -> None:
    """Raise SendError when draft has no recipient or an address that is not valid.

    The one place these are checked: the compose window asks before sending, and
    build_message refuses a draft that slipped past.
    """
    invalid = draft.invalid_addresses()
    if invalid:
        raise SendError(
            ErrorKind.INVALID_MESSAGE,
            f"These addresses are not valid: {', '.join(invalid)}. Correct them and send again.",
        )
    if not draft.has_recipients():
        raise SendError(
            ErrorKind.NO_RECIPIENTS, "Add at least one recipient in To, Cc or Bcc before sending."
        )

"""Building a standards-conforming MIME message from a Draft; knows nothing of sending."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime, localtime, make_msgid

from composer import __version__
from composer.mail.addresses import unique_addr_specs
from composer.mail.draft import Draft
from composer.mail.errors import ErrorKind, SendError

# Lines are folded at 78 characters and end in CRLF, as on the wire.
POLICY = SMTP


@dataclass(frozen=True)
class Envelope:
    """Who the message is from and to, as given to MAIL FROM and RCPT TO."""

    sender: str
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class OutgoingMessage:
    """A built message with its envelope; Bcc recipients are only in the envelope."""

    message: EmailMessage
    envelope: Envelope

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def as_bytes(self) -> bytes:
        """The message as it goes on the wire (CRLF line ends, no Bcc header)."""
        needs_utf8 = any(not r.isascii() for r in (self.envelope.sender, *self.envelope.recipients))
        return self.message.as_bytes(policy=SMTPUTF8 if needs_utf8 else SMTP)


# CR, LF and NUL, and the other characters str.splitlines() breaks at: the email package
# refuses a header value containing any of them with a bare ValueError.
_LINE_BREAKS = frozenset("\r\n\0\v\f\x1c\x1d\x1e\x85\u2028\u2029")
# RFC 5322 field names: printable ASCII except the colon.
_FIELD_NAME = re.compile(r"[!-9;-~]+")


def check_header_value(name: str, value: str) -> None:
    """Refuse line breaks and NUL in a header field: they could start a new header."""
    if any(c in _LINE_BREAKS for c in value):
        raise SendError(
            ErrorKind.INVALID_MESSAGE,
            f"The {name} field contains a line break, which is not allowed in a mail header. "
            "Remove it and send again.",
        )


def build_message(draft: Draft, sender: Address, reply_to: str = "") -> OutgoingMessage:
    """Build the message for draft, sent by sender; raises SendError if it cannot be sent."""
    for name, value in (("To", draft.to), ("Cc", draft.cc), ("Bcc", draft.bcc)):
        # Line breaks are separators in address fields, but a lone CR could still smuggle one.
        check_header_value(name, value.replace("\r\n", ",").replace("\n", ","))
    check_header_value("Subject", draft.subject)
    check_header_value("From", str(sender))
    check_header_value("Reply-To", reply_to)
    for name, value in draft.headers:
        if not _FIELD_NAME.fullmatch(name):
            raise SendError(
                ErrorKind.INVALID_MESSAGE,
                f"{name!r} is not a valid mail header name. Remove it and send again.",
            )
        check_header_value(name, value)
    recipients = draft.recipients()
    invalid = draft.invalid_addresses()
    if invalid:
        raise SendError(
            ErrorKind.INVALID_MESSAGE,
            "These addresses are not valid: "
            + ", ".join(invalid)
            + ". Correct them and send again.",
        )
    everyone = [a for parsed in recipients.values() for a in parsed.valid]
    if not everyone:
        raise SendError(
            ErrorKind.NO_RECIPIENTS, "Add at least one recipient in To, Cc or Bcc before sending."
        )

    message = EmailMessage(policy=POLICY)
    message["From"] = sender
    if recipients["To"].valid:
        message["To"] = recipients["To"].valid
    if recipients["Cc"].valid:
        message["Cc"] = recipients["Cc"].valid
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = draft.subject
    message["Date"] = format_datetime(localtime())
    message["Message-ID"] = make_msgid(domain=sender.domain or None)
    message["MIME-Version"] = "1.0"
    message["User-Agent"] = f"Composer/{__version__}"
    for name, value in draft.headers:
        message[name] = value
    body = draft.body.replace("\r\n", "\n").replace("\r", "\n")
    if not body.endswith("\n"):
        body += "\n"
    # quoted-printable keeps mostly-ASCII text readable and lines short; the policy picks
    # 8bit or base64 otherwise.
    message.set_content(body, subtype="plain", charset="utf-8", cte=_transfer_encoding(body))
    return OutgoingMessage(message, Envelope(sender.addr_spec, tuple(unique_addr_specs(everyone))))


def _transfer_encoding(body: str) -> str:
    if body.isascii() and all(len(line) <= 998 for line in body.split("\n")):
        return "7bit"
    return "quoted-printable"

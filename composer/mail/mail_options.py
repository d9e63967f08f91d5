"""What one server can take of one message: the MAIL FROM parameters, or why not, in words."""

from __future__ import annotations

import smtplib

from composer.mail.errors import ErrorKind, SendError
from composer.mail.message import Sendable
from composer.mail.sizes import format_size

# Many receiving servers refuse messages larger than this, whatever the sending server takes.
LARGE_MESSAGE = 25_000_000


def mail_options(
    smtp: smtplib.SMTP, message: Sendable, size: int, large_ok: bool, host: str
) -> list[str]:
    """The MAIL FROM parameters for message; a SendError if host cannot take it.

    A message over LARGE_MESSAGE to a server that does not say how much it accepts is refused
    with SIZE_UNCHECKED, unless large_ok (the user said to send it anyway).
    """
    limit = advertised_limit(smtp)
    if limit and size > limit:
        raise too_large_for(host, size, limit)
    if not limit and size > LARGE_MESSAGE and not large_ok:
        raise SendError(
            ErrorKind.SIZE_UNCHECKED,
            f"The message is {format_size(size)}, and {host} did not say how large a "
            "message it accepts. Many receiving servers refuse more than "
            f"{format_size(LARGE_MESSAGE)}, so Composer has not sent it: send it anyway, "
            "or remove attachments.",
        )
    options = [f"SIZE={size}"] if smtp.has_extn("size") else []
    # As smtplib.send_message does: SMTPUTF8 only when the envelope needs it and the
    # server offers it; 8-bit only to a server that said it takes 8BITMIME.
    envelope = message.envelope
    if not all(a.isascii() for a in (envelope.sender, *envelope.recipients)):
        if not smtp.has_extn("smtputf8"):
            raise _no_smtputf8(host, envelope.sender, envelope.recipients)
        options.append("SMTPUTF8")
    if not message.is_ascii():
        if not smtp.has_extn("8bitmime"):
            raise SendError(
                ErrorKind.ASCII_ONLY,
                f"{host} accepts only 7-bit messages (it does not offer 8BITMIME), and "
                "this message is 8-bit: its non-ASCII addresses are written in its header "
                "as UTF-8. Nothing was sent; send it through an account whose server "
                "offers 8BITMIME and SMTPUTF8.",
            )
        options.append("BODY=8BITMIME")
    return options


def advertised_limit(smtp: smtplib.SMTP) -> int:
    """The server's SIZE in bytes; 0 when it gave none (or "SIZE 0", no fixed limit)."""
    value = smtp.esmtp_features.get("size", "").strip()
    # ASCII digits only ("١٢٣" is a digit to Python), and not so many that int() refuses them
    # (over 4,300 digits raises): a limit past any message is no limit.
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        return 0
    return int(value)


def too_large_for(host: str, size: int, limit: int) -> SendError:
    shown, allowed = format_size(size), format_size(limit)
    if shown == allowed:  # "35.9 MB, which accepts at most 35.9 MB" would say nothing
        shown, allowed = f"{size:,} bytes", f"{limit:,} bytes"
    return SendError(
        ErrorKind.TOO_LARGE,
        f"The message is {shown}, too large for {host}, which accepts at most {allowed}. "
        "Remove attachments or send them another way.",
    )


def _no_smtputf8(host: str, sender: str, recipients: tuple[str, ...]) -> SendError:
    why = (
        "is not plain ASCII, and the server does not offer SMTPUTF8, which such an address "
        "needs. Nothing was sent"
    )
    if not sender.isascii():
        return SendError(
            ErrorKind.ASCII_ONLY,
            f"{host} cannot send mail from {sender}: the address {why}. Use another address "
            "for this account in Accounts, or ask your provider.",
        )
    foreign = [r for r in recipients if not r.isascii()]
    which = "the address" if len(foreign) == 1 else "each of these addresses"
    return SendError(
        ErrorKind.ASCII_ONLY,
        f"{host} cannot deliver to {', '.join(foreign)}: {which} {why}. Ask for another "
        "address, or send through an account whose server offers SMTPUTF8.",
    )

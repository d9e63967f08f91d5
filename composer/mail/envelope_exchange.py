"""MAIL FROM, RCPT TO and DATA up to the server's 354: a command at a time, or all in one write
to a server that offers PIPELINING (RFC 2920)."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable

from composer.mail.transcript import body_written

log = logging.getLogger(__name__)

# More recipients than this go a command at a time. A group is written whole before any reply
# is read, so the server's replies wait in the socket buffers meanwhile; a hundred replies fit
# in them many times over, an unbounded list might not (RFC 2920 §3.1: the client must not
# deadlock with a server blocked writing replies it does not read).
MAX_PIPELINED_RECIPIENTS = 100

# Refused recipients and the server's reply to each: code and text.
Refused = dict[str, tuple[int, str]]


def exchange_envelope(
    smtp: smtplib.SMTP, sender: str, recipients: tuple[str, ...], options: list[str]
) -> Refused:
    """MAIL FROM, RCPT TO for each recipient and DATA; returns those refused, with the reply.

    Returns once DATA got 354: the message itself is the caller's to write. Raises as
    smtplib does (SMTPSenderRefused, SMTPRecipientsRefused, SMTPDataError, and
    SMTPResponseException for a RCPT answered 421); after a refusal other than a 421 the
    session is in step for RSET and the next message, or closed.
    """
    if smtp.has_extn("pipelining") and len(recipients) <= MAX_PIPELINED_RECIPIENTS:
        return _pipelined(smtp, sender, recipients, options)
    refused = _recipients(smtp, sender, recipients, options)
    code, reply = smtp.docmd("DATA")
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)
    return refused


def _recipients(
    smtp: smtplib.SMTP, sender: str, recipients: tuple[str, ...], options: list[str]
) -> Refused:
    """MAIL FROM and RCPT TO for each recipient, each waiting for its reply."""
    code, reply = smtp.mail(sender, options)
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    refused = _refused(recipients, smtp.rcpt)
    if len(refused) == len(recipients):
        raise smtplib.SMTPRecipientsRefused(refused)
    return _decoded(refused)


def _pipelined(
    smtp: smtplib.SMTP, sender: str, recipients: tuple[str, ...], options: list[str]
) -> Refused:
    """The same commands in one write, then their replies in order (RFC 2920 §3.1).

    The server answers every command of the group whatever it made of the earlier ones, so
    after a refusal the rest of the replies are read too, and a 354 the server gave anyway
    is answered with the final "." alone: the session stays in step, and nothing is sent.
    """
    smtp.send(_group(smtp, sender, recipients, options))
    code, reply = smtp.getreply()
    if code != 250:
        if code != 421:  # a server closing the session sends nothing more
            _settle(smtp, len(recipients) + 1)
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    refused = _refused(recipients, lambda _recipient: smtp.getreply())
    if len(refused) == len(recipients):
        # Refused as smtplib refuses them, but a 252 ("cannot verify, will try") may still
        # have put the address in the server's transaction.
        taken = any(200 <= code < 300 for code, _ in refused.values())
        _settle(smtp, 1, taken=taken)
        raise smtplib.SMTPRecipientsRefused(refused)
    code, reply = smtp.getreply()
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)
    return _decoded(refused)


def _refused(
    recipients: tuple[str, ...], answer: Callable[[str], tuple[int, bytes]]
) -> dict[str, tuple[int, bytes]]:
    """The recipients whose RCPT answer(recipient) refused, with the reply; raises for a 421."""
    refused: dict[str, tuple[int, bytes]] = {}
    for recipient in recipients:
        code, reply = answer(recipient)
        if code == 421:  # the server is closing the session, not refusing this address
            raise smtplib.SMTPResponseException(code, reply)
        if code not in (250, 251):
            refused[recipient] = (code, reply)
    return refused


def _group(smtp: smtplib.SMTP, sender: str, recipients: tuple[str, ...], options: list[str]) -> str:
    """MAIL FROM, the RCPT TOs and DATA, each line as smtplib's mail(), rcpt() and docmd()
    write it (putcmd's format and newline check, quoteaddr, SMTPUTF8's UTF-8 commands)."""
    parameters = ""
    if options and smtp.does_esmtp:
        if any(option.lower() == "smtputf8" for option in options):
            if not smtp.has_extn("smtputf8"):
                raise smtplib.SMTPNotSupportedError("SMTPUTF8 not supported by server")
            smtp.command_encoding = "utf-8"
        parameters = " " + " ".join(options)
    commands = [
        f"mail FROM:{smtplib.quoteaddr(sender)}{parameters}",
        *(f"rcpt TO:{smtplib.quoteaddr(recipient)}" for recipient in recipients),
        "DATA",
    ]
    for command in commands:
        if "\r" in command or "\n" in command:
            shown = command.replace("\n", "\\n").replace("\r", "\\r")
            raise ValueError(
                f"command and arguments contain prohibited newline characters: {shown}"
            )
    return "".join(f"{command}\r\n" for command in commands)


def _settle(smtp: smtplib.SMTP, replies: int, *, taken: bool = False) -> None:
    """Read the last replies of a refused group, DATA's last, ending a 354 with "." alone.

    A 354 after RCPTs that were all refused is answered with the "." alone: nobody can get
    that empty message. When the server may have taken a recipient all the same (taken: a
    2xx other than 250 or 251; or any 2xx to a RCPT after a refused sender, which it must
    not give), the connection is closed instead, which makes it discard the DATA it opened.
    What a failure here ends is a message already refused: the session is closed (the next
    message cannot start on it), and the refusal is what the caller reports.
    """
    accepted = taken
    try:
        for _ in range(replies - 1):
            code, _reply = smtp.getreply()
            if code == 421:
                smtp.close()
                return
            accepted = accepted or 200 <= code < 300
        code, reply = smtp.getreply()
        if code == 354 and accepted:
            log.warning("DATA got 354 with a recipient maybe taken; closing the connection")
            smtp.close()
        elif code == 354:
            log.info("DATA got 354 after a refusal (%r); sending the final dot alone", reply)
            sock = smtp.sock
            assert sock is not None
            sock.sendall(b".\r\n")
            body_written(smtp, 0)
            code, reply = smtp.getreply()
            log.info("the empty DATA was answered %s %r", code, reply)
    except (OSError, smtplib.SMTPException) as error:
        log.info("the session ended after a refusal: %r", error)
        smtp.close()


def _decoded(refused: dict[str, tuple[int, bytes]]) -> Refused:
    return {r: (code, reply.decode("utf-8", "replace")) for r, (code, reply) in refused.items()}

"""What can go wrong while building or sending a message, in words people can read."""

from __future__ import annotations

import enum
import errno
import smtplib
import socket
import ssl


class ErrorKind(enum.Enum):
    """The kinds of failure a user can tell apart and act on."""

    INVALID_MESSAGE = "invalid message"
    NO_RECIPIENTS = "no recipients"
    AUTH_FAILED = "authentication failed"
    PASSWORD_MISSING = "password missing"  # noqa: S105 (a kind, not a password)
    KEYRING = "keyring unavailable"
    UNREACHABLE = "host unreachable"
    CONNECTION_REFUSED = "connection refused"
    TIMEOUT = "timed out"
    CERTIFICATE = "certificate not trusted"
    TLS_FAILED = "secure connection failed"
    STARTTLS_UNAVAILABLE = "STARTTLS not offered"
    INSECURE = "unencrypted connection"
    RECIPIENTS_REFUSED = "recipients refused"
    SENDER_REFUSED = "sender refused"
    TOO_LARGE = "message too large"
    DISCONNECTED = "connection lost"
    SERVER_ERROR = "server error"
    FILE = "file unreadable"
    CANCELLED = "cancelled"
    SIZE_UNCHECKED = "size not checked"
    # A fault in Composer itself, not in the message, the account or the server.
    INTERNAL = "internal error"


# Failures that may well go away if the same message is sent again later (an Outbox retries these).
_PASSING_KINDS = frozenset(
    {
        ErrorKind.UNREACHABLE,
        ErrorKind.CONNECTION_REFUSED,
        ErrorKind.TIMEOUT,
        ErrorKind.DISCONNECTED,
        ErrorKind.KEYRING,
    }
)


class SendError(Exception):
    """A failure with a kind, a sentence for the status bar, and the server's reply if any."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        smtp_code: int | None = None,
        refused: dict[str, tuple[int, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.smtp_code = smtp_code
        self.refused = dict(refused or {})

    @property
    def passing(self) -> bool:
        """True when trying again later may succeed (a 4xx reply, a network hiccup)."""
        if self.smtp_code is not None:
            return 400 <= self.smtp_code < 500
        return self.kind in _PASSING_KINDS

    def __str__(self) -> str:
        return self.message


def internal_error(error: BaseException) -> SendError:
    """The SendError for a programming error: says it is Composer's fault; the log has the rest.

    The caller logs the traceback; the exception's own text is for developers, not users.
    """
    return SendError(
        ErrorKind.INTERNAL,
        f"Something went wrong inside Composer ({type(error).__name__}), so it stopped. "
        "Your message is unchanged; try again, and if it keeps happening, please report it "
        "with Composer's log.",
    )


def server_reply(code: int, text: bytes | str) -> str:
    """The server's reply as one readable line, e.g. ``535 Authentication failed``."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}".strip()


def describe_refused(refused: dict[str, tuple[int, str]]) -> str:
    """``ann@example.org (550 No such user), …`` for a status line."""
    return ", ".join(f"{rcpt} ({server_reply(*reply)})" for rcpt, reply in refused.items())


def classify(error: BaseException, host: str, port: int) -> SendError:
    """Turn any exception raised while talking to host:port into a SendError people can read."""
    if isinstance(error, SendError):
        return error
    where = f"{host}:{port}"
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return SendError(
            ErrorKind.AUTH_FAILED,
            f"Could not log in to {host}: the server said "
            f"'{server_reply(error.smtp_code, error.smtp_error)}'. "
            "Check the user name and password in Accounts.",
            smtp_code=error.smtp_code,
        )
    if isinstance(error, smtplib.SMTPSenderRefused):
        reply = server_reply(error.smtp_code, error.smtp_error)
        if error.smtp_code == 552:  # "exceeded storage allocation": the size, in practice
            return _too_large(host, reply)
        return SendError(
            ErrorKind.SENDER_REFUSED,
            f"{host} refused the sender address {error.sender}: the server said '{reply}'. "
            "Check the email address of the account.",
            smtp_code=error.smtp_code,
        )
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refused = {r: (c, _text(m)) for r, (c, m) in error.recipients.items()}
        codes = {c for c, _ in refused.values()}
        return SendError(
            ErrorKind.RECIPIENTS_REFUSED,
            f"{host} refused every recipient, so nothing was sent: {describe_refused(refused)}.",
            smtp_code=min(codes) if codes else None,
            refused=refused,
        )
    if isinstance(error, smtplib.SMTPDataError):
        reply = server_reply(error.smtp_code, error.smtp_error)
        if error.smtp_code == 552:  # "exceeded storage allocation": the size, in practice
            return _too_large(host, reply)
        return SendError(
            ErrorKind.SERVER_ERROR,
            f"{host} did not accept the message: the server said '{reply}'.",
            smtp_code=error.smtp_code,
        )
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return SendError(
            ErrorKind.SERVER_ERROR,
            f"{host} does not support what Composer needs: {error}.",
        )
    if isinstance(error, smtplib.SMTPServerDisconnected):
        # smtplib turns a read timeout into "Connection unexpectedly closed: timed out".
        if isinstance(error.__context__, TimeoutError):
            return classify(error.__context__, host, port)
        return SendError(
            ErrorKind.DISCONNECTED,
            f"The connection to {where} was closed unexpectedly. Try again later.",
        )
    if isinstance(error, smtplib.SMTPResponseException):
        reply = server_reply(error.smtp_code, error.smtp_error)
        return SendError(
            ErrorKind.SERVER_ERROR,
            f"{host} answered with an error: '{reply}'.",
            smtp_code=error.smtp_code,
        )
    if isinstance(error, ssl.SSLCertVerificationError):
        reason = error.verify_message or error.reason or str(error)
        return SendError(
            ErrorKind.CERTIFICATE,
            f"The certificate of {host} is not trusted ({reason}). Composer did not send "
            "anything. If this server is yours, install its certificate authority; "
            "otherwise someone may be intercepting the connection.",
        )
    if isinstance(error, ssl.SSLError):
        return SendError(
            ErrorKind.TLS_FAILED,
            f"Could not set up a secure connection to {where} "
            f"({getattr(error, 'reason', None) or error}). "
            "Check the port and the security setting in Accounts (465 is usually SSL/TLS, "
            "587 STARTTLS).",
        )
    if isinstance(error, socket.timeout | TimeoutError):
        return SendError(
            ErrorKind.TIMEOUT,
            f"Connecting to {where} timed out: the server did not answer in time. "
            "Check the host and port, or try again later.",
        )
    if isinstance(error, socket.gaierror):
        return SendError(
            ErrorKind.UNREACHABLE,
            f"Could not find the mail server {host}: the name does not resolve "
            f"({error.strerror}). Check the host name in Accounts and your network.",
        )
    if isinstance(error, ConnectionRefusedError):
        return SendError(
            ErrorKind.CONNECTION_REFUSED,
            f"The connection to {where} was refused: no mail server is listening there. "
            "Check the host and port in Accounts.",
        )
    if isinstance(error, OSError) and error.errno in (
        errno.ENETUNREACH,
        errno.EHOSTUNREACH,
        errno.EADDRNOTAVAIL,
    ):
        return SendError(
            ErrorKind.UNREACHABLE,
            f"{where} cannot be reached ({error.strerror}). Check your network connection.",
        )
    if isinstance(error, ConnectionError):
        return SendError(
            ErrorKind.DISCONNECTED,
            f"The connection to {where} was lost ({error.strerror or error}). Try again later.",
        )
    if isinstance(error, OSError):
        return SendError(
            ErrorKind.UNREACHABLE,
            f"Could not talk to {where}: {error.strerror or error}.",
        )
    return SendError(ErrorKind.SERVER_ERROR, f"Sending through {where} failed: {error}.")


def _too_large(host: str, reply: str) -> SendError:
    return SendError(
        ErrorKind.TOO_LARGE,
        f"The message is too large for {host}: the server said '{reply}'.",
        smtp_code=552,
    )


def _text(message: bytes | str) -> str:
    return message.decode("utf-8", "replace") if isinstance(message, bytes) else message

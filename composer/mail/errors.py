"""What can go wrong while building or sending a message, in words people can read."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from composer.mail.certificates import CertificateInfo


class ErrorKind(enum.Enum):
    """The kinds of failure a user can tell apart and act on."""

    INVALID_MESSAGE = "invalid message"
    NO_RECIPIENTS = "no recipients"
    AUTH_FAILED = "authentication failed"
    PASSWORD_MISSING = "password missing"  # noqa: S105 (a kind, not a password)
    KEYRING = "keyring unavailable"
    # The account signs in with its provider, and that sign-in was withdrawn, expired or never
    # finished: only the user can sign in again (Accounts), nothing retried does it.
    SIGN_IN_NEEDED = "sign in needed"
    UNREACHABLE = "host unreachable"
    CONNECTION_REFUSED = "connection refused"
    TIMEOUT = "timed out"
    CERTIFICATE = "certificate not trusted"
    # The two ends could not agree on TLS (a version or protocol mismatch, a plaintext port):
    # the same again fails the same way.
    TLS_FAILED = "secure connection failed"
    # The TLS handshake was cut off (end of file, reset): a network or server hiccup.
    TLS_INTERRUPTED = "secure connection interrupted"
    STARTTLS_UNAVAILABLE = "STARTTLS not offered"
    INSECURE = "unencrypted connection"
    # The account trusts one certificate by its fingerprint, and the server showed another.
    CERTIFICATE_CHANGED = "certificate changed"
    # The account's host is empty or holds spaces or control characters: no server is
    # named so, and sending again cannot help until it is corrected in Accounts.
    BAD_HOST = "host name not usable"
    RECIPIENTS_REFUSED = "recipients refused"
    SENDER_REFUSED = "sender refused"
    TOO_LARGE = "message too large"
    # Larger than many receiving servers take, and the server did not say what it takes:
    # sending anyway is the user's call (Delivery.send(..., large_ok=True)).
    SIZE_UNCHECKED = "size not checked by the server"
    # The server cannot carry what is not ASCII: a non-ASCII address (no SMTPUTF8) or an
    # 8-bit message (no 8BITMIME).
    ASCII_ONLY = "server accepts only ASCII"
    DISCONNECTED = "connection lost"
    SERVER_ERROR = "server error"
    FILE = "file unreadable"
    CANCELLED = "cancelled"
    # The whole message and its final "." went out, then the connection broke or went
    # silent before the server answered: it may have been delivered. Never retried without
    # the user's word, since a retry could send it twice.
    MAY_HAVE_BEEN_SENT = "may have been sent"
    # One of several messages on one connection that was never started, because the
    # connection broke while an earlier one was being sent.
    NOT_TRIED = "not tried"
    # A fault in Composer itself, not in the message, the account or the server.
    INTERNAL = "internal error"


# Failures that may well go away if the same message is sent again later (an Outbox retries
# these). A server reply decides by its code instead: 4xx is "not now", 5xx "never".
_RETRYABLE_KINDS = frozenset(
    {
        # Includes a name that does not resolve: far more often that is no network at all
        # (a laptop offline, a captive portal) than a mistyped host, which the sentence
        # names anyway; retrying a typo with backoff costs nothing but a few lookups.
        ErrorKind.UNREACHABLE,
        ErrorKind.CONNECTION_REFUSED,
        ErrorKind.TIMEOUT,
        ErrorKind.DISCONNECTED,
        ErrorKind.TLS_INTERRUPTED,
        ErrorKind.KEYRING,
        ErrorKind.NOT_TRIED,
    }
)
# Failures after which the server may hold the message: never retryable, whatever else holds.
_MAYBE_DELIVERED_KINDS = frozenset({ErrorKind.MAY_HAVE_BEEN_SENT})


class SignInFailed(Exception):
    """Signing in with a provider did not work; str() says what happened and what to do."""


class SignInNeeded(SignInFailed):
    """The provider no longer honours the account's sign-in (withdrawn, expired): only
    signing in again in the browser helps."""


class Step(enum.Enum):
    """Where in an SMTP exchange a failure happened, as the start of a sentence."""

    CONNECTING = "Connecting to {where}"
    SECURING = "Securing the connection to {where}"
    LOGGING_IN = "Logging in to {where}"
    SENDING = "Sending the message to {where}"
    # After the final ".": a failure here is never failures.classify()'s, see may_have_been_sent().
    CONFIRMING = "Waiting for {host} to confirm the message"

    def at(self, host: str, where: str) -> str:
        return self.value.format(host=host, where=where)


class SendError(Exception):
    """A failure with a kind, a sentence for the status bar, and the server's reply if any."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        smtp_code: int | None = None,
        refused: dict[str, tuple[int, str]] | None = None,
        certificate: CertificateInfo | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.smtp_code = smtp_code
        self.refused = dict(refused or {})
        # The server's certificate, for CERTIFICATE and CERTIFICATE_CHANGED, when it could
        # be read: what the user reviews before trusting it.
        self.certificate = certificate

    @property
    def nothing_sent(self) -> bool:
        """True when no recipient can have got the message (all but MAY_HAVE_BEEN_SENT)."""
        return self.kind not in _MAYBE_DELIVERED_KINDS

    @property
    def retryable(self) -> bool:
        """True when sending again later may succeed and cannot deliver a second copy."""
        if not self.nothing_sent:
            return False
        if self.smtp_code is not None:
            return 400 <= self.smtp_code < 500
        return self.kind in _RETRYABLE_KINDS

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


# A reply is quoted whole up to this many characters: a server may send 64 KiB of it.
_SHOWN_REPLY = 300


def server_reply(code: int, text: bytes | str) -> str:
    """The server's reply as one readable line, e.g. ``535 Authentication failed``.

    Bytes that are not UTF-8 become U+FFFD, control and invisible formatting characters
    (an escape sequence, a right-to-left override) are written as escapes, and a very long
    reply is cut short. A code below 0 is smtplib's "not a reply at all": only the text.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    shown = " ".join(text.split())
    # Nearly every reply is printable ASCII, which has nothing to escape: this is read for
    # every reply of a batch, and the look-up of each character's category is not free.
    if not (shown.isascii() and shown.isprintable()):
        shown = _escaped(shown)
    if len(shown) > _SHOWN_REPLY:
        shown = shown[: _SHOWN_REPLY - 1] + "…"
    return f"{code} {shown}".strip() if code >= 0 else shown


def reply_text(text: bytes | str) -> str:
    """A reply's text as smtplib gives it (bytes, or already a str), decoded."""
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else text


def _escaped(text: str) -> str:
    """text with control and invisible formatting characters written as escapes."""
    import unicodedata  # here: its tables are not needed before the first window

    return "".join(
        char.encode("unicode_escape", "backslashreplace").decode("ascii")
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn")
        else char
        for char in text
    )


def describe_refused(refused: dict[str, tuple[int, str]]) -> str:
    """``ann@example.org (550 No such user), …`` for a status line."""
    return ", ".join(f"{rcpt} ({server_reply(*reply)})" for rcpt, reply in refused.items())


def may_have_been_sent(
    error: BaseException, host: str, written_at: datetime, *, cancelled: bool, timeout: float
) -> SendError:
    """The SendError for a failure after the whole message and its final "." went out."""
    if cancelled:
        then = "then sending was cancelled before the server confirmed it"
    elif is_timeout(error):
        then = f"then the server did not confirm it within {timeout:g} seconds"
    else:
        then = "then the connection broke before the server confirmed it"
    return SendError(
        ErrorKind.MAY_HAVE_BEEN_SENT,
        f"This message may have been sent: all of it reached {host} at "
        f"{written_at:%H:%M}, {then}. Composer will not send it again by itself. Check with "
        "a recipient, or look in the Sent folder of your mailbox, before sending it again.",
    )


def not_tried(lost: SendError) -> SendError:
    """The SendError for a message left out because the connection broke on an earlier one."""
    return SendError(
        ErrorKind.NOT_TRIED,
        "This message was not sent: the connection broke while an earlier message was being "
        f"sent, so it was not tried. Try again later. ({lost.message})",
    )


def is_timeout(error: BaseException) -> bool:
    # smtplib turns a read timeout into "Connection unexpectedly closed: timed out".
    return isinstance(error, TimeoutError) or isinstance(error.__context__, TimeoutError)

"""What can go wrong while building or sending a message, in words people can read."""

from __future__ import annotations

import enum
import errno
import smtplib
import socket
import ssl
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from composer.mail.certificates import CertificateInfo, Problem, problem_of
from composer.mail.provider_errors import Stage, Who, explain, replies_of
from composer.mail.providers import Provider
from composer.mail.sizes import format_size
from composer.mail.smtp_client import (
    DataTooSlow,
    LoginUnfinished,
    MessageRefused,
    ReplyTooLong,
    ReplyTooSlow,
)


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


class Step(enum.Enum):
    """Where in an SMTP exchange a failure happened, as the start of a sentence."""

    CONNECTING = "Connecting to {where}"
    SECURING = "Securing the connection to {where}"
    LOGGING_IN = "Logging in to {where}"
    SENDING = "Sending the message to {where}"
    # After the final ".": a failure here is never classify()'s, see may_have_been_sent().
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
    shown = "".join(_visible(char) for char in " ".join(text.split()))
    if len(shown) > _SHOWN_REPLY:
        shown = shown[: _SHOWN_REPLY - 1] + "…"
    return f"{code} {shown}".strip() if code >= 0 else shown


def _visible(char: str) -> str:
    if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn"):
        return char.encode("unicode_escape", "backslashreplace").decode("ascii")
    return char


def describe_refused(refused: dict[str, tuple[int, str]]) -> str:
    """``ann@example.org (550 No such user), …`` for a status line."""
    return ", ".join(f"{rcpt} ({server_reply(*reply)})" for rcpt, reply in refused.items())


def classify(
    error: BaseException,
    host: str,
    port: int,
    step: Step = Step.CONNECTING,
    *,
    provider: Provider | None = None,
) -> SendError:
    """Turn any exception raised at step while talking to host:port into a SendError.

    An exception that is not about the network, TLS or SMTP is a fault in Composer:
    internal_error(), whose sentence does not repeat the exception's text. For a failure
    after the final ".", other than the server's reply, see may_have_been_sent(). A reply
    people often get is explained in words of what to do (provider_errors.py), naming
    provider, the one host belongs to, when it is known; its kind and code stay the same.
    """
    if isinstance(error, SendError):
        return error
    place = _Place(host, f"{host}:{port}", step)
    for rule in _RULES:
        if isinstance(error, rule.type) and rule.applies(error, place):
            return _explained(rule.describe(error, place), error, place, provider)
    return internal_error(error)


# Which command a reply whose exception does not say answered, by the step under way.
_STAGE_OF_STEP = {Step.SECURING: Stage.STARTTLS, Step.LOGGING_IN: Stage.AUTH}


def _explained(
    failure: SendError, error: BaseException, at: _Place, provider: Provider | None
) -> SendError:
    """failure in the words of provider_errors.explain(), when it has some for the reply,
    followed by the server's own."""
    replies = replies_of(error, _STAGE_OF_STEP.get(at.step, Stage.OTHER))
    if not replies:
        return failure
    who = Who(at.host, provider)
    explanations = {explain(reply, who) for reply in replies}
    if len(explanations) != 1 or None in explanations:
        return failure
    [explanation] = explanations
    said = "; ".join(dict.fromkeys(server_reply(r.code, r.text) for r in replies))
    return SendError(
        failure.kind,
        f"{explanation} The server said '{said}'.",
        smtp_code=failure.smtp_code,
        refused=failure.refused,
        certificate=failure.certificate,
    )


def may_have_been_sent(
    error: BaseException, host: str, written_at: datetime, *, cancelled: bool, timeout: float
) -> SendError:
    """The SendError for a failure after the whole message and its final "." went out."""
    if cancelled:
        then = "then sending was cancelled before the server confirmed it"
    elif _is_timeout(error):
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


def _is_timeout(error: BaseException) -> bool:
    # smtplib turns a read timeout into "Connection unexpectedly closed: timed out".
    return isinstance(error, TimeoutError) or isinstance(error.__context__, TimeoutError)


@dataclass(frozen=True)
class _Place:
    host: str
    where: str  # host:port
    step: Step

    @property
    def doing(self) -> str:
        """``Logging in to smtp.example.org:465``: what was under way."""
        return self.step.at(self.host, self.where)


@dataclass(frozen=True)
class _Rule:
    """Errors of this type (for which applies() holds) are described by describe()."""

    type: type[BaseException] | tuple[type[BaseException], ...]
    describe: Callable[[Any, _Place], SendError]
    applies: Callable[[Any, _Place], bool] = lambda _error, _place: True


def _unavailable(error: smtplib.SMTPResponseException, at: _Place) -> SendError:
    return SendError(
        ErrorKind.DISCONNECTED,
        f"{at.host} is not available right now: it ended the session, saying "
        f"'{server_reply(error.smtp_code, error.smtp_error)}'. Nothing was sent; "
        "try again later.",
        smtp_code=error.smtp_code,
    )


def _turned_away(error: smtplib.SMTPConnectError, at: _Place) -> SendError:
    return SendError(
        ErrorKind.SERVER_ERROR,
        f"{at.host} turned the connection away: instead of a greeting, the server said "
        f"'{server_reply(error.smtp_code, error.smtp_error)}'. Nothing was sent. It may not "
        "take mail from your network or on this port; check the host and port in Accounts, "
        "or ask your provider.",
        smtp_code=error.smtp_code,
    )


def _login_unfinished(_error: LoginUnfinished, at: _Place) -> SendError:
    return SendError(
        ErrorKind.AUTH_FAILED,
        f"Could not log in to {at.host}: the server kept asking for more after the user "
        "name and password were sent. Check the user name in Accounts; if it is right, ask "
        "your provider which login method to use.",
    )


def _message_refused(error: MessageRefused, at: _Place) -> SendError:
    reply = server_reply(error.smtp_code, error.smtp_error)
    if 400 <= error.smtp_code < 500:
        return SendError(
            ErrorKind.SERVER_ERROR,
            f"{at.host} received the message but could not take it now, so nobody got it: "
            f"the server said '{reply}'. Try again later.",
            smtp_code=error.smtp_code,
        )
    return SendError(
        ErrorKind.SERVER_ERROR,
        f"{at.host} received the message and refused it, so nobody got it: the server said "
        f"'{reply}'.",
        smtp_code=error.smtp_code,
    )


def _auth_failed(error: smtplib.SMTPAuthenticationError, at: _Place) -> SendError:
    return SendError(
        ErrorKind.AUTH_FAILED,
        f"Could not log in to {at.host}: the server said "
        f"'{server_reply(error.smtp_code, error.smtp_error)}'. "
        "Check the user name and password in Accounts.",
        smtp_code=error.smtp_code,
    )


def _too_large(error: smtplib.SMTPResponseException, at: _Place) -> SendError:
    return SendError(
        ErrorKind.TOO_LARGE,
        f"The message is too large for {at.host}: the server said "
        f"'{server_reply(error.smtp_code, error.smtp_error)}'.",
        smtp_code=error.smtp_code,
    )


def _sender_refused(error: smtplib.SMTPSenderRefused, at: _Place) -> SendError:
    if 400 <= error.smtp_code < 500:
        return SendError(
            ErrorKind.SENDER_REFUSED,
            f"{at.host} could not take mail from {error.sender} right now: the server said "
            f"'{server_reply(error.smtp_code, error.smtp_error)}'. Nothing was sent; try "
            "again later.",
            smtp_code=error.smtp_code,
        )
    return SendError(
        ErrorKind.SENDER_REFUSED,
        f"{at.host} refused the sender address {error.sender}: the server said "
        f"'{server_reply(error.smtp_code, error.smtp_error)}'. "
        "Check the email address of the account.",
        smtp_code=error.smtp_code,
    )


def _recipients_refused(error: smtplib.SMTPRecipientsRefused, at: _Place) -> SendError:
    refused = {r: (c, _text(m)) for r, (c, m) in error.recipients.items()}
    codes = {c for c, _ in refused.values()}
    return SendError(
        ErrorKind.RECIPIENTS_REFUSED,
        f"{at.host} refused every recipient, so nothing was sent: {describe_refused(refused)}.",
        smtp_code=min(codes) if codes else None,
        refused=refused,
    )


def _data_refused(error: smtplib.SMTPDataError, at: _Place) -> SendError:
    return SendError(
        ErrorKind.SERVER_ERROR,
        f"{at.host} did not accept the message: the server said "
        f"'{server_reply(error.smtp_code, error.smtp_error)}'.",
        smtp_code=error.smtp_code,
    )


def _not_supported(error: smtplib.SMTPNotSupportedError, at: _Place) -> SendError:
    return SendError(
        ErrorKind.SERVER_ERROR, f"{at.host} does not support what Composer needs: {error}."
    )


def _disconnected(error: smtplib.SMTPServerDisconnected, at: _Place) -> SendError:
    if _is_timeout(error):
        return _timed_out(error, at)
    return SendError(
        ErrorKind.DISCONNECTED,
        f"{at.doing} failed: the connection was closed unexpectedly. {_NOTHING_SENT[at.step]}",
    )


def _server_answered(error: smtplib.SMTPResponseException, at: _Place) -> SendError:
    return SendError(
        ErrorKind.SERVER_ERROR,
        f"{at.host} answered with an error: '{server_reply(error.smtp_code, error.smtp_error)}'.",
        smtp_code=error.smtp_code,
    )


def _starttls_refused(error: smtplib.SMTPResponseException, at: _Place) -> SendError:
    return SendError(
        ErrorKind.STARTTLS_UNAVAILABLE,
        f"{at.host} offered STARTTLS but then refused to start it: the server said "
        f"'{server_reply(error.smtp_code, error.smtp_error)}'. Composer stopped before "
        "sending anything (your password included). Try again later; if it keeps happening, "
        "choose SSL/TLS (usually port 465) in Accounts, or ask your provider.",
        smtp_code=error.smtp_code,
    )


def _smtp_failed(error: smtplib.SMTPException, at: _Place) -> SendError:
    return SendError(ErrorKind.SERVER_ERROR, f"Sending through {at.where} failed: {error}.")


def _certificate(error: ssl.SSLCertVerificationError, at: _Place) -> SendError:
    # SmtpTransport replaces this with certificate_errors.untrusted(), which shows the
    # certificate; this is for a failure whose certificate could not be read.
    problem = problem_of(error)
    reason = problem.value if problem is not Problem.OTHER else None
    return SendError(
        ErrorKind.CERTIFICATE,
        f"The certificate of {at.host} is not trusted "
        f"({reason or error.verify_message or error.reason or error}). Composer did not send "
        "anything. If this server is yours, open Accounts ▸ Test Connection to review the "
        "certificate and trust it; otherwise someone may be intercepting the connection.",
    )


def _tls_interrupted(error: OSError, at: _Place) -> SendError:
    return SendError(
        ErrorKind.TLS_INTERRUPTED,
        f"Could not set up a secure connection to {at.where}: the connection was cut off "
        f"during the handshake ({getattr(error, 'reason', None) or error.strerror or error}). "
        "Nothing was sent; try again later. If it keeps happening, check the port and the "
        "security setting in Accounts (465 is usually SSL/TLS, 587 STARTTLS).",
    )


def _tls_too_old(_error: ssl.SSLError, at: _Place) -> SendError:
    return SendError(
        ErrorKind.TLS_FAILED,
        f"Could not set up a secure connection to {at.where}: the server offers only TLS "
        "1.1 or older, which is no longer safe, and Composer needs TLS 1.2 or newer. Nothing "
        "was sent. Ask your provider for a server that supports TLS 1.2.",
    )


def _tls_failed(error: ssl.SSLError, at: _Place) -> SendError:
    return SendError(
        ErrorKind.TLS_FAILED,
        f"Could not set up a secure connection to {at.where} "
        f"({getattr(error, 'reason', None) or error}). "
        "Check the port and the security setting in Accounts (465 is usually SSL/TLS, "
        "587 STARTTLS).",
    )


# What a failure at each step means for the message, and what to do.
_NOTHING_SENT = {
    Step.CONNECTING: "Nothing was sent. Check the host and port, or try again later.",
    Step.SECURING: "Nothing was sent. Check the port and the security setting in Accounts, "
    "or try again later.",
    Step.LOGGING_IN: "Nothing was sent; try again later.",
    Step.SENDING: "The server had not got all of the message, so nobody got it; try again later.",
    Step.CONFIRMING: "Try again later.",  # unused: see may_have_been_sent()
}


def _timed_out(_error: BaseException, at: _Place) -> SendError:
    return SendError(
        ErrorKind.TIMEOUT,
        f"{at.doing} timed out: the server did not answer in time. {_NOTHING_SENT[at.step]}",
    )


def _seconds(seconds: float) -> str:
    return "1 second" if seconds == 1 else f"{seconds:g} seconds"


_SLOW_SERVER = "If this server is always this slow, raise its timeout in Accounts."


def _reply_too_slow(error: ReplyTooSlow, at: _Place) -> SendError:
    # "timed out" first, as for a silent server: to the user both are a server not answering.
    return SendError(
        ErrorKind.TIMEOUT,
        f"{at.doing} timed out: {at.host} answered too slowly, with no complete reply "
        f"within {_seconds(error.seconds)} {error.waiting}. {_NOTHING_SENT[at.step]} "
        f"{_SLOW_SERVER}",
    )


def _data_too_slow(error: DataTooSlow, at: _Place) -> SendError:
    if error.stalled:
        # A write's timeout is for the whole piece: it may have taken a little of it.
        how = (
            f"it had taken {format_size(error.written)}, then hardly any more for "
            f"{_seconds(error.seconds)}"
        )
    else:
        how = (
            f"it had taken {format_size(error.written)} in {_seconds(round(error.seconds))}, "
            f"less than the {format_size(error.rate)} a second Composer waits for"
        )
    return SendError(
        ErrorKind.TIMEOUT,
        f"{at.doing} timed out: {at.host} took the message too slowly ({how}), so Composer "
        f"stopped before the end. {_NOTHING_SENT[at.step]} {_SLOW_SERVER}",
    )


def _reply_too_long(error: ReplyTooLong, at: _Place) -> SendError:
    return SendError(
        ErrorKind.SERVER_ERROR,
        f"{at.where} sent a reply far longer than any SMTP server does ({error.what} "
        f"{error.waiting}), so Composer hung up. The server is misbehaving, or it is not an "
        f"SMTP server: check the host and port in Accounts. {_NOTHING_SENT[at.step]}",
    )


def _unresolved(error: socket.gaierror, at: _Place) -> SendError:
    return SendError(
        ErrorKind.UNREACHABLE,
        f"Could not find the mail server {at.host}: the name does not resolve "
        f"({error.strerror}). Check the host name in Accounts and your network.",
    )


def _connection_refused(_error: ConnectionRefusedError, at: _Place) -> SendError:
    return SendError(
        ErrorKind.CONNECTION_REFUSED,
        f"The connection to {at.where} was refused: no mail server is listening there. "
        "Check the host and port in Accounts.",
    )


def _unreachable(error: OSError, at: _Place) -> SendError:
    return SendError(
        ErrorKind.UNREACHABLE,
        f"{at.where} cannot be reached ({error.strerror}). Check your network connection.",
    )


def _connection_lost(error: OSError, at: _Place) -> SendError:
    return SendError(
        ErrorKind.DISCONNECTED,
        f"{at.doing} failed: the connection was lost ({error.strerror or error}). "
        f"{_NOTHING_SENT[at.step]}",
    )


def _os_error(error: OSError, at: _Place) -> SendError:
    return SendError(
        ErrorKind.UNREACHABLE, f"Could not talk to {at.where}: {error.strerror or error}."
    )


def _code_is(*codes: int) -> Callable[[smtplib.SMTPResponseException, _Place], bool]:
    return lambda error, _place: error.smtp_code in codes


def _old_tls(error: ssl.SSLError, _place: _Place) -> bool:
    # An SSLError made by hand (or by asyncio) may lack the reason the C module sets.
    return getattr(error, "reason", None) in _OLD_TLS_REASONS


def _securing(_error: BaseException, at: _Place) -> bool:
    return at.step is Step.SECURING


_TLS_CUT_OFF = (ssl.SSLEOFError, ssl.SSLZeroReturnError)
# What OpenSSL says when the server offers only protocol versions below our minimum.
_OLD_TLS_REASONS = frozenset(
    {"UNSUPPORTED_PROTOCOL", "TLSV1_ALERT_PROTOCOL_VERSION", "WRONG_SSL_VERSION"}
)
_UNREACHABLE_ERRNOS = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL})

# First match wins, so a subclass comes before its base class (every smtplib error and
# every ssl error is an OSError).
_RULES: tuple[_Rule, ...] = (
    # 421 is "service not available, closing the channel", whatever command it answers.
    _Rule(smtplib.SMTPResponseException, _unavailable, _code_is(421)),
    _Rule(smtplib.SMTPConnectError, _turned_away),
    _Rule(smtplib.SMTPAuthenticationError, _auth_failed),
    _Rule(LoginUnfinished, _login_unfinished),
    _Rule(ReplyTooLong, _reply_too_long),
    # 552 is "exceeded storage allocation", which in practice means the message's size.
    _Rule((smtplib.SMTPSenderRefused, smtplib.SMTPDataError), _too_large, _code_is(552)),
    _Rule(smtplib.SMTPSenderRefused, _sender_refused),
    _Rule(smtplib.SMTPRecipientsRefused, _recipients_refused),
    _Rule(MessageRefused, _message_refused),
    _Rule(smtplib.SMTPDataError, _data_refused),
    _Rule(smtplib.SMTPNotSupportedError, _not_supported),
    _Rule(smtplib.SMTPServerDisconnected, _disconnected),
    # Only STARTTLS is answered while securing: a refusal there is a downgrade to refuse.
    _Rule(smtplib.SMTPResponseException, _starttls_refused, _securing),
    _Rule(smtplib.SMTPResponseException, _server_answered),
    _Rule(smtplib.SMTPException, _smtp_failed),
    _Rule(ssl.SSLCertVerificationError, _certificate),
    # End of file or a reset in the middle of the handshake: cut off, not refused.
    _Rule((*_TLS_CUT_OFF, ConnectionError), _tls_interrupted, _securing),
    _Rule(_TLS_CUT_OFF, _connection_lost),
    _Rule(ssl.SSLError, _tls_too_old, _old_tls),
    _Rule(ssl.SSLError, _tls_failed),
    _Rule(ReplyTooSlow, _reply_too_slow),
    _Rule(DataTooSlow, _data_too_slow),
    _Rule(TimeoutError, _timed_out),  # socket.timeout is TimeoutError
    _Rule(socket.gaierror, _unresolved),
    _Rule(ConnectionRefusedError, _connection_refused),
    _Rule(OSError, _unreachable, lambda error, _place: error.errno in _UNREACHABLE_ERRNOS),
    _Rule(ConnectionError, _connection_lost),
    _Rule(OSError, _os_error),
)


def _text(message: bytes | str) -> str:
    return message.decode("utf-8", "replace") if isinstance(message, bytes) else message

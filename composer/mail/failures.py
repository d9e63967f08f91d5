"""How an exception from smtplib, ssl or the socket becomes a SendError: the rules, in order,
and the words of each."""

from __future__ import annotations

import errno
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from composer.mail.certificates import Problem, problem_of
from composer.mail.errors import (
    ErrorKind,
    SendError,
    Step,
    describe_refused,
    internal_error,
    is_timeout,
    reply_text,
    server_reply,
)
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
    refused = {r: (c, reply_text(m)) for r, (c, m) in error.recipients.items()}
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
    if is_timeout(error):
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

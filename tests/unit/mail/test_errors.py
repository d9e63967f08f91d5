"""Turning failures into SendErrors with a kind and a sentence people can read."""

from __future__ import annotations

import errno
import smtplib
import socket
import ssl
from datetime import datetime

import pytest

from composer.mail.errors import (
    ErrorKind,
    SendError,
    Step,
    describe_refused,
    may_have_been_sent,
    server_reply,
)
from composer.mail.failures import classify
from composer.mail.smtp_client import (
    DataTooSlow,
    LoginUnfinished,
    MessageRefused,
    ReplyTooLong,
    ReplyTooSlow,
)

HOST, PORT = "smtp.example.org", 587


@pytest.mark.parametrize(
    ("code", "retryable"),
    [
        *[(code, True) for code in (421, 450, 451, 452, 499)],
        *[(code, False) for code in (250, 500, 535, 550, 552, 554)],
    ],
)
def test_retryable_follows_the_reply_code(code, retryable):
    # The code decides even for a kind that would otherwise pass, and the other way round.
    for kind in (ErrorKind.SERVER_ERROR, ErrorKind.DISCONNECTED):
        assert SendError(kind, "x", smtp_code=code).retryable is retryable


@pytest.mark.parametrize(
    ("kind", "retryable"),
    [
        (ErrorKind.UNREACHABLE, True),
        (ErrorKind.CONNECTION_REFUSED, True),
        (ErrorKind.TIMEOUT, True),
        (ErrorKind.DISCONNECTED, True),
        (ErrorKind.KEYRING, True),
        (ErrorKind.AUTH_FAILED, False),
        (ErrorKind.CERTIFICATE, False),
        (ErrorKind.INVALID_MESSAGE, False),
        (ErrorKind.TOO_LARGE, False),
        (ErrorKind.CANCELLED, False),
        (ErrorKind.INSECURE, False),
    ],
)
def test_retryable_without_a_reply_code_follows_the_kind(kind, retryable):
    assert SendError(kind, "x").retryable is retryable


def test_send_error_reads_as_its_message():
    error = SendError(ErrorKind.TIMEOUT, "It took too long.", refused={"a@b.org": (550, "no")})

    assert str(error) == "It took too long."
    assert error.refused == {"a@b.org": (550, "no")}
    assert SendError(ErrorKind.TIMEOUT, "x").refused == {}


@pytest.mark.parametrize(
    ("code", "text", "line"),
    [
        (535, b"5.7.8 Authentication\r\n  failed", "535 5.7.8 Authentication failed"),
        (550, "No such user", "550 No such user"),
        (554, b"caf\xc3\xa9 \xff", "554 café \ufffd"),
    ],
)
def test_server_reply_is_one_line(code, text, line):
    assert server_reply(code, text) == line


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (b"Hi \x1b[2J\x07there\x00", "554 Hi \\x1b[2J\\x07there\\x00"),
        ("evil\u202egpj.exe", "554 evil\\u202egpj.exe"),  # right-to-left override
        ("zero\u200bwidth \x7f\x85", "554 zero\\u200bwidth \\x7f"),  # NEL is a space
        ('<img src="file:///dev/zero">', '554 <img src="file:///dev/zero">'),  # plain text
    ],
)
def test_server_reply_shows_control_and_invisible_characters_as_escapes(text, line):
    assert server_reply(554, text) == line


def test_a_long_server_reply_is_cut_short():
    shown = server_reply(250, b"x" * 70_000)

    assert shown.startswith("250 xxx")
    assert shown.endswith("…")
    assert len(shown) < 400


def test_a_line_that_is_not_a_reply_is_shown_without_smtplibs_code():
    assert server_reply(-1, b"HTTP/1.1 400 Bad Request") == "HTTP/1.1 400 Bad Request"


def test_describe_refused():
    text = describe_refused({"a@x.org": (550, "No such user"), "b@x.org": (452, "Full")})

    assert text == "a@x.org (550 No such user), b@x.org (452 Full)"


# Like the ones the ssl module raises from C, which always carry these attributes.
CERT_ERROR = ssl.SSLCertVerificationError(1, "certificate verify failed")
CERT_ERROR.verify_message = "self-signed certificate"
CERT_ERROR.reason = "CERTIFICATE_VERIFY_FAILED"
TLS_ERROR = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
TLS_ERROR.reason = "WRONG_VERSION_NUMBER"


@pytest.mark.parametrize(
    ("error", "kind", "code", "words"),
    [
        (
            smtplib.SMTPAuthenticationError(535, b"5.7.8 Bad credentials"),
            ErrorKind.AUTH_FAILED,
            535,
            ["Could not log in to smtp.example.org", "535 5.7.8 Bad credentials", "Accounts"],
        ),
        (
            smtplib.SMTPSenderRefused(552, b"5.3.4 Message size exceeds", "ann@example.org"),
            ErrorKind.TOO_LARGE,
            552,
            ["too large", "552 5.3.4 Message size exceeds"],
        ),
        (
            smtplib.SMTPSenderRefused(553, b"5.7.1 Not your address", "ann@example.org"),
            ErrorKind.SENDER_REFUSED,
            553,
            ["ann@example.org", "553 5.7.1 Not your address"],
        ),
        (
            smtplib.SMTPRecipientsRefused(
                {"a@x.org": (550, b"No such user"), "b@x.org": (450, b"Try later")}
            ),
            ErrorKind.RECIPIENTS_REFUSED,
            450,
            ["a@x.org (550 No such user)", "b@x.org (450 Try later)", "nothing was sent"],
        ),
        (
            smtplib.SMTPDataError(552, b"Too big"),
            ErrorKind.TOO_LARGE,
            552,
            ["too large", "552 Too big"],
        ),
        (
            smtplib.SMTPDataError(554, b"5.7.1 Spam"),
            ErrorKind.SERVER_ERROR,
            554,
            # A 5.7.1 after the message is the spam filter's (provider_errors.py).
            ["refused it as likely spam", "554 5.7.1 Spam"],
        ),
        (
            smtplib.SMTPDataError(451, b"4.3.0 Try again"),
            ErrorKind.SERVER_ERROR,
            451,
            ["451 4.3.0 Try again"],
        ),
        (
            smtplib.SMTPNotSupportedError("SMTPUTF8 not supported"),
            ErrorKind.SERVER_ERROR,
            None,
            ["SMTPUTF8"],
        ),
        (
            smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
            ErrorKind.DISCONNECTED,
            None,
            ["smtp.example.org:587", "closed unexpectedly"],
        ),
        (
            smtplib.SMTPConnectError(554, b"No service"),
            ErrorKind.SERVER_ERROR,
            554,
            ["554 No service"],
        ),
        (
            smtplib.SMTPConnectError(421, b"4.3.2 Too busy"),
            ErrorKind.DISCONNECTED,
            421,
            ["smtp.example.org is not available", "421 4.3.2 Too busy", "try again later"],
        ),
        (
            smtplib.SMTPSenderRefused(421, b"4.4.2 Timeout", "ann@example.org"),
            ErrorKind.DISCONNECTED,
            421,
            ["not available", "421 4.4.2 Timeout"],
        ),
        (
            MessageRefused(550, b"5.7.1 Policy"),
            ErrorKind.SERVER_ERROR,
            550,
            ["received the message and refused it", "550 5.7.1 Policy"],
        ),
        (
            MessageRefused(552, b"5.3.4 Too big"),
            ErrorKind.TOO_LARGE,
            552,
            ["too large", "552 5.3.4 Too big"],
        ),
        (
            LoginUnfinished("still asking"),
            ErrorKind.AUTH_FAILED,
            None,
            ["Could not log in to smtp.example.org", "kept asking"],
        ),
        (
            smtplib.SMTPException("No suitable authentication method found."),
            ErrorKind.SERVER_ERROR,
            None,
            ["smtp.example.org:587", "No suitable authentication method"],
        ),
        (CERT_ERROR, ErrorKind.CERTIFICATE, None, ["smtp.example.org", "self-signed"]),
        (
            TLS_ERROR,
            ErrorKind.TLS_FAILED,
            None,
            ["smtp.example.org:587", "WRONG_VERSION_NUMBER", "465", "587"],
        ),
        (TimeoutError("timed out"), ErrorKind.TIMEOUT, None, ["smtp.example.org:587"]),
        (
            socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
            ErrorKind.UNREACHABLE,
            None,
            ["smtp.example.org", "Name or service not known"],
        ),
        (
            ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
            ErrorKind.CONNECTION_REFUSED,
            None,
            ["smtp.example.org:587", "refused"],
        ),
        (
            OSError(errno.ENETUNREACH, "Network is unreachable"),
            ErrorKind.UNREACHABLE,
            None,
            ["smtp.example.org:587", "Network is unreachable"],
        ),
        (
            OSError(errno.EHOSTUNREACH, "No route to host"),
            ErrorKind.UNREACHABLE,
            None,
            ["No route to host"],
        ),
        (
            ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
            ErrorKind.DISCONNECTED,
            None,
            ["smtp.example.org:587", "Connection reset by peer"],
        ),
        (
            OSError(errno.EACCES, "Permission denied"),
            ErrorKind.UNREACHABLE,
            None,
            ["smtp.example.org:587", "Permission denied"],
        ),
        (ValueError("something odd"), ErrorKind.INTERNAL, None, ["inside Composer", "ValueError"]),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else None,
)
def test_classify(error, kind, code, words):
    result = classify(error, HOST, PORT)

    assert result.kind is kind
    assert result.smtp_code == code
    for word in words:
        assert word in result.message
    assert "Traceback" not in result.message


def test_a_programming_error_is_internal_and_keeps_its_text_for_the_log():
    result = classify(KeyError("account['secret']"), HOST, PORT)

    assert result.kind is ErrorKind.INTERNAL
    assert "secret" not in result.message
    assert not result.retryable


def test_classify_keeps_the_refused_recipients():
    error = smtplib.SMTPRecipientsRefused({"a@x.org": (550, b"No such user")})

    assert classify(error, HOST, PORT).refused == {"a@x.org": (550, "No such user")}


def test_classify_passes_a_send_error_through():
    error = SendError(ErrorKind.INSECURE, "No.")

    assert classify(error, HOST, PORT) is error


def test_a_read_timeout_that_smtplib_reports_as_a_disconnect_is_a_timeout():
    # smtplib's getreply() turns the socket's TimeoutError into SMTPServerDisconnected.
    try:
        try:
            raise TimeoutError("timed out")
        except OSError as error:
            # Like smtplib: no "from", so the timeout is only the implicit __context__.
            raise smtplib.SMTPServerDisconnected(  # noqa: B904
                f"Connection unexpectedly closed: {error}"
            )
    except smtplib.SMTPServerDisconnected as disconnected:
        result = classify(disconnected, HOST, PORT)

    assert result.kind is ErrorKind.TIMEOUT
    assert result.retryable


def test_what_may_have_been_sent_is_never_retryable_whatever_its_code():
    error = SendError(ErrorKind.MAY_HAVE_BEEN_SENT, "Maybe.", smtp_code=451)

    assert not error.nothing_sent
    assert not error.retryable


@pytest.mark.parametrize(
    ("step", "start"),
    [
        (Step.CONNECTING, "Connecting to smtp.example.org:587 timed out"),
        (Step.SECURING, "Securing the connection to smtp.example.org:587 timed out"),
        (Step.LOGGING_IN, "Logging in to smtp.example.org:587 timed out"),
        (Step.SENDING, "Sending the message to smtp.example.org:587 timed out"),
    ],
)
def test_a_timeout_names_its_step(step, start):
    result = classify(TimeoutError("timed out"), HOST, PORT, step)

    assert result.kind is ErrorKind.TIMEOUT
    assert result.message.startswith(start)
    assert result.retryable


@pytest.mark.parametrize(
    ("error", "kind", "retryable"),
    [
        (
            ssl.SSLEOFError(8, "EOF occurred in violation of protocol"),
            ErrorKind.TLS_INTERRUPTED,
            True,
        ),
        (ConnectionResetError(104, "Connection reset by peer"), ErrorKind.TLS_INTERRUPTED, True),
        (
            ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"),
            ErrorKind.TLS_FAILED,
            False,
        ),
    ],
    ids=["eof", "reset", "version"],
)
def test_a_handshake_cut_off_may_be_retried_a_mismatch_not(error, kind, retryable):
    result = classify(error, HOST, PORT, Step.SECURING)

    assert result.kind is kind
    assert result.retryable is retryable
    assert "smtp.example.org:587" in result.message


def test_may_have_been_sent_names_the_host_and_the_time():
    written = datetime(2024, 5, 6, 14, 2, 30)

    result = may_have_been_sent(ConnectionResetError(), HOST, written, cancelled=False, timeout=30)

    assert result.kind is ErrorKind.MAY_HAVE_BEEN_SENT
    assert "reached smtp.example.org at 14:02" in result.message
    assert "connection broke" in result.message


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (
            ReplyTooSlow(2, "after RCPT TO"),
            ["timed out", "answered too slowly", "within 2 seconds after RCPT TO", "Accounts"],
        ),
        (
            DataTooSlow(1_000_000, 120.4, stalled=False, rate=16_000),
            ["took the message too slowly", "1 MB in 120 seconds", "16 kB a second"],
        ),
        (
            DataTooSlow(65536, 30, stalled=True, rate=16_000),
            ["took the message too slowly", "hardly any more for 30 seconds", "nobody got it"],
        ),
    ],
)
def test_a_server_too_slow_says_how_and_is_retryable(error, words):
    result = classify(error, HOST, PORT, Step.SENDING)

    assert result.kind is ErrorKind.TIMEOUT
    assert result.retryable
    assert HOST in result.message
    for word in words:
        assert word in result.message


def test_a_reply_too_long_says_the_server_misbehaves():
    result = classify(ReplyTooLong("more than 100 lines", "after EHLO"), HOST, PORT)

    assert result.kind is ErrorKind.SERVER_ERROR
    assert not result.retryable
    assert "far longer than any SMTP server" in result.message
    assert "more than 100 lines after EHLO" in result.message
    assert f"{HOST}:{PORT}" in result.message
    assert "not an SMTP server" in result.message

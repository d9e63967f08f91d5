"""What the transport says when a real server lacks an extension or answers unusually."""

from __future__ import annotations

import pytest

from composer.mail.accounts import Security
from composer.mail.draft import Draft
from composer.mail.errors import ErrorKind, SendError
from composer.mail.message import OutgoingMessage, build_message
from composer.mail.smtp_client import LOGIN_ROUNDS
from composer.mail.transport import SmtpTransport
from tests.servers import (
    PASSWORD,
    CramMd5OnlyHandler,
    EndlessLoginHandler,
    SmtpServer,
    account_for,
    plaintext_server,
    running,
    server_tls_context,
    starttls_server,
)

INTERNATIONAL = "jürgen@exämple.org"


def outgoing_for(account, **fields) -> OutgoingMessage:
    values = {"to": "bob@example.net", "subject": "Grüße", "body": "Hallo – schön.\n"}
    values.update(fields)
    return build_message(Draft(**values), account.sender())


def send_error(
    server: SmtpServer,
    security: Security = Security.NONE,
    *,
    password: str | None = None,
    to: str = "bob@example.net",
    **changes,
) -> SendError:
    """The SendError of sending through server, by default unencrypted and without a login."""
    account = account_for(server, security, **{"username": "", **changes})
    with pytest.raises(SendError) as caught:
        SmtpTransport(account, password).send(outgoing_for(account, to=to))
    return caught.value


# --- SMTPUTF8 and 8BITMIME --------------------------------------------------------------


def test_a_non_ascii_recipient_without_smtputf8_is_refused_before_mail_from():
    with running(plaintext_server(enable_SMTPUTF8=False)) as server:
        account = account_for(server, Security.NONE, username="")
        outgoing = outgoing_for(account, to=f"bob@example.net, Jürgen <{INTERNATIONAL}>")
        with pytest.raises(SendError) as caught:
            SmtpTransport(account, None).send(outgoing)

    error = caught.value
    assert error.kind is ErrorKind.ASCII_ONLY
    assert f"cannot deliver to {INTERNATIONAL}" in error.message
    assert "127.0.0.1" in error.message
    assert "SMTPUTF8" in error.message
    assert "bob@example.net" not in error.message
    assert not error.retryable
    assert "MAIL" not in server.commands
    assert server.commands[-1] == "QUIT"


def test_a_non_ascii_sender_without_smtputf8_says_the_accounts_address():
    with running(plaintext_server(enable_SMTPUTF8=False)) as server:
        error = send_error(server, email="zoë@exämple.org")

    assert error.kind is ErrorKind.ASCII_ONLY
    assert "cannot send mail from zoë@exämple.org" in error.message
    assert "Accounts" in error.message
    assert "MAIL" not in server.commands


def test_an_8bit_message_is_not_sent_to_a_server_without_8bitmime():
    # SMTPUTF8 but not 8BITMIME is odd (RFC 6531 needs both), and must still not get 8 bits.
    with running(plaintext_server(hide_extensions={"8BITMIME"})) as server:
        error = send_error(server, to=INTERNATIONAL)

    assert error.kind is ErrorKind.ASCII_ONLY
    assert "8BITMIME" in error.message
    assert "127.0.0.1" in error.message
    assert "MAIL" not in server.commands
    assert server.raw == []


def test_an_ascii_message_goes_to_a_server_without_8bitmime_or_smtputf8():
    server = plaintext_server(enable_SMTPUTF8=False, hide_extensions={"8BITMIME"})
    with running(server):
        account = account_for(server, Security.NONE, username="")
        SmtpTransport(account, None).send(outgoing_for(account))

    assert server.raw[0].isascii()
    assert server.received[0]["Subject"] == "Grüße"
    assert not any(o.startswith(("BODY", "SMTPUTF8")) for o in server.mail_options[0])


# --- unusual replies ----------------------------------------------------------------------


def test_a_421_during_rcpt_is_the_server_closing_not_a_refusal(plain_server):
    plain_server.rcpt_replies["carl@example.net"] = "421 4.3.2 Service shutting down"

    error = send_error(plain_server, to="bob@example.net, carl@example.net")

    assert error.kind is ErrorKind.DISCONNECTED
    assert error.smtp_code == 421
    assert error.retryable
    assert "421 4.3.2 Service shutting down" in error.message
    assert "not available" in error.message
    assert "127.0.0.1" in error.message
    assert "refused" not in error.message
    assert plain_server.received == []


@pytest.mark.parametrize(
    ("greeting", "retryable"),
    [("554 5.3.2 No service here", False), ("421 4.3.2 Too busy, try later", True)],
)
def test_a_greeting_other_than_220_turns_the_connection_away(greeting, retryable):
    with running(plaintext_server(greeting=greeting)) as server:
        error = send_error(server)

    assert error.smtp_code == int(greeting[:3])
    assert error.retryable is retryable
    assert greeting in error.message
    assert "127.0.0.1" in error.message
    assert "Nothing was sent" in error.message
    assert "EHLO" not in server.commands


def test_a_refusal_after_the_final_dot_says_the_server_read_and_refused_it(plain_server):
    plain_server.data_reply = "554 5.7.1 Message rejected as spam"

    error = send_error(plain_server)

    assert error.kind is ErrorKind.SERVER_ERROR
    assert error.smtp_code == 554
    assert not error.retryable
    assert "received the message and refused it" in error.message
    assert "nobody got it" in error.message
    assert "554 5.7.1 Message rejected as spam" in error.message
    assert plain_server.commands.count("DATA") == 1


def test_a_temporary_refusal_after_the_final_dot_says_try_again(plain_server):
    plain_server.data_reply = "451 4.7.1 Greylisted, come back later"

    error = send_error(plain_server)

    assert error.retryable
    assert "could not take it now" in error.message
    assert "Try again later" in error.message
    assert "451 4.7.1 Greylisted, come back later" in error.message


@pytest.mark.parametrize(
    ("security", "advice"), [(Security.NONE, "STARTTLS"), (Security.STARTTLS, "provider")]
)
def test_a_server_offering_only_cram_md5_says_what_it_offers_and_what_to_do(
    tls_ca, security, advice
):
    options = {"handler": CramMd5OnlyHandler, "auth_exclude_mechanism": ["LOGIN", "PLAIN"]}
    if security is Security.STARTTLS:
        server = starttls_server(server_tls_context(tls_ca), **options)
    else:
        server = plaintext_server(**options)
    with running(server):
        error = send_error(server, security, password=PASSWORD, username="ann")

    assert error.kind is ErrorKind.AUTH_FAILED
    assert "(CRAM-MD5)" in error.message
    assert "PLAIN or LOGIN" in error.message
    assert advice in error.message
    assert "127.0.0.1" in error.message
    assert server.auth_attempts == []


def test_a_login_that_never_ends_gives_up_and_says_so():
    server = plaintext_server(handler=EndlessLoginHandler, auth_exclude_mechanism=["PLAIN"])
    with running(server):
        error = send_error(server, password=PASSWORD, username="ann")

    assert error.kind is ErrorKind.AUTH_FAILED
    assert "kept asking for more" in error.message
    assert "127.0.0.1" in error.message
    assert not error.retryable
    # Answered the user-name and password prompts, then a few more, then stopped.
    assert 0 < server.login_rounds <= LOGIN_ROUNDS
    assert "MAIL" not in server.commands

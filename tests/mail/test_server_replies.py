"""What the transport says when a real server lacks an extension or answers unusually."""

from __future__ import annotations

import pytest

from composer.mail.accounts import Security
from composer.mail.draft import Draft
from composer.mail.errors import ErrorKind, SendError
from composer.mail.message import OutgoingMessage, build_message
from composer.mail.transport import SmtpTransport
from tests.servers import (
    SmtpServer,
    account_for,
    plaintext_server,
    running,
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

"""Delivery: one send or check for one account, password from the keyring, cancellable."""

from __future__ import annotations

import threading

import pytest

from composer.mail.accounts import Security
from composer.mail.delivery import Delivery
from composer.mail.draft import Draft
from composer.mail.errors import ErrorKind, SendError
from composer.mail.progress import Progress
from composer.mail.secrets import SecretStore
from tests.servers import PASSWORD, account_for

DRAFT = Draft(to="bob@example.net", subject="Hi", body="Hello\n")


def test_send_uses_the_password_from_the_keyring(smtp_server):
    account = account_for(smtp_server, Security.STARTTLS)
    SecretStore().set(account.id, PASSWORD)

    result = Delivery(account, SecretStore(), None).send(DRAFT)

    assert smtp_server.auth_attempts == [("ann", PASSWORD)]
    assert smtp_server.received[0]["Subject"] == "Hi"
    assert smtp_server.received[0]["From"].addresses[0].display_name == "Ann Lee"
    assert result.accepted == ("bob@example.net",)
    assert result.stored_at == ""
    assert result.summary == "Sent to 1 recipient via 127.0.0.1."


def test_a_password_given_for_this_send_wins(smtp_server):
    account = account_for(smtp_server, Security.STARTTLS)
    SecretStore().set(account.id, "outdated")

    Delivery(account, SecretStore(), None, password=PASSWORD).send(DRAFT)

    assert smtp_server.auth_attempts == [("ann", PASSWORD)]


def test_a_session_password_is_used(smtp_server, no_keyring):
    account = account_for(smtp_server, Security.STARTTLS)
    secrets = SecretStore()
    secrets.keep_for_session(account.id, PASSWORD)

    Delivery(account, secrets, None).send(DRAFT)

    assert len(smtp_server.received) == 1


def test_no_stored_password(smtp_server):
    account = account_for(smtp_server, Security.STARTTLS)

    with pytest.raises(SendError) as caught:
        Delivery(account, SecretStore(), None).send(DRAFT)

    assert caught.value.kind is ErrorKind.PASSWORD_MISSING
    assert "Test" in caught.value.message
    assert smtp_server.auth_attempts == []


def test_no_keyring_is_reported_before_connecting(smtp_server, no_keyring):
    account = account_for(smtp_server, Security.STARTTLS)
    seen: list[Progress] = []

    with pytest.raises(SendError) as caught:
        Delivery(account, SecretStore(), None, progress=seen.append).send(DRAFT)

    assert caught.value.kind is ErrorKind.KEYRING
    assert "keyring" in caught.value.message
    assert seen == []


def test_an_account_without_a_user_name_needs_no_keyring(plain_server, no_keyring):
    account = account_for(plain_server, Security.NONE, username="")

    Delivery(account, SecretStore(), None).send(DRAFT)

    assert plain_server.auth_attempts == []
    assert len(plain_server.received) == 1


def test_invalid_draft_is_refused_before_connecting(smtp_server):
    account = account_for(smtp_server, Security.STARTTLS)

    with pytest.raises(SendError) as caught:
        Delivery(account, SecretStore(), None, password=PASSWORD).send(Draft(to="bob@"))

    assert caught.value.kind is ErrorKind.INVALID_MESSAGE
    assert smtp_server.auth_attempts == []


def test_check(smtps_server):
    account = account_for(smtps_server, Security.SSL_TLS)
    SecretStore().set(account.id, PASSWORD)

    text = Delivery(account, SecretStore(), None).check()

    assert "SSL/TLS" in text
    assert smtps_server.received == []


def test_cancel_before_sending(smtp_server):
    account = account_for(smtp_server, Security.STARTTLS)
    delivery = Delivery(account, SecretStore(), None, password=PASSWORD)
    delivery.cancel()

    with pytest.raises(SendError) as caught:
        delivery.send(DRAFT)

    assert caught.value.kind is ErrorKind.CANCELLED
    assert smtp_server.auth_attempts == []


def test_cancel_while_waiting_for_the_server(silent_server):
    account = account_for(silent_server, Security.STARTTLS, timeout=60)
    delivery = Delivery(account, SecretStore(), None, password=PASSWORD)
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            delivery.send(DRAFT)
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert silent_server.wait_for_connection(timeout=5)
    delivery.cancel()
    thread.join(5)

    assert not thread.is_alive()
    [error] = outcome
    assert isinstance(error, SendError)
    assert error.kind is ErrorKind.CANCELLED

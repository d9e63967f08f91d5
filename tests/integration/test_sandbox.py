"""The embedded sandbox server behind the "Local sandbox" account."""

from __future__ import annotations

import email.policy
import smtplib
from email.parser import BytesParser
from pathlib import Path

import pytest

from composer.mail.accounts import sandbox_account
from composer.mail.delivery import Delivery
from composer.mail.draft import Draft
from composer.mail.errors import ErrorKind, SendError
from composer.mail.secrets import SecretStore

DRAFT = Draft(
    to="Bob <bob@example.net>",
    bcc="carol@example.net",
    subject="Sandbox – Grüße",
    body="Hello from the sandbox.\n.leading dot\nÜmlaut\n",
)


def test_delivery_stores_the_message_in_the_maildir(sandbox):
    result = Delivery(sandbox_account(), SecretStore(), sandbox).send(DRAFT)

    stored = Path(result.stored_at)
    assert stored.parent == sandbox.maildir / "new"
    assert stored.is_file()
    message = BytesParser(policy=email.policy.default).parsebytes(stored.read_bytes())
    assert message["Subject"] == DRAFT.subject
    assert message["Message-ID"] == result.message_id
    assert message["From"].addresses[0].addr_spec == "me@sandbox.localhost"
    assert message["Return-Path"] == "<me@sandbox.localhost>"
    assert message["Delivered-To"] == "bob@example.net, carol@example.net"
    assert "Bcc" not in message
    assert message.get_content() == DRAFT.body
    assert b"\r\n" not in stored.read_bytes()  # local line ends, as mail readers expect
    assert result.accepted == ("bob@example.net", "carol@example.net")
    assert "local sandbox" in result.summary
    assert str(stored) in result.summary


def test_each_message_gets_its_own_file(sandbox):
    delivery = Delivery(sandbox_account(), SecretStore(), sandbox)

    first = delivery.send(DRAFT)
    second = Delivery(sandbox_account(), SecretStore(), sandbox).send(DRAFT)

    assert first.stored_at != second.stored_at
    assert sorted(p.name for p in (sandbox.maildir / "new").iterdir()) == sorted(
        Path(r.stored_at).name for r in (first, second)
    )
    assert sandbox.delivered_path(first.message_id) == Path(first.stored_at)
    assert sandbox.delivered_path("<unknown@example.org>") is None


def test_sandbox_advertises_room_for_a_25_mb_attachment(sandbox):
    port = sandbox.ensure_started()

    with smtplib.SMTP("127.0.0.1", port, local_hostname="localhost", timeout=10) as smtp:
        code, _ = smtp.ehlo()
        assert code == 250
        # 25 MB of attachments is about 36 MB once base64-encoded.
        assert int(smtp.esmtp_features["size"]) >= 36_000_000


def test_ensure_started_starts_once_and_stop_stops(sandbox):
    assert not sandbox.running

    port = sandbox.ensure_started()

    assert sandbox.running
    assert sandbox.ensure_started() == port
    sandbox.stop()
    assert not sandbox.running
    with pytest.raises(ConnectionRefusedError):
        smtplib.SMTP("127.0.0.1", port, local_hostname="localhost", timeout=2).close()
    sandbox.stop()  # stopping twice is fine


def test_sandbox_can_start_again_after_stopping(sandbox):
    sandbox.ensure_started()
    sandbox.stop()

    result = Delivery(sandbox_account(), SecretStore(), sandbox).send(DRAFT)

    assert Path(result.stored_at).is_file()


def test_sandbox_account_without_a_sandbox_is_a_clear_error():
    with pytest.raises(SendError) as caught:
        Delivery(sandbox_account(), SecretStore(), None).send(DRAFT)

    assert caught.value.kind is ErrorKind.SERVER_ERROR
    assert "sandbox" in caught.value.message


def test_sandbox_needs_no_keyring(no_keyring, sandbox):
    result = Delivery(sandbox_account(), SecretStore(), sandbox).send(DRAFT)

    assert Path(result.stored_at).is_file()

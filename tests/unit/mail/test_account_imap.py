"""The Sent-copy fields of an account: saved, read back, and read tolerantly."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from composer.mail.accounts import Account, AccountSettings, AccountStore, Security

GOOD = {"id": "x", "name": "Work", "email": "ann@example.org", "host": "smtp.example.org"}


def test_the_imap_fields_are_saved_and_read_back(tmp_path: Path) -> None:
    store = AccountStore(tmp_path / "settings.json")
    account = Account(
        **GOOD,
        imap_host="imap.example.org",
        imap_port=143,
        imap_security=Security.STARTTLS,
        imap_username="ann.lee",
        sent_folder="Envoyés",
        copy_to_sent=False,
    )
    store.save(AccountSettings((account,)))

    data = json.loads((tmp_path / "settings.json").read_text("utf-8"))["accounts"][0]
    assert data["imap_security"] == "starttls"
    assert data["copy_to_sent"] is False
    assert store.load().settings.accounts == (account,)


def test_an_account_from_before_has_no_copy_and_the_defaults() -> None:
    account = Account.from_json(GOOD)

    assert account.imap_host == ""
    assert account.imap_port == 993
    assert account.imap_security is Security.SSL_TLS
    assert account.copy_to_sent is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("imap_host", 42),
        ("imap_host", "imap.example.org\0.evil"),
        ("imap_port", "993"),
        ("imap_port", 0),
        ("imap_port", 70000),
        ("imap_port", True),
        ("imap_security", "carrier-pigeon"),
        ("imap_username", ["ann"]),
        ("sent_folder", "Sent\r\nA1 DELETE INBOX"),
        ("copy_to_sent", "yes"),
    ],
)
def test_an_unusable_imap_setting_becomes_its_default_and_the_account_stays(
    name: str, value: object, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        account = Account.from_json({**GOOD, name: value})

    assert getattr(account, name) == getattr(Account(), name)
    assert account.host == "smtp.example.org"  # it still sends
    assert name in caplog.text


def test_an_imap_host_with_a_control_character_is_a_problem_to_fix() -> None:
    account = Account(**GOOD, imap_host="imap.example.org\0.localhost")
    assert "an IMAP host without spaces or control characters" in account.problems()

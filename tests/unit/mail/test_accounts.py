"""Accounts and the settings file that keeps them."""

from __future__ import annotations

import dataclasses
import json
import logging
import os

import pytest

from composer.mail import accounts as accounts_module
from composer.mail.accounts import (
    SANDBOX_ID,
    SETTINGS_VERSION,
    Account,
    AccountSettings,
    AccountStore,
    Security,
    SettingsFileKept,
    has_unusable_character,
    is_loopback,
    is_loopback_address,
    names_this_computer,
    sandbox_account,
)
from composer.mail.files import write_atomically
from composer.mail.secrets import SecretStore

SECRET = "pässwörd-that-must-stay-secret"
HOST_PROBLEM = "an SMTP host without spaces or control characters"


def make_account(**changes) -> Account:
    account = Account(
        id="acc1",
        name="Work",
        display_name="Ann Lee",
        email="ann@example.org",
        host="smtp.example.org",
        port=587,
        security=Security.STARTTLS,
        username="ann",
    )
    return dataclasses.replace(account, **changes)


@pytest.fixture
def store(tmp_path) -> AccountStore:
    return AccountStore(tmp_path / "config" / "settings.json")


def backups(store: AccountStore) -> list:
    return sorted(store.path.parent.glob(store.path.name + ".broken-*"))


@pytest.mark.parametrize(
    ("security", "port", "label"),
    [
        (Security.SSL_TLS, 465, "SSL/TLS"),
        (Security.STARTTLS, 587, "STARTTLS"),
        (Security.NONE, 25, "None (unencrypted)"),
    ],
)
def test_security_ports_and_labels(security, port, label):
    assert security.default_port == port
    assert security.label == label


def test_sender_uses_display_name_and_email():
    sender = make_account().sender()

    assert sender.display_name == "Ann Lee"
    assert sender.addr_spec == "ann@example.org"


def test_sender_of_an_invalid_address_raises():
    with pytest.raises(ValueError, match="invalid email"):
        make_account(email="not an address").sender()


@pytest.mark.parametrize(
    ("account", "label"),
    [
        (make_account(), "Ann Lee <ann@example.org>"),
        (make_account(display_name=""), "Work <ann@example.org>"),
        (make_account(display_name="", name=""), "ann@example.org"),
    ],
)
def test_label(account, label):
    assert account.label == label


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"name": "  "}, "an account name"),
        ({"email": "ann@"}, "a valid email address"),
        ({"host": " "}, "the SMTP host"),
        ({"host": "localhost\x00.evil.example"}, HOST_PROBLEM),
        ({"host": "smtp\nexample.org"}, HOST_PROBLEM),
        ({"host": "smtp example.org"}, HOST_PROBLEM),
        ({"display_name": "Ann\nLee"}, "a name without line breaks"),
        ({"display_name": "Ann\rLee"}, "a name without line breaks"),
        ({"display_name": "Ann\u2028Lee"}, "a name without line breaks"),
        ({"display_name": "Ann\fLee"}, "a name without line breaks"),
    ],
)
def test_problems_name_what_to_fix(changes, problem):
    assert make_account(**changes).problems() == [problem]


def test_a_good_account_has_no_problems():
    assert make_account().problems() == []
    assert sandbox_account().problems() == []


def test_sandbox_account():
    sandbox = sandbox_account()

    assert sandbox.is_sandbox
    assert sandbox.id == SANDBOX_ID
    assert is_loopback(sandbox.host)
    assert sandbox.security is Security.NONE
    assert not sandbox.username
    assert not make_account().is_sandbox


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST.", True),
        (" localhost ", True),
        ("mail.localhost", True),
        ("smtp.example.org", False),
        ("10.0.0.1", False),
        ("192.168.1.10", False),
        ("::ffff:10.0.0.1", False),
        ("localhost.example.org", False),
        ("notlocalhost", False),
        ("", False),
    ],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LocalHost", True),
        (" localhost ", True),
        ("localhost.", False),  # can resolve anywhere, so can the three below
        ("evil.localhost", False),
        ("localhost.example.org", False),
        ("127.1", False),  # not written out: left to the lookup
        ("0.0.0.0", False),  # noqa: S104 (a host name typed, not a binding)
        ("10.0.0.1", False),
        ("", False),
    ],
)
def test_names_this_computer_only_for_a_loopback_address_or_localhost(host, local):
    assert names_this_computer(host) is local


@pytest.mark.parametrize(
    ("peer", "loopback"),
    [
        (("127.0.0.1", 25), True),
        (("127.1.2.3", 2525), True),
        (("127.255.255.254", 25), True),
        (("::1", 25, 0, 0), True),
        (("::ffff:127.0.0.1", 25, 0, 0), True),
        (("::ffff:127.9.8.7", 25, 0, 0), True),
        (("0.0.0.0", 25), False),  # noqa: S104 (a peer address, not a binding)
        (("::", 25, 0, 0), False),
        (("10.0.0.1", 25), False),
        (("10.127.0.1", 25), False),
        (("192.168.1.10", 25), False),
        (("203.0.113.5", 25), False),
        (("128.0.0.1", 25), False),
        (("::ffff:10.0.0.1", 25, 0, 0), False),
        (("::ffff:203.0.113.5", 25, 0, 0), False),
        (("::127.0.0.1", 25, 0, 0), False),  # IPv4-compatible, long obsolete: not loopback
        (("2001:db8::1", 25, 0, 0), False),
        (("fe80::1%lo", 25, 0, 1), False),
        (("localhost", 25), False),  # a name is not an address
        ("/run/smtp.sock", False),  # not an IP socket
        ((), False),
    ],
)
def test_is_loopback_address_decides_by_the_connected_address(peer, loopback):
    assert is_loopback_address(peer) is loopback


@pytest.mark.parametrize(
    "host",
    [
        "localhost\x00.evil.example",
        "smtp.example.org\x00.localhost",
        "a\nb",
        "a\rb",
        "x y",
        "x\ty",
        "smtp\u2028example.org",
        "smtp.example.org\u2029.localhost",
        "smtp\x7f.example.org",
        "smtp\x1b.example.org",
        "smtp\x85.example.org",
        "smtp\u00a0example.org",
    ],
)
def test_hosts_with_spaces_or_control_characters_are_unusable(host):
    assert has_unusable_character(host)
    assert HOST_PROBLEM in make_account(host=host).problems()


@pytest.mark.parametrize(
    "host",
    ["smtp.example.org", " smtp.example.org\n", "127.0.0.1", "[::1]", "mäil.example"],
)
def test_ordinary_hosts_are_usable(host):
    # Space around the host is no part of it: the form and the transport strip it.
    assert not has_unusable_character(host)
    assert make_account(host=host).problems() == []


def test_json_round_trip():
    account = make_account(timeout=12, size_limit=1234)

    data = json.loads(json.dumps(account.to_json()))

    assert data["security"] == "starttls"
    assert Account.from_json(data) == account


def test_from_json_ignores_unknown_fields_and_defaults_missing_ones():
    account = Account.from_json({"id": "x", "email": "a@b.org", "future_field": 1})

    assert account.id == "x"
    assert account.security is Security.SSL_TLS
    assert account.port == 465


@pytest.mark.parametrize(
    "data",
    [
        {"id": ""},
        {"name": "no id"},
        {"id": "x", "security": "carrier-pigeon"},
        {"id": "x", "port": "587"},
        {"id": "x", "email": "not an address"},
        {"id": "x", "email": "a@b.org", "display_name": "Ann\r\nBcc: x@evil.example"},
        {"id": "x", "port": -1},
        {"id": "x", "timeout": 1.5},
        {"id": "x", "host": 42},
        {"id": 7},
    ],
)
def test_from_json_refuses_malformed_accounts(data):
    with pytest.raises((ValueError, TypeError, KeyError)):
        Account.from_json(data)


def test_missing_file_means_no_accounts(store):
    result = store.load()

    assert result.settings == AccountSettings()
    assert result.warnings == ()


def test_save_and_load_round_trip(store):
    settings = AccountSettings(
        (make_account(), make_account(id="acc2", name="Home", security=Security.SSL_TLS)),
        default_id="acc2",
        last_used_id="acc1",
    )

    store.save(settings)
    result = store.load()

    assert result.settings == settings
    assert result.warnings == ()
    assert json.loads(store.path.read_text(encoding="utf-8"))["version"] == SETTINGS_VERSION


def test_save_keeps_non_ascii_readable(store):
    store.save(AccountSettings((make_account(display_name="Zoë Ämmä"),)))

    assert "Zoë Ämmä" in store.path.read_text(encoding="utf-8")


def test_the_sandbox_is_never_saved(store):
    store.save(AccountSettings((sandbox_account(), make_account())))

    data = json.loads(store.path.read_text(encoding="utf-8"))
    assert [a["id"] for a in data["accounts"]] == ["acc1"]


def test_no_password_is_written_to_the_settings_file(store, memory_keyring):
    account = make_account()
    SecretStore().set(account.id, SECRET)

    store.save(AccountSettings((account,)))

    assert ("composer", "acc1") in memory_keyring.passwords
    text = store.path.read_text(encoding="utf-8")
    assert SECRET not in text
    assert "password" not in text.lower()


def test_save_is_atomic_when_writing_fails(store, monkeypatch):
    store.save(AccountSettings((make_account(),)))
    before = store.path.read_bytes()

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(accounts_module.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space left"):
        store.save(AccountSettings((make_account(name="Changed"),)))

    assert store.path.read_bytes() == before
    assert [p.name for p in store.path.parent.iterdir()] == [store.path.name]


def test_write_atomically_replaces_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "deep" / "er" / "file.json"

    write_atomically(path, "one\n")
    write_atomically(path, "two\n")

    assert path.read_text(encoding="utf-8") == "two\n"
    assert os.listdir(path.parent) == ["file.json"]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('{"version": 1, "accounts": [', "not valid JSON"),
        ("\udcff", "could not be read"),
        ("[1, 2, 3]", "expected layout"),
        ('{"accounts": {"id": "x"}}', "expected layout"),
        ('{"version": 99, "accounts": []}', "newer Composer"),
        ('{"version": "1", "accounts": []}', "newer Composer"),
    ],
)
def test_a_broken_file_is_moved_aside_with_a_warning(store, caplog, text, why):
    store.path.parent.mkdir(parents=True)
    raw = text.encode("utf-8", "surrogateescape")
    store.path.write_bytes(raw)

    with caplog.at_level(logging.WARNING, logger="composer.mail.accounts"):
        result = store.load()

    assert result.settings == AccountSettings()
    [warning] = result.warnings
    assert why in warning
    [backup] = backups(store)
    assert backup.read_bytes() == raw
    assert str(backup) in warning
    assert not store.path.exists()
    assert why in caplog.text


def test_a_broken_file_is_not_overwritten_by_a_second_one(store):
    store.path.parent.mkdir(parents=True)
    store.path.write_text("{broken", encoding="utf-8")
    store.load()
    store.path.write_text("{broken again", encoding="utf-8")

    store.load()

    assert sorted(b.read_text(encoding="utf-8") for b in backups(store)) == [
        "{broken",
        "{broken again",
    ]


@pytest.fixture
def unbackable(tmp_path) -> AccountStore:
    """A store whose file name leaves no room for a backup name beside it.

    ".broken-<time>" makes a name longer than the file system allows (255 bytes), so every
    backup fails with ENAMETOOLONG, as root too; the file itself and its temporary files fit.
    """
    return AccountStore(tmp_path / ("s" * 230 + ".json"))


def test_a_damaged_file_that_cannot_be_moved_aside_is_left_and_not_written_over(unbackable):
    unbackable.path.write_text("{broken", encoding="utf-8")

    result = unbackable.load()

    [warning] = result.warnings
    assert "could not move it aside" in warning
    assert "left the file as it is" in warning
    assert "moved to" not in warning
    assert result.settings == AccountSettings()
    with pytest.raises(OSError, match="did not write over it") as caught:
        unbackable.save(AccountSettings((make_account(),)))
    assert isinstance(caught.value, SettingsFileKept)
    assert unbackable.path.read_text(encoding="utf-8") == "{broken"
    assert [p.name for p in unbackable.path.parent.iterdir()] == [unbackable.path.name]


def test_unreadable_accounts_that_cannot_be_copied_are_not_written_over(unbackable):
    original = json.dumps({"version": 2, "accounts": [make_account().to_json(), "junk"]})
    unbackable.path.write_text(original, encoding="utf-8")

    result = unbackable.load()

    assert result.settings.accounts == (make_account(),)
    [warning] = result.warnings
    assert "1 account(s)" in warning
    assert "could not keep a copy" in warning
    assert "kept as" not in warning
    with pytest.raises(SettingsFileKept):
        unbackable.save(result.settings)
    assert unbackable.path.read_text(encoding="utf-8") == original


def test_a_file_left_as_it_is_can_be_saved_once_it_is_gone(unbackable):
    unbackable.path.write_text("{broken", encoding="utf-8")
    unbackable.load()
    unbackable.path.unlink()  # the user moved it elsewhere
    settings = AccountSettings((make_account(),))

    unbackable.save(settings)

    assert unbackable.load().settings == settings


def test_one_malformed_account_keeps_the_others_and_warns(store, caplog):
    good = make_account()
    other = make_account(id="acc3", name="Other")
    data = {
        "version": 1,
        "default_account": "acc3",
        "last_used_account": "acc1",
        "accounts": [
            good.to_json(),
            {"id": "bad", "port": "not a number"},
            "junk",
            other.to_json(),
        ],
    }
    store.path.parent.mkdir(parents=True)
    original = json.dumps(data)
    store.path.write_text(original, encoding="utf-8")

    with caplog.at_level(logging.WARNING, logger="composer.mail.accounts"):
        result = store.load()

    assert result.settings.accounts == (good, other)
    assert result.settings.default_id == "acc3"
    assert result.settings.last_used_id == "acc1"
    [warning] = result.warnings
    assert "2 account(s)" in warning
    [backup] = backups(store)
    assert backup.read_text(encoding="utf-8") == original
    assert str(backup) in warning
    assert "malformed account" in caplog.text
    # The file was rewritten without the bad entries, so the warning is shown only once.
    again = store.load()
    assert again.warnings == ()
    assert again.settings == result.settings


def test_duplicate_ids_and_a_stored_sandbox_are_dropped(store):
    data = {
        "version": 1,
        "accounts": [
            make_account().to_json(),
            make_account(name="Duplicate").to_json(),
            sandbox_account().to_json(),
        ],
        "default_account": 5,
    }
    store.path.parent.mkdir(parents=True)
    store.path.write_text(json.dumps(data), encoding="utf-8")

    result = store.load()

    assert [a.name for a in result.settings.accounts] == ["Work"]
    assert result.settings.default_id == ""
    assert result.warnings == ()


def test_an_account_has_no_size_limit_of_its_own_by_default():
    assert Account().size_limit == 0
    assert make_account().size_limit == 0


def write_settings(store: AccountStore, version: int, *limits: int) -> None:
    accounts = [
        {**make_account(id=f"acc{n}").to_json(), "size_limit": limit}
        for n, limit in enumerate(limits)
    ]
    store.path.parent.mkdir(parents=True, exist_ok=True)
    store.path.write_text(json.dumps({"version": version, "accounts": accounts}), "utf-8")


def test_a_version_1_default_size_limit_reads_as_no_limit(store):
    # Version 1 wrote its default, 25 MB, into every account; 20 MB was chosen by someone.
    write_settings(store, 1, 25_000_000, 20_000_000, 0)

    result = store.load()

    assert [a.size_limit for a in result.settings.accounts] == [0, 20_000_000, 0]
    assert result.warnings == ()
    store.save(result.settings)
    saved = json.loads(store.path.read_text(encoding="utf-8"))
    assert saved["version"] == SETTINGS_VERSION == 2
    assert [a["size_limit"] for a in saved["accounts"]] == [0, 20_000_000, 0]


def test_a_25_mb_limit_saved_by_this_version_is_kept(store):
    write_settings(store, SETTINGS_VERSION, 25_000_000)

    assert store.load().settings.accounts[0].size_limit == 25_000_000


def test_find():
    settings = AccountSettings((make_account(), make_account(id="acc2")))

    assert settings.find("acc2") is settings.accounts[1]
    assert settings.find("nope") is None


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"reply_to": "not an address"}, "a valid Reply-To address"),
        ({"default_cc": "ok@example.org, broken@"}, "valid addresses in Always Cc and Always Bcc"),
        ({"default_bcc": "nobody"}, "valid addresses in Always Cc and Always Bcc"),
    ],
)
def test_identity_extras_are_checked(changes: dict[str, str], problem: str) -> None:
    account = Account(name="A", email="a@example.org", host="smtp.example.org", **changes)

    assert problem in account.problems()


def test_an_unencrypted_account_is_loaded_without_its_trusted_certificate(store, caplog):
    pin = "ab" * 32
    unencrypted = make_account(id="plain", security=Security.NONE, trusted_certificate=pin)
    encrypted = make_account(id="pinned", security=Security.STARTTLS, trusted_certificate=pin)
    store.save(AccountSettings((unencrypted, encrypted)))

    with caplog.at_level(logging.WARNING):
        loaded = store.load().settings

    assert loaded.find("plain") == dataclasses.replace(unencrypted, trusted_certificate="")
    assert loaded.find("pinned") == encrypted
    assert "account plain uses no encryption: forgetting its trusted certificate" in caplog.text

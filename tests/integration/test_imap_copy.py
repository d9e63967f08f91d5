"""The copy in the mailbox's Sent folder, against a real SMTP server and a real Dovecot."""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from composer.mail.accounts import Account, Security
from composer.mail.certificates import fingerprint
from composer.mail.draft import Draft
from composer.mail.imap_client import CopyError, SentMailbox
from composer.mail.mailbox_copy import (
    DONE,
    GAVE_UP,
    MAX_ATTEMPTS,
    PENDING,
    SentCopies,
    copy_wanted,
    imap_secret_key,
)
from composer.mail.message import build_message
from composer.mail.secrets import SecretStore
from composer.mail.sent import SentFolder
from composer.mail.store import MessageFolder
from composer.mail.transport import SmtpTransport
from tests.dovecot import Dovecot, needs_dovecot, running_dovecot
from tests.servers import PASSWORD, SmtpServer, account_for


def imap_account(
    server: SmtpServer, dovecot: Dovecot, security: Security, **changes: object
) -> Account:
    port = dovecot.tls_port if security is Security.SSL_TLS else dovecot.starttls_port
    account = account_for(
        server,
        Security.STARTTLS,
        imap_host=dovecot.host,
        imap_port=port,
        imap_security=security,
    )
    return dataclasses.replace(account, **changes)


def send_and_record(account: Account, sent: SentFolder, subject: str = "Hello") -> str:
    """Send a message through account's SMTP server and keep it in Sent, as the Outbox does."""
    draft = Draft(to="bob@example.org", subject=subject, body="Grüße,\n.a line with a dot\n")
    message = build_message(draft, account.sender())
    result = SmtpTransport(account, PASSWORD).send(message)
    key = sent.record(message, result, account_id=account.id)
    return key


@pytest.fixture
def sent(tmp_path: Path) -> SentFolder:
    return SentFolder(MessageFolder(tmp_path / "Sent"))


@pytest.fixture
def copies(sent: SentFolder) -> SentCopies:
    return SentCopies(sent, SecretStore())


@pytest.mark.parametrize("security", [Security.STARTTLS, Security.SSL_TLS])
def test_the_copy_is_the_bytes_the_smtp_server_took_in_the_folder_marked_sent(
    smtp_server: SmtpServer,
    dovecot: Dovecot,
    sent: SentFolder,
    copies: SentCopies,
    security: Security,
) -> None:
    account = imap_account(smtp_server, dovecot, security)
    SecretStore().set(account.id, PASSWORD)  # the IMAP login is the SMTP one
    key = send_and_record(account, sent)
    copies.owe(key)

    report = copies.copy_owed(account)

    assert report.error is None, report.error
    assert report.copied == [key]
    assert report.folder == "Sent"
    assert dovecot.fetch_all("Sent") == [smtp_server.raw[0]]
    assert [flags for _, flags in dovecot.stored("Sent")] == ["S"]  # \Seen
    assert copies.state(key) == DONE
    assert copies.owed(account.id) == []
    assert len(smtp_server.raw) == 1


def test_without_a_marked_sent_folder_the_chosen_one_is_used(
    smtp_server: SmtpServer, unmarked_dovecot: Dovecot, sent: SentFolder, copies: SentCopies
) -> None:
    account = imap_account(
        smtp_server, unmarked_dovecot, Security.STARTTLS, sent_folder="Sent Items"
    )
    SecretStore().set(account.id, PASSWORD)
    key = send_and_record(account, sent)
    copies.owe(key)

    report = copies.copy_owed(account)

    assert report.error is None, report.error
    assert unmarked_dovecot.fetch_all("Sent Items") == [smtp_server.raw[0]]
    assert unmarked_dovecot.fetch_all("Sent") == []


def test_without_a_marked_or_chosen_folder_it_says_to_choose_one(
    smtp_server: SmtpServer, unmarked_dovecot: Dovecot, sent: SentFolder, copies: SentCopies
) -> None:
    account = imap_account(smtp_server, unmarked_dovecot, Security.SSL_TLS)
    SecretStore().set(account.id, PASSWORD)
    key = send_and_record(account, sent)
    copies.owe(key)

    report = copies.copy_owed(account)

    assert report.error is not None
    assert "marks no folder as the Sent folder" in str(report.error)
    assert "Accounts" in str(report.error)
    assert report.failed == [key]
    assert copies.state(key) == PENDING


def test_a_wrong_imap_password_is_reported_and_the_copy_stays_owed_until_it_is_right(
    smtp_server: SmtpServer, dovecot: Dovecot, sent: SentFolder, copies: SentCopies
) -> None:
    account = imap_account(smtp_server, dovecot, Security.SSL_TLS)
    secrets = SecretStore()
    secrets.set(account.id, PASSWORD)
    secrets.set(imap_secret_key(account.id), "not the password")
    key = send_and_record(account, sent)
    copies.owe(key)

    report = copies.copy_owed(account)

    assert report.error is not None
    assert "did not accept the user name ann" in str(report.error)
    assert "IMAP user name and password" in str(report.error)
    assert copies.state(key) == PENDING
    assert dovecot.fetch_all("Sent") == []
    assert len(smtp_server.raw) == 1  # the send stands

    secrets.delete(imap_secret_key(account.id))  # back to the SMTP password
    again = copies.copy_owed(account)

    assert again.error is None, again.error
    assert again.copied == [key]
    assert dovecot.fetch_all("Sent") == [smtp_server.raw[0]]
    assert len(smtp_server.raw) == 1


def test_a_copy_that_keeps_failing_is_given_up_after_its_attempts(
    smtp_server: SmtpServer, dovecot: Dovecot, sent: SentFolder, copies: SentCopies
) -> None:
    account = imap_account(smtp_server, dovecot, Security.SSL_TLS)
    SecretStore().set(account.id, PASSWORD)
    SecretStore().set(imap_secret_key(account.id), "not the password")
    key = send_and_record(account, sent)
    copies.owe(key)
    assert copies.copy_owed(account).failed == [key]
    # As if it had failed every time but the last (each failed login costs Dovecot seconds).
    sent.folder.write_state(key, {"mailbox_copy": "pending", "attempts": MAX_ATTEMPTS - 1})

    last = copies.copy_owed(account)

    assert last.gave_up == [key]
    assert copies.state(key) == GAVE_UP
    assert copies.owed(account.id) == []


def test_several_owed_copies_go_over_one_session_in_order(
    smtp_server: SmtpServer, dovecot: Dovecot, sent: SentFolder, copies: SentCopies
) -> None:
    account = imap_account(smtp_server, dovecot, Security.STARTTLS)
    SecretStore().set(account.id, PASSWORD)
    keys = [send_and_record(account, sent, subject=f"Number {n}") for n in range(3)]
    for key in keys:
        copies.owe(key)

    report = copies.copy_owed(account)

    assert report.copied == keys
    assert sorted(dovecot.fetch_all("Sent")) == sorted(smtp_server.raw)


def test_a_non_ascii_folder_name_goes_in_modified_utf7(
    smtp_server: SmtpServer, unmarked_dovecot: Dovecot, sent: SentFolder, copies: SentCopies
) -> None:
    account = imap_account(smtp_server, unmarked_dovecot, Security.SSL_TLS, sent_folder="Envoyés")
    SecretStore().set(account.id, PASSWORD)
    first = send_and_record(account, sent)
    copies.owe(first)

    # Not there yet: Composer says so, naming it as the user wrote it.
    missing = copies.copy_owed(account)
    assert missing.error is not None
    assert "has no folder “Envoyés”" in str(missing.error)

    unmarked_dovecot.create("Envoy&AOk-s")
    report = copies.copy_owed(account)

    assert report.error is None, report.error
    assert report.folder == "Envoyés"
    assert unmarked_dovecot.fetch_all("Envoy&AOk-s") == smtp_server.raw


def test_no_password_goes_over_an_unencrypted_link_to_another_computer(
    smtp_server: SmtpServer, dovecot: Dovecot
) -> None:
    account = imap_account(
        smtp_server, dovecot, Security.NONE, imap_host="imap.example.org", imap_port=143
    )
    mailbox = SentMailbox(account, PASSWORD)

    with pytest.raises(CopyError, match=r"will not send your password to imap\.example\.org"):
        mailbox.open()
    mailbox.close()


def test_unencrypted_is_allowed_only_to_this_computer(
    smtp_server: SmtpServer, dovecot: Dovecot, sent: SentFolder, copies: SentCopies
) -> None:
    account = imap_account(smtp_server, dovecot, Security.NONE, imap_port=dovecot.starttls_port)
    SecretStore().set(account.id, PASSWORD)
    key = send_and_record(account, sent)
    copies.owe(key)

    assert copies.copy_owed(account).copied == [key]


def test_cancel_wakes_a_server_that_never_answers(smtp_server: SmtpServer) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    account = account_for(
        smtp_server,
        Security.STARTTLS,
        imap_host="127.0.0.1",
        imap_port=port,
        imap_security=Security.SSL_TLS,
        timeout=30,
    )
    mailbox = SentMailbox(account, PASSWORD)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            mailbox.open()
        except CopyError as error:
            failure.append(error)

    thread = threading.Thread(target=run)
    started = time.monotonic()
    thread.start()
    time.sleep(0.3)
    mailbox.cancel()
    thread.join(5)
    listener.close()

    assert time.monotonic() - started < 3
    assert failure
    assert "cancelled" in str(failure[0])


def test_the_whole_session_has_a_deadline(smtp_server: SmtpServer) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    account = account_for(
        smtp_server,
        Security.STARTTLS,
        imap_host="127.0.0.1",
        imap_port=port,
        imap_security=Security.SSL_TLS,
        timeout=30,
    )
    mailbox = SentMailbox(account, PASSWORD, deadline=0.5)
    started = time.monotonic()

    with pytest.raises(CopyError, match=r"took longer than 0\.5 seconds"):
        mailbox.open()
    mailbox.close()
    listener.close()

    assert time.monotonic() - started < 3


def test_proton_mail_bridge_on_this_computer_files_its_own_copy() -> None:
    bridge = Account(host="127.0.0.1", email="ann@proton.me", imap_host="127.0.0.1")
    assert copy_wanted(bridge) is False
    assert copy_wanted(dataclasses.replace(bridge, email="ann@example.org")) is True


@pytest.mark.parametrize(
    ("host", "copy_to_sent", "wanted"),
    [
        ("smtp.gmail.com", None, False),  # Gmail files what it sends in Sent itself
        ("smtp.office365.com", None, False),
        ("smtp.gmail.com", True, True),  # unless the account says so
        ("smtp.example.org", None, True),
        ("smtp.example.org", False, False),
    ],
)
def test_providers_that_file_their_own_copy_get_none_unless_the_account_says_so(
    host: str, copy_to_sent: bool | None, wanted: bool
) -> None:
    account = Account(
        host=host, email="ann@example.org", imap_host="imap.example.org", copy_to_sent=copy_to_sent
    )
    assert copy_wanted(account) is wanted
    assert copy_wanted(dataclasses.replace(account, imap_host="")) is False


@pytest.fixture
def untrusted_dovecot() -> Iterator[Dovecot]:
    """A Dovecot whose certificate comes from a CA nobody trusts."""
    needs_dovecot()
    with running_dovecot(trustme.CA()) as server:
        yield server


def server_fingerprint(dovecot: Dovecot) -> str:
    pem = (dovecot.folder / "server.crt").read_text("ascii")
    return fingerprint(
        ssl.PEM_cert_to_DER_cert(
            pem.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
        )
    )


@pytest.mark.parametrize("security", [Security.STARTTLS, Security.SSL_TLS])
def test_a_certificate_that_does_not_verify_stops_the_copy_before_the_password(
    smtp_server: SmtpServer, untrusted_dovecot: Dovecot, security: Security
) -> None:
    account = imap_account(smtp_server, untrusted_dovecot, security)
    mailbox = SentMailbox(account, PASSWORD)

    with pytest.raises(CopyError, match=r"certificate of 127\.0\.0\.1 is not trusted"):
        mailbox.open()
    mailbox.close()
    assert "method=" not in untrusted_dovecot.log()  # no login was tried


@pytest.mark.parametrize("security", [Security.STARTTLS, Security.SSL_TLS])
def test_the_smtp_servers_trusted_certificate_counts_for_the_same_host(
    smtp_server: SmtpServer,
    untrusted_dovecot: Dovecot,
    sent: SentFolder,
    copies: SentCopies,
    security: Security,
) -> None:
    pin = server_fingerprint(untrusted_dovecot)
    account = imap_account(smtp_server, untrusted_dovecot, security, trusted_certificate=pin)
    mailbox = SentMailbox(account, PASSWORD)
    mailbox.open()
    mailbox.close()

    other = dataclasses.replace(account, trusted_certificate="ab" * 32)
    with pytest.raises(CopyError, match="presented a different certificate"):
        SentMailbox(other, PASSWORD).open()


class FloodingImapServer:
    """Greets like an IMAP server, then answers every command with what it is given, for ever."""

    def __init__(self, flood: bytes) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._flood = flood
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conn, _ = self._listener.accept()
        with conn:
            conn.sendall(b"* OK ready\r\n")
            conn.recv(1024)
            with contextlib.suppress(OSError):
                while not self._stop.is_set():
                    conn.sendall(self._flood)

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(5)


@pytest.mark.parametrize(
    "flood",
    [b"* 1 EXISTS\r\n" * 1000, b"* 1 FETCH (BODY[] {99999999999}\r\n"],
    ids=["endless lines", "huge literal"],
)
def test_a_server_that_floods_is_cut_off(smtp_server: SmtpServer, flood: bytes) -> None:
    server = FloodingImapServer(flood)
    account = account_for(
        smtp_server,
        Security.STARTTLS,
        imap_host="127.0.0.1",
        imap_port=server.port,
        imap_security=Security.NONE,
    )
    mailbox = SentMailbox(account, PASSWORD)
    try:
        with pytest.raises(CopyError, match="KiB"):
            mailbox.open()
    finally:
        mailbox.close()
        server.close()

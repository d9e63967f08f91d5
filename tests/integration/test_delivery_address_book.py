"""Delivery records the recipients a server accepted in the address book."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from email.headerregistry import Address
from pathlib import Path

import pytest

from composer.mail.accounts import Security
from composer.mail.addressbook import AddressBook
from composer.mail.delivery import Delivery
from composer.mail.draft import Draft
from composer.mail.errors import SendError
from composer.mail.secrets import SecretStore
from tests.servers import SmtpServer, account_for


@pytest.fixture
def book(tmp_path: Path) -> Iterator[AddressBook]:
    book = AddressBook(tmp_path / "addressbook.sqlite3")
    assert book.load() == []
    yield book
    book.close()


def send(server: SmtpServer, draft: Draft, book: AddressBook | None) -> None:
    account = account_for(server, Security.NONE, username="")
    Delivery(account, SecretStore(), None, address_book=book).send(draft)


def test_accepted_recipients_are_recorded_with_their_names(
    plain_server: SmtpServer, book: AddressBook
) -> None:
    plain_server.refuse.add("nobody@example.org")
    draft = Draft(
        to='Ann Lee <ann@example.org>, "Lee, Bob" <bob@example.org>',
        cc="carl@example.org; Nobody <nobody@example.org>",
        bcc="Hidden Person <hidden@Example.NET>",
        subject="S",
        body="B",
    )

    send(plain_server, draft, book)

    assert book.search("ann") == [Address("Ann Lee", "ann", "example.org")]
    assert book.search("lee") == [
        Address("Ann Lee", "ann", "example.org"),
        Address("Lee, Bob", "bob", "example.org"),
    ]
    assert book.search("carl") == [Address("", "carl", "example.org")]
    assert book.search("hidden") == [Address("Hidden Person", "hidden", "Example.NET")]
    assert book.search("nobody") == []


def test_recipients_are_one_mailbox_when_only_the_domain_case_differs(
    plain_server: SmtpServer, book: AddressBook
) -> None:
    draft = Draft(to="Ann <Ann@Example.ORG>, Ann@example.org, ann@example.org", subject="S")

    send(plain_server, draft, book)

    assert plain_server.envelopes == [("ann@example.org", ("Ann@Example.ORG", "ann@example.org"))]
    assert book.search("ann") == [
        Address("Ann", "Ann", "Example.ORG"),
        Address("", "ann", "example.org"),
    ]


def test_each_send_counts(plain_server: SmtpServer, book: AddressBook) -> None:
    send(plain_server, Draft(to="andy@example.net", subject="1", body="B"), book)
    send(plain_server, Draft(to="ann@example.org", subject="2", body="B"), book)
    send(plain_server, Draft(to="Ann Lee <ann@example.org>", subject="3", body="B"), book)

    assert book.search("an") == [
        Address("Ann Lee", "ann", "example.org"),
        Address("", "andy", "example.net"),
    ]


def test_nothing_is_recorded_when_sending_fails(
    plain_server: SmtpServer, book: AddressBook
) -> None:
    plain_server.refuse.add("ann@example.org")

    with pytest.raises(SendError):
        send(plain_server, Draft(to="ann@example.org", subject="S", body="B"), book)

    assert book.search("ann") == []


class BrokenBook(AddressBook):
    def record(self, addresses: Iterable[Address], when: float | None = None) -> None:
        raise RuntimeError("disk on fire")


def test_a_broken_address_book_does_not_fail_a_sent_message(
    plain_server: SmtpServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    account = account_for(plain_server, Security.NONE, username="")
    delivery = Delivery(
        account, SecretStore(), None, address_book=BrokenBook(tmp_path / "a.sqlite3")
    )

    result = delivery.send(Draft(to="ann@example.org", subject="S", body="B"))

    assert result.accepted == ("ann@example.org",)
    assert len(plain_server.received) == 1
    assert "disk on fire" in caplog.text

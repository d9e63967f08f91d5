"""Delivery.send_message() and send_batch(): built or stored messages, sandbox and address book."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from email.headerregistry import Address
from pathlib import Path

import pytest

from composer.mail.accounts import sandbox_account
from composer.mail.addressbook import AddressBook
from composer.mail.delivery import Delivery
from composer.mail.draft import Draft
from composer.mail.errors import ErrorKind, SendError
from composer.mail.message import OutgoingMessage, build_message
from composer.mail.progress import SendResult
from composer.mail.secrets import SecretStore
from composer.mail.transport import Outcome

BOB = Address("Bob Brown", "bob", "example.net")
CAROL = Address("Carol", "carol", "example.net")


@pytest.fixture
def book(tmp_path: Path) -> Iterator[AddressBook]:
    book = AddressBook(tmp_path / "addressbook.sqlite3")
    book.load()
    yield book
    book.close()


def message_to(address: Address, subject: str = "Hi") -> OutgoingMessage:
    draft = Draft(to=str(address), subject=subject, body="Hello\n")
    return build_message(draft, sandbox_account().sender())


def test_send_message_through_the_sandbox_fills_stored_at_and_remembers(sandbox, book):
    delivery = Delivery(sandbox_account(), SecretStore(), sandbox, address_book=book)
    called: list[bool] = []

    result = delivery.send_message(
        message_to(BOB), before_final_dot=lambda: called.append(True), remember=[BOB, CAROL]
    )

    stored = Path(result.stored_at)
    assert stored.parent == sandbox.maildir / "new"
    assert b"Subject: Hi" in stored.read_bytes()
    assert result.reply.startswith("250")
    assert called == [True]
    assert book.search("bob") == [BOB]
    assert book.search("carol") == []  # typed, but not a recipient the server accepted


class BrokenBook(AddressBook):
    def record(self, addresses: Iterable[Address], when: float | None = None) -> None:
        raise sqlite3.OperationalError("disk I/O error")


def test_a_broken_address_book_does_not_fail_a_delivered_message(sandbox, tmp_path):
    book = BrokenBook(tmp_path / "broken.sqlite3")
    delivery = Delivery(sandbox_account(), SecretStore(), sandbox, address_book=book)

    result = delivery.send_message(message_to(BOB), remember=[BOB])

    assert result.accepted == ("bob@example.net",)


def test_send_batch_through_the_sandbox(sandbox, book):
    delivery = Delivery(sandbox_account(), SecretStore(), sandbox, address_book=book)
    outcomes: dict[int, Outcome] = {}

    delivery.send_batch(
        [message_to(BOB, "One"), message_to(CAROL, "Two")],
        on_result=outcomes.__setitem__,
        remember=[[BOB], [CAROL]].__getitem__,
    )

    assert sorted(outcomes) == [0, 1]
    for index, subject in enumerate(["One", "Two"]):
        result = outcomes[index]
        assert isinstance(result, SendResult)
        assert f"Subject: {subject}".encode() in Path(result.stored_at).read_bytes()
    assert book.search("bob") == [BOB]
    assert book.search("carol") == [CAROL]


def test_send_batch_without_a_sandbox_gives_every_message_the_error():
    outcomes: dict[int, Outcome] = {}

    Delivery(sandbox_account(), SecretStore(), None).send_batch(
        [message_to(BOB), message_to(CAROL)], on_result=outcomes.__setitem__
    )

    assert sorted(outcomes) == [0, 1]
    assert all(
        isinstance(o, SendError) and o.kind is ErrorKind.SERVER_ERROR for o in outcomes.values()
    )

"""Messages over 25 MB: the server's SIZE decides, and without one the user does."""

from __future__ import annotations

from pathlib import Path

import pytest

from composer.mail.accounts import Account, Security
from composer.mail.delivery import Delivery
from composer.mail.draft import Attachment, Draft
from composer.mail.errors import ErrorKind, SendError
from composer.mail.mail_options import LARGE_MESSAGE
from composer.mail.message import build_message
from composer.mail.secrets import SecretStore
from composer.mail.sizes import format_size
from composer.mail.transport import SmtpTransport
from tests.servers import SmtpServer, account_for, plaintext_server, running

# What smtp.gmail.com advertises.
GMAIL_SIZE = 35_882_577
# aiosmtpd parses a message in Python; taking it unread keeps these tests quick.
TAKEN_UNREAD = "250 2.0.0 Taken unread"


@pytest.fixture(scope="module")
def large_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """19 MB of zeros (sparse, so instant to make): about 26 MB once base64-encoded."""
    path = tmp_path_factory.mktemp("large") / "video.bin"
    with path.open("wb") as stream:
        stream.truncate(19_000_000)
    return path


def large_draft(path: Path) -> Draft:
    return Draft(to="bob@example.net", subject="Holiday", body="B", attachments=(Attachment(path),))


def plain_account(server: SmtpServer) -> Account:
    account = account_for(server, Security.NONE, username="")
    assert account.size_limit == 0  # the default: no limit of the account's own
    return account


def test_the_default_account_sends_what_the_servers_size_accepts(large_file):
    with running(plaintext_server(size_limit=GMAIL_SIZE)) as server:
        server.data_reply = TAKEN_UNREAD
        result = Delivery(plain_account(server), SecretStore(), None).send(large_draft(large_file))

    assert LARGE_MESSAGE < result.size < GMAIL_SIZE
    assert result.accepted == ("bob@example.net",)
    assert "DATA" in server.commands


@pytest.mark.parametrize("advertised", [None, "0"])
def test_over_25_mb_to_a_server_that_gives_no_size_stops_before_mail_from(large_file, advertised):
    with running(plaintext_server(size_limit=0)) as server:
        server.advertise_size = advertised
        account = plain_account(server)
        outgoing = build_message(large_draft(large_file), account.sender())
        with pytest.raises(SendError) as caught:
            SmtpTransport(account, None).send(outgoing)

    error = caught.value
    assert error.kind is ErrorKind.SIZE_UNCHECKED
    assert not error.retryable
    assert f"The message is {format_size(outgoing.size())}" in error.message
    assert "127.0.0.1 did not say how large a message it accepts" in error.message
    assert "refuse more than 25 MB" in error.message
    assert "MAIL" not in server.commands
    assert server.commands[-1] == "QUIT"


def test_over_25_mb_to_a_server_that_gives_no_size_goes_when_the_user_says_so(large_file):
    with running(plaintext_server(size_limit=0)) as server:
        server.data_reply = TAKEN_UNREAD
        delivery = Delivery(plain_account(server), SecretStore(), None)
        with pytest.raises(SendError) as caught:
            delivery.send(large_draft(large_file))
        assert caught.value.kind is ErrorKind.SIZE_UNCHECKED

        result = Delivery(plain_account(server), SecretStore(), None).send(
            large_draft(large_file), large_ok=True
        )

    assert result.size > LARGE_MESSAGE
    assert result.accepted == ("bob@example.net",)
    assert server.commands.count("DATA") == 1


def test_large_ok_does_not_override_the_servers_size(large_file):
    with running(plaintext_server(size_limit=LARGE_MESSAGE)) as server:
        account = plain_account(server)
        outgoing = build_message(large_draft(large_file), account.sender())
        with pytest.raises(SendError) as caught:
            SmtpTransport(account, None).send(outgoing, large_ok=True)

    assert caught.value.kind is ErrorKind.TOO_LARGE
    assert "MAIL" not in server.commands

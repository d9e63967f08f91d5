"""SmtpTransport.send() delivers at most once: what may be retried, and what may have been sent."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from types import SimpleNamespace

import pytest
import trustme

from composer.mail.accounts import Security
from composer.mail.draft import Draft
from composer.mail.errors import ErrorKind, SendError
from composer.mail.message import Envelope, OutgoingMessage, build_message
from composer.mail.ports import free_port
from composer.mail.progress import Progress, SendResult, Stage
from composer.mail.transport import SmtpTransport
from tests.servers import (
    CLOSE,
    HANG,
    PASSWORD,
    SilentServer,
    account_for,
    implicit_tls_server,
    running,
    server_tls_context,
)

# Seconds to wait for something that should take a moment; only a hang takes this long.
WAIT = 30


def outgoing_for(account, **fields) -> OutgoingMessage:
    values = {"to": "bob@example.net", "subject": "Once", "body": "Only one copy, please.\n"}
    values.update(fields)
    return build_message(Draft(**values), account.sender())


def transport_for(
    server,
    *,
    timeout: float = 1,
    security=Security.NONE,
    password=PASSWORD,
    progress=None,
    **changes,
):
    """A transport (and its account) to server, by default unencrypted and without a login."""
    account = account_for(server, security, timeout=timeout, **{"username": "", **changes})
    return SmtpTransport(account, password, progress=progress), account


def send_error(server, **options) -> SendError:
    transport, account = transport_for(server, **options)
    with pytest.raises(SendError) as caught:
        transport.send(outgoing_for(account))
    return caught.value


def times_around(start: datetime) -> set[str]:
    """HH:MM of start and of now: the minute may turn while the test runs."""
    return {f"{start:%H:%M}", f"{datetime.now().astimezone():%H:%M}"}


def says_when(error: SendError, start: datetime) -> bool:
    return any(f"at {when}" in error.message for when in times_around(start))


# --- after the final dot ------------------------------------------------------------------


@pytest.mark.parametrize(("reply", "then"), [(HANG, "did not confirm"), (CLOSE, "broke")])
def test_no_reply_after_the_final_dot_may_have_been_sent(plain_server, reply, then):
    plain_server.data_reply = reply
    start = datetime.now().astimezone()

    error = send_error(plain_server)

    assert error.kind is ErrorKind.MAY_HAVE_BEEN_SENT
    assert not error.retryable
    assert not error.nothing_sent
    assert "127.0.0.1" in error.message
    assert says_when(error, start)
    assert then in error.message
    assert "will not send it again" in error.message
    assert "Sent folder" in error.message
    assert plain_server.messages_read == 1
    assert len(plain_server.received) == 1


def test_a_silent_server_after_the_dot_is_not_a_timeout_while_connecting(plain_server):
    plain_server.data_reply = HANG

    error = send_error(plain_server)

    assert error.kind is not ErrorKind.TIMEOUT
    assert "Connecting" not in error.message
    assert "within 1 seconds" in error.message


def test_cancel_while_waiting_for_the_confirmation_may_have_been_sent(plain_server):
    plain_server.data_reply = HANG
    # Only cancel can end this send within WAIT: the account waits ten minutes for a reply.
    transport, account = transport_for(plain_server, timeout=600)
    outcome: list[BaseException | SendResult] = []

    def run() -> None:
        try:
            outcome.append(transport.send(outgoing_for(account)))
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert plain_server.wait_until(lambda: len(plain_server.received) == 1, WAIT)
    transport.cancel()
    thread.join(WAIT)

    assert not thread.is_alive()
    [error] = outcome
    assert isinstance(error, SendError)
    assert error.kind is ErrorKind.MAY_HAVE_BEEN_SENT
    assert not error.retryable
    assert "cancelled" in error.message
    assert plain_server.messages_read == 1


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [
        ("451 4.7.1 Greylisted", True),
        ("421 4.3.2 Shutting down", True),
        ("554 5.7.1 Spam", False),
    ],
)
def test_a_reply_after_the_dot_is_a_refusal_of_its_own_class(plain_server, reply, retryable):
    plain_server.data_reply = reply

    error = send_error(plain_server)

    assert error.kind is not ErrorKind.MAY_HAVE_BEEN_SENT
    assert error.nothing_sent
    assert error.retryable is retryable
    assert reply in error.message
    assert plain_server.received == []


def test_the_reply_to_the_dot_and_its_time_are_in_the_result(plain_server):
    transport, account = transport_for(plain_server)
    start = datetime.now().astimezone()

    result = transport.send(outgoing_for(account))

    assert result.reply == "250 2.0.0 Message accepted"
    sent_at = parsedate_to_datetime(result.sent_at)
    assert sent_at.tzinfo is not None
    # RFC 5322 dates have whole seconds.
    assert start - timedelta(seconds=1) <= sent_at <= datetime.now().astimezone()


def test_before_final_dot_runs_once_after_the_body_before_the_server_has_it(plain_server):
    seen: list[Progress] = []
    transport, account = transport_for(plain_server, progress=seen.append)
    outgoing = outgoing_for(account, body="line\n" * 50_000)
    at_the_call: list[tuple[int, int]] = []

    def before_final_dot() -> None:
        sending = [p for p in seen if p.stage is Stage.SENDING]
        at_the_call.append((sending[-1].sent, plain_server.messages_read))

    transport.send(outgoing, before_final_dot=before_final_dot)

    assert at_the_call == [(outgoing.size(), 0)]
    assert plain_server.messages_read == 1


def test_a_failing_before_final_dot_keeps_the_dot_back(plain_server):
    transport, account = transport_for(plain_server)

    def before_final_dot() -> None:
        raise SendError(ErrorKind.FILE, "Could not record the send.")

    with pytest.raises(SendError) as caught:
        transport.send(outgoing_for(account), before_final_dot=before_final_dot)

    assert caught.value.message == "Could not record the send."
    assert plain_server.messages_read == 0


# --- before the final dot: nothing was sent -----------------------------------------------


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [("451 4.3.0 Try later", True), ("452 4.2.2 Mailbox full", True), ("550 5.1.1 No", False)],
)
def test_rcpt_refusals_are_retryable_when_temporary(plain_server, reply, retryable):
    plain_server.rcpt_replies["bob@example.net"] = reply

    error = send_error(plain_server)

    assert error.kind is ErrorKind.RECIPIENTS_REFUSED
    assert error.retryable is retryable
    assert error.nothing_sent
    assert plain_server.messages_read == 0


def test_connection_refused_is_retryable():
    port = free_port()
    error = send_error(SimpleNamespace(host="127.0.0.1", port=port))

    assert error.kind is ErrorKind.CONNECTION_REFUSED
    assert error.retryable
    assert f"127.0.0.1:{port}" in error.message


def test_a_server_silent_before_its_greeting_times_out_while_connecting(silent_server):
    error = send_error(silent_server)

    assert error.kind is ErrorKind.TIMEOUT
    assert error.retryable
    assert error.message.startswith(f"Connecting to 127.0.0.1:{silent_server.port} timed out")
    assert "Nothing was sent" in error.message


def test_a_silent_implicit_tls_server_times_out_while_securing(silent_server):
    error = send_error(silent_server, security=Security.SSL_TLS)

    assert error.kind is ErrorKind.TIMEOUT
    assert error.retryable
    assert error.message.startswith("Securing the connection to 127.0.0.1")


def test_a_connection_dropped_at_mail_is_retryable_and_says_sending(plain_server):
    plain_server.drop_at_mail = {1}

    error = send_error(plain_server)

    assert error.kind is ErrorKind.DISCONNECTED
    assert error.retryable
    assert error.message.startswith("Sending the message to 127.0.0.1")
    assert "nobody got it" in error.message
    assert plain_server.messages_read == 0


@pytest.fixture
def hang_up_server() -> Iterator[SilentServer]:
    """Accepts each connection and closes it at once."""
    server = SilentServer(hang_up=True).start()
    try:
        yield server
    finally:
        server.stop()


def test_a_tls_handshake_cut_off_is_retryable(hang_up_server):
    error = send_error(hang_up_server, security=Security.SSL_TLS)

    assert error.kind is ErrorKind.TLS_INTERRUPTED
    assert error.retryable
    assert f"127.0.0.1:{hang_up_server.port}" in error.message
    assert hang_up_server.accepted == 1


def test_an_untrusted_certificate_is_not_retryable():
    with running(implicit_tls_server(server_tls_context(trustme.CA()))) as server:
        error = send_error(server, security=Security.SSL_TLS, username="ann")

    assert error.kind is ErrorKind.CERTIFICATE
    assert not error.retryable


def test_a_wrong_password_is_not_retryable(smtps_server):
    transport, account = transport_for(
        smtps_server, security=Security.SSL_TLS, username="ann", password="wrong"
    )

    with pytest.raises(SendError) as caught:
        transport.send(outgoing_for(account))

    assert caught.value.smtp_code == 535
    assert not caught.value.retryable


@dataclasses.dataclass(frozen=True)
class StoredMessage:
    """A Sendable that is only wire bytes and an envelope, as a stored message is."""

    envelope: Envelope
    message_id: str
    data: bytes

    def size(self) -> int:
        return len(self.data)

    def is_ascii(self) -> bool:
        return self.data.isascii()

    def check_files(self) -> None:
        pass

    def chunks(self) -> Iterator[bytes]:
        yield from (self.data[i : i + 7] for i in range(0, len(self.data), 7))


def test_any_sendable_is_sent_as_its_bytes(plain_server):
    data = b"Message-ID: <x@example.org>\r\nSubject: Stored\r\n\r\n.dot line\r\nend\r\n"
    stored = StoredMessage(
        Envelope("ann@example.org", ("bob@example.net",)), "<x@example.org>", data
    )
    transport, _ = transport_for(plain_server)

    result = transport.send(stored)

    assert result.message_id == "<x@example.org>"
    assert result.accepted == ("bob@example.net",)
    assert plain_server.raw == [data]

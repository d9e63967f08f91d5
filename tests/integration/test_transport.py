"""SmtpTransport against real SMTP servers on 127.0.0.1: TLS, login, refusals, limits, cancel."""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from types import SimpleNamespace

import pytest
import trustme

from composer.mail import transport as transport_module
from composer.mail.accounts import Security
from composer.mail.draft import Draft
from composer.mail.errors import ErrorKind, SendError
from composer.mail.message import TEXT_PIECE, OutgoingMessage, build_message
from composer.mail.ports import free_port
from composer.mail.progress import Progress, SendResult, Stage
from composer.mail.sizes import format_size
from composer.mail.transport import SmtpTransport
from tests.servers import (
    HOST,
    PASSWORD,
    SmtpServer,
    account_for,
    implicit_tls_server,
    plaintext_server,
    running,
    server_tls_context,
    starttls_server,
)

SUBJECT = "Grüße aus Köln – ☕"
# Seconds to wait for something that should take a moment; only a hang takes this long.
HANG = 30
BODY = "Hallo Bob,\n\nschöne Grüße – 你好.\n\nAnn\n"


def outgoing_for(account, **fields) -> OutgoingMessage:
    values = {
        "to": "Bob Brown <bob@example.net>",
        "cc": "Chloé <chloe@example.com>",
        "bcc": "dave@example.net",
        "subject": SUBJECT,
        "body": BODY,
    }
    values.update(fields)
    return build_message(Draft(**values), account.sender())


def send(server, security=Security.STARTTLS, password=PASSWORD, progress=None, **fields):
    account = account_for(server, security)
    return SmtpTransport(account, password, progress=progress).send(outgoing_for(account, **fields))


def send_error(server, security=Security.STARTTLS, password=PASSWORD, **fields) -> SendError:
    with pytest.raises(SendError) as caught:
        send(server, security, password, **fields)
    return caught.value


def content(received) -> str:
    return received.get_content().replace("\r\n", "\n")


@pytest.mark.parametrize(
    ("fixture", "security"),
    [("smtp_server", Security.STARTTLS), ("smtps_server", Security.SSL_TLS)],
)
def test_send_delivers_headers_body_and_envelope(request, fixture, security):
    server: SmtpServer = request.getfixturevalue(fixture)

    result = send(server, security)

    assert isinstance(result, SendResult)
    [received] = server.received
    assert received["Subject"] == SUBJECT
    assert received["From"].addresses[0].display_name == "Ann Lee"
    assert received["From"].addresses[0].addr_spec == "ann@example.org"
    assert [a.addr_spec for a in received["To"].addresses] == ["bob@example.net"]
    assert received["Cc"].addresses[0].display_name == "Chloé"
    assert "Bcc" not in received
    assert b"dave@" not in server.raw[0]
    assert content(received) == BODY
    assert received["Message-ID"] == result.message_id
    [(sender, recipients)] = server.envelopes
    assert sender == "ann@example.org"
    assert recipients == ("bob@example.net", "chloe@example.com", "dave@example.net")
    assert result.accepted == recipients
    assert result.refused == {}
    assert result.host == "127.0.0.1"
    assert server.auth_attempts == [("ann", PASSWORD)]


def test_send_reports_progress_stages_in_order(smtp_server):
    seen: list[Progress] = []

    send(smtp_server, progress=seen.append)

    stages = [p.stage for p in seen]
    assert stages[:3] == [Stage.CONNECTING, Stage.SECURING, Stage.AUTHENTICATING]
    assert set(stages[3:]) == {Stage.SENDING}
    assert seen[2].detail == "ann"
    assert seen[-1].sent == seen[-1].total > 0


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
@pytest.mark.parametrize(
    ("username", "password"),
    [("ann", PASSWORD), ("zoë@exämple.org", "pässwört ☂"), ("ann", "plain-ascii")],
)
def test_login_carries_utf8_user_names_and_passwords(tls_ca, mechanism, username, password):
    other = {"PLAIN": "LOGIN", "LOGIN": "PLAIN"}[mechanism]
    server = starttls_server(
        server_tls_context(tls_ca),
        username=username,
        password=password,
        auth_exclude_mechanism=[other],
    )
    with running(server):
        account = account_for(server, Security.STARTTLS)
        SmtpTransport(account, password).send(outgoing_for(account))

    assert server.auth_attempts == [(username, password)]
    assert len(server.received) == 1


@pytest.mark.parametrize(
    ("fixture", "security"),
    [("smtp_server", Security.STARTTLS), ("smtps_server", Security.SSL_TLS)],
)
def test_wrong_password_is_auth_failed_naming_the_host(request, fixture, security):
    server: SmtpServer = request.getfixturevalue(fixture)

    error = send_error(server, security, password="wrong")

    assert error.kind is ErrorKind.AUTH_FAILED
    assert "127.0.0.1" in error.message
    assert "535" in error.message
    assert error.smtp_code == 535
    assert not error.retryable
    assert server.auth_attempts == [("ann", "wrong")]
    assert server.received == []


def test_untrusted_certificate_stops_before_login(untrusted_server):
    error = send_error(untrusted_server)

    assert error.kind is ErrorKind.CERTIFICATE
    assert "127.0.0.1" in error.message
    assert untrusted_server.auth_attempts == []
    assert untrusted_server.received == []


def test_untrusted_certificate_with_implicit_tls():
    server = implicit_tls_server(server_tls_context(trustme.CA()))
    with running(server):
        error = send_error(server, Security.SSL_TLS)

    assert error.kind is ErrorKind.CERTIFICATE
    assert server.auth_attempts == []


def test_certificate_for_another_host_name_is_refused(tls_ca):
    # Issued by the trusted CA, but for a name that is not the one Composer connects to.
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("mail.other.test").configure_cert(context)
    server = starttls_server(context)
    with running(server):
        error = send_error(server)

    assert error.kind is ErrorKind.CERTIFICATE
    assert "127.0.0.1" in error.message
    assert server.auth_attempts == []


def test_starttls_not_offered_stops_before_login(plain_server):
    error = send_error(plain_server, Security.STARTTLS)

    assert error.kind is ErrorKind.STARTTLS_UNAVAILABLE
    assert "127.0.0.1" in error.message
    assert plain_server.auth_attempts == []
    assert plain_server.received == []


def test_implicit_tls_to_a_plaintext_server_is_a_tls_failure(plain_server):
    error = send_error(plain_server, Security.SSL_TLS)

    assert error.kind is ErrorKind.TLS_FAILED
    assert f"127.0.0.1:{plain_server.port}" in error.message
    assert plain_server.auth_attempts == []


def test_no_encryption_with_a_password_is_allowed_on_loopback(plain_server):
    result = send(plain_server, Security.NONE)

    assert plain_server.auth_attempts == [("ann", PASSWORD)]
    assert len(result.accepted) == 3
    assert plain_server.received[0]["Subject"] == SUBJECT


def test_no_encryption_without_a_user_name_logs_in_to_nothing(plain_server):
    account = account_for(plain_server, Security.NONE, username="")

    SmtpTransport(account, None).send(outgoing_for(account))

    assert plain_server.auth_attempts == []
    assert len(plain_server.received) == 1


def test_no_encryption_with_a_password_to_another_host_is_refused_before_connecting():
    elsewhere = SimpleNamespace(host="smtp.example.invalid", port=25)
    account = account_for(elsewhere, Security.NONE)
    seen: list[Progress] = []

    with pytest.raises(SendError) as caught:
        SmtpTransport(account, PASSWORD, progress=seen.append).send(outgoing_for(account))

    assert caught.value.kind is ErrorKind.INSECURE
    assert "smtp.example.invalid" in caught.value.message
    assert seen == []  # never even started connecting


class LoopbackResolver:
    """Looks up names without asking any DNS server: every name it knows is 127.0.0.1.

    Records each name it was asked for; an unknown name does not resolve.
    """

    def __init__(self, *names: str) -> None:
        self.names = set(names)
        self.asked: list[str] = []

    def __call__(self, host, port, family, kind):
        self.asked.append(host)
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (HOST, port))]


def send_through(server, host, resolver, *, username="ann", seen=None):
    """Send as an unencrypted account named host, whose names resolver looks up."""
    account = account_for(server, Security.NONE, host=host, username=username)
    progress = seen.append if seen is not None else None
    transport = SmtpTransport(account, PASSWORD, progress=progress, resolve=resolver)
    return transport.send(outgoing_for(account))


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_no_encryption_logs_in_when_the_connection_ends_on_this_computer(plain_server, host):
    account = account_for(plain_server, Security.NONE, host=host)

    result = SmtpTransport(account, PASSWORD).send(outgoing_for(account))

    assert plain_server.auth_attempts == [("ann", PASSWORD)]
    assert len(result.accepted) == 3


@pytest.mark.parametrize("host", ["evil.localhost", "localhost.", "mail.localhost"])
def test_a_loopback_looking_name_logs_in_only_at_a_loopback_address(plain_server, host):
    # Which address such a name reaches depends on the machine; here it reaches the server
    # on 127.0.0.1, and only there does the password go.
    resolver = LoopbackResolver(host)

    send_through(plain_server, host, resolver)

    assert resolver.asked == [host]
    assert plain_server.auth_attempts == [("ann", PASSWORD)]


def test_a_loopback_looking_name_that_does_not_resolve_sends_nothing(plain_server):
    with pytest.raises(SendError) as caught:
        send_through(plain_server, "evil.localhost", LoopbackResolver())

    assert caught.value.kind is ErrorKind.UNREACHABLE
    assert "evil.localhost" in caught.value.message
    assert plain_server.sessions == 0
    assert plain_server.auth_attempts == []


def test_no_encryption_to_a_name_that_reached_another_computer_is_refused_before_login(
    plain_server, monkeypatch
):
    # No test may connect beyond this computer, so the address the connection reached is
    # reported as elsewhere; the real decision is tested on its own in test_accounts.
    peers = []

    def elsewhere(peer):
        peers.append(peer)
        return False

    monkeypatch.setattr(transport_module, "is_loopback_address", elsewhere)

    with pytest.raises(SendError) as caught:
        send_through(plain_server, "mail.localhost", LoopbackResolver("mail.localhost"))

    assert caught.value.kind is ErrorKind.INSECURE
    assert not caught.value.retryable
    message = caught.value.message
    assert "mail.localhost resolved to 127.0.0.1, which is not this computer" in message
    assert "SSL/TLS or STARTTLS" in message
    assert [peer[0] for peer in peers] == [HOST]  # the address actually connected to
    assert plain_server.auth_attempts == []
    assert plain_server.commands == []  # not even EHLO: refused right after the greeting


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1\x00.localhost",
        "localhost\x00.evil.example",
        "a\nb",
        "x y",
        "mail\u2028localhost",
        "localhost\x7f",
    ],
)
@pytest.mark.parametrize("username", ["ann", ""])
def test_a_host_with_spaces_or_control_characters_is_never_looked_up(plain_server, host, username):
    resolver = LoopbackResolver("127.0.0.1", "localhost", host)
    seen: list[Progress] = []

    with pytest.raises(SendError) as caught:
        send_through(plain_server, host, resolver, username=username, seen=seen)

    assert caught.value.kind is ErrorKind.BAD_HOST
    assert not caught.value.retryable
    assert "space or a control character" in caught.value.message
    assert host.encode("unicode_escape").decode("ascii") in caught.value.message
    assert resolver.asked == []
    assert seen == []
    assert plain_server.sessions == 0
    assert plain_server.auth_attempts == []


def test_a_host_that_is_only_spaces_is_never_looked_up(plain_server):
    resolver = LoopbackResolver(" ", "")

    with pytest.raises(SendError) as caught:
        send_through(plain_server, "  ", resolver, username="")

    assert caught.value.kind is ErrorKind.BAD_HOST
    assert "has no SMTP host" in caught.value.message
    assert resolver.asked == []


def test_missing_password_is_reported_before_login(smtp_server):
    error = send_error(smtp_server, password=None)

    assert error.kind is ErrorKind.PASSWORD_MISSING
    assert smtp_server.auth_attempts == []


def test_some_recipients_refused_the_others_get_it(smtp_server):
    smtp_server.refuse = {"nobody@example.net"}

    result = send(smtp_server, to="bob@example.net, nobody@example.net", cc="", bcc="")

    assert result.accepted == ("bob@example.net",)
    assert list(result.refused) == ["nobody@example.net"]
    code, text = result.refused["nobody@example.net"]
    assert code == 550
    assert "No such user" in text
    assert server_recipients(smtp_server) == [("bob@example.net",)]
    assert "nobody@example.net" in result.summary
    assert "1 of 2" in result.summary


def test_every_recipient_refused_sends_nothing(smtp_server):
    smtp_server.refuse = {"x@example.net", "y@example.net"}

    error = send_error(smtp_server, to="x@example.net", cc="y@example.net", bcc="")

    assert error.kind is ErrorKind.RECIPIENTS_REFUSED
    assert set(error.refused) == {"x@example.net", "y@example.net"}
    assert error.smtp_code == 550
    assert "x@example.net" in error.message
    assert smtp_server.received == []


def test_message_over_the_servers_size_limit_is_not_sent(smtp_server):
    smtp_server.size_limit = 2000
    account = account_for(smtp_server, Security.STARTTLS)
    outgoing = outgoing_for(account, body=("x" * 70 + "\n") * 100)
    size = len(outgoing.as_bytes())
    assert size > 2000

    with pytest.raises(SendError) as caught:
        SmtpTransport(account, PASSWORD).send(outgoing)

    assert caught.value.kind is ErrorKind.TOO_LARGE
    assert f"{format_size(size)}, too large for 127.0.0.1" in caught.value.message
    assert format_size(2000) in caught.value.message
    assert "MAIL" not in smtp_server.commands
    assert smtp_server.commands[-1] == "QUIT"
    assert smtp_server.received == []


def test_sizes_that_read_alike_are_given_in_bytes(plain_server):
    account = account_for(plain_server, Security.NONE, username="")
    outgoing = outgoing_for(account)
    size = outgoing.size()
    plain_server.size_limit = size - 1

    with pytest.raises(SendError) as caught:
        SmtpTransport(account, None).send(outgoing)

    assert caught.value.kind is ErrorKind.TOO_LARGE
    assert f"{size:,} bytes, too large" in caught.value.message
    assert f"at most {size - 1:,} bytes" in caught.value.message


@pytest.mark.parametrize("advertised", ["", "0", "lots", "abc", "-1", "9" * 5000, "١٢٣٤٥"])
def test_a_size_extension_without_a_usable_limit_limits_nothing(advertised):
    # "SIZE" or "SIZE 0" means no fixed limit (RFC 1870); garbage is treated the same.
    with running(plaintext_server(size_limit=0)) as server:
        server.advertise_size = advertised
        account = account_for(server, Security.NONE, username="")
        SmtpTransport(account, None).send(outgoing_for(account))

    assert len(server.received) == 1


def test_message_over_the_accounts_size_limit_is_not_sent(smtp_server):
    account = account_for(smtp_server, Security.STARTTLS, size_limit=1000)
    outgoing = outgoing_for(account, body="y" * 2000)
    seen: list[Progress] = []

    with pytest.raises(SendError) as caught:
        SmtpTransport(account, PASSWORD, progress=seen.append).send(outgoing)

    assert caught.value.kind is ErrorKind.TOO_LARGE
    assert format_size(1000) in caught.value.message
    assert format_size(len(outgoing.as_bytes())) in caught.value.message
    assert "Test" in caught.value.message  # the account's name
    assert seen == []
    assert smtp_server.auth_attempts == []


def test_connection_refused_names_host_and_port():
    port = free_port()
    account = account_for(SimpleNamespace(host="127.0.0.1", port=port), Security.STARTTLS)

    with pytest.raises(SendError) as caught:
        SmtpTransport(account, PASSWORD).send(outgoing_for(account))

    assert caught.value.kind is ErrorKind.CONNECTION_REFUSED
    assert f"127.0.0.1:{port}" in caught.value.message
    assert caught.value.retryable


@pytest.mark.parametrize("security", [Security.STARTTLS, Security.SSL_TLS])
def test_silent_server_times_out_after_the_accounts_timeout(silent_server, security):
    account = account_for(silent_server, security, timeout=1)
    thread, outcome = send_in_thread(SmtpTransport(account, PASSWORD), outgoing_for(account))

    thread.join(HANG)

    assert not thread.is_alive(), "the 1 s timeout of the account was not applied"
    [error] = outcome
    assert isinstance(error, SendError)
    assert error.kind is ErrorKind.TIMEOUT
    assert f"127.0.0.1:{silent_server.port}" in error.message
    assert error.retryable


def test_a_fault_in_composer_is_an_internal_error_with_the_traceback_logged(plain_server, caplog):
    def broken_progress(progress: Progress) -> None:
        raise ZeroDivisionError("division by zero in a progress callback")

    account = account_for(plain_server, Security.NONE, username="")
    transport = SmtpTransport(account, None, progress=broken_progress)
    with caplog.at_level(logging.INFO), pytest.raises(SendError) as caught:
        transport.send(outgoing_for(account))

    assert caught.value.kind is ErrorKind.INTERNAL
    assert "division" not in caught.value.message
    [record] = [r for r in caplog.records if r.exc_info]
    assert record.exc_info[0] is ZeroDivisionError
    assert plain_server.received == []


def send_in_thread(transport: SmtpTransport, outgoing: OutgoingMessage):
    """Start transport.send(outgoing) on a thread; returns the thread and its outcome list."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(transport.send(outgoing))
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


@pytest.mark.parametrize("security", [Security.STARTTLS, Security.SSL_TLS])
def test_cancel_from_another_thread_wakes_a_blocked_send(silent_server, security):
    # Only cancel can end this send within HANG: the account waits ten minutes for a reply.
    account = account_for(silent_server, security, timeout=600)
    transport = SmtpTransport(account, PASSWORD)
    thread, outcome = send_in_thread(transport, outgoing_for(account))
    assert silent_server.wait_for_connection(timeout=HANG)

    transport.cancel()
    thread.join(HANG)

    assert not thread.is_alive(), "cancel() did not wake the blocked send"
    [error] = outcome
    assert isinstance(error, SendError)
    assert error.kind is ErrorKind.CANCELLED
    assert silent_server.wait_for_close(timeout=HANG)


def test_cancel_before_sending_does_not_connect(silent_server):
    account = account_for(silent_server, Security.STARTTLS)
    transport = SmtpTransport(account, PASSWORD)
    transport.cancel()

    with pytest.raises(SendError) as caught:
        transport.send(outgoing_for(account))

    assert caught.value.kind is ErrorKind.CANCELLED
    assert silent_server.accepted == 0


def test_cancel_during_data_delivers_nothing(smtp_server):
    account = account_for(smtp_server, Security.STARTTLS)
    outgoing = outgoing_for(account, body="line of text\n" * (4 * TEXT_PIECE // 13))
    transport: SmtpTransport

    def on_progress(progress: Progress) -> None:
        if progress.stage is Stage.SENDING and progress.sent > 0:
            transport.cancel()

    transport = SmtpTransport(account, PASSWORD, progress=on_progress)
    with pytest.raises(SendError) as caught:
        transport.send(outgoing)

    assert caught.value.kind is ErrorKind.CANCELLED
    assert smtp_server.received == []


def test_lines_starting_with_a_dot_arrive_intact(smtp_server):
    body = ".\n..\n.hidden\nnot a dot\n. space\n...three\n.\n"

    send(smtp_server, body=body)

    assert content(smtp_server.received[0]) == body


def test_large_body_arrives_intact_with_monotonic_progress(smtp_server):
    # Lines of many lengths, some starting with a dot, so chunk boundaries fall everywhere.
    lines = [("." if i % 7 == 0 else "") + "ab" * (i % 40) + str(i) for i in range(40_000)]
    body = "\n".join(lines) + "\n"
    account = account_for(smtp_server, Security.STARTTLS)
    outgoing = outgoing_for(account, body=body)
    total = len(outgoing.as_bytes())
    assert total > 4 * TEXT_PIECE
    sending: list[Progress] = []

    SmtpTransport(
        account,
        PASSWORD,
        progress=lambda p: sending.append(p) if p.stage is Stage.SENDING else None,
    ).send(outgoing)

    assert content(smtp_server.received[0]) == body
    sent = [p.sent for p in sending]
    assert sent == sorted(sent)
    assert len(set(sent)) >= 4
    assert sent[-1] == total
    assert {p.total for p in sending} == {total}
    assert "100%" in sending[-1].text


def test_non_ascii_body_with_long_lines_arrives_intact(smtp_server):
    body = "ä" * 3000 + "\n" + "word " * 400 + "\n"

    send(smtp_server, body=body)

    assert content(smtp_server.received[0]) == body
    assert max(len(line) for line in smtp_server.raw[0].split(b"\r\n")) <= 998


def server_recipients(server: SmtpServer) -> list[tuple[str, ...]]:
    return [recipients for _, recipients in server.envelopes]


def test_duplicate_recipients_get_one_copy(smtp_server):
    send(
        smtp_server,
        to="bob@example.net, Bob <bob@EXAMPLE.net>",
        cc="bob@example.net",
        bcc="bob@example.net; carol@example.net",
    )

    assert server_recipients(smtp_server) == [("bob@example.net", "carol@example.net")]


@pytest.mark.parametrize(
    ("fixture", "security", "how"),
    [("smtp_server", Security.STARTTLS, "STARTTLS"), ("smtps_server", Security.SSL_TLS, "SSL/TLS")],
)
def test_check_connects_and_logs_in(request, fixture, security, how):
    server: SmtpServer = request.getfixturevalue(fixture)
    account = account_for(server, security)

    text = SmtpTransport(account, PASSWORD).check()

    assert f"127.0.0.1:{server.port}" in text
    assert how in text
    assert "logged in as ann" in text
    assert server.auth_attempts == [("ann", PASSWORD)]
    assert server.received == []


def test_check_reports_a_wrong_password(smtp_server):
    account = account_for(smtp_server, Security.STARTTLS)

    with pytest.raises(SendError) as caught:
        SmtpTransport(account, "nope").check()

    assert caught.value.kind is ErrorKind.AUTH_FAILED
    assert "127.0.0.1" in caught.value.message


def test_check_reports_an_untrusted_certificate(untrusted_server):
    account = account_for(untrusted_server, Security.STARTTLS)

    with pytest.raises(SendError) as caught:
        SmtpTransport(account, PASSWORD).check()

    assert caught.value.kind is ErrorKind.CERTIFICATE
    assert untrusted_server.auth_attempts == []


def test_ascii_message_needs_no_smtp_extensions(smtp_server):
    account = account_for(smtp_server, Security.STARTTLS)
    outgoing = outgoing_for(account)  # non-ASCII text, but MIME-encoded to ASCII

    SmtpTransport(account, PASSWORD).send(outgoing)

    assert outgoing.as_bytes().isascii()
    assert smtp_server.mail_options == [(f"SIZE={len(outgoing.as_bytes())}",)]


def test_non_ascii_addresses_are_sent_with_smtputf8(plain_server):
    account = account_for(plain_server, Security.NONE, username="")
    outgoing = outgoing_for(account, to="Jürgen <jürgen@exämple.org>", cc="", bcc="")

    SmtpTransport(account, None).send(outgoing)

    [options] = plain_server.mail_options
    assert "SMTPUTF8" in options
    assert "BODY=8BITMIME" in options
    assert plain_server.envelopes == [("ann@example.org", ("jürgen@exämple.org",))]
    assert "Jürgen <jürgen@exämple.org>".encode() in plain_server.raw[0]
    assert plain_server.received[0]["Subject"] == SUBJECT


def test_ehlo_names_our_address_instead_of_looking_up_a_host_name(smtp_server):
    send(smtp_server)

    assert smtp_server.helo_names == ["[127.0.0.1]"]

"""Hostile servers on 127.0.0.1: each ends in a clear status, within a bound, with no crash and
no password in what the user or the log sees, and with the message kept.

Also part of this suite, elsewhere: a 421 or 554 greeting and a 421 in the middle
(test_server_replies.py), HTML in a greeting shown as plain text (test_plain_text.py), a
server silent at each step (test_at_most_once.py, test_transport.py), a connection closed at
MAIL, in DATA and after the final dot (test_at_most_once.py, test_outbox_delivery.py).
Certificate cases are in the trust tests.
"""

from __future__ import annotations

import threading
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from composer.mail.accounts import Account, Security
from composer.mail.draft import Attachment, Draft
from composer.mail.errors import ErrorKind, SendError
from composer.mail.message import OutgoingMessage, build_message
from composer.mail.outbox import EntryState
from composer.mail.progress import SendResult
from composer.mail.smtp_client import MAX_REPLY_LINES
from composer.mail.transcript import Transcript
from composer.mail.transport import SmtpTransport
from tests.integration.test_nothing_lost import session_of
from tests.scripted_server import (
    EHLO,
    Answer,
    Connection,
    ScriptedServer,
    cut_in_data,
    dribble,
    dribbled_handshake,
    endless,
    read_slowly,
    scripted,
    then_reset,
)
from tests.servers import PASSWORD, account_for, server_tls_context
from tests.windows import FakeClock, MakeWindow, configure, fill, send, snapshot

# Short, so that each case ends fast; every reply dribbled at 0.5 s a byte takes longer.
TIMEOUT = 2
# Only a hang takes this long (asserted: the case ends, not how fast).
WAIT = 60
# Larger than every buffer between the two ends on loopback, so that writes are still under
# way when the server acts in the middle of DATA.
LARGE = 12 * 1024 * 1024

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def large_file(tmp_path: Path) -> Path:
    path = tmp_path / "large.bin"
    path.write_bytes(bytes(range(256)) * (LARGE // 256))
    return path


def account_to(
    server: ScriptedServer, security: Security = Security.NONE, **changes: Any
) -> Account:
    return account_for(server, security, timeout=TIMEOUT, **{"username": "", **changes})


def message_for(account: Account, attached: Path | None = None) -> OutgoingMessage:
    draft = Draft(
        to="bob@example.net",
        subject="Hostile",
        body="Hello.\n",
        attachments=(Attachment(attached),) if attached else (),
    )
    return build_message(draft, account.sender())


def outcome(call: Callable[[], Any]) -> Any:
    """What call() returned or raised, on a thread of its own: asserting that it ended."""
    result: list[Any] = []

    def run() -> None:
        try:
            result.append(call())
        except BaseException as error:
            result.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(WAIT)
    assert not thread.is_alive(), f"still talking to the server after {WAIT} s"
    [value] = result
    return value


def send_through(
    server: ScriptedServer,
    security: Security = Security.NONE,
    attached: Path | None = None,
    **changes: Any,
) -> SendResult | SendError:
    account = account_to(server, security, **changes)
    transport = SmtpTransport(account, PASSWORD)
    value = outcome(lambda: transport.send(message_for(account, attached)))
    assert isinstance(value, SendResult | SendError), value
    return value


def failure(server: ScriptedServer, *, hung_up: bool = True, **options: Any) -> SendError:
    value = send_through(server, **options)
    assert isinstance(value, SendError), value
    assert PASSWORD not in value.message
    if hung_up:  # the client closed its end, and the server saw it
        assert server.wait_until_finished()
    return value


@pytest.fixture(autouse=True)
def no_password_in_the_log(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level("DEBUG")
    yield
    assert PASSWORD not in caplog.text


# --- one byte every half second, at every step --------------------------------------------

SLOW_REPLIES: list[tuple[str, dict[str, Answer], str]] = [
    ("greeting", {"greeting": dribble("220 scripted.test ESMTP")}, "waiting for the greeting"),
    ("EHLO", {"EHLO": dribble(EHLO)}, "after EHLO"),
    ("AUTH", {"AUTH": dribble("235 2.7.0 Accepted")}, "during the login"),
    ("MAIL", {"MAIL": dribble("250 2.1.0 OK")}, "after MAIL FROM"),
    ("RCPT", {"RCPT": dribble("250 2.1.5 OK")}, "after RCPT TO"),
    ("DATA", {"DATA": dribble("354 Go ahead")}, "after DATA"),
]


@pytest.mark.parametrize(
    ("answers", "waiting"),
    [case[1:] for case in SLOW_REPLIES],
    ids=[case[0] for case in SLOW_REPLIES],
)
def test_a_reply_dribbled_a_byte_at_a_time_ends_at_the_timeout(answers, waiting):
    with scripted(answers) as server:
        error = failure(server, username="ann")

    assert error.kind is ErrorKind.TIMEOUT
    assert error.retryable
    assert "127.0.0.1 answered too slowly" in error.message
    assert f"no complete reply within {TIMEOUT} seconds {waiting}" in error.message
    assert "Accounts" in error.message
    assert server.messages == []


def test_a_starttls_reply_dribbled_ends_at_the_timeout(tls_ca):
    answers = {"STARTTLS": dribble("220 Ready to start TLS")}
    with scripted(answers, tls_context=server_tls_context(tls_ca)) as server:
        error = failure(server, security=Security.STARTTLS)

    assert error.kind is ErrorKind.TIMEOUT
    assert f"within {TIMEOUT} seconds after STARTTLS" in error.message
    assert error.message.startswith("Securing the connection to 127.0.0.1")


def test_a_tls_handshake_dribbled_ends_at_the_timeout(tls_ca):
    answers = {"tls": dribbled_handshake()}
    with scripted(answers, tls_context=server_tls_context(tls_ca), implicit_tls=True) as server:
        error = failure(server, security=Security.SSL_TLS, username="ann")

    assert error.kind is ErrorKind.TIMEOUT
    assert error.message.startswith("Securing the connection to 127.0.0.1")
    assert "Nothing was sent" in error.message


def test_the_confirmation_dribbled_may_have_been_sent():
    def accept_slowly(connection: Connection) -> None:
        connection.read_message()
        dribble("250 2.0.0 Accepted")(connection)

    with scripted({"message": accept_slowly}) as server:
        error = failure(server)

    assert error.kind is ErrorKind.MAY_HAVE_BEEN_SENT
    assert not error.retryable
    assert f"did not confirm it within {TIMEOUT} seconds" in error.message


# Dribbled, this goodbye would take 100 seconds.
SLOW_BYE = dribble("221 " + "z" * 200)


def test_a_quit_dribbled_does_not_hold_a_sent_message():
    with scripted({"QUIT": SLOW_BYE}) as server:
        result = send_through(server)
        assert server.wait_until_finished()

    assert isinstance(result, SendResult)


def test_a_connection_check_with_a_quit_dribbled_ends():
    with scripted({"QUIT": SLOW_BYE}) as server:
        transport = SmtpTransport(account_to(server), None)
        result = outcome(transport.check)
        assert server.wait_until_finished()

    assert isinstance(result, str)
    assert result.startswith("Connected to 127.0.0.1")


def test_a_server_reading_the_message_a_byte_at_a_time_ends(large_file):
    with scripted({"DATA": read_slowly()}) as server:
        # The client's goodbye waits behind megabytes the server will never read.
        error = failure(server, attached=large_file, hung_up=False)

    assert error.kind is ErrorKind.TIMEOUT
    assert error.retryable
    assert "took the message too slowly" in error.message
    assert "nobody got it" in error.message


def test_a_server_reading_the_message_below_the_minimum_rate_is_left(large_file, monkeypatch):
    # Reads steadily (each write goes through in time), but far too slowly for the message.
    monkeypatch.setattr("composer.mail.transport.MIN_DATA_RATE", 100_000_000)

    def read_on(connection: Connection) -> None:
        connection.send(b"354 Go ahead\r\n")
        while not connection.server.stopping.wait(0.05):
            connection.read_some(65536)

    with scripted({"DATA": read_on}) as server:
        error = failure(server, attached=large_file)

    assert error.kind is ErrorKind.TIMEOUT
    assert "took the message too slowly" in error.message
    assert "100 MB a second" in error.message


# --- replies no SMTP server sends ---------------------------------------------------------


@pytest.mark.parametrize("verb", ["greeting", "EHLO", "RCPT"])
def test_an_endless_reply_is_cut_off_and_memory_stays_bounded(verb):
    line = (b"220-" if verb == "greeting" else b"250-") + b"x" * 60 + b"\r\n"
    with scripted({verb: endless(line)}) as server:
        tracemalloc.start()
        try:
            error = failure(server)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert error.kind is ErrorKind.SERVER_ERROR
    assert "far longer than any SMTP server" in error.message
    assert f"more than {MAX_REPLY_LINES} lines" in error.message
    assert "not an SMTP server" in error.message
    assert peak < 5 * 1024 * 1024


@pytest.mark.parametrize(
    ("reply", "what"),
    [
        ("250 " + "x" * 100_000, "a line over 8 KiB"),
        ("\r\n".join(["250-" + "y" * 2000] * 40 + ["250 end"]), "more than 64 KiB"),
    ],
    ids=["one line", "many long lines"],
)
def test_an_over_long_reply_is_refused_in_words(reply, what):
    with scripted({"EHLO": reply}) as server:
        error = failure(server)

    assert error.kind is ErrorKind.SERVER_ERROR
    assert f"({what} after EHLO)" in error.message
    assert "127.0.0.1" in error.message
    assert "Line too long" not in error.message


@pytest.mark.parametrize(
    "greeting",
    [
        b"554 \x1b[2J\x1b[31mYou are \x07hacked\x00 \xe2\x80\xaeexe.txt",
        b'554 <b>bold</b> <img src="file:///dev/zero">',
        b"554 caf\xc3\xa9 \xff\xfe\xfd not UTF-8",
    ],
    ids=["control characters", "HTML", "invalid UTF-8"],
)
def test_a_reply_with_unprintable_text_is_shown_readably(greeting):
    with scripted({"greeting": greeting}) as server:
        error = failure(server)

    assert error.smtp_code == 554
    assert "turned the connection away" in error.message
    assert all(char.isprintable() for char in error.message)
    if b"\x1b" in greeting:
        assert "\\x1b[2J\\x1b[31mYou are \\x07hacked\\x00 \\u202eexe.txt" in error.message
    elif b"<b>" in greeting:
        assert '<b>bold</b> <img src="file:///dev/zero">' in error.message  # see test_plain_text
    else:
        assert "café \ufffd\ufffd\ufffd not UTF-8" in error.message


def test_a_reply_that_is_not_smtp_is_quoted_whole():
    with scripted({"greeting": "HTTP/1.1 400 Bad Request"}) as server:
        error = failure(server)

    assert "'HTTP/1.1 400 Bad Request'" in error.message
    assert "-1" not in error.message


def test_plaintext_sent_after_the_starttls_answer_is_not_read_as_a_reply(tls_ca):
    # A man in the middle adds a line after "220": it must not answer the EHLO sent over TLS.
    def inject(connection: Connection) -> None:
        connection.send(b"220 2.0.0 Ready\r\n554 5.0.0 injected\r\n")
        assert connection.server.tls_context is not None
        connection.sock = connection.server.tls_context.wrap_socket(
            connection.sock, server_side=True
        )

    with scripted({"STARTTLS": inject}, tls_context=server_tls_context(tls_ca)) as server:
        result = send_through(server, Security.STARTTLS)

    assert isinstance(result, SendResult), result
    assert len(server.messages) == 1


# --- connections that break ---------------------------------------------------------------


def test_a_reset_before_data_sends_nothing_and_may_be_retried():
    with scripted({"RCPT": then_reset()}) as server:
        error = failure(server)

    assert error.kind is ErrorKind.DISCONNECTED
    assert error.retryable
    assert error.message.startswith("Sending the message to 127.0.0.1")
    assert server.messages == []


def test_a_reset_during_data_says_nobody_got_it(large_file):
    with scripted({"DATA": cut_in_data(reset=True)}) as server:
        error = failure(server, attached=large_file)

    assert error.kind is ErrorKind.DISCONNECTED
    assert error.retryable
    assert "nobody got it" in error.message


def test_a_reset_after_the_final_dot_may_have_been_sent():
    def read_then_reset(connection: Connection) -> None:
        connection.read_message()
        connection.reset()

    with scripted({"message": read_then_reset}) as server:
        error = failure(server)

    assert error.kind is ErrorKind.MAY_HAVE_BEEN_SENT
    assert not error.retryable
    assert "connection broke" in error.message


@pytest.mark.parametrize("cut", [Connection.close, Connection.reset], ids=["closed", "reset"])
def test_a_connection_dropped_at_auth_says_so_and_keeps_the_password(cut):
    with scripted({"AUTH": cut}) as server:
        error = failure(server, username="ann")

    assert error.kind is ErrorKind.DISCONNECTED
    assert error.retryable
    assert error.message.startswith("Logging in to 127.0.0.1")
    assert "MAIL" not in server.commands


@pytest.mark.parametrize("security", [Security.NONE, Security.STARTTLS])
def test_a_552_in_the_middle_of_data_says_too_large_in_the_servers_words(
    tls_ca, large_file, security
):
    answers = {"DATA": cut_in_data("552 5.3.4 Message size exceeds fixed limit")}
    with scripted(answers, tls_context=server_tls_context(tls_ca)) as server:
        error = failure(server, security=security, attached=large_file)

    assert error.kind is ErrorKind.TOO_LARGE
    assert error.smtp_code == 552
    assert not error.retryable
    assert "552 5.3.4 Message size exceeds fixed limit" in error.message
    assert "too large for 127.0.0.1" in error.message
    assert "Broken pipe" not in error.message


def test_a_refusal_in_the_middle_of_data_is_in_the_transcript(large_file):
    answers = {"DATA": cut_in_data("552 5.3.4 Message size exceeds fixed limit")}
    transcript = Transcript()
    with scripted(answers) as server:
        account = account_to(server)
        transport = SmtpTransport(account, None, transcript=transcript)
        error = outcome(lambda: transport.send(message_for(account, large_file)))

    assert isinstance(error, SendError)
    assert "552 5.3.4 Message size exceeds fixed limit" in transcript.text()


def test_a_temporary_refusal_in_the_middle_of_data_is_worded_by_its_code(large_file):
    answers = {"DATA": cut_in_data("452 4.3.1 Insufficient system storage")}
    with scripted(answers) as server:
        error = failure(server, attached=large_file)

    assert error.smtp_code == 452
    assert error.retryable
    assert "452 4.3.1 Insufficient system storage" in error.message
    assert "Broken pipe" not in error.message


# --- through the window: the message is kept, the status says what happened -------------


@pytest.mark.parametrize(
    ("answers", "status", "queued"),
    [
        ({"greeting": b"554 \x1b[31mgo away\x00"}, "554 \\x1b[31mgo away\\x00", False),
        ({"EHLO": endless()}, "far longer than any SMTP server", False),
        ({"DATA": cut_in_data("552 5.3.4 Too big")}, "552 5.3.4 Too big", False),
        # Worth another try later: the Outbox keeps it, and says so.
        ({"RCPT": dribble("250 OK")}, "Outbox", True),
    ],
    ids=["control characters", "endless", "552 in DATA", "dribbled"],
)
def test_a_hostile_server_leaves_the_message_in_the_window_or_the_outbox(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    clock: FakeClock,  # no retry from the Outbox while the test runs
    large_file: Path,
    answers: dict[str, Answer],
    status: str,
    queued: bool,
) -> None:
    with scripted(answers) as server:
        account = account_to(server, Security.NONE, username="ann")
        configure(config_dir, account, password=PASSWORD)
        window = make_window()
        fill(window, to="bob@example.org", subject="Keep me", body="Typed with care")
        window.attach_files([large_file])
        qtbot.waitUntil(lambda: window.form.attachment_list.count() == 1)
        before = snapshot(window)

        assert send(qtbot, window, timeout=WAIT * 1000) is False

    shown = window.statusBar().currentMessage()
    assert status in shown
    assert PASSWORD not in shown
    assert all(char.isprintable() for char in shown)
    entries = session_of(window).sending.entries()
    if queued:
        [entry] = entries
        assert entry.subject == "Keep me"
        assert entry.state is EntryState.WAITING
        assert "answered too slowly" in entry.last_error
    else:
        assert entries == []
        assert snapshot(window) == before
        assert window.form.attachment_list.count() == 1
        assert window.action_send.isEnabled()

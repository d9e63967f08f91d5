"""Network faults through the real window and SendService: queued, retried, delivered once."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from composer.mail.accounts import Security
from composer.mail.outbox import EntryState
from composer.session import Session
from tests.integration.test_nothing_lost import session_of
from tests.servers import CLOSE, HANG, SmtpServer, account_for, plaintext_server
from tests.windows import FakeClock, MakeWindow, configure, fill, send, snapshot

Fault = Callable[[SmtpServer], None]


def copies(server: SmtpServer, message_id: str) -> int:
    """How many times the server kept the message with this Message-ID."""
    with server.lock:
        return sum(1 for m in server.received if m["Message-ID"] == message_id)


def sent_copies(session: Session, message_id: str) -> int:
    return sum(1 for s in session.context.sent.summaries() if s.message_id == message_id)


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    server = plaintext_server().start()
    yield server
    server.stop()


def stopped(server: SmtpServer) -> None:
    server.stop()


def greeting_421(server: SmtpServer) -> None:
    server.greeting = "421 4.3.2 Service not available, closing channel"


def rcpt_451(server: SmtpServer) -> None:
    server.rcpt_replies["bob@example.org"] = "451 4.3.0 Try again later"


def rcpt_452(server: SmtpServer) -> None:
    server.rcpt_replies["bob@example.org"] = "452 4.2.2 Mailbox full"


def drop_at_mail(server: SmtpServer) -> None:
    server.drop_at_mail = {1}


def mended(server: SmtpServer, port: int, *, restart: bool) -> None:
    """The server as it is again after the fault: back on its old port, answering."""
    if restart:
        server.start(port=port)
    server.greeting = ""
    server.rcpt_replies.clear()
    server.drop_at_mail = set()
    server.drop_in_data = False
    server.data_reply = ""


@pytest.mark.parametrize(
    "fault",
    [stopped, greeting_421, rcpt_451, rcpt_452, drop_at_mail],
    ids=lambda f: f.__name__,
)
def test_a_passing_fault_queues_the_message_which_is_then_delivered_once(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    clock: FakeClock,
    server: SmtpServer,
    fault: Fault,
) -> None:
    port = server.port
    configure(config_dir, account_for(server, Security.NONE, username="", timeout=2))
    window = make_window()
    fill(window, to="bob@example.org", subject=f"Through {fault.__name__}", body="Once ✓")
    fault(server)
    assert not send(qtbot, window)
    assert "Outbox" in window.statusBar().currentMessage()
    session = session_of(window)
    [entry] = session.sending.entries()
    assert entry.state is EntryState.WAITING
    assert entry.last_error
    mended(server, port, restart=fault is stopped)
    session.sending.flush_due()  # not due yet: the backoff holds it
    assert copies(server, entry.message_id) == 0
    clock.advance(hours=1, minutes=15)
    with qtbot.waitSignal(session.sending.finished, timeout=20_000):
        session.sending.flush_due()
    assert session.sending.entries() == []
    clock.advance(days=3)
    session.sending.flush_due()
    qtbot.waitUntil(lambda: not session.sending.is_busy(), timeout=10_000)
    assert copies(server, entry.message_id) == 1
    assert sent_copies(session, entry.message_id) == 1


@pytest.mark.parametrize(
    ("reply", "password"),
    [("550 5.1.1 No such user", None), ("", "wrong password")],
    ids=["550 at RCPT", "535 at AUTH"],
)
def test_a_permanent_refusal_is_not_retried_and_the_window_keeps_the_message(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    clock: FakeClock,
    server: SmtpServer,
    reply: str,
    password: str | None,
) -> None:
    if reply:
        server.rcpt_replies["bob@example.org"] = reply
        configure(config_dir, account_for(server, Security.NONE, username=""))
    else:
        configure(config_dir, account_for(server, Security.NONE), password=password)
    window = make_window()
    fill(window, to="bob@example.org", subject="Refused for good", body="Keep me")
    typed = snapshot(window)
    assert not send(qtbot, window)
    assert snapshot(window) == typed
    session = session_of(window)
    assert session.sending.entries() == []
    tried = (list(server.commands), list(server.auth_attempts))
    clock.advance(days=2)
    session.sending.flush_due()
    qtbot.waitUntil(lambda: not session.sending.is_busy(), timeout=10_000)
    assert (server.commands, server.auth_attempts) == tried
    assert server.received == []


@pytest.mark.parametrize("after_the_dot", [CLOSE, HANG])
def test_no_answer_after_the_final_dot_may_have_been_sent_until_the_user_says(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    clock: FakeClock,
    server: SmtpServer,
    after_the_dot: str,
) -> None:
    configure(config_dir, account_for(server, Security.NONE, username="", timeout=1))
    server.data_reply = after_the_dot
    window = make_window()
    fill(window, to="bob@example.org", subject=f"After the dot: {after_the_dot}")
    assert not send(qtbot, window)
    session = session_of(window)
    [entry] = session.sending.entries()
    assert entry.state is EntryState.MAY_HAVE_BEEN_SENT
    assert copies(server, entry.message_id) == 1
    for days in (1, 30, 400):
        clock.advance(days=days)
        session.sending.flush_due()
        qtbot.waitUntil(lambda: not session.sending.is_busy(), timeout=10_000)
    assert session.sending.entries()[0].state is EntryState.MAY_HAVE_BEEN_SENT
    assert server.messages_read == 1
    assert sent_copies(session, entry.message_id) == 0
    server.data_reply = ""
    with qtbot.waitSignal(session.sending.finished, timeout=20_000):
        session.sending.send_now(entry.key)  # the user's word
    assert session.sending.entries() == []
    assert copies(server, entry.message_id) == 2
    assert sent_copies(session, entry.message_id) == 1


def test_a_connection_lost_in_the_middle_of_the_message_is_retried_and_delivered_once(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    clock: FakeClock,
    server: SmtpServer,
    tmp_path: Path,
) -> None:
    # Large enough that Composer is still writing it when the server hangs up: the final
    # dot never left, so nothing was delivered and a retry is safe.
    attached = tmp_path / "large.bin"
    attached.write_bytes(os.urandom(12_000_000))
    configure(config_dir, account_for(server, Security.NONE, username="", timeout=5))
    window = make_window()
    fill(window, to="bob@example.org", subject="Half way", body="Big")
    window.attach_files([attached])
    server.drop_in_data = True
    assert not send(qtbot, window)
    session = session_of(window)
    [entry] = session.sending.entries()
    assert entry.state is EntryState.WAITING, entry.last_error
    assert "nobody got it" in entry.last_error
    server.drop_in_data = False
    clock.advance(hours=1, minutes=15)
    with qtbot.waitSignal(session.sending.finished, timeout=30_000):
        session.sending.flush_due()
    assert copies(server, entry.message_id) == 1
    assert sent_copies(session, entry.message_id) == 1

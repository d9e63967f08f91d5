"""Two hundred queued messages against a server that defers some: each goes exactly once,
one connection per account and flush."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from pytestqt.qtbot import QtBot

from composer.app import create_main_window
from composer.context import AppContext
from composer.mail.accounts import Security
from composer.mail.draft import Draft
from composer.mail.message import build_message
from composer.mail.outbox import EntryState
from composer.paths import Paths
from tests.integration.test_nothing_lost import session_of
from tests.servers import SmtpServer, account_for
from tests.windows import FakeClock, configure

COUNT = 200


def queue(config_dir: Path, clock: FakeClock) -> set[str]:
    """Put COUNT small messages in the Outbox, as Send does; their Message-IDs."""
    context = AppContext(Paths(config_dir, config_dir), clock=clock)
    [account] = context.accounts()
    ids = set()
    for number in range(COUNT):
        draft = Draft(account_id=account.id, to=f"r{number}@example.org", subject=f"No. {number}")
        entry = context.outbox.add(
            build_message(draft, account.sender(), account.reply_to), account.id
        )
        ids.add(entry.message_id)
    return ids


def test_two_hundred_queued_messages_each_go_once_over_one_connection_a_round(
    qtbot: QtBot, config_dir: Path, clock: FakeClock, plain_server: SmtpServer
) -> None:
    configure(config_dir, account_for(plain_server, Security.NONE, username=""))
    ids = queue(config_dir, clock)
    plain_server.rcpt_defer = 0.2
    window = create_main_window(config_dir)  # its start sends what is due: the first round
    qtbot.addWidget(window)
    sending = session_of(window).sending
    rounds = 1
    qtbot.waitUntil(lambda: sending.entries() == [] or not sending.is_busy(), timeout=60_000)
    while sending.entries() and rounds < 30:
        qtbot.waitUntil(lambda: not sending.is_busy(), timeout=60_000)
        clock.advance(hours=2)
        rounds += 1
        sending.flush_due()
        qtbot.waitUntil(lambda: not sending.is_busy(), timeout=60_000)
    assert sending.entries() == []
    delivered = Counter(m["Message-ID"] for m in plain_server.received)
    assert set(delivered) == ids
    assert set(delivered.values()) == {1}
    assert len(session_of(window).context.sent.summaries()) == COUNT
    assert 2 < rounds < 30  # some were deferred, and the deferrals ended
    assert plain_server.sessions == rounds


def test_a_queue_sent_without_a_window_watching_ends_on_its_last_messages_line(
    qtbot: QtBot, config_dir: Path, clock: FakeClock, plain_server: SmtpServer
) -> None:
    configure(config_dir, account_for(plain_server, Security.NONE, username=""))
    queue(config_dir, clock)
    window = create_main_window(config_dir)  # its start sends what is due
    qtbot.addWidget(window)
    shown: list[str] = []
    window.statusBar().messageChanged.connect(shown.append)
    window.show()
    sending = session_of(window).sending

    last = f"“No. {COUNT - 1}”: Sent to 1 recipient"
    qtbot.waitUntil(lambda: last in window.statusBar().currentMessage(), timeout=60_000)
    assert sending.entries() == []
    # One line at a time, in the order they went (the ones in between may be left out).
    numbers = [int(n) for text in shown for n in re.findall(r"“No\. (\d+)”", text)]
    assert numbers == sorted(set(numbers))
    assert numbers[-1] == COUNT - 1


def test_each_message_of_a_flush_is_taken_when_its_turn_comes(
    qtbot: QtBot, config_dir: Path, clock: FakeClock, plain_server: SmtpServer
) -> None:
    """The first goes before the rest are taken; one taken out meanwhile (by another Composer
    sharing the Outbox) is passed over, and the others still go over the one connection."""
    configure(config_dir, account_for(plain_server, Security.NONE, username=""))
    window = create_main_window(config_dir)
    qtbot.addWidget(window)
    session = session_of(window)
    sending, outbox = session.sending, session.context.outbox
    [account] = session.context.accounts()
    keys = []
    for number in range(3):
        draft = Draft(account_id=account.id, to=f"r{number}@example.org", subject=f"No. {number}")
        keys.append(
            outbox.add(build_message(draft, account.sender(), account.reply_to), account.id).key
        )
    other = AppContext(Paths(config_dir, config_dir), clock=clock).outbox

    with plain_server.lock:  # the server cannot note the first MAIL, nor answer it
        sending.flush_due()
        qtbot.waitUntil(lambda: outbox.entry(keys[0]).state is EntryState.SENDING)
        assert [outbox.entry(key).state for key in keys[1:]] == [EntryState.WAITING] * 2
        other.remove(keys[2])
    qtbot.waitUntil(lambda: not sending.is_busy(), timeout=10_000)

    assert [m["Subject"] for m in plain_server.received] == ["No. 0", "No. 1"]
    assert plain_server.sessions == 1
    assert sending.entries() == []
    assert len(session.context.sent.summaries()) == 2

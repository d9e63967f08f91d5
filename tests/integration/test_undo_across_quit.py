"""Send with the undo delay, then the window closes (or the program dies) before it is over:
the message still goes, exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from pytestqt.qtbot import QtBot

from composer.app import create_main_window
from composer.mail.accounts import Security
from composer.mail.outbox import Outbox
from composer.mail.sent import SentFolder
from composer.mail.store import MessageFolder
from tests.integration.test_nothing_lost import session_of
from tests.servers import SmtpServer, account_for
from tests.windows import FakeClock, MakeWindow, configure, fill

ROOT = Path(__file__).resolve().parents[2]


def start_child(config_dir: Path, seconds: int) -> subprocess.Popen[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.undo_child", str(config_dir), str(seconds)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


def test_closing_the_window_during_the_undo_delay_keeps_the_session_until_it_has_gone(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    clock: FakeClock,
    plain_server: SmtpServer,
) -> None:
    configure(config_dir, account_for(plain_server, Security.NONE, username=""))
    window = make_window()
    session = session_of(window)
    session.context.set_undo_send_seconds(30)
    fill(window, to="bob@example.org", subject="Closed at once")
    window.action_send.trigger()
    qtbot.waitUntil(window.actions_.undo_send.isEnabled, timeout=10_000)
    ended: list[bool] = []
    session.ended.connect(lambda: ended.append(True))
    assert window.close()
    assert ended == []
    assert plain_server.commands == []
    clock.advance(seconds=31)
    with qtbot.waitSignal(session.ended, timeout=20_000):
        session.sending.flush_due()
    assert [m["Subject"] for m in plain_server.received] == ["Closed at once"]


def test_the_program_does_not_end_before_the_message_has_gone(
    config_dir: Path, plain_server: SmtpServer
) -> None:
    configure(config_dir, account_for(plain_server, Security.NONE, username=""))
    child = start_child(config_dir, 1)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert out.split() == ["queued"]
    assert [m["Subject"] for m in plain_server.received] == ["Undo across a quit ✓"]


def test_killed_during_the_undo_delay_the_next_start_sends_it_once(
    qtbot: QtBot, config_dir: Path, clock: FakeClock, plain_server: SmtpServer
) -> None:
    configure(config_dir, account_for(plain_server, Security.NONE, username=""))
    child = start_child(config_dir, 60)
    assert child.stdout is not None
    try:
        assert child.stdout.readline().strip() == "queued"
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        child.kill()
        child.communicate()
    assert plain_server.commands == []
    sent = SentFolder(MessageFolder(config_dir / "Sent"))
    [entry] = Outbox(MessageFolder(config_dir / "Outbox"), sent, clock=clock).entries()
    assert entry.next_attempt is not None
    clock.now = entry.next_attempt + timedelta(seconds=1)  # the undo delay is over
    window = create_main_window(config_dir)
    qtbot.addWidget(window)
    sending = session_of(window).sending
    qtbot.waitUntil(lambda: sending.entries() == [] and not sending.is_busy(), timeout=20_000)
    assert [m["Subject"] for m in plain_server.received] == ["Undo across a quit ✓"]
    # The message is not also back in a window, to be sent a second time.
    assert window.form.subject.text() == ""
    assert session_of(window).windows() == [window]

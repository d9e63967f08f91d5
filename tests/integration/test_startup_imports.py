"""Start-up leaves sending for later: the first window opens without smtplib, ssl, IMAP, the
email package's messages or the draft file's format, and they are all there by the time the
window has been up a moment.

Each case runs in a fresh interpreter, since this test process has imported everything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import composer

# Imported by nothing a first window needs; each is several milliseconds of start-up.
SENDING = (
    "smtplib",
    "ssl",
    "imaplib",
    "composer.mail.transport",
    "composer.mail.delivery",
    "composer.mail.sandbox",
    "composer.mail.mailbox_copy",
    "composer.mail.access_tokens",
    "composer.mail.draft_file",
    "composer.mail.message",
    "email.message",
    "email.headerregistry",
)
# Only the running Composer's own launch (main()) needs these, never create_main_window().
LAUNCH_ONLY = ("logging.handlers", "PySide6.QtNetwork", "platformdirs")

_CHILD = """
import json, sys
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget
from composer.app import create_main_window

watched = json.loads(sys.argv[2])
app = QApplication(sys.argv[:1])
report = {}

def loaded():
    return sorted(name for name in watched if name in sys.modules)

class FirstPaint(QObject):
    def eventFilter(self, target, event):
        if event.type() == QEvent.Type.Paint and isinstance(target, QWidget) and target.isWindow():
            report.setdefault("at first paint", loaded())
        return False

app.installEventFilter(FirstPaint(app))
window = create_main_window(sys.argv[1])
report["built"] = loaded()
window.show()
context = window._sending.parent().context
report["clients read at first paint"] = context.oauth_clients_read.is_set()

def finish():
    report["later"] = loaded()
    report["clients read later"] = context.oauth_clients_read.wait(10)
    print(json.dumps(report), flush=True)
    window.close()
    app.quit()

QTimer.singleShot(3000, finish)
app.exec()
"""


def _start_up(config_dir: Path) -> dict[str, object]:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": str(Path(composer.__file__).resolve().parents[1]),
    }
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(config_dir), json.dumps([*SENDING, *LAUNCH_ONLY])],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return report


def test_the_first_window_is_painted_before_sending_is_loaded(tmp_path: Path) -> None:
    report = _start_up(tmp_path)

    assert report["built"] == []
    assert report["at first paint"] == []
    assert report["clients read at first paint"] is False


def test_sending_is_loaded_soon_after_so_the_first_send_waits_for_nothing(
    tmp_path: Path,
) -> None:
    report = _start_up(tmp_path)

    assert report["later"] == sorted(SENDING)
    assert report["clients read later"] is True

"""Start-up leaves sending for later: the first window opens without smtplib, ssl, IMAP, the
email package's messages, the draft file's format or the rich-text writer, and they are all
there by the time the window has been up a moment; the folders come when first opened.

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
    # The Outbox, when it was empty at start (it holds something: its recovery needs it).
    "composer.mail.outbox",
    "composer.mail.outcome_recorder",
    "composer.mail.outbox_notes",
    "composer.mail.progress",
    "composer.mail.message",
    "email.message",
    "email.headerregistry",
    # The address book's database, opened off the GUI thread once the window is up.
    "sqlite3",
    # Pasting HTML and dropping image files.
    "composer.ui.linked_images",
    "composer.ui.pasted_html",
    # The questions before a message leaves.
    "composer.ui.send_checks",
    # Writing the body out as mail (the first keystroke's draft), with its images; html's
    # table of named entities with it.
    "composer.ui.rich_text",
    "composer.ui.document_images",
    # The formatting commands, and the links the toolbar makes.
    "composer.ui.formatting",
    "composer.ui.links",
    "html",
    # The worker thread that every send, server search and sign-in runs on (with QThread's
    # enums).
    "composer.tasks",
    # Unicode's tables and dates: for server replies, host names and the address book's
    # search; the Outbox's and the drafts' times.
    "unicodedata",
    "datetime",
    # The authorization servers and the built-in client registrations (read on a thread).
    "composer.mail.oauth_servers",
    "composer.mail.oauth_registry",
    # The first save of the settings.
    "concurrent.futures",
    # The Sent folder's records (checked on a thread once the window is up), email's
    # errors (with its header parser, at the first address) and the address book's search.
    "composer.mail.sent",
    "email.errors",
    "heapq",
)
# Made when the user first opens them, and not before.
ON_DEMAND = ("composer.folders", "composer.ui.folders_window")
# Only the running Composer's own launch (main()) needs these, never create_main_window().
LAUNCH_ONLY = ("logging.handlers", "PySide6.QtNetwork", "platformdirs")

# What both children note at the first frame; functions in at_first_paint note more.
_WATCHING = """
import json, os, sys
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget

watched = json.loads(sys.argv[2])
app = QApplication(sys.argv[:1])
report = {}
at_first_paint = []

def loaded():
    return sorted(name for name in watched if name in sys.modules)

def document_classes():
    made = vars(sys.modules["PySide6.QtGui"])  # PySide6 puts a class there once it is made
    return sorted(name for name in DOCUMENT_CLASSES if name in made)

# Not QTextDocument: this filter makes it, for the editor's document it is handed events of.
DOCUMENT_CLASSES = (
    "QTextCursor", "QTextFormat", "QTextCharFormat", "QTextBlockFormat", "QFont", "QPainter",
    "QPalette",
)

class FirstPaint(QObject):
    def eventFilter(self, target, event):
        if event.type() == QEvent.Type.Paint and isinstance(target, QWidget) and target.isWindow():
            if "at first paint" not in report:
                report["at first paint"] = loaded()
                # PySide6 puts the Qt namespace in QtCore's module once it has made it.
                report["Qt namespace at first paint"] = "Qt" in vars(sys.modules["PySide6.QtCore"])
                report["document classes at first paint"] = document_classes()
                for note in at_first_paint:
                    note()
        return False

app.installEventFilter(FirstPaint(app))
"""

_CHILD = (
    _WATCHING
    + """
from composer.app import create_main_window

window = create_main_window(sys.argv[1])
report["built"] = loaded()
window.show()
context = window._sending.parent().context
report["clients read at first paint"] = context.oauth_clients_read.is_set()

def finish():
    report["later"] = loaded()
    report["document classes later"] = document_classes()
    report["clients read later"] = context.oauth_clients_read.wait(10)
    print(json.dumps(report), flush=True)
    window.close()
    app.quit()

QTimer.singleShot(3000, finish)
app.exec()
"""
)


def _report(
    child: str, config_dir: Path, watched: tuple[str, ...], **env: str
) -> dict[str, object]:
    """What child (the code above and more) reported, run in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", child, str(config_dir), json.dumps(watched)],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "PYTHONPATH": str(Path(composer.__file__).resolve().parents[1]),
            **env,
        },
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return report


def _start_up(config_dir: Path) -> dict[str, object]:
    return _report(_CHILD, config_dir, (*SENDING, *LAUNCH_ONLY, *ON_DEMAND))


def test_the_first_window_is_painted_before_sending_is_loaded(tmp_path: Path) -> None:
    report = _start_up(tmp_path)

    assert report["built"] == []
    assert report["at first paint"] == []
    assert report["clients read at first paint"] is False
    # Its ninety-odd enums are made at its first use, a tenth of a bare window's start-up.
    assert report["Qt namespace at first paint"] is False
    # An empty body is not read: the document's classes and their enums (QTextFormat's
    # Property alone has 116 members) are made by the warm-up, before the first keystroke.
    assert report["document classes at first paint"] == []


def test_sending_is_loaded_soon_after_so_the_first_send_waits_for_nothing(
    tmp_path: Path,
) -> None:
    report = _start_up(tmp_path)

    assert report["later"] == sorted(SENDING)
    # The first keystroke reads the cursor's formats: there by then.
    assert report["document classes later"] == [
        "QFont",
        "QTextBlockFormat",
        "QTextCharFormat",
        "QTextCursor",
        "QTextFormat",
    ]
    assert report["clients read later"] is True


_LAUNCH_CHILD = (
    _WATCHING
    + """
from composer.app import main
from composer.instance_socket import instance_name

name = instance_name(sys.argv[1])
at_first_paint.append(lambda: report.setdefault("listening at first paint", os.path.exists(name)))

def finish():
    report["listening later"] = os.path.exists(name)
    print(json.dumps(report), flush=True)
    app.quit()

QTimer.singleShot(3000, finish)
main(["--config-dir", sys.argv[1]])  # in the application it finds
"""
)
# What the instance socket's client and server bring, which the first window does without
# when no Composer is running yet.
INSTANCE = ("PySide6.QtNetwork", "_hashlib", "composer.ui.instance")


def test_a_first_launch_shows_its_window_before_it_listens_for_later_ones(
    tmp_path: Path,
) -> None:
    # The socket under the temporary directory, this test's own.
    # logging.handlers too (socket, pickle, queue: some 10 ms): the log file rotates without.
    watched = (*INSTANCE, "logging.handlers")
    report = _report(
        _LAUNCH_CHILD, tmp_path / "config", watched, XDG_RUNTIME_DIR="", TMPDIR=str(tmp_path)
    )

    assert report["at first paint"] == []
    assert report["Qt namespace at first paint"] is False
    assert report["listening at first paint"] is False
    assert report["listening later"] is True

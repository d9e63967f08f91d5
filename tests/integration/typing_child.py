"""The child half of test_crash_recovery.py: Composer offscreen, typed into key by key.

Usage: ``python -m tests.integration.typing_child CONFIG_DIR WINDOWS ATTACHMENT``. The real
windows (``create_main_window``, and New Window for a second one) are typed into from a QTimer,
so the event loop runs between keys as it does for a user: To, Cc, Subject and Body, non-ASCII
text, a bold run and an attached file. Each autosave is reported on stdout as one JSON line:
``{"event": "taking", ...}`` when the Drafts write starts, with the message as the keeper took
it, and ``{"event": "saved", ...}`` once the draft and its "open in a window" mark are on disk.
The parent kills this process with SIGKILL whenever it likes; nothing here asserts.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import threading
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QFont, QKeyEvent, QTextCursor
from PySide6.QtWidgets import QApplication, QLineEdit, QTextEdit, QWidget

import composer.draft_keeper
from composer.app import create_main_window
from composer.mail.draft import Draft
from composer.session import Session
from composer.ui.compose_window import ComposeWindow
from tests.windows import type_text

# Autosaves come often enough for several to happen within a second of typing.
composer.draft_keeper.SAVE_DELAY_MS = 40
composer.draft_keeper.SAVE_AT_LEAST_EVERY_MS = 80
# One key (or one step such as "bold on") every this many milliseconds.
KEY_INTERVAL_MS = 4
# A child the parent forgot to kill ends by itself.
GIVE_UP_MS = 20_000

_print_lock = threading.Lock()

Step = Callable[[], None]


def describe(draft: Draft) -> dict[str, Any]:
    """What the user typed, as JSON; attachments by name and content, wherever they live."""
    return {
        "to": draft.to,
        "cc": draft.cc,
        "bcc": draft.bcc,
        "subject": draft.subject,
        "body": draft.body,
        "html": draft.html,
        "attachments": [
            [a.name, hashlib.sha256(a.path.read_bytes()).hexdigest()] for a in draft.attachments
        ],
    }


def report(event: str, key: str, draft: Draft) -> None:
    line = json.dumps({"event": event, "key": key, "draft": describe(draft)})
    with _print_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def hook_drafts(session: Session) -> None:
    """Report each autosave with the fields as the window showed them when the keeper took
    it (read here, on the GUI thread, not from what the keeper wrote): once when its job
    starts, and once the draft and its "open in a window" mark are on disk."""
    writer, drafts = session.context.writer, session.context.drafts
    submit, save = writer.submit, drafts.save
    saving = threading.local()

    def noting_save(*args: Any, **options: Any) -> None:
        saving.done = True
        save(*args, **options)

    def reporting_submit(key: Hashable, job: Callable[[], None]) -> None:
        kind, draft_key = key if isinstance(key, tuple) else ("", "")
        window = session.window_for_draft(draft_key) if kind == "draft" else None
        if window is None:
            submit(key, job)
            return
        typed = window.draft()

        def reported() -> None:
            saving.done = False
            report("taking", draft_key, typed)
            job()
            if saving.done:
                report("saved", draft_key, typed)

        submit(key, reported)

    drafts.save = noting_save  # type: ignore[method-assign]
    writer.submit = reporting_submit  # type: ignore[method-assign]


def typing(widget: QLineEdit | QTextEdit, text: str) -> list[Step]:
    """One step per key, the first putting the cursor at the end of what is there."""

    def to_end() -> None:
        if isinstance(widget, QTextEdit):
            widget.moveCursor(QTextCursor.MoveOperation.End)
        else:
            widget.end(False)

    return [to_end, *keys(widget, text)]


def keys(widget: QLineEdit | QTextEdit, text: str) -> list[Step]:
    """One step per key where the cursor is; a line break is the Return key."""
    return [functools.partial(press, widget, char) for char in text]


def press(widget: QWidget, char: str) -> None:
    if char != "\n":
        type_text(widget, char)
        return
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        event = QKeyEvent(kind, Qt.Key.Key_Return, Qt.KeyboardModifier.NoModifier, "\r")
        QApplication.sendEvent(widget, event)


def script(window: ComposeWindow, number: int, attachment: Path) -> list[Step]:
    """What one window is typed: every field, a bold run, and a file attached midway."""
    form = window.form
    body = form.body

    def bold(on: bool) -> Step:
        return lambda: body.setFontWeight(QFont.Weight.Bold if on else QFont.Weight.Normal)

    return [
        *typing(form.to, f"Zoë Ünal <zoe{number}@example.org>, "),
        *typing(form.cc, "Björn <bjorn@example.net>"),
        *typing(form.subject, f"Grüße №{number} — plan ✓ "),
        lambda: window.attach_files([attachment]),
        *typing(body, "Hello Zoë,\nthis is "),
        bold(True),
        *keys(body, "really important"),
        bold(False),
        *keys(body, " — read it twice. Ünïcödé ✓ 日本語.\n" * 3),
    ]


def interleave(scripts: list[list[Step]]) -> list[Step]:
    steps: list[Step] = []
    for index in range(max(len(s) for s in scripts)):
        steps.extend(s[index] for s in scripts if index < len(s))
    return steps


def main(argv: list[str]) -> None:
    config_dir, count, attachment = Path(argv[0]), int(argv[1]), Path(argv[2])
    app = QApplication([sys.argv[0]])
    app.setQuitOnLastWindowClosed(False)
    first = create_main_window(config_dir)
    first.show()
    session = first._sending.parent()
    assert isinstance(session, Session)
    hook_drafts(session)
    # After a crash every restored window is typed into again; otherwise new ones are opened.
    windows = session.windows()
    while len(windows) < count:
        first.actions_.new_window.trigger()
        windows = session.windows()
    steps = interleave([script(w, n, attachment) for n, w in enumerate(windows, 1)])
    timer = QTimer()

    def step() -> None:
        if steps:
            steps.pop(0)()
            return
        timer.stop()
        session.context.writer.flush(10)
        with _print_lock:
            sys.stdout.write(json.dumps({"event": "done"}) + "\n")
            sys.stdout.flush()

    timer.timeout.connect(step)
    timer.start(KEY_INTERVAL_MS)
    QTimer.singleShot(GIVE_UP_MS, app.quit)
    app.exec()
    # Only a parent that never killed this process gets here: end without any clean-up.
    os._exit(3)


if __name__ == "__main__":
    main(sys.argv[1:])

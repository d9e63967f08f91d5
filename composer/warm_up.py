"""What start-up leaves until the first window is on the screen.

A compose window needs Qt, its own widgets, the accounts and the stores; sending needs much
more (smtplib, ssl, the IMAP client, the sandbox's aiosmtpd), which would make every launch
wait for what only the first Send uses (and the first paste, for pasted HTML and dropped
images). So those modules are imported once the first frame has been painted, one at a
time from the event loop, before the user can have written anything worth sending: the
first Send is not slower than if they had been imported at start.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import sys
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer

log = logging.getLogger(__name__)

# Leaves first: each step imports little that is not there yet, so no step holds the event
# loop for long (the largest, ssl, some 5 ms here).
SENDING_MODULES = (
    "composer.tasks",  # the worker thread of every send, search and sign-in
    "unicodedata",  # a server's reply made printable; host names and addresses checked
    "ssl",
    "smtplib",
    "email.generator",
    "composer.mail.certificates",
    "composer.mail.message",
    "composer.mail.smtp_client",
    "composer.mail.providers",
    "composer.mail.failures",
    "composer.mail.transport",
    "composer.mail.sandbox",
    "composer.mail.delivery",
    "composer.mail.oauth",
    "composer.mail.access_tokens",
    "imaplib",
    "composer.mail.imap_client",
    "composer.mail.mailbox_copy",
    "composer.mail.draft_file",
    "composer.mail.outbox",  # and what it brings: what every send goes through
    "composer.mail.outcome_recorder",
    "composer.mail.outbox_notes",
    "composer.ui.send_checks",  # the questions before a message leaves
)
# What the first keystroke's draft (the writer of rich text and its images) and a paste of
# HTML or a drop of image files need (some 15 ms): warmed the same way, so that the first
# keystroke, paste or drop is not slower for it.
EDITING_MODULES = (
    "composer.ui.formatting",  # and the document's classes, which the first keystroke reads
    "composer.ui.links",
    "composer.ui.rich_text",
    "composer.ui.linked_images",
    "composer.ui.pasted_html",
    "heapq",  # the address book's search
)
# What the first save of the settings needs (its Future).
SAVING_MODULES = ("concurrent.futures",)
SOON_MODULES = SENDING_MODULES + EDITING_MODULES + SAVING_MODULES

# After the first frame, how long before the imports begin: time for the window manager to
# map and paint the window, which a busy event loop would hold up.
WARM_UP_DELAY_MS = 200


def after_first_frame(owner: QObject, work: Callable[[], None]) -> None:
    """Call work from the event loop once the events queued by now have been handled,
    among them the first paint of the windows shown so far where the platform asks for it at
    once (offscreen; an X server's expose may come later).

    A zero-time timer runs before the paint that show() posted; one it starts runs after the
    events queued meanwhile. It runs whether or not anything was painted.
    """
    QTimer.singleShot(0, owner, lambda: QTimer.singleShot(0, owner, work))


# A window never painted (shown and hidden at once, say) still gets its work done by then.
FIRST_PAINT_TIMEOUT_MS = 3000


def after_first_paint(owner: QObject, window: QObject, work: Callable[[], None]) -> None:
    """Call work from the event loop once window has painted its first frame (and the frame
    has gone to the screen: a zero-time timer after the Paint event), or after
    FIRST_PAINT_TIMEOUT_MS if it never paints (closed at once, say). Unlike
    after_first_frame, this waits for an X server's expose, so what work costs never holds
    up the frame. owner keeps the wait alive, so it must outlive the window."""
    _FirstPaint(owner, window, work)


class _FirstPaint(QObject):
    def __init__(self, owner: QObject, window: QObject, work: Callable[[], None]) -> None:
        super().__init__(owner)
        self._window = window
        self._work: Callable[[], None] | None = work
        window.installEventFilter(self)  # Qt drops it should the window go first
        QTimer.singleShot(FIRST_PAINT_TIMEOUT_MS, self, self._run)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self._window and event.type() == QEvent.Type.Paint:
            QTimer.singleShot(0, self, self._run)
        return False

    def _run(self) -> None:
        work, self._work = self._work, None
        if work is None:
            return
        with contextlib.suppress(RuntimeError):  # the window is gone already
            self._window.removeEventFilter(self)
        self.deleteLater()
        work()


def import_soon(
    owner: QObject,
    modules: tuple[str, ...] = SOON_MODULES,
    *,
    then: Callable[[], None] | None = None,
) -> None:
    """Import modules one per turn of the event loop, starting WARM_UP_DELAY_MS from now;
    then() is called after the last (at once when all are imported already)."""
    pending = [name for name in modules if name not in sys.modules]
    if not pending:
        if then is not None:
            then()
        return

    def step() -> None:
        name = pending.pop(0)
        try:
            importlib.import_module(name)
        except Exception:
            # Not fatal here: the same import fails again, and is reported, where it is used.
            log.exception("could not import %s ahead of use", name)
        if pending:
            QTimer.singleShot(0, owner, step)
        elif then is not None:
            then()

    QTimer.singleShot(WARM_UP_DELAY_MS, owner, step)

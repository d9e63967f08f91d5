"""One running Composer: its context, sending, message bridge and compose windows."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal, Slot

from composer.context import AppContext
from composer.mail.draft import Draft
from composer.mail.errors import ErrorKind, SendError
from composer.mail.progress import SendResult
from composer.message_bridge import Level, Message, MessageBridge
from composer.paths import Paths, resources_dir
from composer.send_service import SendService, Submission
from composer.ui.compose_window import ComposeWindow
from composer.ui.garbage import collect_on_gui_thread
from composer.ui.icons import use_icon_folder

log = logging.getLogger(__name__)

# How long a program that is quitting waits for sends still under way (they were cancelled).
_EXIT_WAIT_MS = 5_000


class Session(QObject):
    """Opens compose windows over one shared context and send service.

    Belongs to the QApplication. Windows are let go as soon as they close: their sends
    belong to the send service, which reports through the session what a closed window can
    no longer show. The session ends once no window is open and nothing is being sent.

    Signals:
        window_opened(ComposeWindow): a new compose window was built (shown or not).
        ended(): the last window has closed and no work is left; the session is gone.
    """

    window_opened = Signal(object)
    ended = Signal()

    def __init__(self, paths: Paths) -> None:
        super().__init__(QCoreApplication.instance())
        collect_on_gui_thread()
        use_icon_folder(resources_dir() / "icons")
        self.bridge = MessageBridge(self)
        self.context = AppContext(paths, notify=self.bridge.post)
        self.sending = SendService(self.context, self)
        self.sending.finished.connect(self._on_send_finished)
        self.sending.idle.connect(self._end_if_done)
        self.bridge.shown.connect(self._on_message)
        self._windows: list[ComposeWindow] = []
        self._closing: list[ComposeWindow] = []
        # Messages that arrived while no window was open, for the next one.
        self._pending = [Message(text, Level.WARNING) for text in self.context.load_warnings]
        self._ended = False

    def windows(self) -> list[ComposeWindow]:
        """The compose windows built here and not closed yet, oldest first."""
        return list(self._windows)

    def new_window(self, draft: Draft | None = None) -> ComposeWindow:
        """Build a compose window (not shown), filled from draft."""
        window = ComposeWindow(self.context, self.sending)
        if draft is not None:
            window.load_draft(draft)
        window.new_window_requested.connect(self._on_new_window_requested)
        window.closed.connect(self._on_window_closed)
        self._windows.append(window)
        pending, self._pending = self._pending, []
        for message in pending:
            window.show_message(message)
        self.window_opened.emit(window)
        return window

    def open_window(self, draft: Draft | None = None) -> ComposeWindow:
        """Build, show and raise a compose window filled from draft."""
        window = self.new_window(draft)
        window.show()
        # A new window is mapped on top already; activating asks the window manager for
        # focus too (raise_() would add nothing, and the offscreen platform warns about it).
        window.activateWindow()
        return window

    @Slot(list)
    def open_drafts(self, drafts: Iterable[Draft]) -> None:
        """Open one window per draft (what a launch, or a later launch, asked for)."""
        for draft in drafts:
            self.open_window(draft)

    def shut_down(self) -> None:
        """The program is exiting: stop every send, wait briefly for the threads, close files."""
        if self._ended:
            return
        self.sending.cancel_all()
        self.sending.wait(_EXIT_WAIT_MS)
        self._end()

    @Slot(str)
    def _on_new_window_requested(self, account_id: str) -> None:
        self.open_window(Draft(account_id=account_id))

    @Slot()
    def _on_window_closed(self) -> None:
        window = self.sender()
        if not isinstance(window, ComposeWindow) or window not in self._windows:
            return
        self._windows.remove(window)
        # Our reference may be the window's last: dropping it now would delete the window
        # inside its own closeEvent. Hold it until the event loop runs again.
        self._closing.append(window)
        QTimer.singleShot(0, self, self._closing.clear)
        self._end_if_done()

    @Slot(object)
    def _on_message(self, message: Message) -> None:
        if not self._windows:
            self._pending.append(message)
        for window in self._windows:
            window.show_message(message)

    @Slot(object, object)
    def _on_send_finished(self, submission: Submission, outcome: object) -> None:
        if submission.watched:
            return  # its window shows the outcome
        subject = submission.draft.subject.strip() or "(no subject)"
        if isinstance(outcome, SendResult) and outcome.refused:
            # Some recipients still need it: the message comes back for them.
            window = self.open_window(submission.draft)
            window.show_status(outcome.summary)
        elif isinstance(outcome, SendResult):
            log.info("sent after its window closed: %s", outcome.summary)
            self.bridge.post(f"“{subject}”: {outcome.summary}")
        elif isinstance(outcome, SendError) and outcome.kind is not ErrorKind.CANCELLED:
            # Nothing typed is lost: the message comes back in a window of its own.
            window = self.open_window(submission.draft)
            window.show_status(f"This message was not sent: {outcome.message}")

    @Slot()
    def _end_if_done(self) -> None:
        if not self._windows and not self.sending.is_busy():
            self._end()

    def _end(self) -> None:
        if self._ended:
            return
        self._ended = True
        self.context.close()
        self.ended.emit()
        self.deleteLater()

"""One running Composer: its context, sending, message bridge, compose windows and their drafts."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal, Slot

from composer.context import AppContext
from composer.draft_keeper import DraftKeeper
from composer.mail.draft import Draft
from composer.message_bridge import Level, Message, MessageBridge
from composer.paths import Paths, resources_dir
from composer.send_service import SendService
from composer.submission import Submission
from composer.ui.close_questions import CloseChoice, ask_keep
from composer.ui.compose_window import ComposeWindow
from composer.ui.garbage import collect_on_gui_thread, keep_start_up_objects
from composer.ui.icons import use_icon_folder
from composer.warm_up import after_first_frame, after_first_paint, import_soon

if TYPE_CHECKING:
    from composer.folders import Folders
    from composer.mail.draft_file import LoadedDraft
    from composer.unwatched_sends import UnwatchedSends

log = logging.getLogger(__name__)

# How long a program that is quitting waits for sends still under way (they were cancelled).
_EXIT_WAIT_MS = 5_000


class Session(QObject):
    """Opens compose windows over one shared context and send service.

    Belongs to the QApplication. Windows are let go as soon as they close: their sends
    belong to the send service, which reports through the session what a closed window can
    no longer show. Each window's message is kept in Drafts by its DraftKeeper. The session
    ends once no window is open and nothing is being sent.

    Signals:
        window_opened(ComposeWindow): a new compose window was built (shown or not).
        ended(): the last window has closed and no work is left; the session is gone.
    """

    window_opened = Signal(object)
    ended = Signal()
    _unsaved_posted = Signal()

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
        self._folders: Folders | None = None  # made when the user first opens it
        # Drafts whose write failed (key, draft, why), from the writer thread: shown again in
        # a window if theirs has closed, so that a full or read-only disk loses nothing.
        self._unsaved: list[tuple[str, Draft, str]] = []
        self._unsaved_lock = threading.Lock()
        self._unsaved_posted.connect(self._show_unsaved)
        self.context.on_draft_not_saved = self._draft_not_saved
        self._windows: list[ComposeWindow] = []
        self._keepers: dict[ComposeWindow, DraftKeeper] = {}
        self._closing: list[ComposeWindow] = []
        # Set while Quit closes every window: the question was asked once for all.
        self._quitting = False
        # Messages that arrived while no window was open, for the next one.
        self._pending = [Message(text, Level.WARNING) for text in self.context.load_warnings]
        self._ended = False
        # What is due in the Outbox (a crash or a quit left it), and the copies in the
        # mailbox's Sent folder that could not be made before, go once the first window is
        # on the screen and the modules that only sending needs have been imported.
        self._started = False
        # Reports the sends no window watches; made at the first.
        self._unwatched: UnwatchedSends | None = None
        after_first_frame(self, self._start_unless_a_window_paints)

    @Slot()
    def _start_unless_a_window_paints(self) -> None:
        # A window shown by now starts the work once its first frame is on the screen (see
        # new_window): even reading the OAuth clients, some 5 ms, would hold that frame up.
        # Without one (built but not shown, or none at all) nothing is held up.
        if not any(window.isVisible() for window in self._windows):
            self._start_background_work()

    @Slot()
    def _start_background_work(self) -> None:
        if self._ended or self._started:
            return
        self._started = True
        self.context.read_oauth_clients()
        self.context.load_address_book(self._warn)
        self.context.check_sent(self._warn)
        # What is due, and the owed copies, go once sending's modules are in: a flush now
        # would import them all at once, holding the new window for some 50 ms.
        import_soon(self, then=self._send_what_is_due)

    def _warn(self, text: str) -> None:
        """From any thread: text, a warning, goes to every window (or the next one)."""
        self.bridge.post(text, Level.WARNING)

    def _send_what_is_due(self) -> None:
        keep_start_up_objects()  # what start-up made is all there now
        # The last import may come after the session ended (its timer was already due).
        if not self._ended:
            self.sending.flush_due()
            self.sending.copy_owed()

    @property
    def folders(self) -> Folders:
        """What the Folders menu opens: Drafts, Outbox and Sent, and what they do."""
        if self._folders is None:
            # Here, not at start: neither the folders nor their window are in the first frame.
            from composer.folders import Folders

            self._folders = Folders(self)
        return self._folders

    def windows(self) -> list[ComposeWindow]:
        """The compose windows built here and not closed yet, oldest first."""
        return list(self._windows)

    def keeper(self, window: ComposeWindow) -> DraftKeeper:
        return self._keepers[window]

    def new_window(
        self,
        draft: Draft | None = None,
        *,
        start: Draft | None = None,
        stored: tuple[str, LoadedDraft] | None = None,
        unsaved: bool = False,
        draft_key: str = "",
    ) -> ComposeWindow:
        """Build a compose window (not shown), filled from draft (a message given back, as
        it was), begun from start (a new message from a link or the command line: the
        account's signature and default Cc/Bcc are added) or from a stored draft (its key in
        Drafts, and what was loaded from it); unsaved: the stored draft is what a crash
        left, not one the user chose to keep. draft_key: keep draft under this key in Drafts
        (a message given back), not a new one."""
        window = ComposeWindow(self.context, self.sending)
        if stored is not None:
            key, loaded = stored
            window.load_draft(loaded.draft)
            keeper = DraftKeeper(
                self.context,
                window.draft,
                window,
                key=key,
                kept=None if unsaved else window.draft(),
                message_id=loaded.message_id,
            )
        else:
            # Made before the draft is loaded: the fresh window is what counts as unchanged,
            # so a message from a link or the command line is kept like one typed.
            keeper = DraftKeeper(self.context, window.draft, window, key=draft_key or None)
            if draft is not None:
                window.load_draft(draft)
                keeper.changed()
            elif start is not None:
                window.start_with(start)
                if not start.is_empty():
                    keeper.changed()
        self._wire(window, keeper)
        if not self._windows and not self._started:
            after_first_paint(self, window, self._start_background_work)
        self._windows.append(window)
        pending, self._pending = self._pending, []
        for message in pending:
            window.show_message(message)
        self.window_opened.emit(window)
        return window

    def open_window(
        self,
        draft: Draft | None = None,
        *,
        start: Draft | None = None,
        stored: tuple[str, LoadedDraft] | None = None,
        unsaved: bool = False,
        draft_key: str = "",
    ) -> ComposeWindow:
        """Build, show and raise a compose window (filled as new_window says)."""
        window = self.new_window(
            draft, start=start, stored=stored, unsaved=unsaved, draft_key=draft_key
        )
        window.show()
        # A new window is mapped on top already; activating asks the window manager for
        # focus too (raise_() would add nothing, and the offscreen platform warns about it).
        window.activateWindow()
        return window

    def reopen_unsent(self) -> list[ComposeWindow]:
        """Build (not show) a window for every draft that was open in a window when Composer
        last ended without closing it (a crash, a power cut, a logout)."""
        windows: list[ComposeWindow] = []
        if not self.context.alone:
            return windows  # the drafts marked open are another Composer's open windows
        for key in self.context.drafts.open_in_windows():
            try:
                loaded = self.context.drafts.load(key)
            except Exception as error:  # a damaged draft was set aside; say where
                self.bridge.post(str(error), Level.WARNING)
                continue
            window = self.new_window(stored=(key, loaded), unsaved=True)
            note = "This message was not sent when Composer last closed; here it is again."
            if loaded.saved_at is not None:
                note = (
                    f"This message was not sent when Composer last closed; here it is as it "
                    f"was at {loaded.saved_at.astimezone():%H:%M:%S on %a %d %b}."
                )
            problems = " ".join(loaded.problems)
            window.show_status(f"{note} {problems}".strip())
            windows.append(window)
        return windows

    def window_for_draft(self, key: str) -> ComposeWindow | None:
        return next((w for w, k in self._keepers.items() if k.key == key), None)

    @Slot(list)
    def open_drafts(self, drafts: Iterable[Draft]) -> None:
        """Open one window per draft (what a launch, or a later launch, asked for), each a
        new message begun from its draft."""
        for draft in drafts:
            self.open_window(start=draft)

    @Slot()
    def quit(self) -> None:
        """Close every window (asking once about all unsaved messages), then end."""
        unsaved = [
            w
            for w in self._windows
            if not w.is_sending() and self._keepers[w].has_unsaved_changes()
        ]
        choice: CloseChoice | None = None
        if unsaved:
            choice = ask_keep(unsaved[0], len(unsaved))
            if choice is None:
                return
        self._quitting = True
        for window in list(self._windows):
            if not window.is_sending():  # a sending window's message is the send service's
                self._keepers[window].close(choice if window in unsaved else None)
            window.close()

    def shut_down(self) -> None:
        """The program is exiting: stop every send, wait briefly for the threads, close files.

        Windows still open keep their drafts marked open, so the next start reopens them."""
        if self._ended:
            return
        for keeper in self._keepers.values():
            keeper.save_soon_now()
        self.sending.cancel_all()
        self.sending.wait(_EXIT_WAIT_MS)
        self._end()

    # --- wiring ---------------------------------------------------------------------------

    def _wire(self, window: ComposeWindow, keeper: DraftKeeper) -> None:
        self._keepers[window] = keeper
        window.form.changed.connect(keeper.changed)
        window.handed_over.connect(keeper.pause)
        window.given_back.connect(keeper.resume)
        window.started_new.connect(keeper.start_over)
        window.restored.connect(keeper.swap_back)
        window.actions_.save_draft.triggered.connect(lambda: self._save_draft(window))
        window.close_guard = lambda: self._may_close(window)
        window.draft_key = lambda: keeper.key
        window.new_window_requested.connect(self._on_new_window_requested)
        window.quit_requested.connect(self.quit)
        window.signed_in.connect(self._on_signed_in)
        window.closed.connect(self._on_window_closed)
        actions = window.actions_
        actions.drafts.triggered.connect(lambda: self.folders.show("draftsView"))
        actions.outbox.triggered.connect(lambda: self.folders.show("outboxView"))
        actions.sent.triggered.connect(lambda: self.folders.show("sentView"))

    def _save_draft(self, window: ComposeWindow) -> None:
        if window.is_sending():
            return
        self._keepers[window].save()
        window.show_status("Draft saved. Folders ▸ Drafts has it, and it survives a crash.")

    def _may_close(self, window: ComposeWindow) -> bool:
        keeper = self._keepers.get(window)
        if keeper is None or self._quitting:
            return True
        if window.is_sending():
            # The send service has the message: its job takes the draft out of Drafts once the
            # Outbox has it, and a message refused before that comes back in a window.
            return True
        choice: CloseChoice | None = None
        if keeper.has_unsaved_changes():
            choice = ask_keep(window, 1)
            if choice is None:
                return False
        keeper.close(choice)
        return True

    @Slot(str)
    def _on_new_window_requested(self, account_id: str) -> None:
        self.open_window(start=Draft(account_id=account_id))

    @Slot()
    def _on_window_closed(self) -> None:
        window = self.sender()
        if not isinstance(window, ComposeWindow) or window not in self._windows:
            return
        self._windows.remove(window)
        self._keepers.pop(window, None)
        # Our reference may be the window's last: dropping it now would delete the window
        # inside its own closeEvent. Hold it until the event loop runs again.
        self._closing.append(window)
        QTimer.singleShot(0, self, self._closing.clear)
        self._end_if_done()

    @Slot(object)
    def _on_message(self, message: Message) -> None:
        if self._unwatched is not None:
            self._unwatched.flush()  # a status line held back came before this message
        if not self._windows:
            self._pending.append(message)
        for window in self._windows:
            window.show_message(message)

    @Slot(object, object, str)
    def _on_send_finished(
        self, submission: Submission | None, outcome: object, subject: str
    ) -> None:
        if submission is not None and submission.watched:
            # Its window shows the outcome, which is newer than a line held for the others.
            if self._unwatched is not None:
                self._unwatched.forget_held()
            return
        if self._unwatched is None:
            # Here: the Outbox's modules are in by now, as the outcome came through it.
            from composer.unwatched_sends import UnwatchedSends

            self._unwatched = UnwatchedSends(self)
        self._unwatched.report(submission, outcome, subject)

    @Slot(str)
    def _on_signed_in(self, account_id: str) -> None:
        for window in self._windows:
            window.hide_sign_in_again(account_id)

    def _draft_not_saved(self, key: str, draft: Draft, text: str) -> None:
        """From the writer thread: queue it for the GUI thread."""
        with self._unsaved_lock:
            self._unsaved.append((key, draft, text))
        self._unsaved_posted.emit()

    @Slot()
    def _show_unsaved(self) -> bool:
        """Show each draft that could not be written; True when a window was opened for one."""
        with self._unsaved_lock:
            taken, self._unsaved = self._unsaved, []
        reopened = False
        for key, draft, text in taken:
            window = self.window_for_draft(key)
            if window is not None:
                self._keepers[window].not_written()
                window.show_status(text)
                continue
            # Its window closed before the write failed: the window is the only copy left.
            self._quitting = False  # closing it again asks, as for any unsaved message
            window = self.open_window(draft, draft_key=key)
            window.show_message(
                Message(
                    f"{text} Its window had closed, so Composer opened it again.", Level.WARNING
                )
            )
            reopened = True
        return reopened

    @Slot()
    def _end_if_done(self) -> None:
        if not self._windows and not self.sending.is_busy():
            # The last window's draft is written as it closes: if that fails, the message
            # comes back in a window instead of ending with the program.
            self.context.writer.flush(_EXIT_WAIT_MS / 1000)
            if self._show_unsaved():
                return
            self._end()

    def _end(self) -> None:
        if self._ended:
            return
        self._ended = True
        # Nothing is under way now (or shut_down stopped it); no timer still due may start
        # more on a context that is closing.
        self.sending.cancel_all()
        if self._folders is not None:
            self._folders.close()
        self.context.close()
        self.ended.emit()
        self.deleteLater()

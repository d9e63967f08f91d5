"""Sending from one compose window: the questions before, the hand-over to the SendService,
the undo delay, and each outcome in the window's status bar."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Slot

from composer.context import AppContext
from composer.mail.draft import check_recipients
from composer.mail.errors import ErrorKind, SendError
from composer.send_service import SendService
from composer.submission import Submission

if TYPE_CHECKING:
    from datetime import datetime

    from composer.mail.outbox import OutboxEntry
    from composer.mail.progress import Progress, SendResult
    from composer.ui.compose_window import ComposeWindow


class SendFlow(QObject):
    """Follows the one message a compose window has handed to the SendService.

    Lives as long as its window; a submission it no longer follows (the window closed and let
    go) can never change what the window shows.
    """

    def __init__(self, window: ComposeWindow, context: AppContext, sending: SendService) -> None:
        super().__init__(window)
        self._window = window
        self._context = context
        self._sending = sending
        self.submission: Submission | None = None
        # Counts the undo delay down in the status bar.
        self._countdown = QTimer(self, interval=1000)
        self._countdown.timeout.connect(self._show_countdown)
        self._due: datetime | None = None

    def is_sending(self) -> bool:
        return self.submission is not None

    def release(self) -> None:
        """The window is closing: the send goes on without it; the application reports it."""
        if self.submission is not None:
            self.submission.release()
            self.submission = None
        self._countdown.stop()

    def _set_sending(self, sending: bool) -> None:
        window = self._window
        window.form.set_locked(sending)
        actions = window.actions_
        for action in (actions.send, actions.send_later, actions.new, actions.attach):
            action.setEnabled(not sending)
        actions.save_draft.setEnabled(not sending)
        actions.restore.setEnabled(not sending and window.has_previous())
        actions.cancel.setEnabled(sending)
        window.progress_bar.setVisible(sending)
        window.progress_bar.setRange(0, 0)
        self._set_undoable(False)

    def _set_undoable(self, undoable: bool) -> None:
        self._window.actions_.undo_send.setEnabled(undoable)
        self._window.undo_button.setVisible(undoable)
        if undoable:
            self._countdown.start()
            self._show_countdown()
        else:
            self._countdown.stop()

    @Slot()
    def _show_countdown(self) -> None:
        if self._due is None:
            return
        wait = math.ceil((self._due - self._context.clock()).total_seconds())
        if wait > 0:
            noun = "second" if wait == 1 else "seconds"
            self._window.show_status(f"Sending in {wait} {noun}… Undo Send takes it back.")

    @Slot()
    def send_later(self) -> None:
        """Ask when, then queue the message in the Outbox for that time."""
        from composer.ui.send_later_dialog import ask_send_time

        if self.is_sending():
            return
        when = ask_send_time(self._window, self._context.clock())
        if when is not None:
            self.start(at=when)

    @Slot()
    def start(
        self, *, large_ok: bool = False, at: datetime | None = None, undo: bool = True
    ) -> None:
        """Check the form, ask what needs asking, then hand the message to the SendService:
        due at once (after the undo-send delay, unless not undo), or at the time at."""
        if self.is_sending():
            return
        draft = self._window.draft()
        account = self._context.account(draft.account_id)
        if account is None:
            self._window.show_status("Choose an account in From, or add one in SMTP Accounts.")
            return
        try:
            check_recipients(draft)
        except SendError as error:
            self._window.show_status(error.message)
            if error.kind is ErrorKind.NO_RECIPIENTS:
                self._window.form.to.setFocus()
            return
        from composer.ui.send_checks import confirm_send  # at the first Send: its questions

        confirmed = draft if large_ok else confirm_send(self._window, draft)
        if confirmed is None:
            self._window.show_status("Not sent. Change what you need and send again.")
            return
        if confirmed != draft:
            self._window.form.set_recipients(confirmed)  # what the fields show is what is sent
        self._context.remember_last_used(account.id)
        built = self._window.built_for(confirmed)
        delay = self._context.settings.undo_send_seconds if undo and at is None else 0
        if large_ok:
            delay = 0  # asked already: the user has just said to send it
        submission = self._sending.submit(
            confirmed,
            account,
            large_ok=large_ok,
            delay=delay,
            at=at,
            built=built,
            draft_key=self._window.draft_key(),
        )
        self.submission = submission
        self._window.hide_sign_in_again()  # what this send needs, it says anew
        submission.queued.connect(self._on_queued)
        submission.progressed.connect(self._on_progress)
        submission.sent.connect(self._on_sent)
        submission.deferred.connect(self._on_deferred)
        submission.failed.connect(self._on_failed)
        self._set_sending(True)
        self._window.show_status(f"Preparing the message for {account.name}…")

    @Slot()
    def undo(self) -> None:
        """Take the message back while it waits out the undo-send delay."""
        if self.submission is not None and not self.submission.undo():
            self._window.show_status("Too late to undo: the message is already on its way.")

    @Slot(object)
    def _on_queued(self, entry: OutboxEntry) -> None:
        if not self._is_current():
            return
        self._window.handed_over.emit()
        if entry.scheduled or entry.next_attempt is None:
            return
        self._due = entry.next_attempt
        if (self._due - self._context.clock()).total_seconds() > 0.5:
            self._set_undoable(True)

    @Slot()
    def cancel(self) -> None:
        if self.submission is not None:
            self._window.show_status("Cancelling…")
            self.submission.cancel()

    def _is_current(self) -> bool:
        # A submission this window no longer follows can never change what it shows.
        return self.submission is not None and self.sender() is self.submission

    @Slot(object)
    def _on_progress(self, progress: Progress) -> None:
        if not self._is_current() or self.submission is None or self.submission.cancelled:
            return
        self._set_undoable(False)
        self._window.show_status(progress.text)
        if progress.total:
            # Kilobytes keep a 2 GB message within the progress bar's int range.
            self._window.progress_bar.setRange(0, max(1, progress.total // 1024))
            self._window.progress_bar.setValue(progress.sent // 1024)

    @Slot(object)
    def _on_sent(self, result: SendResult) -> None:
        if not self._is_current():
            return
        self._finish()
        from composer.mail.progress import permanently_refused  # in since the send began

        if not permanently_refused(result):
            # Clear what was sent (those the server asked to try later are the Outbox's);
            # keep it when some recipients were refused and need the user to act.
            self._window.start_new_message(None)
        else:
            self._window.given_back.emit()
        self._window.show_status(result.summary)
        self._window.send_finished.emit(True)

    @Slot(object)
    def _on_deferred(self, entry: OutboxEntry) -> None:
        if not self._is_current():
            return
        self._finish()
        self._window.start_new_message(None)
        from composer.mail.outbox_notes import describe_entry  # the Outbox is in use by now

        self._window.show_status(describe_entry(entry))
        self._window.send_finished.emit(False)

    @Slot(object)
    def _on_failed(self, error: SendError) -> None:
        if not self._is_current() or self.submission is None:
            return
        account_id = self.submission.account.id
        self._finish()
        if error.kind is ErrorKind.SIGN_IN_NEEDED:
            self._window.offer_sign_in_again(account_id)
        self._window.given_back.emit()
        self._window.show_status(error.message)
        from composer.ui.send_checks import confirm_large

        if error.kind is ErrorKind.SIZE_UNCHECKED and confirm_large(self._window, error.message):
            self.start(large_ok=True)
            return
        self._window.send_finished.emit(False)

    def _finish(self) -> None:
        self.submission = None
        self._set_sending(False)

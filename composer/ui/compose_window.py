"""The compose window: the form, its actions, and a status bar that follows the send."""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import cast

from PySide6.QtCore import QEvent, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QToolButton,
    QWidget,
)

from composer.context import AppContext
from composer.mail.draft import Draft, check_recipients
from composer.mail.eml import write_outgoing
from composer.mail.errors import ErrorKind, SendError
from composer.mail.message import OutgoingMessage
from composer.mail.outbox import OutboxEntry
from composer.mail.outbox_notes import describe_entry
from composer.mail.progress import Progress, SendResult, permanently_refused
from composer.mail.source import outgoing_source
from composer.message_bridge import Level, Message
from composer.send_service import SendService, Submission
from composer.ui.compose_actions import build_actions, build_menus
from composer.ui.compose_form import ComposeForm
from composer.ui.file_drops import FileDropCatcher
from composer.ui.icons import app_icon
from composer.ui.naming import named
from composer.ui.send_checks import confirm_large, confirm_send
from composer.ui.source_dialog import SourceDialog


class ComposeWindow(QMainWindow):
    """One message being written; sending is the SendService's, this window only watches.

    Signals:
        send_finished(bool): a send ended; True when at least one recipient got the message
            (False when it was refused, undone, cancelled, or is waiting in the Outbox).
        handed_over(): the message is in the Outbox now; the window no longer keeps it.
        given_back(): a message handed over came back to the window (undone or refused).
        started_new(object): the window holds a new message (New Message, or after a send);
            the Draft it held before, or None when that one was sent.
        restored(object): Restore Previous Message brought the last one back; the Draft it
            replaced.
        new_window_requested(str): the user asked for another compose window, with this
            account (its id) in From.
        quit_requested(): the user asked to quit Composer.
        closed(): the window has closed; the application lets go of it.
    """

    send_finished = Signal(bool)
    handed_over = Signal()
    given_back = Signal()
    started_new = Signal(object)
    restored = Signal(object)
    new_window_requested = Signal(str)
    quit_requested = Signal()
    closed = Signal()

    def __init__(
        self, context: AppContext, sending: SendService, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._context = context
        self._sending = sending
        self._submission: Submission | None = None
        self._discarded: Draft | None = None
        self._warnings: list[str] = []
        # The message Show Source last built, so that what is sent is what was shown.
        self._built: tuple[Draft, OutgoingMessage] | None = None
        # Asked before the window closes; False keeps it open (the application decides).
        self.close_guard: Callable[[], bool] = lambda: True
        # The key in Drafts of the message shown (the application keeps the drafts).
        self.draft_key: Callable[[], str] = lambda: ""
        self.setObjectName("composerWindow")
        self.setWindowIcon(app_icon())
        self.resize(800, 680)
        self.form = ComposeForm(context.address_book)
        self.setCentralWidget(self.form)
        self.form.body.files_dropped.connect(self.attach_files)
        # Files dropped anywhere, a header field included, are attached, not pasted as text.
        self._drops = FileDropCatcher(self)
        self._drops.dropped.connect(self.attach_files)
        self._drops.watch(self, *self.form.drop_targets())
        self.progress_bar = named("sendProgress", QProgressBar())
        self.progress_bar.setMaximumWidth(160)
        self.progress_bar.setVisible(False)
        self.statusBar().addPermanentWidget(self.progress_bar)
        self._build_actions()
        self.undo_button = named("undoSendButton", QToolButton())
        self.undo_button.setDefaultAction(self.actions_.undo_send)
        self.undo_button.setVisible(False)
        self.statusBar().addPermanentWidget(self.undo_button)
        # Counts the undo delay down in the status bar.
        self._countdown = QTimer(self, interval=1000)
        self._countdown.timeout.connect(self._show_countdown)
        self._due: datetime | None = None
        self._fill_accounts()
        self.form.identity.start(self.form.account())
        self.form.from_account.currentIndexChanged.connect(self._on_account_chosen)
        self.form.subject.textChanged.connect(self._update_title)
        self._update_title()
        self.show_status("Ready.")

    def _build_actions(self) -> None:
        self.actions_ = actions = build_actions(self)
        self.action_send, self.action_cancel = actions.send, actions.cancel
        self.action_new, self.action_restore = actions.new, actions.restore
        self.action_accounts, self.action_attach = actions.accounts, actions.attach
        for action, slot in (
            (actions.send, self.start_send),
            (actions.send_later, self.send_later),
            (actions.undo_send, self.undo_send),
            (actions.cancel, self.cancel_send),
            (actions.new, self.new_message),
            (actions.new_window, self._on_new_window),
            (actions.restore, self.restore_previous),
            (actions.attach, self.choose_attachments),
            (actions.show_source, self.show_source),
            (actions.save_eml, self.save_eml),
            (actions.accounts, self.open_accounts),
            (actions.about, self.open_about),
            (actions.quit, self.quit_requested),
        ):
            action.triggered.connect(slot)
        actions.plain_text.toggled.connect(self.form.format_bar.set_plain_mode)
        for delay in actions.undo_delays:
            delay.triggered.connect(self._on_undo_delay_chosen)
        build_menus(self, actions)
        self._show_undo_delay()

    # --- state ----------------------------------------------------------------------------

    def draft(self) -> Draft:
        """The message exactly as typed (formatting only when there is any, and allowed)."""
        return self.form.draft(plain_only=self.actions_.plain_text.isChecked())

    def load_draft(self, draft: Draft) -> None:
        """Show draft in the fields (the account only if it still exists)."""
        self._report_attach_problems(self.form.load_draft(draft))

    def is_sending(self) -> bool:
        return self._submission is not None

    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text)
        # A tooltip is rich text when it looks like it; server replies and subjects must not be.
        self.statusBar().setToolTip(f"<p>{html.escape(text)}</p>")

    def show_message(self, message: Message) -> None:
        """A message from the application, in the status bar; a warning in a box as well."""
        self.show_status(message.text)
        if message.level is Level.WARNING:
            self._warnings.append(message.text)
            if self.isVisible():
                self._show_warnings()

    def _fill_accounts(self) -> None:
        self.form.set_accounts(self._context.accounts(), self._context.preferred_account_id())

    def _update_title(self) -> None:
        subject = self.form.subject.text().strip() or "New Message"
        self.setWindowTitle(f"{subject} — Composer")

    def _set_sending(self, sending: bool) -> None:
        self.form.set_locked(sending)
        for action in (
            self.action_send,
            self.actions_.send_later,
            self.action_new,
            self.action_attach,
            self.actions_.save_draft,
        ):
            action.setEnabled(not sending)
        self.action_restore.setEnabled(not sending and self._discarded is not None)
        self.action_cancel.setEnabled(sending)
        self.progress_bar.setVisible(sending)
        self.progress_bar.setRange(0, 0)
        self._set_undoable(False)

    def _set_undoable(self, undoable: bool) -> None:
        self.actions_.undo_send.setEnabled(undoable)
        self.undo_button.setVisible(undoable)
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
            self.show_status(f"Sending in {wait} {noun}… Undo Send takes it back.")

    # --- sending --------------------------------------------------------------------------

    @Slot()
    def send_later(self) -> None:
        """Ask when, then queue the message in the Outbox for that time."""
        from composer.ui.send_later_dialog import ask_send_time

        if self.is_sending():
            return
        when = ask_send_time(self, self._context.clock())
        if when is not None:
            self.start_send(at=when)

    @Slot()
    def start_send(
        self, *, large_ok: bool = False, at: datetime | None = None, undo: bool = True
    ) -> None:
        """Check the form, ask what needs asking, then hand the message to the SendService:
        due at once (after the undo-send delay, unless not undo), or at the time at."""
        if self.is_sending():
            return
        draft = self.draft()
        account = self._context.account(draft.account_id)
        if account is None:
            self.show_status("Choose an account in From, or add one in SMTP Accounts.")
            return
        try:
            check_recipients(draft)
        except SendError as error:
            self.show_status(error.message)
            if error.kind is ErrorKind.NO_RECIPIENTS:
                self.form.to.setFocus()
            return
        confirmed = draft if large_ok else confirm_send(self, draft)
        if confirmed is None:
            self.show_status("Not sent. Change what you need and send again.")
            return
        if confirmed != draft:
            self.form.set_recipients(confirmed)  # what the fields show is what is sent
        self._context.remember_last_used(account.id)
        built = self._built[1] if self._built and self._built[0] == confirmed else None
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
            draft_key=self.draft_key(),
        )
        self._submission = submission
        submission.queued.connect(self._on_queued)
        submission.progressed.connect(self._on_progress)
        submission.sent.connect(self._on_sent)
        submission.deferred.connect(self._on_deferred)
        submission.failed.connect(self._on_failed)
        self._set_sending(True)
        self.show_status(f"Preparing the message for {account.name}…")

    @Slot()
    def undo_send(self) -> None:
        """Take the message back while it waits out the undo-send delay."""
        if self._submission is not None and not self._submission.undo():
            self.show_status("Too late to undo: the message is already on its way.")

    @Slot(object)
    def _on_queued(self, entry: OutboxEntry) -> None:
        if not self._is_current():
            return
        self.handed_over.emit()
        if entry.scheduled or entry.next_attempt is None:
            return
        self._due = entry.next_attempt
        if (self._due - self._context.clock()).total_seconds() > 0.5:
            self._set_undoable(True)

    @Slot()
    def cancel_send(self) -> None:
        if self._submission is not None:
            self.show_status("Cancelling…")
            self._submission.cancel()

    def _is_current(self) -> bool:
        # A submission this window no longer follows can never change what it shows.
        return self._submission is not None and self.sender() is self._submission

    @Slot(object)
    def _on_progress(self, progress: Progress) -> None:
        if not self._is_current() or self._submission is None or self._submission.cancelled:
            return
        self._set_undoable(False)
        self.show_status(progress.text)
        if progress.total:
            # Kilobytes keep a 2 GB message within the progress bar's int range.
            self.progress_bar.setRange(0, max(1, progress.total // 1024))
            self.progress_bar.setValue(progress.sent // 1024)

    @Slot(object)
    def _on_sent(self, result: SendResult) -> None:
        if not self._is_current():
            return
        self._finish()
        if not permanently_refused(result):
            # Clear what was sent (those the server asked to try later are the Outbox's);
            # keep it when some recipients were refused and need the user to act.
            self._start_new(None)
        else:
            self.given_back.emit()
        self.show_status(result.summary)
        self.send_finished.emit(True)

    @Slot(object)
    def _on_deferred(self, entry: OutboxEntry) -> None:
        if not self._is_current():
            return
        self._finish()
        self._start_new(None)
        self.show_status(describe_entry(entry))
        self.send_finished.emit(False)

    @Slot(object)
    def _on_failed(self, error: SendError) -> None:
        if not self._is_current():
            return
        self._finish()
        self.given_back.emit()
        self.show_status(error.message)
        if error.kind is ErrorKind.SIZE_UNCHECKED and confirm_large(self, error.message):
            self.start_send(large_ok=True)
            return
        self.send_finished.emit(False)

    def _start_new(self, previous: Draft | None) -> None:
        self.form.start_new()
        self._built = None
        self.started_new.emit(previous)

    def _finish(self) -> None:
        self._submission = None
        self._set_sending(False)

    # --- other actions --------------------------------------------------------------------

    @Slot()
    def new_message(self) -> None:
        """Clear the form, keeping the chosen account; what was typed can be restored."""
        if self.is_sending():
            return
        draft = self.draft()
        self._start_new(draft)
        if draft != self.draft():
            self._discarded = draft
            self.action_restore.setEnabled(True)
            self.show_status(
                "New message. Message ▸ Restore Previous Message brings back the last one."
            )
        else:
            self.show_status("New message.")

    @Slot()
    def restore_previous(self) -> None:
        """Bring back the message that New Message cleared."""
        if self._discarded is None or self.is_sending():
            return
        current = self.draft()
        self.load_draft(self._discarded)
        self.restored.emit(current)
        self._discarded = None if current.is_empty() else current
        self.action_restore.setEnabled(self._discarded is not None)
        self.show_status("Previous message restored.")

    @Slot()
    def choose_attachments(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Attach Files")
        self.attach_files([Path(p) for p in paths])

    @Slot(list)
    def attach_files(self, paths: list[Path]) -> None:
        """Attach files (from the dialog, a drop or the command line)."""
        if not paths:
            return
        if self.is_sending():
            self.show_status("Attach files after this message has been sent.")
            return
        self._report_attach_problems(self.form.attach(paths))

    def _report_attach_problems(self, problems: list[str]) -> None:
        if problems:
            self.show_status("Could not attach: " + "; ".join(problems) + ".")

    @Slot()
    def show_source(self) -> None:
        """The message as it will be sent, built off the GUI thread."""
        account = self.form.account()
        if account is None:
            return
        draft = self.draft()
        if self._built is not None and self._built[0] == draft:
            built = self._built[1]
            self._run(lambda: outgoing_source(built), self._on_source_ready)
            return

        def job() -> object:
            outgoing = self._sending.build(draft, account)
            return outgoing, outgoing_source(outgoing)

        self._run(job, lambda result: self._on_built(draft, result))

    def _on_built(self, draft: Draft, result: object) -> None:
        outgoing, text = cast(tuple[OutgoingMessage, str], result)
        self._built = (draft, outgoing)
        self._on_source_ready(text)

    def _on_source_ready(self, text: object) -> None:
        dialog = SourceDialog(str(text), self)
        dialog.save_requested.connect(self.save_eml)
        dialog.open()

    @Slot()
    def save_eml(self) -> None:
        account = self.form.account()
        if account is None:
            return
        name = (self.form.subject.text().strip() or "message").replace("/", "-")[:80]
        path, _ = QFileDialog.getSaveFileName(
            self, "Save as .eml", str(Path.home() / f"{name}.eml"), "Email message (*.eml)"
        )
        if path:
            draft = self.draft()
            built = self._built[1] if self._built and self._built[0] == draft else None

            def job() -> object:
                outgoing = built or self._sending.build(draft, account)
                write_outgoing(outgoing, Path(path))
                return outgoing

            def done(outgoing: object) -> None:
                assert isinstance(outgoing, OutgoingMessage)
                self._built = (draft, outgoing)  # what is sent next is what was saved
                self.show_status(f"Saved as {path}.")

            self._run(job, done)

    def _run(self, job: Callable[[], object], done: Callable[[object], None]) -> None:
        task = self._sending.run(job)
        task.succeeded.connect(done)
        task.failed.connect(lambda error: self.show_status(str(error)))

    @Slot()
    def open_about(self) -> None:
        from composer.ui.about_dialog import AboutDialog

        AboutDialog(self).open()

    @Slot()
    def open_accounts(self) -> None:
        # Imported on first use, to keep the window's start-up short.
        from composer.ui.accounts_dialog import AccountsDialog

        dialog = AccountsDialog(self._context, self._sending, self)
        dialog.finished.connect(lambda _result: self._fill_accounts())
        dialog.warned.connect(lambda text: self.show_message(Message(text, Level.WARNING)))
        dialog.open()

    @Slot()
    def _on_undo_delay_chosen(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self._context.set_undo_send_seconds(int(action.data()))

    def _show_undo_delay(self) -> None:
        seconds = self._context.settings.undo_send_seconds
        for action in self.actions_.undo_delays:
            action.setChecked(action.data() == seconds)

    @Slot()
    def _on_new_window(self) -> None:
        self.new_window_requested.emit(self.form.account_id())

    @Slot(int)
    def _on_account_chosen(self, _index: int) -> None:
        account = self.form.account()
        if account is not None:
            self._context.remember_last_used(account.id)

    def _show_warnings(self) -> None:
        text, self._warnings = "\n\n".join(self._warnings), []
        box = QMessageBox(
            QMessageBox.Icon.Warning, "Composer", text, QMessageBox.StandardButton.Ok, self
        )
        box.setObjectName("startupWarning")
        # Text from files and the system (paths, error messages) is never rich text.
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # --- Qt overrides ---------------------------------------------------------------------

    def event(self, event: QEvent) -> bool:
        # Hovering a menu item sends an empty status tip that would wipe the outcome of a send.
        if event.type() == QEvent.Type.StatusTip:
            return True
        return super().event(event)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if self._warnings:
            self._show_warnings()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if not self.close_guard():
            event.ignore()
            return
        if self._submission is not None:
            # The send goes on without this window; the application reports how it ended.
            self._submission.release()
            self._submission = None
        super().closeEvent(event)
        self.closed.emit()

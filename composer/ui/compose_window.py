"""The compose window: the form, its actions, and a status bar that follows the send."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QEvent, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QMainWindow,
    QMenu,
    QProgressBar,
    QToolButton,
    QWidget,
)

from composer import logs
from composer.context import AppContext
from composer.mail.draft import Draft
from composer.message_bridge import Level, Message
from composer.send_service import SendService
from composer.ui.compose_actions import build_actions, build_menus
from composer.ui.compose_form import ComposeForm
from composer.ui.file_drops import FileDropCatcher
from composer.ui.icons import app_icon
from composer.ui.naming import named
from composer.ui.plain_text import plain_tooltip
from composer.ui.send_flow import SendFlow

if TYPE_CHECKING:
    from datetime import datetime

    from composer.mail.message import OutgoingMessage
    from composer.ui.accounts_dialog import AccountsDialog

# Beside the Set Up Email Account button, until an account is set up.
_FIRST_START = "Ready. Messages go to the Local sandbox on this computer."


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
        signed_in(str): an account (its id) was signed in with its provider and saved in
            Accounts opened here.
        closed(): the window has closed; the application lets go of it.
    """

    send_finished = Signal(bool)
    handed_over = Signal()
    given_back = Signal()
    started_new = Signal(object)
    restored = Signal(object)
    new_window_requested = Signal(str)
    quit_requested = Signal()
    signed_in = Signal(str)
    closed = Signal()

    def __init__(
        self, context: AppContext, sending: SendService, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._context = context
        self._sending = sending
        self._discarded: Draft | None = None
        self._warnings: list[str] = []
        # The message Show Source last built, so that what is sent is what was shown.
        self._built: tuple[Draft, OutgoingMessage] | None = None
        # Asked before the window closes; False keeps it open (the application decides).
        self.close_guard: Callable[[], bool] = lambda: True
        # The key in Drafts of the message shown (the application keeps the drafts).
        self.draft_key: Callable[[], str] = lambda: ""
        self.setObjectName("composerWindow")
        # The running Composer gives the application its icon (app.py), which its windows
        # show; a window made without that (create_main_window) sets its own.
        if QApplication.windowIcon().isNull():
            self.setWindowIcon(app_icon())
        self.resize(800, 680)
        self.form = ComposeForm(context.address_book)
        self.setCentralWidget(self.form)
        self.form.body.files_dropped.connect(self.attach_files)
        # Files that pasted HTML takes images from are read by the service's workers.
        self.form.body.run_in_background = sending.run
        self.form.body.linked_images_read.connect(self.show_status)
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
        # Beside the Local sandbox until an account is set up (see _fill_accounts).
        self.setup_button = named("setUpAccount", QToolButton())
        self.setup_button.setText("Set Up Email Account…")
        self.setup_button.clicked.connect(self.set_up_account)
        self.statusBar().addPermanentWidget(self.setup_button)
        # After a send refused for want of a sign-in (see offer_sign_in_again).
        self.sign_in_again_button = named("signInAgainButton", QToolButton())
        self.sign_in_again_button.setText("Sign In Again…")
        self.sign_in_again_button.setVisible(False)
        self.sign_in_again_button.clicked.connect(self.sign_in_again)
        self.statusBar().addPermanentWidget(self.sign_in_again_button)
        self._sign_in_account = ""
        self.send_flow = SendFlow(self, context, sending)
        self._fill_accounts()
        self.form.identity.start(self.form.account())
        self.form.from_account.currentIndexChanged.connect(self._on_account_chosen)
        self.form.subject.textChanged.connect(self._update_title)
        self._update_title()
        self.show_status("Ready." if context.settings.accounts else _FIRST_START)

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
            (actions.show_log, self.show_log),
            (actions.about, self.open_about),
            (actions.close, self.close),
            (actions.quit, self.quit_requested),
        ):
            action.triggered.connect(slot)
        actions.plain_text.toggled.connect(self.form.format_bar.set_plain_mode)
        for delay in actions.undo_delays:
            delay.triggered.connect(self._on_undo_delay_chosen)
        actions.debug_log.triggered.connect(self._context.set_debug_log)
        build_menus(self, actions)
        self._show_undo_delay()
        self._show_debug_log()
        # Another window may have changed a setting since: show what holds now.
        settings_menu = self.menuBar().findChild(QMenu, "settingsMenu")
        assert isinstance(settings_menu, QMenu)
        settings_menu.aboutToShow.connect(self._show_undo_delay)
        settings_menu.aboutToShow.connect(self._show_debug_log)

    # --- state ----------------------------------------------------------------------------

    def draft(self) -> Draft:
        """The message exactly as typed (formatting only when there is any, and allowed)."""
        return self.form.draft(plain_only=self.actions_.plain_text.isChecked())

    def load_draft(self, draft: Draft) -> None:
        """Show draft in the fields (the account only if it still exists)."""
        self._report_attach_problems(self.form.load_draft(draft))

    def start_with(self, draft: Draft) -> None:
        """Begin this new window's message from draft, keeping what the account adds to a
        new message (its signature, its default Cc and Bcc)."""
        self._report_attach_problems(self.form.start_with(draft))

    def is_sending(self) -> bool:
        return self.send_flow.is_sending()

    def has_previous(self) -> bool:
        """Whether Restore Previous Message has a message to bring back."""
        return self._discarded is not None

    def built_for(self, draft: Draft) -> OutgoingMessage | None:
        """The message Show Source or Save as .eml built, if draft is still what it was built
        from: what is sent is then byte for byte what was shown or saved."""
        return self._built[1] if self._built is not None and self._built[0] == draft else None

    # --- sending (the SendFlow follows it) -------------------------------------------------

    @Slot()
    def start_send(
        self, *, large_ok: bool = False, at: datetime | None = None, undo: bool = True
    ) -> None:
        """Check the form, ask what needs asking, then hand the message to the SendService:
        due at once (after the undo-send delay, unless not undo), or at the time at."""
        self.send_flow.start(large_ok=large_ok, at=at, undo=undo)

    @Slot()
    def send_later(self) -> None:
        self.send_flow.send_later()

    @Slot()
    def undo_send(self) -> None:
        self.send_flow.undo()

    @Slot()
    def cancel_send(self) -> None:
        self.send_flow.cancel()

    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text)
        # Server replies and subjects are quoted here.
        self.statusBar().setToolTip(plain_tooltip(text))

    def show_message(self, message: Message) -> None:
        """A message from the application, in the status bar; a warning in a box as well."""
        self.show_status(message.text)
        if message.level is Level.WARNING:
            self._warnings.append(message.text)
            if self.isVisible():
                self._show_warnings()

    def _fill_accounts(self) -> None:
        self.form.set_accounts(self._context.accounts(), self._context.preferred_account_id())
        self.setup_button.setVisible(not self._context.settings.accounts)

    def _update_title(self) -> None:
        subject = self.form.subject.text().strip() or "New Message"
        self.setWindowTitle(f"{subject} — Composer")

    def start_new_message(self, previous: Draft | None) -> None:
        """Empty the form for a new message; previous is the one it held (None: sent)."""
        self.form.start_new()
        self._built = None
        self.started_new.emit(previous)

    # --- other actions --------------------------------------------------------------------

    @Slot()
    def new_message(self) -> None:
        """Clear the form, keeping the chosen account; what was typed can be restored."""
        if self.is_sending():
            return
        draft = self.draft()
        self.start_new_message(draft)
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
        from PySide6.QtWidgets import QFileDialog  # dialogs are not in the first frame

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
        built = self.built_for(draft)
        if built is not None:
            self._run(lambda: _source_of(built), self._on_source_ready)
            return

        def job() -> object:
            outgoing = self._sending.build(draft, account)
            return outgoing, _source_of(outgoing)

        self._run(job, lambda result: self._on_built(draft, result))

    def _on_built(self, draft: Draft, result: object) -> None:
        outgoing, text = cast("tuple[OutgoingMessage, str]", result)
        self._built = (draft, outgoing)
        self._on_source_ready(text)

    def _on_source_ready(self, text: object) -> None:
        from composer.ui.source_dialog import SourceDialog  # at first use: QFontDatabase

        dialog = SourceDialog(str(text), self)
        dialog.save_requested.connect(self.save_eml)
        dialog.open()

    @Slot()
    def save_eml(self) -> None:
        account = self.form.account()
        if account is None:
            return
        name = (self.form.subject.text().strip() or "message").replace("/", "-")[:80]
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(
            self, "Save as .eml", str(Path.home() / f"{name}.eml"), "Email message (*.eml)"
        )
        if path:
            draft = self.draft()
            built = self.built_for(draft)

            def job() -> object:
                outgoing = built or self._sending.build(draft, account)
                from composer.mail.eml import write_outgoing

                write_outgoing(outgoing, Path(path))
                return outgoing

            def done(outgoing: object) -> None:
                from composer.mail.message import OutgoingMessage

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
        self._accounts_dialog()

    @Slot()
    def set_up_account(self) -> None:
        """Accounts with a new account, ready for a name, an address and Find Settings."""
        self._accounts_dialog().add_account()

    def offer_sign_in_again(self, account_id: str) -> None:
        """Offer Sign In Again for account_id: its provider no longer takes its sign-in."""
        self._sign_in_account = account_id
        self.sign_in_again_button.setVisible(True)

    def hide_sign_in_again(self, account_id: str = "") -> None:
        """No more Sign In Again: the account was signed in (or, with "", a send began)."""
        if not account_id or account_id == self._sign_in_account:
            self._sign_in_account = ""
            self.sign_in_again_button.setVisible(False)

    @Slot()
    def sign_in_again(self) -> None:
        """Accounts on the account to sign in, with its sign-in started in the browser."""
        if self._sign_in_account:
            self._accounts_dialog().sign_in_again(self._sign_in_account)

    def _accounts_dialog(self) -> AccountsDialog:
        # Imported on first use, to keep the window's start-up short.
        from composer.ui.accounts_dialog import AccountsDialog

        dialog = AccountsDialog(self._context, self._sending, self)
        dialog.finished.connect(lambda _result: self._fill_accounts())
        dialog.warned.connect(lambda text: self.show_message(Message(text, Level.WARNING)))
        dialog.signed_in.connect(self.signed_in)
        dialog.open()
        return dialog

    @Slot()
    def _on_undo_delay_chosen(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self._context.set_undo_send_seconds(int(action.data()))

    def _show_undo_delay(self) -> None:
        seconds = self._context.settings.undo_send_seconds
        for action in self.actions_.undo_delays:
            action.setChecked(action.data() == seconds)

    def _show_debug_log(self) -> None:
        action = self.actions_.debug_log
        if logs.debug_forced():
            action.setChecked(True)
            action.setEnabled(False)  # --debug holds for this run, whatever is chosen here
            action.setToolTip("On for this run: Composer was started with --debug.")
        else:
            action.setChecked(self._context.settings.debug_log)

    @Slot()
    def show_log(self) -> None:
        """Help ▸ Show Log: the end of the log file, read on a worker thread."""
        from composer.ui.log_view import LogDialog, read_log_tail

        path = self._context.paths.log_file
        self._run(lambda: read_log_tail(path), lambda text: LogDialog(path, str(text), self).open())

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
        from PySide6.QtWidgets import QMessageBox

        box = QMessageBox(
            QMessageBox.Icon.Warning, "Composer", text, QMessageBox.StandardButton.Ok, self
        )
        box.setObjectName("startupWarning")
        # Text from files and the system (paths, error messages) is never rich text.
        from PySide6.QtCore import Qt

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
        # The send goes on without this window; the application reports how it ended.
        self.send_flow.release()
        super().closeEvent(event)
        self.closed.emit()


def _source_of(outgoing: OutgoingMessage) -> str:
    # Here, on the worker that shows the source: building a message is not needed to open
    # a window.
    from composer.mail.source import outgoing_source

    return outgoing_source(outgoing)

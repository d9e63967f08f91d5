"""The compose window: From, To, Cc, Bcc, Subject, attachments, Body, and sending it."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, Signal, Slot
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from composer.context import AppContext
from composer.mail.accounts import Account
from composer.mail.delivery import Delivery
from composer.mail.draft import Draft, check_recipients
from composer.mail.errors import ErrorKind, SendError
from composer.mail.progress import Progress, SendResult
from composer.ui.compose_actions import build_actions, build_menus
from composer.ui.file_drops import FileDropCatcher
from composer.ui.icons import app_icon
from composer.ui.identity import IdentityKeeper
from composer.ui.naming import named
from composer.ui.rich_text import document_parts
from composer.ui.send_checks import confirm_send
from composer.ui.send_worker import DeliveryWorker, TaskWorker, WorkerThread
from composer.ui.source_dialog import SourceDialog, message_source_job, save_eml_job
from composer.ui.widgets.address_edit import AddressLineEdit
from composer.ui.widgets.attachment_list import AttachmentPanel
from composer.ui.widgets.body_edit import BodyEdit
from composer.ui.widgets.format_toolbar import FormatToolBar

log = logging.getLogger(__name__)


class ComposeWindow(QMainWindow):
    """One message being written.

    Signals:
        send_finished(bool): a send ended; True when at least one recipient got the message.
        new_window_requested(): the user asked for another compose window.
    """

    send_finished = Signal(bool)
    new_window_requested = Signal()

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        context.attach()
        self._warned = False
        self._worker: DeliveryWorker | None = None
        self._run: WorkerThread | None = None
        self._tasks: list[WorkerThread] = []
        self._cancelling = False
        self._discarded: Draft | None = None
        # Carried from a loaded draft (a mailto: link's In-Reply-To), not shown in a field.
        self._carried: tuple[str, tuple[tuple[str, str], ...]] = ("", ())
        self.setObjectName("composerWindow")
        self.setWindowIcon(app_icon())
        self.resize(800, 680)
        self._build_fields()
        self._build_actions()
        self._fill_accounts()
        self.identity.start(self._current_account())
        self.subject.textChanged.connect(self._update_title)
        self._update_title()
        self.show_status(" ".join(context.warnings) or "Ready.")

    # --- building -------------------------------------------------------------------------

    def _build_fields(self) -> None:
        self.from_account = named("fromAccount", QComboBox())
        self.from_account.setAccessibleName("From")
        self.from_account.currentIndexChanged.connect(self._on_account_chosen)
        book = self._context.address_book
        self.to = self._address_edit("to", "To", "Ann Lee <ann@example.org>, bob@example.net")
        self.cc = self._address_edit("cc", "Cc", "")
        self.bcc = self._address_edit("bcc", "Bcc", "Hidden from the other recipients")
        for edit in (self.to, self.cc, self.bcc):
            edit.set_address_book(book)
        self.subject = named("subject", QLineEdit())
        self.subject.setAccessibleName("Subject")
        self.attachment_panel = AttachmentPanel()
        self.attachment_list = self.attachment_panel.list
        self.attachment_total = self.attachment_panel.total
        self.body = named("body", BodyEdit())
        self.body.setAccessibleName("Message body")
        self.body.files_dropped.connect(self.attach_files)
        self.identity = IdentityKeeper(self.body, self.cc, self.bcc)
        self.format_bar = FormatToolBar(self.body)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for label, field in (
            ("&From:", self.from_account),
            ("&To:", self.to),
            ("&Cc:", self.cc),
            ("&Bcc:", self.bcc),
            ("S&ubject:", self.subject),
        ):
            form.addRow(label, field)
        central = named("composeArea", QWidget())
        layout = QVBoxLayout(central)
        layout.addLayout(form)
        layout.addWidget(self.attachment_panel)
        layout.addWidget(self.format_bar)
        layout.addWidget(self.body, 1)
        self.setCentralWidget(central)
        # Files dropped anywhere, a header field included, are attached, not pasted as text.
        self._drops = FileDropCatcher(self)
        self._drops.dropped.connect(self.attach_files)
        self._drops.watch(self, self.to, self.cc, self.bcc, self.subject, self.attachment_list)
        self.progress_bar = named("sendProgress", QProgressBar())
        self.progress_bar.setMaximumWidth(160)
        self.progress_bar.setVisible(False)
        self.statusBar().addPermanentWidget(self.progress_bar)

    def _address_edit(self, name: str, accessible: str, placeholder: str) -> AddressLineEdit:
        edit = named(name, AddressLineEdit())
        edit.setAccessibleName(accessible)
        edit.setPlaceholderText(placeholder)
        return edit

    def _build_actions(self) -> None:
        self.actions_ = actions = build_actions(self)
        self.action_send, self.action_cancel = actions.send, actions.cancel
        self.action_new, self.action_restore = actions.new, actions.restore
        self.action_accounts, self.action_attach = actions.accounts, actions.attach
        for action, slot in (
            (actions.send, self.start_send),
            (actions.cancel, self.cancel_send),
            (actions.new, self.new_message),
            (actions.new_window, self.new_window_requested.emit),
            (actions.restore, self.restore_previous),
            (actions.attach, self.choose_attachments),
            (actions.show_source, self.show_source),
            (actions.save_eml, self.save_eml),
            (actions.accounts, self.open_accounts),
            (actions.about, self.open_about),
            (actions.quit, self.close),
        ):
            action.triggered.connect(slot)
        actions.plain_text.toggled.connect(self.format_bar.set_plain_mode)
        build_menus(self, actions)

    # --- state ----------------------------------------------------------------------------

    def draft(self) -> Draft:
        """The message exactly as typed (formatting only when there is any, and allowed)."""
        parts = document_parts(self.body.document())
        formatted = parts.formatted and not self.actions_.plain_text.isChecked()
        return Draft(
            account_id=str(self.from_account.currentData() or ""),
            to=self.to.text(),
            cc=self.cc.text(),
            bcc=self.bcc.text(),
            subject=self.subject.text(),
            body=parts.plain,
            html=parts.html if formatted else "",
            attachments=self.attachment_list.attachments(),
            inline_images=parts.images if formatted else (),
            in_reply_to=self._carried[0],
            headers=self._carried[1],
        )

    def load_draft(self, draft: Draft) -> None:
        """Show draft in the fields (the account only if it still exists)."""
        index = self.from_account.findData(draft.account_id)
        if index >= 0:
            self.from_account.setCurrentIndex(index)
        self.to.setText(draft.to)
        self.cc.setText(draft.cc)
        self.bcc.setText(draft.bcc)
        self.subject.setText(draft.subject)
        self._carried = (draft.in_reply_to, draft.headers)
        self.identity.forget()
        if draft.html:
            self.body.set_html_with_images(draft.html, draft.inline_images)
        else:
            self.body.setPlainText(draft.body)
        problems = self.attachment_list.set_attachments(draft.attachments)
        if problems:
            self.show_status("Could not attach: " + "; ".join(problems) + ".")

    def is_sending(self) -> bool:
        return self._worker is not None

    def _fill_accounts(self) -> None:
        current = self.from_account.currentData() or self._context.preferred_account_id()
        self.from_account.blockSignals(True)
        self.from_account.clear()
        for account in self._context.accounts():
            self.from_account.addItem(account.label, account.id)
        index = self.from_account.findData(current)
        if index < 0:
            index = self.from_account.findData(self._context.preferred_account_id())
        self.from_account.setCurrentIndex(max(index, 0))
        self.from_account.blockSignals(False)
        self.identity.switch(self._current_account())

    def _current_account(self) -> Account | None:
        return self._context.account(str(self.from_account.currentData() or ""))

    def _update_title(self) -> None:
        subject = self.subject.text().strip() or "New Message"
        self.setWindowTitle(f"{subject} — Composer")

    def _set_sending(self, sending: bool) -> None:
        # The fields stay selectable and scrollable but cannot change under a running send,
        # so what is cleared after success is exactly what was sent.
        for edit in (self.to, self.cc, self.bcc, self.subject):
            edit.setReadOnly(sending)
        self.body.setReadOnly(sending)
        self.format_bar.setEnabled(not sending)
        self.attachment_list.setEnabled(not sending)
        self.from_account.setEnabled(not sending)
        for action in (self.action_send, self.action_new, self.action_attach):
            action.setEnabled(not sending)
        self.action_restore.setEnabled(not sending and self._discarded is not None)
        self.action_cancel.setEnabled(sending)
        self.progress_bar.setVisible(sending)
        self.progress_bar.setRange(0, 0)

    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text)
        self.statusBar().setToolTip(text)

    # --- sending --------------------------------------------------------------------------

    @Slot()
    def start_send(self) -> None:
        """Check the form, ask what needs asking, then send on a worker thread."""
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
                self.to.setFocus()
            return
        confirmed = confirm_send(self, draft)
        if confirmed is None:
            self.show_status("Not sent. Change what you need and send again.")
            return
        if confirmed != draft:
            # What the fields show is what is sent.
            self.to.setText(confirmed.to)
            self.cc.setText(confirmed.cc)
            self.bcc.setText(confirmed.bcc)
        self._context.remember_last_used(account.id)
        make = functools.partial(
            Delivery,
            account,
            self._context.secrets,
            self._context.sandbox,
            address_book=self._context.address_book,
        )
        worker = DeliveryWorker(make, lambda delivery: delivery.send(confirmed))
        self._worker, self._cancelling = worker, False
        self._set_sending(True)
        self.show_status(f"Sending through {account.name}…")
        self._run = WorkerThread(self, worker)
        self._run.progressed.connect(self._on_progress)
        self._run.succeeded.connect(self._on_sent)
        self._run.failed.connect(self._on_failed)
        self._run.finished.connect(self._on_run_finished)

    @Slot()
    def cancel_send(self) -> None:
        if self._worker is not None:
            self._cancelling = True
            self.show_status("Cancelling…")
            self._worker.cancel()

    @Slot(object)
    def _on_progress(self, progress: Progress) -> None:
        if self._worker is None or self._cancelling:
            return
        self.show_status(progress.text)
        if progress.total:
            # Kilobytes keep a 2 GB message within the progress bar's int range.
            self.progress_bar.setRange(0, max(1, progress.total // 1024))
            self.progress_bar.setValue(progress.sent // 1024)

    @Slot(object)
    def _on_sent(self, result: SendResult) -> None:
        self._finish()
        if not result.refused:
            # Clear what was sent; keep it when some recipients still need it.
            self._clear_fields()
            self.identity.start(self._current_account())
        self.show_status(result.summary)
        self.send_finished.emit(True)

    @Slot(object)
    def _on_failed(self, error: SendError) -> None:
        self._finish()
        self.show_status(error.message)
        self.send_finished.emit(False)

    @Slot()
    def _on_run_finished(self) -> None:
        self._run = None

    def _finish(self) -> None:
        self._worker = None
        self._set_sending(False)

    # --- other actions --------------------------------------------------------------------

    @Slot()
    def new_message(self) -> None:
        """Clear the form, keeping the chosen account; what was typed can be restored."""
        if self.is_sending():
            return
        draft = self.draft()
        self._clear_fields()
        self.identity.start(self._current_account())
        fresh = self.draft()
        if draft != fresh:
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
        self._discarded = None if current.is_empty() else current
        self.action_restore.setEnabled(self._discarded is not None)
        self.show_status("Previous message restored.")

    def _clear_fields(self) -> None:
        for edit in (self.to, self.cc, self.bcc, self.subject):
            edit.clear()
        self.body.clear()
        self._carried = ("", ())
        self.identity.forget()
        self.attachment_list.set_attachments(())
        self.to.setFocus()

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
        problems = self.attachment_list.add_files(paths)
        if problems:
            self.show_status("Could not attach: " + "; ".join(problems) + ".")

    @Slot()
    def show_source(self) -> None:
        """The message as it will be sent, built off the GUI thread."""
        account = self._current_account()
        if account is not None:
            self._run_task(message_source_job(self.draft(), account), self._on_source_ready)

    def _on_source_ready(self, text: object) -> None:
        dialog = SourceDialog(str(text), self)
        dialog.save_requested.connect(self.save_eml)
        dialog.open()

    @Slot()
    def save_eml(self) -> None:
        account = self._current_account()
        if account is None:
            return
        name = (self.subject.text().strip() or "message").replace("/", "-")[:80]
        path, _ = QFileDialog.getSaveFileName(
            self, "Save as .eml", str(Path.home() / f"{name}.eml"), "Email message (*.eml)"
        )
        if path:
            self._run_task(
                save_eml_job(self.draft(), account, Path(path)),
                lambda _: self.show_status(f"Saved as {path}."),
            )

    def _run_task(self, job: Callable[[], object], done: Callable[[object], None]) -> None:
        run = WorkerThread(self, TaskWorker(job))
        run.succeeded.connect(done)
        run.failed.connect(lambda error: self.show_status(str(error)))
        self._tasks.append(run)
        run.finished.connect(lambda: self._tasks.remove(run))

    @Slot()
    def open_about(self) -> None:
        from composer.ui.about_dialog import AboutDialog

        AboutDialog(self).open()

    @Slot()
    def open_accounts(self) -> None:
        # Imported on first use, to keep the window's start-up short.
        from composer.ui.accounts_dialog import AccountsDialog

        dialog = AccountsDialog(self._context, self)
        dialog.finished.connect(lambda _result: self._fill_accounts())
        dialog.open()

    @Slot(int)
    def _on_account_chosen(self, _index: int) -> None:
        account = self._current_account()
        if account is not None:
            self._context.remember_last_used(account.id)
        self.identity.switch(account)

    # --- Qt overrides ---------------------------------------------------------------------

    def event(self, event: QEvent) -> bool:
        # Hovering a menu item sends an empty status tip that would wipe the outcome of a send.
        if event.type() == QEvent.Type.StatusTip:
            return True
        return super().event(event)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if self._context.warnings and not self._warned:
            self._warned = True
            box = QMessageBox(
                QMessageBox.Icon.Warning,
                "Composer",
                "\n\n".join(self._context.warnings),
                QMessageBox.StandardButton.Ok,
                self,
            )
            box.setObjectName("startupWarning")
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        for run in [self._run, *self._tasks]:
            if run is not None:
                run.stop()
        self._context.detach()
        super().closeEvent(event)

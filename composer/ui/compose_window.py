"""The compose window: From, To, Cc, Bcc, Subject, Body, and sending in the background."""

from __future__ import annotations

import functools
import logging

from PySide6.QtCore import QEvent, Qt, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from composer.context import AppContext
from composer.mail.delivery import Delivery
from composer.mail.draft import Draft
from composer.mail.errors import SendError
from composer.mail.transport import Progress, SendResult
from composer.ui.about_dialog import AboutDialog
from composer.ui.accounts_dialog import AccountsDialog
from composer.ui.icons import app_icon, icon
from composer.ui.naming import named
from composer.ui.send_worker import DeliveryWorker, WorkerThread

log = logging.getLogger(__name__)


class ComposeWindow(QMainWindow):
    """One message being written.

    Signals:
        send_finished(bool): a send ended; True when at least one recipient got the message.
    """

    send_finished = Signal(bool)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        context.attach()
        self._warned = False
        self._worker: DeliveryWorker | None = None
        self._run: WorkerThread | None = None
        self._cancelling = False
        self._discarded: Draft | None = None
        self.setObjectName("composerWindow")
        self.setWindowIcon(app_icon())
        self.resize(760, 620)
        self._build_fields()
        self._build_actions()
        self._fill_accounts()
        self.subject.textChanged.connect(self._update_title)
        self._update_title()
        self.show_status(" ".join(context.warnings) or "Ready.")

    # --- building -------------------------------------------------------------------------

    def _build_fields(self) -> None:
        self.from_account = named("fromAccount", QComboBox())
        self.from_account.setAccessibleName("From")
        self.from_account.currentIndexChanged.connect(self._on_account_chosen)
        self.to = self._line_edit("to", "To", "Ann Lee <ann@example.org>, bob@example.net")
        self.cc = self._line_edit("cc", "Cc", "")
        self.bcc = self._line_edit("bcc", "Bcc", "Hidden from the other recipients")
        self.subject = self._line_edit("subject", "Subject", "")
        self.body = named("body", QTextEdit())
        self.body.setAcceptRichText(False)
        self.body.setAccessibleName("Message body")
        self.body.setTabChangesFocus(False)

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
        layout.addWidget(self.body, 1)
        self.setCentralWidget(central)

    def _line_edit(self, name: str, accessible: str, placeholder: str) -> QLineEdit:
        edit = named(name, QLineEdit())
        edit.setAccessibleName(accessible)
        edit.setPlaceholderText(placeholder)
        edit.setClearButtonEnabled(False)
        return edit

    def _build_actions(self) -> None:
        self.action_send = self._action("actionSend", "&Send", "mail-send", "send", "Ctrl+Return")
        self.action_send.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.action_send.triggered.connect(self.start_send)
        self.action_cancel = self._action(
            "actionCancelSend", "&Cancel Sending", "process-stop", "cancel", ""
        )
        self.action_cancel.setEnabled(False)
        self.action_cancel.triggered.connect(self.cancel_send)
        self.action_new = self._action(
            "actionNew", "&New Message", "document-new", "new", QKeySequence.StandardKey.New
        )
        self.action_new.triggered.connect(self.new_message)
        self.action_restore = self._action(
            "actionRestorePrevious", "&Restore Previous Message", "edit-undo", "", ""
        )
        self.action_restore.setEnabled(False)
        self.action_restore.triggered.connect(self.restore_previous)
        self.action_accounts = self._action(
            "actionAccounts", "SMTP &Accounts…", "system-users", "accounts", ""
        )
        self.action_accounts.triggered.connect(self.open_accounts)
        quit_action = self._action(
            "actionQuit", "&Quit", "application-exit", "", QKeySequence.StandardKey.Quit
        )
        quit_action.triggered.connect(self.close)

        message_menu = self.menuBar().addMenu("&Message")
        for action in (self.action_new, self.action_restore, self.action_send, self.action_cancel):
            message_menu.addAction(action)
        message_menu.addSeparator()
        message_menu.addAction(quit_action)
        self.menuBar().addMenu("&Settings").addAction(self.action_accounts)
        about = self._action("actionAbout", "&About Composer", "help-about", "composer", "")
        about.setMenuRole(QAction.MenuRole.AboutRole)
        about.triggered.connect(lambda: AboutDialog(self).open())
        self.menuBar().addMenu("&Help").addAction(about)

        toolbar = self.addToolBar("Compose")
        toolbar.setObjectName("composeToolBar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in (self.action_send, self.action_cancel, self.action_new):
            toolbar.addAction(action)
        toolbar.addSeparator()
        toolbar.addAction(self.action_accounts)

    def _action(
        self,
        name: str,
        text: str,
        theme: str,
        fallback: str,
        shortcut: str | QKeySequence.StandardKey,
    ) -> QAction:
        action = QAction(icon(theme, fallback), text, self)
        action.setObjectName(name)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        return action

    # --- state ----------------------------------------------------------------------------

    def draft(self) -> Draft:
        """The message exactly as typed."""
        return Draft(
            account_id=str(self.from_account.currentData() or ""),
            to=self.to.text(),
            cc=self.cc.text(),
            bcc=self.bcc.text(),
            subject=self.subject.text(),
            body=self.body.toPlainText(),
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
        self.body.setPlainText(draft.body)

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

    def _update_title(self) -> None:
        subject = self.subject.text().strip() or "New Message"
        self.setWindowTitle(f"{subject} — Composer")

    def _set_sending(self, sending: bool) -> None:
        # The fields stay selectable and scrollable but cannot change under a running send,
        # so what is cleared after success is exactly what was sent.
        for edit in (self.to, self.cc, self.bcc, self.subject):
            edit.setReadOnly(sending)
        self.body.setReadOnly(sending)
        self.from_account.setEnabled(not sending)
        self.action_send.setEnabled(not sending)
        self.action_new.setEnabled(not sending)
        self.action_restore.setEnabled(not sending and self._discarded is not None)
        self.action_cancel.setEnabled(sending)

    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text)

    # --- slots ----------------------------------------------------------------------------

    @Slot()
    def start_send(self) -> None:
        """Check the form, then send it on a worker thread."""
        if self.is_sending():
            return
        draft = self.draft()
        account = self._context.account(draft.account_id)
        if account is None:
            self.show_status("Choose an account in From, or add one in SMTP Accounts.")
            return
        if not draft.has_recipients():
            self.show_status("Add at least one recipient in To, Cc or Bcc before sending.")
            self.to.setFocus()
            return
        invalid = draft.invalid_addresses()
        if invalid:
            self.show_status(
                f"These addresses are not valid: {', '.join(invalid)}. Correct them and send again."
            )
            return
        if not draft.subject.strip() and not self._confirm_empty_subject():
            self.show_status("Not sent: add a subject, or send again and confirm.")
            self.subject.setFocus()
            return
        self._context.remember_last_used(account.id)
        make = functools.partial(Delivery, account, self._context.secrets, self._context.sandbox)
        worker = DeliveryWorker(make, lambda delivery: delivery.send(draft))
        worker.progressed.connect(self._on_progress)
        worker.succeeded.connect(self._on_sent)
        worker.failed.connect(self._on_failed)
        self._worker, self._cancelling = worker, False
        self._set_sending(True)
        self.show_status(f"Sending through {account.name}…")
        self._run = WorkerThread(self, worker)
        self._run.finished.connect(self._on_run_finished)

    @Slot()
    def cancel_send(self) -> None:
        if self._worker is not None:
            self._cancelling = True
            self.show_status("Cancelling…")
            self._worker.cancel()

    @Slot()
    def new_message(self) -> None:
        """Clear the form, keeping the chosen account; what was typed can be restored."""
        if self.is_sending():
            return
        draft = self.draft()
        self._clear_fields()
        if not draft.is_empty():
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
        has_text = not current.is_empty()
        self._discarded = current if has_text else None
        self.action_restore.setEnabled(has_text)
        self.show_status("Previous message restored.")

    def _clear_fields(self) -> None:
        for edit in (self.to, self.cc, self.bcc, self.subject):
            edit.clear()
        self.body.clear()
        self.to.setFocus()

    @Slot()
    def open_accounts(self) -> None:
        dialog = AccountsDialog(self._context, self)
        dialog.finished.connect(lambda _result: self._fill_accounts())
        dialog.open()

    def _confirm_empty_subject(self) -> bool:
        answer = QMessageBox.question(
            self,
            "Send without a subject?",
            "This message has no subject. Send it anyway?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    @Slot(int)
    def _on_account_chosen(self, _index: int) -> None:
        account_id = self.from_account.currentData()
        if account_id:
            self._context.remember_last_used(str(account_id))

    @Slot(object)
    def _on_progress(self, progress: Progress) -> None:
        if self._worker is not None and not self._cancelling:
            self.show_status(progress.text)

    @Slot(object)
    def _on_sent(self, result: SendResult) -> None:
        self._finish()
        self.show_status(result.summary)
        if not result.refused:
            # Clear what was sent; keep it when some recipients still need it.
            self._clear_fields()
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
        if self._run is not None:
            self._run.stop()
        self._context.detach()
        super().closeEvent(event)

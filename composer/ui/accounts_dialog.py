"""The SMTP Accounts dialog: edit accounts, test a connection, store passwords in the keyring."""

from __future__ import annotations

import dataclasses
from concurrent.futures import Future

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from composer.context import AppContext
from composer.mail.accounts import Account, Security, without_unused_certificate
from composer.mail.autoconfig import Discovery
from composer.mail.errors import ErrorKind, SendError
from composer.mail.files import describe_write_error
from composer.mail.lock import LockTimeout
from composer.mail.mailbox_copy import imap_secret_key
from composer.mail.oauth import oauth_secret_key
from composer.mail.progress import Progress
from composer.mail.transcript import Transcript
from composer.send_service import SendService
from composer.sign_in import resume_held
from composer.tasks import Task
from composer.ui.account_form import AccountForm
from composer.ui.account_secrets import (
    KeyringOutcome,
    SecretDelete,
    SecretWrite,
    keep_refused,
    not_deleted_text,
    write_secrets,
)
from composer.ui.account_sign_in import AccountSignIn
from composer.ui.certificate_trust import CertificateTrust
from composer.ui.naming import named
from composer.ui.server_search import ServerSearch, with_found
from composer.ui.text_view import TextViewDialog


class AccountsDialog(QDialog):
    """Edits a copy of the accounts; Save stores them, Cancel forgets every change.

    Deleted when closed, so that no password typed here stays in memory afterwards.

    Signals:
        warned(str): something the user must know after the dialog has closed (a password
            that could not be deleted from the keyring).
        signed_in(str): an account (its id) was signed in with its provider and saved.
    """

    warned = Signal(str)
    signed_in = Signal(str)

    def __init__(
        self, context: AppContext, sending: SendService, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._context = context
        self._sending = sending
        self._accounts: list[Account] = list(context.settings.accounts)
        self._default_id = context.settings.default_id
        self._passwords: dict[str, str] = {}
        self._imap_passwords: dict[str, str] = {}  # typed on the Sent Copy tab
        self._removed: dict[str, str] = {}
        self._before: tuple[Account, ...] = ()  # the accounts as they were when Save began
        self._check: Task | None = None
        self._saving: Task | None = None  # Save, while it writes
        self._check_cancelled = False
        # The conversation of the connection check under way, and of the last one ended.
        self._recording: Transcript | None = None
        self._transcript: Transcript | None = None
        self._checked_id = ""  # the account the running (or last) connection test is for
        # Accounts just signed in whose connection is checked once they are shown, and the
        # one whose running check was started so.
        self._checks_wanted: set[str] = set()
        self._checking_sign_in = ""
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setObjectName("accountsDialog")
        self.setWindowTitle("SMTP Accounts")
        self.resize(720, 460)
        self._build()
        for account in self._accounts:
            self.account_list.addItem(account.name)
        self.account_list.setCurrentRow(0 if self._accounts else -1)
        self._load_current()

    # --- building -------------------------------------------------------------------------

    def _build(self) -> None:
        self.account_list = named("accountList", QListWidget())
        self.account_list.setAccessibleName("Accounts")
        self.account_list.currentRowChanged.connect(lambda _row: self._load_current())
        add = named("addAccount", QPushButton("&Add"))
        add.clicked.connect(self.add_account)
        self.remove_button = named("removeAccount", QPushButton("&Remove"))
        self.remove_button.clicked.connect(self.remove_account)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(self.remove_button)
        left = QVBoxLayout()
        left.addWidget(self.account_list, 1)
        left.addLayout(buttons)

        self.form = AccountForm()
        self.form.edited.connect(self._store_fields)
        self.form.password_edited.connect(self._store_password)
        self.form.sent_copy.password_edited.connect(self._store_imap_password)
        # Once the new row is laid out, so that its height is known.
        self.form.needs_room.connect(self._fit_soon)
        self.search = ServerSearch(self.form, self._sending, self)
        self.search.found.connect(self._on_found)
        self.form.auto_configure.clicked.connect(self.auto_configure)
        self.form.auto_configure_cancel.clicked.connect(self.search.cancel)
        self.sign_ins = AccountSignIn(self.form, self._context, self._sending, self.current, self)
        self.sign_ins.signed_in.connect(self.signed_in)
        self.sign_ins.check_requested.connect(self._on_check_requested)

        # The default account and the connection test are the dialog's, but sit with the fields.
        self.default_box = named("defaultAccount", QCheckBox("Use for new messages"))
        self.default_box.toggled.connect(self._on_default_toggled)
        self.test_button = named("testConnection", QPushButton("&Test Connection"))
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = named("connectionResult", QLabel(wordWrap=True))
        # Server replies are quoted here: never let them be read as rich text.
        self.test_result.setTextFormat(Qt.TextFormat.PlainText)
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Its own button rather than the test button turned into one: a click meant for
        # Test Connection just as the test ends must not cancel the next one.
        self.test_cancel_button = named("testCancelButton", QPushButton("Cancel Test"))
        self.test_cancel_button.clicked.connect(self.cancel_test)
        self.test_cancel_button.hide()
        self.form.add_server_row("Default:", self.default_box)
        self.form.add_server_row(self.test_button, self.test_result)
        self.form.add_server_row("", self.test_cancel_button)
        self._build_transcript_row()
        self.certificate = CertificateTrust()
        self.certificate.trusted.connect(self._trust_certificate)
        self.certificate.forgotten.connect(self._forget_certificate)
        self.form.add_server_row("", self.certificate)

        self.hint = named("accountsHint", QLabel(wordWrap=True))
        # Account names and file-system errors are quoted here.
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        self.button_box = box = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        columns = QHBoxLayout()
        columns.addLayout(left, 1)
        columns.addWidget(self.form, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(columns, 1)
        layout.addWidget(self.hint)
        layout.addWidget(box)

    # --- the selected account ---------------------------------------------------------------

    def current(self) -> Account | None:
        row = self.account_list.currentRow()
        return self._accounts[row] if 0 <= row < len(self._accounts) else None

    def _load_current(self) -> None:
        account = self.current()
        self.form.setEnabled(account is not None)
        self.remove_button.setEnabled(account is not None)
        self.test_result.clear()
        self.search.forget()
        self._forget_transcript()
        self.certificate.show_account(account)
        if account is None:
            self.hint.setText(
                "No accounts yet: messages go to the Local sandbox on this computer. To send "
                "real mail, press Add, type your email address and press Find Settings."
            )
            return
        self.hint.setText(
            "Passwords and sign-ins are kept in your system keyring, never in a file."
        )
        self.form.load(
            account,
            saved=self._context.settings.find(account.id) is not None,
            typed_password=self._passwords.get(account.id, ""),
            typed_imap_password=self._imap_passwords.get(account.id, ""),
        )
        self.sign_ins.show(account)
        # Showing which account is the default is not choosing it.
        with QSignalBlocker(self.default_box):
            self.default_box.setChecked(account.id == self._effective_default())
        self._start_wanted_check()

    def _replace_current(self, account: Account) -> None:
        row = self.account_list.currentRow()
        self._accounts[row] = account
        self.account_list.item(row).setText(account.name or "(unnamed)")

    @Slot()
    def _store_fields(self) -> None:
        account = self.current()
        if account is not None:
            # The login offered follows the address and host; the account follows the login.
            self.sign_ins.show(self.form.apply(account))
            edited = without_unused_certificate(self.form.apply(account))
            self._replace_current(edited)
            if edited.security is Security.NONE and account.security is not Security.NONE:
                self.certificate.show_account(edited)  # the trust forgotten, or an offer

    @Slot(str)
    def _store_password(self, text: str) -> None:
        account = self.current()
        if account is not None:
            self._passwords[account.id] = text

    @Slot(str)
    def _store_imap_password(self, text: str) -> None:
        account = self.current()
        if account is not None:
            self._imap_passwords[account.id] = text

    @Slot(bool)
    def _on_default_toggled(self, checked: bool) -> None:
        account = self.current()
        if account is None:
            return
        if checked:
            self._default_id = account.id
        elif self._default_id == account.id:
            self._default_id = ""

    def _effective_default(self) -> str:
        ids = [a.id for a in self._accounts]
        return self._default_id if self._default_id in ids else (ids[0] if ids else "")

    # --- actions --------------------------------------------------------------------------

    @Slot()
    def add_account(self) -> None:
        account = Account(name=f"Account {len(self._accounts) + 1}")
        self._accounts.append(account)
        self.account_list.addItem(account.name)
        self.account_list.setCurrentRow(len(self._accounts) - 1)
        self.form.account_name.setFocus()
        self.form.account_name.selectAll()

    @Slot()
    def remove_account(self) -> None:
        row = self.account_list.currentRow()
        if row < 0:
            return
        removed = self._accounts.pop(row)
        self._removed[removed.id] = removed.name
        self._passwords.pop(removed.id, None)
        self._imap_passwords.pop(removed.id, None)
        self.sign_ins.forget(removed.id)
        self.account_list.takeItem(row)
        self._load_current()

    @Slot()
    def test_connection(self) -> None:
        account = self.current()
        if account is not None and self._check is None:
            self._start_check(account)

    def _start_check(self, account: Account) -> bool:
        """Check account's connection; False when it cannot be (fields missing)."""
        problems = account.problems()
        if problems:
            self.test_result.setText(f"Enter {', '.join(problems)} first.")
            return False
        # The mail layer would say to sign in "again", which reads wrong for an account
        # never signed in; the Sign In button is right here.
        first = self.sign_ins.not_signed_in(account)
        if first:
            self.test_result.setText(first)
            return False
        typed = self._passwords.get(account.id) or None
        self._forget_transcript()
        self._recording = Transcript()
        self._checked_id = account.id
        self._check = task = self._sending.check(account, typed, transcript=self._recording)
        task.succeeded.connect(self._on_check_ended)
        task.failed.connect(self._on_check_ended)
        task.progressed.connect(self._on_test_progress)
        task.succeeded.connect(self._on_test_done)
        task.failed.connect(self._on_test_done)
        self._check_cancelled = False
        self.test_button.setEnabled(False)
        self.test_cancel_button.setEnabled(True)
        self.test_cancel_button.show()
        self.test_result.setText(f"Connecting to {account.host}…")
        return True

    @Slot()
    def cancel_test(self) -> None:
        """Stop a running connection test; its outcome then says it was cancelled."""
        if self._check is None:
            return
        self._check_cancelled = True
        self._check.cancel()  # returns at once; the outcome follows within a moment
        self.test_cancel_button.setEnabled(False)
        self.test_result.setText("Cancelling the test…")

    @Slot(object)
    def _on_test_progress(self, progress: Progress) -> None:
        if not self._check_cancelled:
            self.test_result.setText(progress.text)

    @Slot(object)
    def _on_test_done(self, outcome: str | SendError) -> None:
        self._check = None
        self.test_button.setEnabled(True)
        self.test_cancel_button.hide()
        if self._check_cancelled and isinstance(outcome, SendError):
            self.test_result.setText("Test cancelled.")
        else:
            self.test_result.setText(str(outcome))
        signed_in, self._checking_sign_in = self._checking_sign_in, ""
        if (
            signed_in
            and not self._check_cancelled
            and isinstance(outcome, SendError)
            and outcome.kind in (ErrorKind.AUTH_FAILED, ErrorKind.SIGN_IN_NEEDED)
        ):
            self.sign_ins.refused(signed_in)
        self._offer_certificate(outcome)
        self._fit_soon()
        self._start_wanted_check()

    @Slot(str)
    def _on_check_requested(self, account_id: str) -> None:
        self._checks_wanted.add(account_id)
        self._start_wanted_check()

    def _start_wanted_check(self) -> None:
        """Check the connection of the account shown if it was just signed in, as Test
        Connection does: the server's answer is the only proof of who signed in."""
        account = self.current()
        if account is None or account.id not in self._checks_wanted or self._check is not None:
            return
        self._checks_wanted.discard(account.id)
        if self._start_check(account):
            self._checking_sign_in = account.id

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self._fit_soon()  # the warning an account opened with, say

    @Slot()
    def _fit_soon(self) -> None:
        # Once the new text is laid out: a label's new height is known only then.
        QTimer.singleShot(0, self, self._fit_contents)  # not once deleted

    def _fit_contents(self) -> None:
        """Grow to show a long result whole: wrapped labels do not ask for room themselves."""
        layout = self.layout()
        if layout is None:
            return
        layout.activate()
        # Never past the screen, where Save could not be reached.
        room = self.screen().availableGeometry()
        hint = self.sizeHint()
        width = min(max(self.width(), hint.width()), room.width())
        height = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else -1
        height = min(max(self.height(), hint.height(), height), room.height())
        self.resize(width, height)
        frame = self.frameGeometry()
        if not room.contains(frame):
            frame.moveBottom(min(frame.bottom(), room.bottom()))
            frame.moveTop(max(frame.top(), room.top()))
            frame.moveRight(min(frame.right(), room.right()))
            frame.moveLeft(max(frame.left(), room.left()))
            self.move(frame.topLeft())

    def _offer_certificate(self, outcome: str | SendError) -> None:
        account = self.current()
        if isinstance(outcome, SendError) and account and account.id == self._checked_id:
            self.certificate.offer(outcome)

    @Slot(str)
    def _trust_certificate(self, fingerprint: str) -> None:
        account = self.current()
        if account is not None:
            self._replace_current(dataclasses.replace(account, trusted_certificate=fingerprint))

    @Slot()
    def _forget_certificate(self) -> None:
        account = self.current()
        if account is not None:
            self._replace_current(dataclasses.replace(account, trusted_certificate=""))
            self.certificate.show_account(self.current())

    # --- Find Settings ---------------------------------------------------------------------

    @Slot()
    def auto_configure(self) -> None:
        """Look for the current account's servers from its address, in the background."""
        account = self.current()
        if account is not None:
            self.search.start(account.id)

    @Slot(str, object)
    def _on_found(self, account_id: str, found: Discovery) -> None:
        account = self.current()
        if account is None or account.id != account_id:
            return
        account = with_found(account, found)
        self._replace_current(account)
        self.form.load(
            account,
            saved=self._context.settings.find(account.id) is not None,
            typed_password=self._passwords.get(account.id, ""),
            typed_imap_password=self._imap_passwords.get(account.id, ""),
        )
        self.sign_ins.show(account)
        self.certificate.show_account(account)

    # --- the SMTP transcript of a check ----------------------------------------------------

    def _build_transcript_row(self) -> None:
        self.transcript_button = named("showTranscriptButton", QPushButton("Show T&ranscript…"))
        self.transcript_button.setToolTip(
            "The whole conversation with the server, passwords hidden, to copy for your provider"
        )
        self.transcript_button.setEnabled(False)
        self.transcript_button.clicked.connect(self.show_transcript)
        self.form.add_server_row("", self.transcript_button)

    @Slot(object)
    def _on_check_ended(self, _outcome: object) -> None:
        # None when the account shown has changed since: that transcript is not this one's.
        if self._recording is not None:
            self._transcript, self._recording = self._recording, None
            self.transcript_button.setEnabled(True)

    def _forget_transcript(self) -> None:
        self._recording = self._transcript = None
        self.transcript_button.setEnabled(False)

    @Slot()
    def show_transcript(self) -> None:
        if self._transcript is None:
            return
        text = self._transcript.text() or "Nothing was said: no connection was made."
        dialog = TextViewDialog("transcriptDialog", "SMTP Transcript", "transcriptView", text, self)
        dialog.open()

    def accept(self) -> None:
        if self._saving is not None:
            return
        for row, account in enumerate(self._accounts):
            problems = account.problems()
            if problems:
                self.account_list.setCurrentRow(row)
                self.hint.setText(f"Account “{account.name}” needs {', '.join(problems)}.")
                return
        accounts, default_id = tuple(self._accounts), self._effective_default()
        self._before = self._context.settings.accounts
        saved = self._context.save_settings(
            lambda current: dataclasses.replace(current, accounts=accounts, default_id=default_id)
        )
        # Written on the writer thread, which may wait seconds for another Composer's write;
        # the outcome comes back here, and the dialog answers meanwhile.
        self._saving = task = self._sending.run(lambda: _written(saved))
        task.succeeded.connect(self._on_saved)
        task.failed.connect(self._on_saved)
        self._show_saving(True)
        self.hint.setText("Saving…")

    @Slot(object)
    def _on_saved(self, outcome: object) -> None:
        self._saving = None
        self._show_saving(False)
        if outcome is not None:  # the OSError, or the SendError of an unexpected failure
            self.hint.setText(self._not_saved(outcome))
            return
        self.sign_ins.withdraw(self._accounts, self._before)
        writes = [*self._password_writes(), *self.sign_ins.writes(self._accounts)]
        deletes = [
            SecretDelete(key, name)
            for account_id, name in self._removed.items()
            for key in (account_id, imap_secret_key(account_id))
        ]
        if not writes and not deletes:
            self._on_secrets_written(KeyringOutcome())
            return
        secrets, outbox = self._context.secrets, self._context.outbox
        signed_in = self.sign_ins.signing_in()

        def job() -> object:
            outcome = write_secrets(secrets, writes, deletes)
            # Once their sign-in is where sends look for it; one the keyring refused waits
            # for the user's answer (kept for this session, or not kept at all).
            refused = {write.key for write, _ in outcome.refused}
            resume_held(outbox, (i for i in signed_in if oauth_secret_key(i) not in refused))
            return outcome

        # A keyring may take seconds (a locked collection asks to be unlocked): waited for
        # on a worker, with the dialog answering meanwhile.
        self._saving = task = self._sending.run(job)
        task.succeeded.connect(self._on_secrets_written)
        task.failed.connect(self._on_secrets_written)
        self._show_saving(True)
        self.hint.setText("Saving passwords and sign-ins in the system keyring…")

    def _password_writes(self) -> list[SecretWrite]:
        writes: list[SecretWrite] = []
        for account in self._accounts:
            # An account that signs in has no use for an SMTP password typed before.
            smtp_password = "" if account.oauth else self._passwords.get(account.id)
            for key, typed in (
                (account.id, smtp_password),
                (imap_secret_key(account.id), self._imap_passwords.get(account.id)),
            ):
                if typed:
                    writes.append(SecretWrite(key, typed, account.name, "password"))
        return writes

    @Slot(object)
    def _on_secrets_written(self, outcome: object) -> None:
        self._saving = None
        self._show_saving(False)
        if not isinstance(outcome, KeyringOutcome):  # a fault in Composer: said, and logged
            self.warned.emit(f"The passwords could not all be stored: {outcome}")
            outcome = KeyringOutcome()
        for delete, why in outcome.not_deleted:
            self.warned.emit(not_deleted_text(self._context.secrets, delete, why))
        kept = keep_refused(self, self._context.secrets, outcome)
        self.sign_ins.saved(
            refused={write.key for write, _ in outcome.refused}, kept={write.key for write in kept}
        )
        super().accept()

    def sign_in_again(self, account_id: str) -> None:
        """Show the account account_id and start its sign-in in the browser at once."""
        rows = [i for i, a in enumerate(self._accounts) if a.id == account_id]
        if not rows:
            self.hint.setText("That account is no longer set up.")
            return
        self.account_list.setCurrentRow(rows[0])
        self.form.setCurrentIndex(0)  # the Server tab, where the sign-in is
        account = self.current()
        if account is not None and account.oauth:
            self.sign_ins.start(account)

    def _not_saved(self, error: object) -> str:
        where = f"Could not save the accounts in {self._context.paths.settings_file}"
        if isinstance(error, LockTimeout):
            return (
                f"{where}: another Composer is saving its settings; try again in a moment. "
                "What you entered is still here."
            )
        if isinstance(error, OSError):
            return (
                f"{where}: {describe_write_error(error)}. What you entered is still here; free "
                "some space or check the folder, then Save again."
            )
        return f"{where}: {error} What you entered is still here."

    def _show_saving(self, saving: bool) -> None:
        """Nothing can be changed while Save is writing: what is written is what was shown."""
        editable = not saving
        self.button_box.setEnabled(editable)
        self.account_list.setEnabled(editable)
        add = self.findChild(QPushButton, "addAccount")
        if add is not None:
            add.setEnabled(editable)
        self.remove_button.setEnabled(editable and self.current() is not None)
        self.form.setEnabled(editable and self.current() is not None)

    def done(self, result: int) -> None:
        if self._saving is not None:
            return  # Escape or the close button while Save writes: its outcome decides
        self.search.forget()
        self.sign_ins.discard()  # after Save, only what was not saved
        if self._check is not None:
            # The check ends on its own within a moment; its outcome no longer matters here.
            self._check.cancel()
            self._check = None
        super().done(result)


def _written(saved: Future[None]) -> OSError | None:
    """Wait (on a worker thread) for the settings to be written; the OSError if they were not."""
    try:
        saved.result()
    except OSError as error:
        return error
    return None

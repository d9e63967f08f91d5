"""The SMTP Accounts dialog: edit accounts, test a connection, store passwords in the keyring."""

from __future__ import annotations

import dataclasses
import functools

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from composer.context import AppContext
from composer.mail.accounts import Account, AccountSettings, Security
from composer.mail.delivery import Delivery
from composer.mail.errors import SendError
from composer.mail.secrets import KeyringUnavailable
from composer.ui.naming import named
from composer.ui.rich_text import document_parts
from composer.ui.send_worker import DeliveryWorker, WorkerThread

_SECURITIES = (Security.SSL_TLS, Security.STARTTLS, Security.NONE)
_MB = 1000 * 1000


class AccountsDialog(QDialog):
    """Edits a copy of the accounts; Save stores them, Cancel forgets every change."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._accounts: list[Account] = list(context.settings.accounts)
        self._default_id = context.settings.default_id
        self._passwords: dict[str, str] = {}
        self._removed: set[str] = set()
        self._worker: DeliveryWorker | None = None
        self._run: WorkerThread | None = None
        self._loading = False
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

        self.account_name = named("accountName", QLineEdit())
        self.display_name = named("displayName", QLineEdit())
        self.email = named("email", QLineEdit(placeholderText="you@example.org"))
        self.host = named("host", QLineEdit(placeholderText="smtp.example.org"))
        self.port = named("port", QSpinBox(minimum=1, maximum=65535))
        self.security = named("security", QComboBox())
        for security in _SECURITIES:
            self.security.addItem(security.label, security)
        self.username = named("username", QLineEdit())
        self.password = named("password", QLineEdit())
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.timeout = named("timeout", QSpinBox(minimum=1, maximum=600, suffix=" s"))
        self.default_box = named("defaultAccount", QCheckBox("Use for new messages"))
        self.test_button = named("testConnection", QPushButton("&Test Connection"))
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = named("connectionResult", QLabel(wordWrap=True))
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.size_limit = named("sizeLimit", QSpinBox(minimum=0, maximum=2000, suffix=" MB"))
        self.size_limit.setSpecialValueText("No limit")
        self.size_limit.setToolTip("Messages larger than this are refused before sending.")
        self.reply_to = named("replyTo", QLineEdit(placeholderText="Answers go to this address"))
        self.default_cc = named("defaultCc", QLineEdit())
        self.default_bcc = named("defaultBcc", QLineEdit())
        self.signature = named("signature", QTextEdit())
        self.signature.setAccessibleName("Signature")
        self.signature.setPlaceholderText("Added below “-- ” in new messages; paste to format")

        server = QWidget()
        form = QFormLayout(server)
        server_fields: tuple[tuple[str, QWidget], ...] = (
            ("Account &name:", self.account_name),
            ("Your na&me:", self.display_name),
            ("&Email address:", self.email),
            ("SMTP &host:", self.host),
            ("&Port:", self.port),
            ("&Security:", self.security),
            ("&User name:", self.username),
            ("Pass&word:", self.password),
            ("T&imeout:", self.timeout),
            ("Size &limit:", self.size_limit),
            ("Default:", self.default_box),
        )
        for label, field in server_fields:
            form.addRow(label, field)
        form.addRow(self.test_button, self.test_result)
        identity = QWidget()
        extras = QFormLayout(identity)
        identity_fields: tuple[tuple[str, QWidget], ...] = (
            ("&Reply-To:", self.reply_to),
            ("Always &Cc:", self.default_cc),
            ("Always &Bcc:", self.default_bcc),
            ("Si&gnature:", self.signature),
        )
        for label, field in identity_fields:
            extras.addRow(label, field)
        self.form_widget = named("accountTabs", QTabWidget())
        self.form_widget.addTab(server, "Server")
        self.form_widget.addTab(identity, "Identity")

        for edit in (
            self.account_name,
            self.display_name,
            self.email,
            self.host,
            self.username,
            self.reply_to,
            self.default_cc,
            self.default_bcc,
        ):
            edit.textChanged.connect(self._store_fields)
        self.signature.textChanged.connect(self._store_fields)
        self.password.textChanged.connect(self._store_password)
        self.port.valueChanged.connect(self._store_fields)
        self.timeout.valueChanged.connect(self._store_fields)
        self.size_limit.valueChanged.connect(self._store_fields)
        self.security.currentIndexChanged.connect(self._on_security_changed)
        self.default_box.toggled.connect(self._on_default_toggled)

        self.hint = named("accountsHint", QLabel(wordWrap=True))
        self.button_box = box = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        columns = QHBoxLayout()
        columns.addLayout(left, 1)
        columns.addWidget(self.form_widget, 2)
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
        self.form_widget.setEnabled(account is not None)
        self.remove_button.setEnabled(account is not None)
        self.test_result.clear()
        if account is None:
            self.hint.setText(
                "No accounts yet: messages go to the Local sandbox on this computer. Add the "
                "SMTP account of your mail provider to send real mail."
            )
            return
        self.hint.setText("Passwords are kept in your system keyring, never in a file.")
        self._loading = True
        self.account_name.setText(account.name)
        self.display_name.setText(account.display_name)
        self.email.setText(account.email)
        self.host.setText(account.host)
        self.security.setCurrentIndex(_SECURITIES.index(account.security))
        self.port.setValue(account.port)
        self.username.setText(account.username)
        self.password.setText(self._passwords.get(account.id, ""))
        self.password.setPlaceholderText(
            "Saved in the keyring; type to replace"
            if self._context.settings.find(account.id)
            else ""
        )
        self.timeout.setValue(account.timeout)
        self.size_limit.setValue(account.size_limit // _MB)
        self.reply_to.setText(account.reply_to)
        self.default_cc.setText(account.default_cc)
        self.default_bcc.setText(account.default_bcc)
        if account.signature_html:
            self.signature.setHtml(account.signature)
        else:
            self.signature.setPlainText(account.signature)
        self.default_box.setChecked(account.id == self._effective_default())
        self._loading = False

    def _replace_current(self, account: Account) -> None:
        row = self.account_list.currentRow()
        self._accounts[row] = account
        self.account_list.item(row).setText(account.name or "(unnamed)")

    @Slot()
    def _store_fields(self) -> None:
        account = self.current()
        if account is None or self._loading:
            return
        signature, is_html = self._signature()
        self._replace_current(
            dataclasses.replace(
                account,
                name=self.account_name.text().strip(),
                display_name=self.display_name.text().strip(),
                email=self.email.text().strip(),
                host=self.host.text().strip(),
                port=self.port.value(),
                security=_SECURITIES[self.security.currentIndex()],
                username=self.username.text(),
                timeout=self.timeout.value(),
                size_limit=self.size_limit.value() * _MB,
                reply_to=self.reply_to.text().strip(),
                default_cc=self.default_cc.text().strip(),
                default_bcc=self.default_bcc.text().strip(),
                signature=signature,
                signature_html=is_html,
            )
        )

    def _signature(self) -> tuple[str, bool]:
        """The signature as typed: HTML when it has formatting, else plain text."""
        parts = document_parts(self.signature.document())
        if parts.formatted:
            return parts.html, True
        return parts.plain.strip("\n"), False

    @Slot(str)
    def _store_password(self, text: str) -> None:
        account = self.current()
        if account is not None and not self._loading:
            self._passwords[account.id] = text

    @Slot(int)
    def _on_security_changed(self, index: int) -> None:
        account = self.current()
        if account is None or self._loading:
            return
        # Follow the conventional port unless the user chose another one.
        defaults = {s.default_port for s in _SECURITIES}
        if self.port.value() in defaults:
            self.port.setValue(_SECURITIES[index].default_port)
        self._store_fields()

    @Slot(bool)
    def _on_default_toggled(self, checked: bool) -> None:
        account = self.current()
        if account is None or self._loading:
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
        self.account_name.setFocus()
        self.account_name.selectAll()

    @Slot()
    def remove_account(self) -> None:
        row = self.account_list.currentRow()
        if row < 0:
            return
        removed = self._accounts.pop(row)
        self._removed.add(removed.id)
        self._passwords.pop(removed.id, None)
        self.account_list.takeItem(row)
        self._load_current()

    @Slot()
    def test_connection(self) -> None:
        account = self.current()
        if account is None or self._worker is not None:
            return
        problems = account.problems()
        if problems:
            self.test_result.setText(f"Enter {', '.join(problems)} first.")
            return
        typed = self._passwords.get(account.id) or None
        make = functools.partial(
            Delivery, account, self._context.secrets, self._context.sandbox, password=typed
        )
        self._worker = DeliveryWorker(make, lambda delivery: delivery.check())
        self._worker.progressed.connect(lambda p: self.test_result.setText(p.text))
        self._worker.succeeded.connect(self._on_test_done)
        self._worker.failed.connect(self._on_test_done)
        self.test_button.setEnabled(False)
        self.test_result.setText(f"Connecting to {account.host}…")
        self._run = WorkerThread(self, self._worker)
        self._run.finished.connect(self._on_run_finished)

    @Slot()
    def _on_run_finished(self) -> None:
        self._run = None

    @Slot(object)
    def _on_test_done(self, outcome: str | SendError) -> None:
        self._worker = None
        self.test_button.setEnabled(True)
        self.test_result.setText(str(outcome))

    def accept(self) -> None:
        for row, account in enumerate(self._accounts):
            problems = account.problems()
            if problems:
                self.account_list.setCurrentRow(row)
                self.hint.setText(f"Account “{account.name}” needs {', '.join(problems)}.")
                return
        settings = AccountSettings(
            tuple(self._accounts),
            default_id=self._effective_default(),
            last_used_id=self._context.settings.last_used_id,
        )
        try:
            self._context.update_settings(settings)
        except OSError as error:
            self.hint.setText(f"Could not save the accounts: {error}.")
            return
        for account_id in self._removed:
            self._context.secrets.delete(account_id)
        for account in self._accounts:
            password = self._passwords.get(account.id)
            if password:
                self._store_secret(account, password)
        super().accept()

    def _store_secret(self, account: Account, password: str) -> None:
        try:
            self._context.secrets.set(account.id, password)
        except KeyringUnavailable as error:
            answer = QMessageBox.question(
                self,
                "No keyring available",
                f"Composer cannot store the password of “{account.name}” safely: {error}.\n\n"
                "Keep it for this session only? It will be forgotten when Composer quits, "
                "and it is never written to a file.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.Yes,
            )
            if answer == QMessageBox.StandardButton.Yes:
                self._context.secrets.keep_for_session(account.id, password)

    def done(self, result: int) -> None:
        if self._run is not None:
            self._run.stop()
        super().done(result)

"""The Sent Copy tab of an account: the IMAP server that keeps a copy of each message sent."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from composer.mail.accounts import Account, Security
from composer.mail.mailbox_copy import copy_wanted
from composer.mail.providers import provider_of
from composer.ui.naming import named
from composer.ui.security_warning import SECURITIES, SecurityWarning, in_clear_elsewhere

_IMAP_PORTS = {Security.SSL_TLS: 993, Security.STARTTLS: 143, Security.NONE: 143}


class SentCopyForm(QWidget):
    """Shows and reads an account's IMAP fields; its IMAP password comes and goes apart.

    Signals:
        edited: the user changed a field that apply() reads.
        password_edited(str): the user changed the IMAP password ("" for the SMTP one).
    """

    edited = Signal()
    password_edited = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loading = False
        self._smtp_host = self._email = ""
        # Whether the user chose, for this account, to copy or not; else the provider's way.
        self._explicit = False
        self.host = named("imapHost", QLineEdit(placeholderText="imap.example.org"))
        self.host.setToolTip("Empty: no copy is put in the mailbox's Sent folder")
        self.port = named("imapPort", QSpinBox(minimum=1, maximum=65535))
        self.security = named("imapSecurity", QComboBox())
        for security in SECURITIES:
            self.security.addItem(security.label, security)
        self.username = named("imapUsername", QLineEdit(placeholderText="Empty: the SMTP one"))
        self.password = named(
            "imapPassword", QLineEdit(placeholderText="Leave empty to use the SMTP password")
        )
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.folder = named(
            "sentFolder", QLineEdit(placeholderText="Empty: the folder the server marks as Sent")
        )
        self.copy = named("copyToSent", QCheckBox("Put a copy of each message sent in it"))
        self.note = named("copyNote", QLabel(wordWrap=True))
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.security_warning = SecurityWarning(
            "imapSecurityWarning", "the copies of your messages"
        )
        layout = QFormLayout(self)
        for label, field in (
            ("IMAP &host:", self.host),
            ("P&ort:", self.port),
            ("Se&curity:", self.security),
            ("", self.security_warning),
            ("User na&me:", self.username),
            ("Pass&word:", self.password),
            ("Sent &folder:", self.folder),
            ("", self.copy),
            ("", self.note),
        ):
            layout.addRow(label, field)
        for edit in (self.host, self.username, self.folder):
            edit.textChanged.connect(self._on_changed)
        self.port.valueChanged.connect(self._on_changed)
        self.security.currentIndexChanged.connect(self._on_security_changed)
        self.password.textChanged.connect(self._on_password_changed)
        self.copy.clicked.connect(self._on_copy_clicked)
        # Lasting, like the Server tab's: decided as the user types, by what names this computer.
        self.host.textChanged.connect(self._update_security_warning)
        self.security.currentIndexChanged.connect(self._update_security_warning)
        self._update_security_warning()

    def load(self, account: Account, *, typed_password: str) -> None:
        self._loading = True
        try:
            self._smtp_host, self._email = account.host, account.email
            self._explicit = account.copy_to_sent is not None
            self.host.setText(account.imap_host)
            self.security.setCurrentIndex(SECURITIES.index(account.imap_security))
            self.port.setValue(account.imap_port)
            self.username.setText(account.imap_username)
            self.password.setText(typed_password)
            # Whether one is saved is not asked of the keyring here, on the GUI thread.
            self.password.setPlaceholderText(
                "Leave empty to use the SMTP password (or the one saved)"
            )
            self.folder.setText(account.sent_folder)
            self.copy.setChecked(copy_wanted(account))
            self._update_note()
        finally:
            self._loading = False

    def server_changed(self, host: str, email: str) -> None:
        """The Server tab's host and address: whose provider decides when the user did not."""
        self._smtp_host, self._email = host, email
        self._follow_default()

    def apply(self, account: Account) -> Account:
        return dataclasses.replace(
            account,
            imap_host=self.host.text().strip(),
            imap_port=self.port.value(),
            imap_security=SECURITIES[self.security.currentIndex()],
            imap_username=self.username.text(),
            sent_folder=self.folder.text().strip(),
            copy_to_sent=self.copy.isChecked() if self._explicit else None,
        )

    def _default(self) -> bool:
        probe = Account(host=self._smtp_host, email=self._email, imap_host=self.host.text())
        return copy_wanted(probe)

    def _follow_default(self) -> None:
        if not self._explicit:
            self.copy.setChecked(self._default())
        self._update_note()

    def _update_note(self) -> None:
        provider = provider_of(self._smtp_host, self._email)
        if not self.host.text().strip():
            text = "Without an IMAP host, sent messages are kept only in Folders ▸ Sent."
        elif provider is not None and provider.files_sent_itself:
            text = (
                f"{provider.name} puts what you send through it in Sent by itself, so no copy "
                "is made unless you tick the box."
            )
        else:
            text = ""
        self.note.setText(text)
        self.note.setVisible(bool(text))

    @Slot()
    def _on_changed(self) -> None:
        if self._loading:
            return
        self._follow_default()
        self.edited.emit()

    @Slot(bool)
    def _on_copy_clicked(self, _checked: bool) -> None:
        self._explicit = True
        self.edited.emit()

    @Slot(int)
    def _on_security_changed(self, index: int) -> None:
        if self._loading:
            return
        if self.port.value() in _IMAP_PORTS.values():
            self.port.setValue(_IMAP_PORTS[SECURITIES[index]])
        self.edited.emit()

    @Slot()
    def _update_security_warning(self) -> None:
        host = self.host.text().strip()  # none: no copy, nothing to warn of
        security = SECURITIES[self.security.currentIndex()]
        self.security_warning.show_if(bool(host) and in_clear_elsewhere(security, host))

    @Slot(str)
    def _on_password_changed(self, text: str) -> None:
        if not self._loading:
            self.password_edited.emit(text)

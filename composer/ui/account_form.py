"""The editor of one SMTP account: its Server and Identity tabs."""

from __future__ import annotations

import dataclasses
from typing import cast

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QWidget,
)

from composer.mail.accounts import Account
from composer.ui.naming import named
from composer.ui.rich_text import document_parts
from composer.ui.security_warning import SECURITIES, SecurityWarning, in_clear_elsewhere
from composer.ui.sent_copy_form import SentCopyForm
from composer.ui.sign_in_panel import NO_OFFER, LoginChoice, LoginOffer, SignInPanel
from composer.ui.widgets.offline_text_edit import OfflineTextEdit

_MB = 1000 * 1000


class AccountForm(QTabWidget):
    """Shows one Account in widgets and reads the widgets back into an Account.

    The password is not part of an Account (it lives in the keyring), so it comes and goes
    separately: load() takes what was typed so far, password_edited reports each change.

    Signals:
        edited: the user changed a field that apply() reads.
        password_edited: the user changed the password; carries the text typed.
        needs_room: a row appeared (the security warning) that may need a larger window.
        login_chosen(bool): the user chose how the account logs in; True for signing in
            with its provider (edited follows).
    """

    edited = Signal()
    password_edited = Signal(str)
    needs_room = Signal()
    login_chosen = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("accountTabs")
        # Set while load() fills the widgets, so that filling them is not reported as an edit.
        self._loading = False
        self.account_name = named("accountName", QLineEdit())
        self.display_name = named("displayName", QLineEdit())
        self.email = named("email", QLineEdit(placeholderText="you@example.org"))
        self.host = named("host", QLineEdit(placeholderText="smtp.example.org"))
        self.port = named("port", QSpinBox(minimum=1, maximum=65535))
        self.security = named("security", QComboBox())
        for security in SECURITIES:
            self.security.addItem(security.label, security)
        self.username = named("username", QLineEdit())
        self.password = named("password", QLineEdit())
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        # Shown only for an account whose provider signs in (see show_login).
        self.login = LoginChoice()
        self.sign_in = SignInPanel()
        self._offer = NO_OFFER
        self.timeout = named("timeout", QSpinBox(minimum=1, maximum=600, suffix=" s"))
        self.size_limit = named("sizeLimit", QSpinBox(minimum=0, maximum=2000, suffix=" MB"))
        self.size_limit.setSpecialValueText("No limit")
        self.size_limit.setToolTip(
            "Composer refuses messages larger than this before sending. With “No limit”, "
            "the server's own limit decides."
        )
        self.reply_to = named("replyTo", QLineEdit(placeholderText="Answers go to this address"))
        self.default_cc = named("defaultCc", QLineEdit())
        self.default_bcc = named("defaultBcc", QLineEdit())
        # Pasted signatures come from web pages: their images never load a file.
        self.signature = named("signature", OfflineTextEdit())
        self.signature.setAccessibleName("Signature")
        self.signature.setPlaceholderText("Added below “-- ” in new messages; paste to format")
        self._server_rows = self._add_tab(
            "Server",
            ("Account &name:", self.account_name),
            ("Your na&me:", self.display_name),
            ("&Email address:", self._build_auto_configure()),
            ("SMTP &host:", self.host),
            ("&Port:", self.port),
            ("&Security:", self.security),
            ("Log in &with:", self.login),
            ("&User name:", self.username),
            ("Pass&word:", self.password),
            ("Sign-in:", self.sign_in),
            ("T&imeout:", self.timeout),
            ("Size &limit:", self.size_limit),
        )
        self._add_security_warning()
        position = cast(tuple[int, object], self._server_rows.getWidgetPosition(self._email_box))
        self._server_rows.insertRow(position[0] + 1, "", self.discovery_result)
        self._add_tab(
            "Identity",
            ("&Reply-To:", self.reply_to),
            ("Always &Cc:", self.default_cc),
            ("Always &Bcc:", self.default_bcc),
            ("Si&gnature:", self.signature),
        )
        self._add_sent_copy_tab()
        self._connect()
        self.show_login(NO_OFFER, signing_in=False)

    def _add_sent_copy_tab(self) -> None:
        """The IMAP server that keeps a copy of each message sent, on a tab of its own."""
        self.sent_copy = SentCopyForm()
        self.sent_copy.edited.connect(self._on_changed)
        for edit in (self.host, self.email):
            edit.textChanged.connect(self._on_server_changed)
        self.addTab(self.sent_copy, "Sent Co&py")

    @Slot()
    def _on_server_changed(self) -> None:
        self.sent_copy.server_changed(self.host.text().strip(), self.email.text().strip())

    def _build_auto_configure(self) -> QWidget:
        """The address with Find Settings beside it, and what was found (or not) below.

        The search itself is the owner's (it runs in the background): it connects to
        auto_configure and auto_configure_cancel and reports through show_discovery().
        """
        self.auto_configure = named("autoConfigure", QPushButton("&Find Settings"))
        self.auto_configure.setToolTip(
            "Look up the SMTP server for this address: your provider's published settings, "
            "Thunderbird's database of providers, DNS, then a secure connection attempt"
        )
        # Its own button, as with Test Connection: a click meant for Find Settings just as a
        # search ends must not cancel the next one.
        self.auto_configure_cancel = named("autoConfigureCancel", QPushButton("Cancel Search"))
        self.auto_configure_cancel.hide()
        # Host names and addresses found on the network are shown here: plain text only.
        self.discovery_result = named("autoConfigureResult", QLabel(wordWrap=True))
        self.discovery_result.setTextFormat(Qt.TextFormat.PlainText)
        self.discovery_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.discovery_result.hide()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.email, 1)
        row.addWidget(self.auto_configure)
        row.addWidget(self.auto_configure_cancel)
        self._email_box = box = QWidget()
        box.setLayout(row)
        box.setFocusProxy(self.email)  # the label's shortcut goes to the address
        return box

    def show_discovery(self, text: str, *, searching: bool = False) -> None:
        """Say what the search found or is doing (text may quote what servers said)."""
        self.discovery_result.setText(text)
        shown = bool(text)
        if shown != self.discovery_result.isVisibleTo(self):
            self.discovery_result.setVisible(shown)
        self.auto_configure.setEnabled(not searching)
        self.auto_configure_cancel.setVisible(searching)
        if shown:
            self.needs_room.emit()

    def _add_security_warning(self) -> None:
        """A lasting warning below Security while the connection would be unencrypted."""
        self.security_warning = SecurityWarning("securityWarning", "and change your messages")
        position = cast(tuple[int, object], self._server_rows.getWidgetPosition(self.security))
        self._server_rows.insertRow(position[0] + 1, "", self.security_warning)
        self.host.textChanged.connect(self._update_security_warning)
        self.security.currentIndexChanged.connect(self._update_security_warning)
        self._update_security_warning()

    @Slot()
    def _update_security_warning(self) -> None:
        security = SECURITIES[self.security.currentIndex()]
        if self.security_warning.show_if(in_clear_elsewhere(security, self.host.text())):
            self.needs_room.emit()

    def _add_tab(self, title: str, *rows: tuple[str, QWidget]) -> QFormLayout:
        page = QWidget()
        layout = QFormLayout(page)
        for label, field in rows:
            layout.addRow(label, field)
        self.addTab(page, title)
        return layout

    def _connect(self) -> None:
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
            edit.textChanged.connect(self._on_changed)
        self.signature.textChanged.connect(self._on_changed)
        for spin in (self.port, self.timeout, self.size_limit):
            spin.valueChanged.connect(self._on_changed)
        self.security.currentIndexChanged.connect(self._on_security_changed)
        self.password.textChanged.connect(self._on_password_changed)
        self.login.chosen.connect(self._on_login_chosen)

    def show_login(self, offer: LoginOffer, *, signing_in: bool) -> None:
        """Offer the login choice for offer's server (none when offer.key is ""); with
        signing_in, the sign-in rows take the password's place."""
        self._offer = offer
        offered = bool(offer.key)
        if offered:
            self.login.show_offer(offer, signing_in=signing_in)
            self.sign_in.show_server(offer.name)
        signs_in = offered and signing_in
        self._server_rows.setRowVisible(self.login, offered)
        self._server_rows.setRowVisible(self.password, not signs_in)
        self._server_rows.setRowVisible(self.sign_in, signs_in)
        self.username.setPlaceholderText("Your email address" if signs_in else "")

    def signs_in(self) -> bool:
        """Whether the account shown logs in by signing in with its provider."""
        return bool(self._offer.key) and self.login.signing_in()

    def sign_in_name(self) -> str:
        """The provider the account shown signs in with ("" when it logs in with a password)."""
        return self._offer.name if self.signs_in() else ""

    def add_server_row(self, label: str | QWidget, field: QWidget) -> None:
        """Append a row of the owner's own widgets (not part of an Account) to the Server tab."""
        self._server_rows.addRow(label, field)

    # --- Account ↔ widgets ------------------------------------------------------------------

    def load(
        self,
        account: Account,
        *,
        saved: bool,
        typed_password: str,
        typed_imap_password: str = "",
    ) -> None:
        """Show account; saved says whether a password may already be in the keyring."""
        self.sent_copy.load(account, typed_password=typed_imap_password)
        self._loading = True
        try:
            self.account_name.setText(account.name)
            self.display_name.setText(account.display_name)
            self.email.setText(account.email)
            self.host.setText(account.host)
            self.security.setCurrentIndex(SECURITIES.index(account.security))
            self.port.setValue(account.port)
            # Signing in, the user name is the address unless another one is typed.
            by_address = bool(account.oauth) and account.username == account.email
            self.username.setText("" if by_address else account.username)
            self.password.setText(typed_password)
            self.password.setPlaceholderText(
                "Saved in the keyring; type to replace" if saved else ""
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
        finally:
            self._loading = False

    def apply(self, account: Account) -> Account:
        """A copy of account with every field the form shows taken from the widgets."""
        signature, is_html = self._signature()
        email = self.email.text().strip()
        oauth = self._offer.key if self.signs_in() else ""
        return dataclasses.replace(
            self.sent_copy.apply(account),
            name=self.account_name.text().strip(),
            display_name=self.display_name.text().strip(),
            email=email,
            host=self.host.text().strip(),
            port=self.port.value(),
            security=SECURITIES[self.security.currentIndex()],
            username=self.username.text() or (email if oauth else ""),
            oauth=oauth,
            timeout=self.timeout.value(),
            size_limit=self.size_limit.value() * _MB,
            reply_to=self.reply_to.text().strip(),
            default_cc=self.default_cc.text().strip(),
            default_bcc=self.default_bcc.text().strip(),
            signature=signature,
            signature_html=is_html,
        )

    def _signature(self) -> tuple[str, bool]:
        """The signature as typed: HTML when it has formatting, else plain text."""
        parts = document_parts(self.signature.document())
        if parts.formatted:
            return parts.html, True
        return parts.plain.strip("\n"), False

    # --- reporting edits --------------------------------------------------------------------

    @Slot()
    def _on_changed(self) -> None:
        if not self._loading:
            self.edited.emit()

    @Slot(str)
    def _on_password_changed(self, text: str) -> None:
        if not self._loading:
            self.password_edited.emit(text)

    @Slot(bool)
    def _on_login_chosen(self, signing_in: bool) -> None:
        if not self._loading:
            self.show_login(self._offer, signing_in=signing_in)
            self.login_chosen.emit(signing_in)  # first: the edits below keep to the choice
            if not signing_in and not self.username.text():
                # The address was the user name while signing in; a password logs in as it too.
                self.username.setText(self.email.text().strip())
            self.edited.emit()

    @Slot(int)
    def _on_security_changed(self, index: int) -> None:
        if self._loading:
            return
        # Follow the conventional port unless the user chose another one.
        if self.port.value() in {s.default_port for s in SECURITIES}:
            self.port.setValue(SECURITIES[index].default_port)
        self.edited.emit()

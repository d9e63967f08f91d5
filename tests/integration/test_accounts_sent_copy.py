"""The Sent Copy tab of Accounts: the contract's widgets, what Save keeps, where passwords go."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QLineEdit, QPushButton, QSpinBox
from pytestqt.qtbot import QtBot

from composer.mail.accounts import AccountStore, Security
from composer.mail.mailbox_copy import imap_secret_key
from composer.mail.secrets import SecretStore
from tests.integration.test_accounts_dialog import enter_account, files_containing, open_dialog
from tests.servers import PASSWORD, SmtpServer
from tests.windows import MakeWindow, type_text


def test_the_imap_fields_are_saved_and_the_imap_password_goes_to_the_keyring_only(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, smtp_server: SmtpServer
) -> None:
    window = make_window()
    dialog = open_dialog(qtbot, window)
    enter_account(qtbot, dialog, smtp_server, PASSWORD)

    host = dialog.findChild(QLineEdit, "imapHost")
    port = dialog.findChild(QSpinBox, "imapPort")
    security = dialog.findChild(QComboBox, "imapSecurity")
    copy = dialog.findChild(QCheckBox, "copyToSent")
    assert all(w is not None for w in (host, port, security, copy))
    texts = [security.itemText(i) for i in range(security.count())]
    assert any("SSL/TLS" in t for t in texts)
    assert any("STARTTLS" in t for t in texts)
    assert not copy.isChecked()  # no IMAP host, no copy

    host.setText("imap.example.org")
    assert copy.isChecked()  # a provider Composer does not know: a copy is made
    security.setCurrentIndex(security.findText("STARTTLS"))
    assert port.value() == 143
    dialog.findChild(QLineEdit, "sentFolder").setText("Envoyés")
    dialog.findChild(QLineEdit, "imapUsername").setText("ann.lee")
    type_text(dialog.findChild(QLineEdit, "imapPassword"), "imap-pässword")
    with qtbot.waitSignal(dialog.accepted):
        dialog.button_box.button(dialog.button_box.StandardButton.Save).click()

    [account] = AccountStore(config_dir / "settings.json").load().settings.accounts
    assert account.imap_host == "imap.example.org"
    assert account.imap_port == 143
    assert account.imap_security is Security.STARTTLS
    assert account.imap_username == "ann.lee"
    assert account.sent_folder == "Envoyés"
    assert account.copy_to_sent is None  # as the provider's way goes
    secrets = SecretStore()
    assert secrets.get(imap_secret_key(account.id)) == "imap-pässword"
    assert secrets.get(account.id) == PASSWORD
    assert files_containing(config_dir, "imap-pässword") == []


def test_a_provider_that_files_its_own_copy_is_unticked_and_ticking_it_is_kept(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, smtp_server: SmtpServer
) -> None:
    window = make_window()
    dialog = open_dialog(qtbot, window)
    enter_account(qtbot, dialog, smtp_server, PASSWORD)
    dialog.findChild(QLineEdit, "host").setText("smtp.gmail.com")
    dialog.findChild(QLineEdit, "imapHost").setText("imap.gmail.com")
    copy = dialog.findChild(QCheckBox, "copyToSent")

    assert not copy.isChecked()
    assert "Gmail puts what you send" in dialog.form.sent_copy.note.text()
    copy.click()
    with qtbot.waitSignal(dialog.accepted):
        dialog.button_box.button(dialog.button_box.StandardButton.Save).click()

    [account] = AccountStore(config_dir / "settings.json").load().settings.accounts
    assert account.copy_to_sent is True


def test_an_unencrypted_imap_server_elsewhere_is_warned_of_while_typing(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    dialog = open_dialog(qtbot, make_window())
    dialog.findChild(QPushButton, "addAccount").click()
    host = dialog.findChild(QLineEdit, "imapHost")
    security = dialog.findChild(QComboBox, "imapSecurity")
    warning = dialog.findChild(QLabel, "imapSecurityWarning")
    assert isinstance(warning, QLabel)
    assert warning.textFormat() is Qt.TextFormat.PlainText
    # On its own tab, which is not shown: whether the warning is hidden is what counts.

    host.setText("imap.example.org")
    assert warning.isHidden()  # SSL/TLS
    security.setCurrentIndex(security.findText(Security.NONE.label))
    assert not warning.isHidden()
    assert "will not send your password" in warning.text()
    for here in ("127.0.0.1", "localhost", "::1"):
        host.setText(here)
        assert warning.isHidden(), here
    for elsewhere in ("evil.localhost", "localhost.", "10.0.0.1"):
        host.setText(elsewhere)
        assert not warning.isHidden(), elsewhere
    dialog.reject()

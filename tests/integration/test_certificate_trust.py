"""Trust decisions through the windows: a certificate that failed is shown, can be trusted in
Accounts, and then sends; a changed one is stopped; unencrypted connections are warned of."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QPushButton
from pytestqt.qtbot import QtBot

from composer.mail.accounts import Security
from composer.ui.accounts_dialog import AccountsDialog
from composer.ui.compose_window import ComposeWindow
from tests.certificates import ServerCertificate, issue
from tests.servers import HOST, PASSWORD, SmtpServer, account_for, running, starttls_server
from tests.windows import MakeWindow, configure, fill, send, snapshot


def spaced(fingerprint: str) -> str:
    return ":".join(fingerprint.upper()[i : i + 2] for i in range(0, len(fingerprint), 2))


@pytest.fixture
def self_signed() -> ServerCertificate:
    return issue(HOST, common_name="mail.home.test")


@pytest.fixture
def home_server(self_signed: ServerCertificate) -> Iterator[SmtpServer]:
    """A self-hosted server: STARTTLS with a self-signed certificate."""
    with running(starttls_server(self_signed.context())) as server:
        yield server


def open_dialog(qtbot: QtBot, window: ComposeWindow) -> AccountsDialog:
    window.action_accounts.trigger()
    dialog = window.findChild(QDialog, "accountsDialog")
    assert isinstance(dialog, AccountsDialog)
    qtbot.waitExposed(dialog)
    return dialog


def run_connection_test(qtbot: QtBot, dialog: AccountsDialog) -> None:
    dialog.test_button.click()
    qtbot.waitUntil(dialog.test_button.isEnabled, timeout=20_000)


def details(dialog: AccountsDialog) -> QLabel:
    label = dialog.findChild(QLabel, "certificateDetails")
    assert isinstance(label, QLabel)
    return label


def button(dialog: AccountsDialog, name: str) -> QPushButton:
    found = dialog.findChild(QPushButton, name)
    assert isinstance(found, QPushButton)
    return found


def save(qtbot: QtBot, dialog: AccountsDialog) -> None:
    with qtbot.waitSignal(dialog.accepted):
        dialog.button_box.button(dialog.button_box.StandardButton.Save).click()


def stored_pins(config_dir: Path) -> list[str]:
    data = json.loads((config_dir / "settings.json").read_text(encoding="utf-8"))
    return [account.get("trusted_certificate", "") for account in data["accounts"]]


def test_a_self_signed_server_is_shown_trusted_in_accounts_and_then_sends(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    home_server: SmtpServer,
    self_signed: ServerCertificate,
) -> None:
    configure(config_dir, account_for(home_server, Security.STARTTLS), password=PASSWORD)
    window = make_window()
    fill(window, to="bob@example.net", subject="From home", body="Hi")
    typed = snapshot(window)

    assert send(qtbot, window) is False

    status = window.statusBar().currentMessage()
    assert "self-signed" in status
    assert spaced(self_signed.fingerprint) in status
    assert "Accounts ▸ Test Connection" in status
    assert snapshot(window) == typed  # the message is kept
    assert home_server.auth_attempts == []

    dialog = open_dialog(qtbot, window)
    assert not details(dialog).isVisibleTo(dialog)
    run_connection_test(qtbot, dialog)

    shown = details(dialog).text()
    assert "Issued to: CN=mail.home.test" in shown
    assert "Issued by: CN=mail.home.test" in shown
    assert spaced(self_signed.fingerprint) in shown
    assert "Valid from" in shown
    trust = button(dialog, "trustCertificateButton")
    assert trust.isVisibleTo(dialog)
    assert stored_pins(config_dir) == [""]  # nothing trusted until the user says so

    trust.click()
    assert not trust.isVisibleTo(dialog)
    assert button(dialog, "forgetCertificateButton").isVisibleTo(dialog)
    run_connection_test(qtbot, dialog)  # with what the dialog holds, before saving
    assert "logged in as ann" in dialog.test_result.text()
    save(qtbot, dialog)

    assert stored_pins(config_dir) == [self_signed.fingerprint]
    assert send(qtbot, window) is True
    assert home_server.received[-1]["Subject"] == "From home"


def test_a_changed_certificate_stops_the_send_and_is_not_trusted_again_silently(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, home_server: SmtpServer
) -> None:
    trusted = issue(HOST)
    account = account_for(home_server, Security.STARTTLS, trusted_certificate=trusted.fingerprint)
    configure(config_dir, account, password=PASSWORD)
    window = make_window()
    fill(window, to="bob@example.net", subject="Hi", body="Hi")
    typed = snapshot(window)

    assert send(qtbot, window) is False

    status = window.statusBar().currentMessage()
    assert "different certificate than the one you trusted" in status
    assert snapshot(window) == typed
    assert home_server.auth_attempts == []

    dialog = open_dialog(qtbot, window)
    # What the account trusts is shown, and can be forgotten.
    assert spaced(trusted.fingerprint) in details(dialog).text()
    assert button(dialog, "forgetCertificateButton").isVisibleTo(dialog)
    run_connection_test(qtbot, dialog)
    assert "This is not the certificate you trusted" in details(dialog).text()
    assert button(dialog, "trustCertificateButton").isVisibleTo(dialog)
    save(qtbot, dialog)

    assert stored_pins(config_dir) == [trusted.fingerprint]


def test_a_long_result_and_the_certificate_are_shown_whole(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, home_server: SmtpServer
) -> None:
    configure(config_dir, account_for(home_server, Security.STARTTLS), password=PASSWORD)
    dialog = open_dialog(qtbot, make_window())
    run_connection_test(qtbot, dialog)
    # Wrapped labels do not ask their dialog for room: without it, lines are cut off.
    for label in (dialog.test_result, details(dialog)):
        qtbot.waitUntil(lambda label=label: label.height() >= label.heightForWidth(label.width()))
    assert button(dialog, "trustCertificateButton").visibleRegion().boundingRect().height() > 0


PIN = "ab" * 32


@pytest.fixture
def pinned_dialog(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, home_server: SmtpServer
) -> AccountsDialog:
    """Accounts, open on a STARTTLS account that trusts the certificate PIN."""
    account = account_for(home_server, Security.STARTTLS, trusted_certificate=PIN)
    configure(config_dir, account, password=PASSWORD)
    return open_dialog(qtbot, make_window())


def test_a_trusted_certificate_can_be_forgotten(
    qtbot: QtBot, pinned_dialog: AccountsDialog, config_dir: Path
) -> None:
    dialog = pinned_dialog

    button(dialog, "forgetCertificateButton").click()

    assert not details(dialog).isVisibleTo(dialog)
    save(qtbot, dialog)
    assert stored_pins(config_dir) == [""]


def test_a_weak_certificate_is_shown_but_not_offered_for_trust(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path
) -> None:
    weak = issue(HOST, rsa_bits=1024)
    with running(starttls_server(weak.context(weak_ok=True))) as server:
        configure(config_dir, account_for(server, Security.STARTTLS), password=PASSWORD)
        dialog = open_dialog(qtbot, make_window())
        run_connection_test(qtbot, dialog)

    assert "RSA 1024 bits" in details(dialog).text()
    assert "cannot be trusted" in details(dialog).text()
    assert not button(dialog, "trustCertificateButton").isVisibleTo(dialog)
    dialog.reject()


def test_certificate_names_are_shown_as_plain_text(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path
) -> None:
    hostile = '<img src="file:///dev/zero"><b>bank</b>'
    certificate = issue(HOST, common_name=hostile)
    with running(starttls_server(certificate.context())) as server:
        configure(config_dir, account_for(server, Security.STARTTLS), password=PASSWORD)
        dialog = open_dialog(qtbot, make_window())
        run_connection_test(qtbot, dialog)

    label = details(dialog)
    assert label.textFormat() is Qt.TextFormat.PlainText
    assert "<img src" in label.text()
    dialog.reject()


# --- the lasting warning for unencrypted connections ------------------------------------------


@pytest.mark.parametrize(
    ("security", "host", "warned"),
    [
        ("None (unencrypted)", "smtp.example.org", True),
        ("None (unencrypted)", "192.0.2.7", True),
        ("None (unencrypted)", "127.0.0.1", False),
        ("None (unencrypted)", "localhost", False),
        ("None (unencrypted)", "LocalHost", False),
        ("None (unencrypted)", "127.8.9.10", False),
        ("None (unencrypted)", "::1", False),
        # Names that can resolve anywhere: only the address connected to says where they go.
        ("None (unencrypted)", "evil.localhost", True),
        ("None (unencrypted)", "localhost.", True),
        ("None (unencrypted)", "localhost.example.org", True),
        ("STARTTLS", "smtp.example.org", False),
        ("SSL/TLS", "smtp.example.org", False),
    ],
)
def test_no_encryption_to_another_computer_is_warned_of_while_typing(
    qtbot: QtBot, make_window: MakeWindow, security: str, host: str, warned: bool
) -> None:
    dialog = open_dialog(qtbot, make_window())
    dialog.findChild(QPushButton, "addAccount").click()
    warning = dialog.findChild(QLabel, "securityWarning")
    assert isinstance(warning, QLabel)

    dialog.form.host.setText(host)
    dialog.form.security.setCurrentIndex(dialog.form.security.findText(security))

    assert warning.isVisibleTo(dialog) is warned
    assert warning.textFormat() is Qt.TextFormat.PlainText
    if warned:
        assert "will not send your password" in warning.text()
        qtbot.waitUntil(lambda: warning.height() >= warning.heightForWidth(warning.width()))
        dialog.form.host.setText("127.0.0.1")  # as the user corrects it
        assert not warning.isVisibleTo(dialog)
    dialog.reject()


def test_a_saved_unencrypted_account_shows_the_warning_when_opened(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, home_server: SmtpServer
) -> None:
    configure(config_dir, account_for(home_server, Security.NONE, host="smtp.example.org"))
    dialog = open_dialog(qtbot, make_window())

    warning = dialog.findChild(QLabel, "securityWarning")
    assert isinstance(warning, QLabel)
    assert warning.isVisibleTo(dialog)
    # Whole, not cut off after its first lines.
    qtbot.waitUntil(lambda: warning.height() >= warning.heightForWidth(warning.width()))
    dialog.reject()


def test_choosing_no_encryption_forgets_the_trusted_certificate(
    qtbot: QtBot, pinned_dialog: AccountsDialog, config_dir: Path
) -> None:
    dialog = pinned_dialog
    assert spaced(PIN) in details(dialog).text()

    dialog.form.security.setCurrentIndex(dialog.form.security.findText("None (unencrypted)"))

    assert not details(dialog).isVisibleTo(dialog)
    assert not button(dialog, "forgetCertificateButton").isVisibleTo(dialog)
    # Back to encryption: the certificate is verified as usual, unless trusted again.
    dialog.form.security.setCurrentIndex(dialog.form.security.findText("STARTTLS"))
    assert not details(dialog).isVisibleTo(dialog)
    save(qtbot, dialog)
    assert stored_pins(config_dir) == [""]


def test_choosing_no_encryption_takes_back_the_offer_to_trust(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, home_server: SmtpServer
) -> None:
    configure(config_dir, account_for(home_server, Security.STARTTLS), password=PASSWORD)
    dialog = open_dialog(qtbot, make_window())
    run_connection_test(qtbot, dialog)
    assert button(dialog, "trustCertificateButton").isVisibleTo(dialog)

    dialog.form.security.setCurrentIndex(dialog.form.security.findText("None (unencrypted)"))

    assert not button(dialog, "trustCertificateButton").isVisibleTo(dialog)
    assert not details(dialog).isVisibleTo(dialog)
    dialog.reject()

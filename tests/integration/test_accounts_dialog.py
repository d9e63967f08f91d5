"""The SMTP Accounts dialog: storing accounts and passwords, testing a connection."""

from __future__ import annotations

import json
from pathlib import Path

import keyring
import pytest
from PySide6.QtWidgets import QDialog, QLineEdit, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from composer.mail.accounts import Security
from composer.mail.secrets import SERVICE
from composer.ui.accounts_dialog import AccountsDialog
from composer.ui.compose_window import ComposeWindow
from tests.keyrings import LockedKeyring, MemoryKeyring
from tests.servers import PASSWORD, SilentServer, SmtpServer, account_for
from tests.windows import MakeWindow, answer_boxes, configure, fill, send, type_text


def open_dialog(qtbot: QtBot, window: ComposeWindow) -> AccountsDialog:
    window.action_accounts.trigger()
    dialog = window.findChild(QDialog, "accountsDialog")
    assert isinstance(dialog, AccountsDialog)
    qtbot.waitExposed(dialog)
    return dialog


def enter_account(
    qtbot: QtBot, dialog: AccountsDialog, server: SmtpServer | SilentServer, password: str
) -> None:
    """Add an account the way a person would: Add, then type into each field."""
    dialog.findChild(QPushButton, "addAccount").click()
    for name, text in (
        ("accountName", "Work"),
        ("displayName", "Ann Lee"),
        ("email", "ann@example.org"),
        ("host", server.host),
        ("username", getattr(server, "username", "ann")),
    ):
        dialog.findChild(QLineEdit, name).setText(text)
    # The password is typed key by key, as a person would.
    dialog.form.password.clear()
    type_text(dialog.form.password, password)
    dialog.form.security.setCurrentIndex(dialog.form.security.findText("STARTTLS"))
    dialog.form.port.setValue(server.port)


def files_containing(directory: Path, secret: str) -> list[Path]:
    needles = {secret.encode("utf-8"), secret.encode("utf-16-le"), json.dumps(secret).encode()}
    return [
        path
        for path in directory.rglob("*")
        if path.is_file() and any(needle in path.read_bytes() for needle in needles)
    ]


def test_account_survives_a_new_window_with_password_only_in_keyring(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    smtp_server: SmtpServer,
    memory_keyring: MemoryKeyring,
) -> None:
    window = make_window()
    dialog = open_dialog(qtbot, window)
    enter_account(qtbot, dialog, smtp_server, PASSWORD)
    with qtbot.waitSignal(dialog.accepted):
        dialog.button_box.button(dialog.button_box.StandardButton.Save).click()
    assert window.form.from_account.currentText() in {
        "Ann Lee <ann@example.org>",
        "Local sandbox <me@sandbox.localhost>",
    }
    window.close()

    again = make_window()

    assert [
        again.form.from_account.itemText(i) for i in range(again.form.from_account.count())
    ] == ["Ann Lee <ann@example.org>"]
    assert list(memory_keyring.passwords.values()) == [PASSWORD]
    assert all(service == SERVICE for service, _ in memory_keyring.passwords)
    assert files_containing(config_dir, PASSWORD) == []
    assert (config_dir / "settings.json").exists()
    # The password read back from the keyring logs in.
    fill(again, to="bob@example.org", subject="After restart", body="B")
    assert send(qtbot, again) is True
    assert smtp_server.auth_attempts == [("ann", PASSWORD)]


def test_security_sets_the_conventional_port(qtbot: QtBot, make_window: MakeWindow) -> None:
    dialog = open_dialog(qtbot, make_window())
    dialog.findChild(QPushButton, "addAccount").click()
    assert dialog.form.security.currentText() == "SSL/TLS"
    assert dialog.form.port.value() == 465

    dialog.form.security.setCurrentIndex(dialog.form.security.findText("STARTTLS"))
    assert dialog.form.port.value() == 587
    dialog.form.port.setValue(2525)
    dialog.form.security.setCurrentIndex(dialog.form.security.findText("SSL/TLS"))

    assert dialog.form.port.value() == 2525
    assert [dialog.form.security.itemText(i) for i in range(3)] == [
        "SSL/TLS",
        "STARTTLS",
        "None (unencrypted)",
    ]
    dialog.reject()


@pytest.mark.parametrize(("password", "expected"), [(PASSWORD, "logged in"), ("bad", "535")])
def test_test_connection_reports_in_the_background(
    qtbot: QtBot,
    make_window: MakeWindow,
    smtp_server: SmtpServer,
    password: str,
    expected: str,
) -> None:
    dialog = open_dialog(qtbot, make_window())
    enter_account(qtbot, dialog, smtp_server, password)

    dialog.test_button.click()
    assert not dialog.test_button.isEnabled()  # running, and the dialog still answers
    qtbot.waitUntil(dialog.test_button.isEnabled, timeout=20_000)

    assert expected in dialog.test_result.text()
    assert "127.0.0.1" in dialog.test_result.text()
    assert smtp_server.auth_attempts == [("ann", password)]
    assert smtp_server.received == []
    dialog.reject()


def test_no_keyring_offers_to_keep_the_password_for_this_session(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    smtp_server: SmtpServer,
    no_keyring: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = answer_boxes(monkeypatch, lambda _title: QMessageBox.StandardButton.Yes)
    window = make_window()
    dialog = open_dialog(qtbot, window)
    enter_account(qtbot, dialog, smtp_server, PASSWORD)
    with qtbot.waitSignal(dialog.accepted):
        dialog.button_box.button(dialog.button_box.StandardButton.Save).click()

    assert [(q.title, q.default) for q in asked] == [
        ("No keyring available", QMessageBox.StandardButton.Yes)
    ]
    assert files_containing(config_dir, PASSWORD) == []
    window.form.from_account.setCurrentIndex(
        window.form.from_account.findText("Ann Lee <ann@example.org>")
    )
    fill(window, to="bob@example.org", subject="Session password", body="B")
    assert send(qtbot, window) is True
    assert smtp_server.auth_attempts == [("ann", PASSWORD)]


def test_sending_without_a_keyring_explains_it(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    smtp_server: SmtpServer,
    no_keyring: object,
) -> None:
    configure(config_dir, account_for(smtp_server, Security.STARTTLS))
    window = make_window()
    fill(window, to="bob@example.org", subject="S", body="B")

    assert send(qtbot, window) is False

    assert "keyring" in window.statusBar().currentMessage()
    assert smtp_server.auth_attempts == []


def test_removing_an_account_forgets_its_password(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    smtp_server: SmtpServer,
    memory_keyring: MemoryKeyring,
) -> None:
    configure(config_dir, account_for(smtp_server, Security.STARTTLS), password=PASSWORD)
    window = make_window()
    dialog = open_dialog(qtbot, window)
    assert dialog.account_list.count() == 1

    dialog.findChild(QPushButton, "removeAccount").click()
    with qtbot.waitSignal(dialog.accepted):
        dialog.button_box.button(dialog.button_box.StandardButton.Save).click()

    assert memory_keyring.passwords == {}
    assert window.form.from_account.currentText() == "Local sandbox <me@sandbox.localhost>"


def test_incomplete_account_is_not_saved(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path
) -> None:
    dialog = open_dialog(qtbot, make_window())
    dialog.findChild(QPushButton, "addAccount").click()

    dialog.button_box.button(dialog.button_box.StandardButton.Save).click()

    assert dialog.isVisible()
    assert "valid email address" in dialog.hint.text()
    assert not (config_dir / "settings.json").exists()
    dialog.reject()


def test_a_password_that_cannot_be_deleted_is_reported(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, smtp_server: SmtpServer
) -> None:
    locked = LockedKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(locked)
    try:
        configure(config_dir, account_for(smtp_server, Security.STARTTLS), password=PASSWORD)
        window = make_window()
        dialog = open_dialog(qtbot, window)
        dialog.findChild(QPushButton, "removeAccount").click()
        with qtbot.waitSignal(dialog.accepted):
            dialog.button_box.button(dialog.button_box.StandardButton.Save).click()
    finally:
        keyring.set_keyring(previous)

    assert locked.passwords  # still there, and the user is told so
    box = window.findChild(QMessageBox, "startupWarning")
    assert isinstance(box, QMessageBox)
    assert "still in the system keyring" in box.text()
    assert "still in the system keyring" in window.statusBar().currentMessage()


def test_a_closed_dialog_is_deleted_with_the_passwords_typed_in_it(
    qtbot: QtBot, make_window: MakeWindow, smtp_server: SmtpServer
) -> None:
    window = make_window()
    dialog = open_dialog(qtbot, window)
    enter_account(qtbot, dialog, smtp_server, "typed-but-cancelled")
    destroyed: list[bool] = []
    dialog.destroyed.connect(lambda: destroyed.append(True))

    dialog.reject()

    qtbot.waitUntil(lambda: destroyed == [True])
    assert window.findChild(QDialog, "accountsDialog") is None


def test_closing_the_dialog_during_a_connection_test_does_not_wait_for_it(
    qtbot: QtBot, make_window: MakeWindow, silent_server: SilentServer
) -> None:
    window = make_window()
    dialog = open_dialog(qtbot, window)
    enter_account(qtbot, dialog, silent_server, "pw")
    dialog.findChild(QPushButton, "testConnection").click()
    assert silent_server.wait_for_connection()

    dialog.reject()  # cancels the check; the window stays usable

    qtbot.waitUntil(lambda: window.findChild(QDialog, "accountsDialog") is None)
    # Within a moment, not at the end of the account's 30-second timeout.
    assert silent_server.wait_for_close(timeout=5)
    fill(window, to="bob@example.org", subject="Still here", body="B")
    assert send(qtbot, window) is True


def test_a_connection_test_can_be_cancelled(
    qtbot: QtBot, make_window: MakeWindow, silent_server: SilentServer
) -> None:
    dialog = open_dialog(qtbot, make_window())
    enter_account(qtbot, dialog, silent_server, "pw")
    cancel = dialog.findChild(QPushButton, "testCancelButton")
    assert cancel.isHidden()
    dialog.findChild(QPushButton, "testConnection").click()
    assert silent_server.wait_for_connection()
    assert cancel.isVisible()
    assert cancel.isEnabled()

    cancel.click()

    # The account waits 30 seconds for the server: only the cancel ends the test this soon.
    qtbot.waitUntil(lambda: dialog.test_result.text() == "Test cancelled.", timeout=5_000)
    assert silent_server.wait_for_close(timeout=5)
    assert dialog.test_button.isEnabled()
    assert cancel.isHidden()
    dialog.reject()


def test_a_connection_test_after_a_cancelled_one_reports_its_own_outcome(
    qtbot: QtBot, make_window: MakeWindow, smtp_server: SmtpServer, silent_server: SilentServer
) -> None:
    dialog = open_dialog(qtbot, make_window())
    enter_account(qtbot, dialog, silent_server, "pw")
    dialog.test_button.click()
    assert silent_server.wait_for_connection()
    dialog.findChild(QPushButton, "testCancelButton").click()
    qtbot.waitUntil(dialog.test_button.isEnabled, timeout=5_000)
    dialog.form.port.setValue(smtp_server.port)
    dialog.form.password.clear()
    type_text(dialog.form.password, PASSWORD)

    dialog.test_button.click()
    qtbot.waitUntil(dialog.test_button.isEnabled, timeout=20_000)

    assert "logged in" in dialog.test_result.text()
    dialog.reject()


@pytest.mark.parametrize("host", ["localhost\x00.evil.example", "smtp example.org", "a\u2028b"])
def test_a_host_with_spaces_or_control_characters_is_not_saved(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, smtp_server: SmtpServer, host: str
) -> None:
    dialog = open_dialog(qtbot, make_window())
    enter_account(qtbot, dialog, smtp_server, PASSWORD)
    dialog.findChild(QLineEdit, "host").setText(host)

    dialog.button_box.button(dialog.button_box.StandardButton.Save).click()

    assert dialog.isVisible()
    assert "needs an SMTP host without spaces or control characters" in dialog.hint.text()
    assert not (config_dir / "settings.json").exists()
    dialog.findChild(QPushButton, "testConnection").click()
    assert dialog.test_result.text().startswith("Enter an SMTP host without spaces")
    dialog.reject()

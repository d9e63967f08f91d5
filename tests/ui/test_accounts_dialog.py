"""The SMTP Accounts dialog: storing accounts and passwords, testing a connection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog, QLineEdit, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from composer.mail.accounts import Security
from composer.mail.secrets import SERVICE
from composer.ui.accounts_dialog import AccountsDialog
from composer.ui.compose_window import ComposeWindow
from tests.keyrings import MemoryKeyring
from tests.servers import PASSWORD, SmtpServer, account_for
from tests.ui.conftest import MakeWindow, configure, fill, send, type_text


def open_dialog(qtbot: QtBot, window: ComposeWindow) -> AccountsDialog:
    window.action_accounts.trigger()
    dialog = window.findChild(QDialog, "accountsDialog")
    assert isinstance(dialog, AccountsDialog)
    qtbot.waitExposed(dialog)
    return dialog


def enter_account(qtbot: QtBot, dialog: AccountsDialog, server: SmtpServer, password: str) -> None:
    """Add an account the way a person would: Add, then type into each field."""
    dialog.findChild(QPushButton, "addAccount").click()
    for name, text in (
        ("accountName", "Work"),
        ("displayName", "Ann Lee"),
        ("email", "ann@example.org"),
        ("host", server.host),
        ("username", server.username),
    ):
        dialog.findChild(QLineEdit, name).setText(text)
    # The password is typed key by key, as a person would.
    dialog.password.clear()
    type_text(dialog.password, password)
    dialog.security.setCurrentIndex(dialog.security.findText("STARTTLS"))
    dialog.port.setValue(server.port)


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
    assert window.from_account.currentText() in {
        "Ann Lee <ann@example.org>",
        "Local sandbox <me@sandbox.localhost>",
    }
    window.close()

    again = make_window()

    assert [again.from_account.itemText(i) for i in range(again.from_account.count())] == [
        "Ann Lee <ann@example.org>"
    ]
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
    assert dialog.security.currentText() == "SSL/TLS"
    assert dialog.port.value() == 465

    dialog.security.setCurrentIndex(dialog.security.findText("STARTTLS"))
    assert dialog.port.value() == 587
    dialog.port.setValue(2525)
    dialog.security.setCurrentIndex(dialog.security.findText("SSL/TLS"))

    assert dialog.port.value() == 2525
    assert [dialog.security.itemText(i) for i in range(3)] == [
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
    asked: list[tuple[str, QMessageBox.StandardButton]] = []

    def question(
        _parent: object,
        title: str,
        _text: str,
        _buttons: object,
        default: QMessageBox.StandardButton,
    ) -> QMessageBox.StandardButton:
        asked.append((title, default))
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", question)
    window = make_window()
    dialog = open_dialog(qtbot, window)
    enter_account(qtbot, dialog, smtp_server, PASSWORD)
    with qtbot.waitSignal(dialog.accepted):
        dialog.button_box.button(dialog.button_box.StandardButton.Save).click()

    assert asked == [("No keyring available", QMessageBox.StandardButton.Yes)]
    assert files_containing(config_dir, PASSWORD) == []
    window.from_account.setCurrentIndex(window.from_account.findText("Ann Lee <ann@example.org>"))
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
    assert window.from_account.currentText() == "Local sandbox <me@sandbox.localhost>"


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

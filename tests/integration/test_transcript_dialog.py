"""Test Connection's transcript in the Accounts dialog: the whole conversation, to copy."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication, QDialog, QPlainTextEdit, QPushButton
from pytestqt.qtbot import QtBot

from composer.ui.accounts_dialog import AccountsDialog
from tests.integration.test_accounts_dialog import enter_account, open_dialog
from tests.integration.test_transcript import secret_forms
from tests.servers import PASSWORD, SmtpServer
from tests.windows import MakeWindow


def run_check(qtbot: QtBot, dialog: AccountsDialog) -> None:
    dialog.test_button.click()
    qtbot.waitUntil(dialog.test_button.isEnabled, timeout=20_000)


def open_transcript(qtbot: QtBot, dialog: AccountsDialog) -> QDialog:
    button = dialog.findChild(QPushButton, "showTranscriptButton")
    qtbot.waitUntil(button.isEnabled)
    button.click()
    shown = dialog.findChild(QDialog, "transcriptDialog")
    assert shown is not None
    qtbot.waitExposed(shown)
    return shown


def test_the_transcript_of_a_check_shows_the_whole_conversation(
    qtbot: QtBot, make_window: MakeWindow, smtp_server: SmtpServer
) -> None:
    dialog = open_dialog(qtbot, make_window())
    enter_account(qtbot, dialog, smtp_server, PASSWORD)
    assert not dialog.findChild(QPushButton, "showTranscriptButton").isEnabled()

    run_check(qtbot, dialog)
    shown = open_transcript(qtbot, dialog)

    view = shown.findChild(QPlainTextEdit, "transcriptView")
    assert view.isReadOnly()
    text = view.toPlainText()
    said = [line.split(" C: ", 1)[1].lower() for line in text.splitlines() if " C: " in line]
    assert [s.split()[0] for s in said] == ["ehlo", "starttls", "ehlo", "auth", "quit"]
    assert "auth plain <hidden>" in said
    assert " S: 220 " in text  # the greeting
    assert "secured with TLS" in text
    assert " S: 221 " in text
    assert [secret for secret in secret_forms() if secret in text] == []

    shown.findChild(QPushButton, "copyText").click()
    assert QApplication.clipboard().text() == text
    shown.reject()
    dialog.reject()


def test_a_failed_check_has_its_transcript_too(
    qtbot: QtBot, make_window: MakeWindow, smtp_server: SmtpServer
) -> None:
    dialog = open_dialog(qtbot, make_window())
    enter_account(qtbot, dialog, smtp_server, "not-the-password")

    run_check(qtbot, dialog)
    text = open_transcript(qtbot, dialog).findChild(QPlainTextEdit, "transcriptView").toPlainText()

    assert " S: 535 " in text
    assert "not-the-password" not in text
    assert "535" in dialog.test_result.text()
    dialog.reject()


@pytest.mark.parametrize("during", [False, True], ids=["after", "during"])
def test_another_account_chosen_has_no_transcript_of_this_one(
    qtbot: QtBot, make_window: MakeWindow, smtp_server: SmtpServer, during: bool
) -> None:
    dialog = open_dialog(qtbot, make_window())
    enter_account(qtbot, dialog, smtp_server, PASSWORD)
    button = dialog.findChild(QPushButton, "showTranscriptButton")
    if during:
        dialog.test_button.click()
    else:
        run_check(qtbot, dialog)
        assert button.isEnabled()

    dialog.findChild(QPushButton, "addAccount").click()
    qtbot.waitUntil(dialog.test_button.isEnabled, timeout=20_000)

    assert not button.isEnabled()
    dialog.reject()

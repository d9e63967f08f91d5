"""Find Settings in the accounts dialog: the address alone fills in the server."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QPushButton, QToolButton
from pytestqt.qtbot import QtBot

from composer.mail.secrets import SecretStore
from composer.ui.accounts_dialog import AccountsDialog
from tests.config_servers import DnsServer, DocumentServer, autoconfig_xml
from tests.integration.test_accounts_dialog import open_dialog
from tests.servers import SilentServer
from tests.windows import MakeWindow

ISPDB = "/ispdb/example.test"


def write_discovery(
    config_dir: Path, documents: DocumentServer, dns: DnsServer, **more: object
) -> dict[str, object]:
    """settings.json pointing every source at 127.0.0.1, as a user could write it."""
    discovery: dict[str, object] = {
        "autoconfig_urls": [
            documents.url("/autoconfig/{domain}/config-v1.1.xml?emailaddress={address}")
        ],
        "ispdb_url": documents.url("/ispdb/{domain}"),
        "dns_server": dns.address,
        "probe_ports": [{"port": 9, "security": "ssl"}],
        "fetch_timeout": 2,
        "total_timeout": 20,
        **more,
    }
    data = {"version": 2, "accounts": [], "discovery": discovery}
    (config_dir / "settings.json").write_text(json.dumps(data), encoding="utf-8")
    return discovery


def result_of(dialog: object) -> QLabel:
    label = dialog.findChild(QLabel, "autoConfigureResult")  # type: ignore[attr-defined]
    assert isinstance(label, QLabel)
    return label


def start_search(qtbot: QtBot, make_window: MakeWindow, address: str) -> object:
    dialog = open_dialog(qtbot, make_window())
    dialog.findChild(QPushButton, "addAccount").click()
    dialog.findChild(QLineEdit, "email").setText(address)
    dialog.findChild(QPushButton, "autoConfigure").click()
    return dialog


def test_find_settings_fills_the_server_and_says_where_from(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    documents: DocumentServer,
    dns: DnsServer,
) -> None:
    documents.serve(ISPDB, autoconfig_xml(smtp=("smtp.example.test", 587, "STARTTLS")))
    write_discovery(config_dir, documents, dns)
    dialog = start_search(qtbot, make_window, "ann@example.test")
    button = dialog.findChild(QPushButton, "autoConfigure")

    qtbot.waitUntil(lambda: "Found in" in result_of(dialog).text(), timeout=20_000)

    text = result_of(dialog).text()
    assert "Thunderbird's ISPDB" in text
    assert documents.url(ISPDB) in text
    assert "smtp.example.test, port 587, STARTTLS" in text
    assert "IMAP: imap.example.test, port 993, SSL/TLS" in text
    assert dialog.form.host.text() == "smtp.example.test"
    assert dialog.form.port.value() == 587
    assert dialog.form.security.currentText() == "STARTTLS"
    assert dialog.form.username.text() == "ann@example.test"
    assert button.isEnabled()
    assert not dialog.findChild(QPushButton, "autoConfigureCancel").isVisibleTo(dialog)
    assert dialog.current().imap_host == "imap.example.test"

    dialog.form.account_name.setText("Work")
    with qtbot.waitSignal(dialog.accepted):
        dialog.button_box.button(dialog.button_box.StandardButton.Save).click()
    saved = json.loads((config_dir / "settings.json").read_text(encoding="utf-8"))
    assert [(a["host"], a["port"], a["security"]) for a in saved["accounts"]] == [
        ("smtp.example.test", 587, "starttls")
    ]
    assert saved["discovery"]["dns_server"] == dns.address  # kept when the accounts are saved


def test_the_dialog_answers_while_searching_and_cancel_stops_it(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    documents: DocumentServer,
    dns: DnsServer,
    silent_server: SilentServer,
) -> None:
    documents.serve(ISPDB, autoconfig_xml(smtp=("smtp.late.test", 465, "SSL")))
    write_discovery(
        config_dir,
        documents,
        dns,
        autoconfig_urls=[f"https://127.0.0.1:{silent_server.port}/{{domain}}"],
    )
    dialog = start_search(qtbot, make_window, "ann@example.test")
    cancel = dialog.findChild(QPushButton, "autoConfigureCancel")
    assert silent_server.wait_for_connection()
    assert not dialog.findChild(QPushButton, "autoConfigure").isEnabled()
    assert cancel.isVisibleTo(dialog)
    assert "Looking for the settings of example.test" in result_of(dialog).text()
    dialog.form.display_name.setText("Ann Lee")  # the dialog still takes typing

    cancel.click()

    assert "cancelled" in result_of(dialog).text()
    assert dialog.findChild(QPushButton, "autoConfigure").isEnabled()
    assert silent_server.wait_for_close(timeout=5)  # the search ends its connection
    qtbot.wait(200)
    assert dialog.form.host.text() == ""  # what the search would have found is not used
    assert documents.requests == []  # and it stopped before the next source
    dialog.reject()


def test_nothing_found_leaves_the_fields_and_says_what_to_do(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    documents: DocumentServer,
    dns: DnsServer,
) -> None:
    write_discovery(config_dir, documents, dns)
    dialog = start_search(qtbot, make_window, "ann@example.test")
    dialog.form.host.setText("smtp.typed.test")
    qtbot.waitUntil(lambda: "could not find" in result_of(dialog).text(), timeout=20_000)
    assert "enter them" in result_of(dialog).text()
    assert dialog.form.host.text() == "smtp.typed.test"
    dialog.reject()


def test_an_address_is_needed_first(qtbot: QtBot, make_window: MakeWindow) -> None:
    dialog = start_search(qtbot, make_window, "not an address")
    assert "Enter your email address first" in result_of(dialog).text()
    dialog.reject()


def test_the_first_start_offers_to_set_up_an_account(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window()
    assert "Local sandbox" in window.statusBar().currentMessage()
    assert window.findChild(QToolButton, "setUpAccount").isVisibleTo(window)
    dialog = open_dialog(qtbot, window)
    assert "Find Settings" in dialog.hint.text()
    dialog.reject()


def test_a_new_user_sets_up_a_gmail_account_from_the_address_in_one_dialog(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path
) -> None:
    window = make_window()
    offer = window.findChild(QToolButton, "setUpAccount")
    assert isinstance(offer, QToolButton)
    assert offer.isVisibleTo(window)

    offer.click()
    dialog = window.findChild(QDialog, "accountsDialog")
    assert isinstance(dialog, AccountsDialog)
    qtbot.waitExposed(dialog)
    assert dialog.account_list.count() == 1  # a new account, ready to fill in
    dialog.form.display_name.setText("Ann Lee")
    dialog.findChild(QLineEdit, "email").setText("ann.lee@gmail.com")
    dialog.findChild(QPushButton, "autoConfigure").click()
    qtbot.waitUntil(lambda: dialog.form.host.text() == "smtp.gmail.com")
    assert "app password" in result_of(dialog).text()
    dialog.form.password.setText("abcd efgh ijkl mnop")
    with qtbot.waitSignal(dialog.finished, timeout=10_000):
        dialog.button_box.button(dialog.button_box.StandardButton.Save).click()

    qtbot.waitUntil(lambda: not offer.isVisibleTo(window))
    assert window.form.account().email == "ann.lee@gmail.com"
    [saved] = json.loads((config_dir / "settings.json").read_text(encoding="utf-8"))["accounts"]
    assert (saved["host"], saved["port"], saved["username"]) == (
        "smtp.gmail.com",
        465,
        "ann.lee@gmail.com",
    )
    assert SecretStore().get(saved["id"]) == "abcd efgh ijkl mnop"
    assert "abcd" not in (config_dir / "settings.json").read_text(encoding="utf-8")

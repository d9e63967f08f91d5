"""Signing in with the provider through the Accounts dialog and the compose window, against a
real authorization server and SMTP server on 127.0.0.1; the test plays the browser."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import keyring.backends.fail
import pytest
from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QToolButton,
)
from pytestqt.qtbot import QtBot

import composer.ui.account_sign_in
from composer.mail.accounts import Account, AccountSettings, AccountStore, Security
from composer.mail.errors import ErrorKind, SendError
from composer.mail.oauth import oauth_secret_key
from composer.mail.oauth_servers import OAuthClient
from composer.mail.oauth_settings import OAuthSettings
from composer.mail.outbox import EntryState
from composer.mail.secrets import SERVICE
from composer.paths import Paths
from composer.session import Session
from composer.ui.accounts_dialog import AccountsDialog
from composer.ui.compose_window import ComposeWindow
from tests.browser import BrowserResult, follow_later, visit
from tests.keyrings import MemoryKeyring
from tests.oauth_server import (
    DESKTOP_CLIENT_ID,
    DESKTOP_CLIENT_SECRET,
    PUBLIC_CLIENT_ID,
    OAuthServer,
)
from tests.servers import SmtpServer
from tests.windows import AnswerQuestions, fill, send, snapshot

ADDRESS = "ann@gmail.com"


class Browser(QObject):
    """Stands in for the system browser: keeps each https address Composer asks to open."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(bytes(url.toEncoded().data()).decode("ascii"))


@pytest.fixture
def browser() -> Iterator[Browser]:
    stand_in = Browser()
    QDesktopServices.setUrlHandler("https", stand_in, "open")
    try:
        yield stand_in
    finally:
        QDesktopServices.unsetUrlHandler("https")


@pytest.fixture
def google(oauth_server: OAuthServer) -> OAuthServer:
    """The authorization server, standing in for Google, signing ann@gmail.com in."""
    oauth_server.user = ADDRESS
    return oauth_server


def save_settings(
    config_dir: Path, server: OAuthServer, *accounts: Account, client: bool = True
) -> None:
    """Settings that point Google at server, with a desktop client registered (or none)."""
    oauth = OAuthSettings(
        servers={
            "google": {
                "authorization_endpoint": server.authorization_endpoint,
                "token_endpoint": server.token_endpoint,
                "revocation_endpoint": server.revocation_endpoint,
            }
        },
        clients={"google": OAuthClient(DESKTOP_CLIENT_ID, DESKTOP_CLIENT_SECRET)} if client else {},
    )
    AccountStore(config_dir / "settings.json").save(
        AccountSettings(accounts, default_id=accounts[0].id if accounts else "", oauth=oauth)
    )


def start(
    qtbot: QtBot, config_dir: Path, server: OAuthServer, *accounts: Account, client: bool = True
) -> Session:
    """A running Composer over config_dir whose settings point Google at server."""
    save_settings(config_dir, server, *accounts, client=client)
    session = Session(Paths.under(config_dir))
    session.window_opened.connect(qtbot.addWidget)
    return session


@pytest.fixture
def owner(qtbot: QtBot, config_dir: Path, google: OAuthServer) -> Session:
    """A running Composer that signs Gmail accounts in at the google server."""
    return start(qtbot, config_dir, google)


def open_window(qtbot: QtBot, owner: Session) -> ComposeWindow:
    window = owner.open_window()
    qtbot.waitExposed(window)
    return window


def open_dialog(qtbot: QtBot, window: ComposeWindow) -> AccountsDialog:
    window.action_accounts.trigger()
    return shown_dialog(qtbot, window)


def shown_dialog(qtbot: QtBot, window: ComposeWindow) -> AccountsDialog:
    # The newest: one closed a moment ago may still wait for its deletion.
    dialog = window.findChildren(QDialog, "accountsDialog")[-1]
    assert isinstance(dialog, AccountsDialog)
    qtbot.waitExposed(dialog)
    return dialog


def enter_gmail(dialog: AccountsDialog, smtp: SmtpServer) -> None:
    """Add an account at Gmail as a person would (no user name, no password)."""
    dialog.findChild(QPushButton, "addAccount").click()
    for name, text in (
        ("accountName", "Gmail"),
        ("displayName", "Ann Lee"),
        ("email", ADDRESS),
        ("host", smtp.host),
    ):
        dialog.findChild(QLineEdit, name).setText(text)
    dialog.form.security.setCurrentIndex(dialog.form.security.findText("STARTTLS"))
    dialog.form.port.setValue(smtp.port)


def status(dialog: AccountsDialog) -> QLabel:
    label = dialog.findChild(QLabel, "signInStatus")
    assert isinstance(label, QLabel)
    return label


def follow_in_browser(qtbot: QtBot, url: str) -> BrowserResult:
    page = follow_later(url)
    qtbot.waitUntil(page.done, timeout=15_000)
    return page.result()


def wait_for_browser(qtbot: QtBot, dialog: AccountsDialog, browser: Browser, seen: int) -> str:
    qtbot.waitUntil(lambda: len(browser.opened) > seen, timeout=10_000)
    assert status(dialog).text() == "Finish signing in in your browser…"
    assert dialog.findChild(QPushButton, "signInCancel").isVisible()
    return browser.opened[-1]


def sign_in(qtbot: QtBot, dialog: AccountsDialog, browser: Browser, seen: int = -1) -> None:
    """Press Sign In (unless started already, when the browser had seen addresses before),
    approve in the browser, wait until signed in."""
    if seen < 0:
        seen = len(browser.opened)
        dialog.findChild(QPushButton, "signInButton").click()
    url = wait_for_browser(qtbot, dialog, browser, seen)
    page = follow_in_browser(qtbot, url)
    assert page.status == 200
    assert "Composer has your sign-in" in page.body
    qtbot.waitUntil(lambda: status(dialog).text().startswith("Signed in"), timeout=15_000)
    # Who signed in is not known until the server has taken the token: no address claimed.
    assert status(dialog).text() == "Signed in (not yet saved)"


def save(qtbot: QtBot, dialog: AccountsDialog) -> None:
    with qtbot.waitSignal(dialog.accepted, timeout=15_000):
        dialog.button_box.button(dialog.button_box.StandardButton.Save).click()


def files_containing(directory: Path, secret: str) -> list[Path]:
    needles = {secret.encode(), json.dumps(secret).encode(), secret.encode("utf-16-le")}
    return [
        path
        for path in directory.rglob("*")
        if any(needle in _read_if_there(path) for needle in needles)
    ]


def _read_if_there(path: Path) -> bytes:
    # The Outbox removes a sent message's file just after its entry has gone (the outcome is
    # recorded on a thread of its own): a file gone while the folder is walked held nothing.
    try:
        return path.read_bytes() if path.is_file() else b""
    except FileNotFoundError:
        return b""


def signed_in_window(
    qtbot: QtBot, owner: Session, browser: Browser, smtp: SmtpServer
) -> ComposeWindow:
    """A window whose Gmail account was set up and signed in through Accounts."""
    window = open_window(qtbot, owner)
    dialog = open_dialog(qtbot, window)
    enter_gmail(dialog, smtp)
    sign_in(qtbot, dialog, browser)
    save(qtbot, dialog)
    return window


def test_first_sign_in_then_test_connection_save_and_send(
    qtbot: QtBot,
    owner: Session,
    config_dir: Path,
    google: OAuthServer,
    oauth_smtp_server: SmtpServer,
    browser: Browser,
    memory_keyring: MemoryKeyring,
) -> None:
    window = open_window(qtbot, owner)
    dialog = open_dialog(qtbot, window)
    enter_gmail(dialog, oauth_smtp_server)

    method = dialog.findChild(QComboBox, "loginMethod")
    assert method.isVisible()
    assert method.isEnabled()
    assert [method.itemText(i) for i in range(method.count())] == [
        "Sign in with Google",
        "Password",
    ]
    assert method.currentText() == "Sign in with Google"
    assert not dialog.form.password.isVisible()
    button = dialog.findChild(QPushButton, "signInButton")
    assert button.isVisible()
    assert button.text() == "Sign In with Google…"
    assert status(dialog).text() == "Not signed in"
    assert status(dialog).textFormat() == Qt.TextFormat.PlainText
    assert dialog.current().oauth == "google"

    sign_in(qtbot, dialog, browser)
    authorization = google.authorizations[-1]
    assert authorization["login_hint"] == ADDRESS
    assert authorization["code_challenge_method"] == "S256"

    # Before Save, and without asking: the connection is checked with the sign-in just made.
    qtbot.waitUntil(lambda: "logged in" in dialog.test_result.text(), timeout=20_000)
    assert dialog.test_button.isEnabled()
    assert status(dialog).text() == "Signed in (not yet saved)"
    save(qtbot, dialog)

    refresh_token = google.refresh_tokens_issued[-1]
    account = owner.context.settings.accounts[0]
    assert (account.oauth, account.username) == ("google", ADDRESS)
    assert memory_keyring.passwords == {(SERVICE, oauth_secret_key(account.id)): refresh_token}

    fill(window, to="bob@example.org", subject="Signed in", body="Hello")
    assert send(qtbot, window) is True
    assert oauth_smtp_server.received[-1]["Subject"] == "Signed in"
    attempts = oauth_smtp_server.sasl_attempts
    assert attempts
    assert all(a.accepted for a in attempts)
    assert {a.mechanism for a in attempts} <= {"OAUTHBEARER", "XOAUTH2"}
    assert google.check_access_token(attempts[-1].token) == ADDRESS

    owner.context.writer.flush(5)
    for secret in (refresh_token, *google.access_tokens_issued):
        assert files_containing(config_dir, secret) == []


def test_an_expired_access_token_is_refreshed_without_asking(
    qtbot: QtBot,
    owner: Session,
    config_dir: Path,
    google: OAuthServer,
    oauth_smtp_server: SmtpServer,
    browser: Browser,
) -> None:
    window = signed_in_window(qtbot, owner, browser, oauth_smtp_server)
    google.expire_access_tokens()

    fill(window, to="bob@example.org", subject="Later", body="Hello")
    assert send(qtbot, window) is True

    assert len(browser.opened) == 1  # no second sign-in
    assert google.token_requests == ["authorization_code", "refresh_token"]
    assert oauth_smtp_server.received[-1]["Subject"] == "Later"
    assert oauth_smtp_server.sasl_attempts[-1].accepted
    assert not window.findChild(QToolButton, "signInAgainButton").isVisible()


def test_a_withdrawn_sign_in_keeps_the_message_and_signing_in_again_sends(
    qtbot: QtBot,
    owner: Session,
    config_dir: Path,
    google: OAuthServer,
    oauth_smtp_server: SmtpServer,
    browser: Browser,
) -> None:
    window = signed_in_window(qtbot, owner, browser, oauth_smtp_server)
    google.revoke_all(ADDRESS)

    fill(window, to="bob@example.org", subject="Kept", body="Every word")
    typed = snapshot(window)
    assert send(qtbot, window) is False

    again = window.findChild(QToolButton, "signInAgainButton")
    assert again.isVisible()
    assert again.text() == "Sign In Again…"
    assert "Sign in again" in window.statusBar().currentMessage()
    assert snapshot(window) == typed
    assert oauth_smtp_server.received == []

    seen = len(browser.opened)
    again.click()  # Accounts opens on the account, its sign-in started
    dialog = shown_dialog(qtbot, window)
    assert dialog.current() is not None
    assert dialog.current().id == owner.context.settings.accounts[0].id
    sign_in(qtbot, dialog, browser, seen)
    save(qtbot, dialog)
    assert not again.isVisible()

    assert send(qtbot, window) is True
    assert oauth_smtp_server.received[-1]["Subject"] == "Kept"


def test_a_withdrawn_sign_in_holds_an_unwatched_message_until_signed_in_again(
    qtbot: QtBot,
    owner: Session,
    config_dir: Path,
    google: OAuthServer,
    oauth_smtp_server: SmtpServer,
    browser: Browser,
    memory_keyring: MemoryKeyring,
) -> None:
    window = signed_in_window(qtbot, owner, browser, oauth_smtp_server)
    other = open_window(qtbot, owner)
    google.revoke_all(ADDRESS)

    fill(window, to="bob@example.org", subject="Held", body="Wait for me")
    window.action_send.trigger()
    window.close()  # nobody watches the send now
    with qtbot.waitSignal(owner.sending.finished, timeout=20_000) as finished:
        pass
    entry = finished.args[1]
    assert entry.state is EntryState.HELD
    assert entry.last_error_kind == ErrorKind.SIGN_IN_NEEDED.value
    again = other.findChild(QToolButton, "signInAgainButton")
    assert again.isVisible()

    seen = len(browser.opened)
    again.click()
    dialog = shown_dialog(qtbot, other)
    sign_in(qtbot, dialog, browser, seen)
    save(qtbot, dialog)

    qtbot.waitUntil(lambda: len(oauth_smtp_server.received) == 1, timeout=20_000)
    assert oauth_smtp_server.received[0]["Subject"] == "Held"
    qtbot.waitUntil(lambda: owner.context.outbox.entries() == [], timeout=10_000)
    assert not again.isVisible()
    owner.context.writer.flush(5)
    for secret in google.refresh_tokens_issued:
        assert files_containing(config_dir, secret) == []


def start_sign_in(
    qtbot: QtBot, owner: Session, server: SmtpServer, browser: Browser
) -> tuple[AccountsDialog, str]:
    """Accounts opened on a new Gmail account at server, Sign In pressed: the dialog and the
    URL it asked the browser to open."""
    dialog = open_dialog(qtbot, open_window(qtbot, owner))
    enter_gmail(dialog, server)
    dialog.findChild(QPushButton, "signInButton").click()
    return dialog, wait_for_browser(qtbot, dialog, browser, 0)


def saved_gmail(server: SmtpServer) -> Account:
    """A Gmail account that signs in, as Accounts saved it, sending through server."""
    return Account(
        name="Gmail",
        email=ADDRESS,
        host=server.host,
        port=server.port,
        security=Security.STARTTLS,
        username=ADDRESS,
        oauth="google",
    )


def test_a_redirect_with_another_state_is_refused_in_words(
    qtbot: QtBot,
    owner: Session,
    config_dir: Path,
    google: OAuthServer,
    oauth_smtp_server: SmtpServer,
    browser: Browser,
    memory_keyring: MemoryKeyring,
) -> None:
    dialog, url = start_sign_in(qtbot, owner, oauth_smtp_server, browser)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    redirect = query["redirect_uri"][0]

    forged = visit(f"{redirect}?code=stolen&state=not-the-one")

    assert forged.status == 400
    qtbot.waitUntil(lambda: "did not match" in status(dialog).text(), timeout=10_000)
    assert dialog.findChild(QPushButton, "signInButton").isEnabled()
    assert not dialog.findChild(QPushButton, "signInCancel").isVisible()
    assert google.token_requests == []
    save(qtbot, dialog)
    assert memory_keyring.passwords == {}


def test_a_refusal_in_the_browser_is_said_in_words(
    qtbot: QtBot,
    owner: Session,
    config_dir: Path,
    google: OAuthServer,
    oauth_smtp_server: SmtpServer,
    browser: Browser,
) -> None:
    google.deny = True
    dialog, url = start_sign_in(qtbot, owner, oauth_smtp_server, browser)

    follow_in_browser(qtbot, url)

    qtbot.waitUntil(lambda: "declined" in status(dialog).text(), timeout=10_000)
    assert "not signed in" in status(dialog).text()
    assert google.token_requests == []


def test_cancel_while_waiting_for_the_browser(
    qtbot: QtBot,
    owner: Session,
    config_dir: Path,
    google: OAuthServer,
    oauth_smtp_server: SmtpServer,
    browser: Browser,
    memory_keyring: MemoryKeyring,
) -> None:
    dialog, url = start_sign_in(qtbot, owner, oauth_smtp_server, browser)

    dialog.findChild(QPushButton, "signInCancel").click()

    assert status(dialog).text() == "Sign-in cancelled. Not signed in."
    assert not dialog.findChild(QPushButton, "signInCancel").isVisible()
    # The browser comes back too late: nothing is signed in.
    qtbot.wait(300)
    late = follow_later(url)
    qtbot.waitUntil(late.done, timeout=15_000)
    assert late.exception() is not None or late.result().status != 200
    qtbot.wait(300)
    assert status(dialog).text() == "Sign-in cancelled. Not signed in."
    save(qtbot, dialog)
    assert memory_keyring.passwords == {}


def test_a_sign_in_lands_on_the_account_it_was_started_for(
    qtbot: QtBot,
    owner: Session,
    config_dir: Path,
    google: OAuthServer,
    oauth_smtp_server: SmtpServer,
    browser: Browser,
    memory_keyring: MemoryKeyring,
) -> None:
    dialog = open_dialog(qtbot, open_window(qtbot, owner))
    enter_gmail(dialog, oauth_smtp_server)
    first = dialog.current()
    dialog.findChild(QPushButton, "signInButton").click()
    url = wait_for_browser(qtbot, dialog, browser, 0)
    enter_gmail(dialog, oauth_smtp_server)  # a second account, shown while the first waits
    second = dialog.current()
    assert second.id != first.id
    assert status(dialog).text() == "Not signed in"

    follow_in_browser(qtbot, url)
    qtbot.waitUntil(lambda: first.id in dialog.sign_ins._pending, timeout=10_000)

    assert status(dialog).text() == "Not signed in"  # the second one still is not
    dialog.account_list.setCurrentRow(0)
    assert status(dialog).text() == "Signed in (not yet saved)"
    save(qtbot, dialog)
    assert set(memory_keyring.passwords) == {(SERVICE, oauth_secret_key(first.id))}


def test_removing_the_account_withdraws_and_deletes_its_sign_in(
    qtbot: QtBot,
    owner: Session,
    config_dir: Path,
    google: OAuthServer,
    oauth_smtp_server: SmtpServer,
    browser: Browser,
    memory_keyring: MemoryKeyring,
) -> None:
    window = signed_in_window(qtbot, owner, browser, oauth_smtp_server)
    account = owner.context.settings.accounts[0]
    key = (SERVICE, oauth_secret_key(account.id))
    token = memory_keyring.passwords[key]

    dialog = open_dialog(qtbot, window)
    dialog.remove_button.click()
    save(qtbot, dialog)

    qtbot.waitUntil(lambda: key not in memory_keyring.passwords, timeout=15_000)
    assert token in google.revocations
    assert owner.context.settings.accounts == ()


def test_a_failed_withdrawal_is_said_and_the_keyring_entry_deleted_anyway(
    qtbot: QtBot,
    owner: Session,
    config_dir: Path,
    google: OAuthServer,
    oauth_smtp_server: SmtpServer,
    browser: Browser,
    memory_keyring: MemoryKeyring,
) -> None:
    window = signed_in_window(qtbot, owner, browser, oauth_smtp_server)
    key = (SERVICE, oauth_secret_key(owner.context.settings.accounts[0].id))
    google.stop()  # nobody answers at the revocation endpoint now

    dialog = open_dialog(qtbot, window)
    dialog.remove_button.click()
    save(qtbot, dialog)

    qtbot.waitUntil(lambda: key not in memory_keyring.passwords, timeout=40_000)
    qtbot.waitUntil(
        lambda: "withdraw it yourself" in window.statusBar().currentMessage(), timeout=10_000
    )
    assert "Google account's security settings" in window.statusBar().currentMessage()


def test_without_a_client_id_signing_in_is_not_offered_and_says_why(
    qtbot: QtBot, config_dir: Path, google: OAuthServer, oauth_smtp_server: SmtpServer
) -> None:
    owner = start(qtbot, config_dir, google, client=False)
    dialog = open_dialog(qtbot, open_window(qtbot, owner))
    enter_gmail(dialog, oauth_smtp_server)

    method = dialog.findChild(QComboBox, "loginMethod")
    note = dialog.findChild(QLabel, "loginMethodNote")
    assert method.isVisible()
    assert not method.isEnabled()
    assert method.currentText() == "Password"
    assert dialog.form.password.isVisible()
    assert note.isVisible()
    assert "client ID" in note.text()
    assert note.textFormat() == Qt.TextFormat.PlainText
    assert dialog.current().oauth == ""


def test_choosing_password_keeps_the_password_login(
    qtbot: QtBot,
    owner: Session,
    config_dir: Path,
    google: OAuthServer,
    oauth_smtp_server: SmtpServer,
) -> None:
    dialog = open_dialog(qtbot, open_window(qtbot, owner))
    enter_gmail(dialog, oauth_smtp_server)
    method = dialog.findChild(QComboBox, "loginMethod")

    method.setCurrentIndex(1)
    method.activated.emit(1)
    dialog.form.email.setText("ann.lee@gmail.com")  # further edits keep the choice

    assert dialog.current().oauth == ""
    assert method.currentText() == "Password"
    assert dialog.form.password.isVisible()
    assert not dialog.findChild(QPushButton, "signInButton").isVisible()


def test_with_no_browser_the_address_is_shown_to_copy(
    qtbot: QtBot,
    owner: Session,
    config_dir: Path,
    google: OAuthServer,
    oauth_smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(composer.ui.account_sign_in.QDesktopServices, "openUrl", lambda _url: False)
    dialog = open_dialog(qtbot, open_window(qtbot, owner))
    enter_gmail(dialog, oauth_smtp_server)
    dialog.findChild(QPushButton, "signInButton").click()
    address = dialog.findChild(QLineEdit, "signInAddress")
    qtbot.waitUntil(address.isVisible, timeout=10_000)
    assert address.isReadOnly()
    assert address.text().startswith(google.authorization_endpoint)
    assert "Open this address" in status(dialog).text()

    follow_in_browser(qtbot, address.text())

    qtbot.waitUntil(lambda: status(dialog).text().startswith("Signed in"), timeout=15_000)
    assert not address.isVisible()


def test_without_a_keyring_the_sign_in_is_kept_for_this_session_only(
    qtbot: QtBot,
    owner: Session,
    config_dir: Path,
    google: OAuthServer,
    oauth_smtp_server: SmtpServer,
    browser: Browser,
    no_keyring: object,
    answer_questions: AnswerQuestions,
) -> None:
    asked = answer_questions(QMessageBox.StandardButton.Yes)
    window = signed_in_window(qtbot, owner, browser, oauth_smtp_server)

    assert asked == ["No keyring available"]
    account = owner.context.settings.accounts[0]
    refresh_token = google.refresh_tokens_issued[-1]
    assert owner.context.secrets.get(oauth_secret_key(account.id)) == refresh_token
    google.expire_access_tokens()
    fill(window, to="bob@example.org", subject="This session", body="Hello")
    assert send(qtbot, window) is True  # refreshed with the token kept in memory
    owner.context.writer.flush(5)
    for secret in google.refresh_tokens_issued:
        assert files_containing(config_dir, secret) == []


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (True, "Signed in"),
        (False, "Not signed in"),
        (None, "Signed in before, but the system keyring cannot be read now"),
    ],
    ids=["in-keyring", "not-in-keyring", "no-keyring"],
)
def test_a_saved_account_says_whether_the_keyring_holds_its_sign_in(
    qtbot: QtBot,
    config_dir: Path,
    google: OAuthServer,
    oauth_smtp_server: SmtpServer,
    memory_keyring: MemoryKeyring,
    stored: bool | None,
    expected: str,
) -> None:
    account = saved_gmail(oauth_smtp_server)
    if stored:
        memory_keyring.set_password(SERVICE, oauth_secret_key(account.id), "a-refresh-token")
    if stored is None:
        keyring.set_keyring(keyring.backends.fail.Keyring())
    owner = start(qtbot, config_dir, google, account)
    dialog = open_dialog(qtbot, open_window(qtbot, owner))

    # Never "Signed in" on a guess: until the worker has read the keyring, it says so.
    assert status(dialog).text() == "Checking the keyring…" or expected in status(dialog).text()
    qtbot.waitUntil(lambda: status(dialog).text().startswith(expected), timeout=10_000)
    assert dialog.findChild(QComboBox, "loginMethod").currentText() == "Sign in with Google"
    assert dialog.form.username.text() == ""  # the address, shown as the placeholder
    assert dialog.form.username.placeholderText() == "Your email address"
    qtbot.wait(200)
    assert status(dialog).text().startswith(expected)


def test_closing_the_dialog_while_waiting_stops_the_sign_in(
    qtbot: QtBot,
    owner: Session,
    google: OAuthServer,
    oauth_smtp_server: SmtpServer,
    browser: Browser,
    memory_keyring: MemoryKeyring,
) -> None:
    window = open_window(qtbot, owner)
    dialog = open_dialog(qtbot, window)
    enter_gmail(dialog, oauth_smtp_server)
    dialog.findChild(QPushButton, "signInButton").click()
    url = wait_for_browser(qtbot, dialog, browser, 0)

    dialog.reject()
    qtbot.waitUntil(lambda: not owner.sending.is_busy(), timeout=10_000)

    late = follow_later(url)
    qtbot.waitUntil(late.done, timeout=15_000)
    assert late.exception() is not None or late.result().status != 200
    assert google.token_requests == []
    assert memory_keyring.passwords == {}
    assert window.isVisible()


def test_choosing_password_for_a_signed_in_account_withdraws_its_sign_in(
    qtbot: QtBot,
    owner: Session,
    google: OAuthServer,
    oauth_smtp_server: SmtpServer,
    browser: Browser,
    memory_keyring: MemoryKeyring,
) -> None:
    window = signed_in_window(qtbot, owner, browser, oauth_smtp_server)
    account = owner.context.settings.accounts[0]
    key = (SERVICE, oauth_secret_key(account.id))
    token = memory_keyring.passwords[key]

    dialog = open_dialog(qtbot, window)
    method = dialog.findChild(QComboBox, "loginMethod")
    method.setCurrentIndex(1)
    method.activated.emit(1)
    dialog.form.password.setText("an app password")
    save(qtbot, dialog)

    saved = owner.context.settings.accounts[0]
    assert (saved.oauth, saved.username) == ("", ADDRESS)
    qtbot.waitUntil(lambda: key not in memory_keyring.passwords, timeout=15_000)
    assert token in google.revocations
    assert memory_keyring.passwords == {(SERVICE, account.id): "an app password"}


def test_find_settings_for_gmail_says_to_sign_in(
    qtbot: QtBot, owner: Session, oauth_smtp_server: SmtpServer
) -> None:
    dialog = open_dialog(qtbot, open_window(qtbot, owner))
    dialog.findChild(QPushButton, "addAccount").click()
    dialog.findChild(QLineEdit, "email").setText(ADDRESS)
    dialog.findChild(QPushButton, "autoConfigure").click()
    result = dialog.findChild(QLabel, "autoConfigureResult")
    qtbot.waitUntil(lambda: "Found" in result.text(), timeout=10_000)

    assert dialog.form.host.text() == "smtp.gmail.com"
    assert "press Sign In with Google…" in result.text()
    assert dialog.findChild(QComboBox, "loginMethod").currentText() == "Sign in with Google"
    assert dialog.current().oauth == "google"
    assert dialog.current().username == ADDRESS


def test_removing_a_microsoft_account_deletes_its_sign_in_with_nothing_to_revoke(
    qtbot: QtBot,
    config_dir: Path,
    oauth_server: OAuthServer,
    oauth_smtp_server: SmtpServer,
    browser: Browser,
    memory_keyring: MemoryKeyring,
) -> None:
    oauth_server.user = "ann@outlook.com"
    oauth = OAuthSettings(
        servers={
            "microsoft": {
                "authorization_endpoint": oauth_server.authorization_endpoint,
                "token_endpoint": oauth_server.token_endpoint,
            }
        },
        clients={"microsoft": OAuthClient(PUBLIC_CLIENT_ID)},
    )
    AccountStore(config_dir / "settings.json").save(AccountSettings(oauth=oauth))
    owner = Session(Paths.under(config_dir))
    owner.window_opened.connect(qtbot.addWidget)
    window = open_window(qtbot, owner)
    dialog = open_dialog(qtbot, window)
    enter_gmail(dialog, oauth_smtp_server)
    dialog.form.email.setText("ann@outlook.com")
    assert dialog.findChild(QComboBox, "loginMethod").currentText() == "Sign in with Microsoft"
    assert dialog.findChild(QPushButton, "signInButton").text() == "Sign In with Microsoft…"
    seen = len(browser.opened)
    dialog.findChild(QPushButton, "signInButton").click()
    page = follow_in_browser(qtbot, wait_for_browser(qtbot, dialog, browser, seen))
    assert page.status == 200
    qtbot.waitUntil(lambda: status(dialog).text().startswith("Signed in"), timeout=15_000)
    save(qtbot, dialog)
    key = (SERVICE, oauth_secret_key(owner.context.settings.accounts[0].id))
    assert key in memory_keyring.passwords

    dialog = open_dialog(qtbot, window)
    dialog.remove_button.click()
    save(qtbot, dialog)

    qtbot.waitUntil(lambda: key not in memory_keyring.passwords, timeout=15_000)
    assert oauth_server.revocations == []


def test_a_sign_in_the_mail_server_refuses_says_another_account_may_have_signed_in(
    qtbot: QtBot,
    owner: Session,
    google: OAuthServer,
    oauth_smtp_server: SmtpServer,
    browser: Browser,
) -> None:
    # login_hint is only a hint: in the browser the user picks another Google account.
    google.user = "bob@gmail.com"
    dialog, url = start_sign_in(qtbot, owner, oauth_smtp_server, browser)
    assert follow_in_browser(qtbot, url).status == 200
    qtbot.waitUntil(lambda: status(dialog).text().startswith("Signed in"), timeout=15_000)
    assert status(dialog).text() == "Signed in (not yet saved)"  # nobody named, unchecked

    # The check that follows every sign-in finds out, and says so in words.
    qtbot.waitUntil(lambda: "refused" in status(dialog).text(), timeout=20_000)
    text = status(dialog).text()
    assert "may have signed in another Google account" in text, text
    assert f"sign in again, choosing {ADDRESS}." in text, text
    assert "refused" in dialog.test_result.text()
    assert dialog.findChild(QPushButton, "signInButton").isEnabled()


@pytest.mark.parametrize("keep", [True, False])
def test_without_a_keyring_a_held_message_goes_only_if_the_sign_in_is_kept(
    qtbot: QtBot,
    owner: Session,
    google: OAuthServer,
    oauth_smtp_server: SmtpServer,
    browser: Browser,
    no_keyring: object,
    answer_questions: AnswerQuestions,
    keep: bool,
) -> None:
    answer_questions(QMessageBox.StandardButton.Yes)
    window = signed_in_window(qtbot, owner, browser, oauth_smtp_server)
    other = open_window(qtbot, owner)
    google.revoke_all(ADDRESS)
    fill(window, to="bob@example.org", subject="Held", body="Wait for me")
    window.action_send.trigger()
    window.close()
    with qtbot.waitSignal(owner.sending.finished, timeout=20_000) as finished:
        pass
    assert finished.args[1].state is EntryState.HELD

    asked = answer_questions(
        QMessageBox.StandardButton.Yes if keep else QMessageBox.StandardButton.No
    )
    again = other.findChild(QToolButton, "signInAgainButton")
    seen = len(browser.opened)
    again.click()
    sign_in(qtbot, shown_dialog(qtbot, other), browser, seen)
    save(qtbot, shown_dialog(qtbot, other))
    assert asked == ["No keyring available"]

    account = owner.context.settings.accounts[0]
    if keep:
        qtbot.waitUntil(lambda: len(oauth_smtp_server.received) == 1, timeout=20_000)
        assert not again.isVisible()
        return
    # Declined: nothing of that sign-in is kept, so nothing sends or refreshes with it.
    qtbot.waitUntil(lambda: not owner.sending.is_busy(), timeout=10_000)
    assert oauth_smtp_server.received == []
    assert [e.state for e in owner.context.outbox.entries()] == [EntryState.HELD]
    assert again.isVisible()
    google.expire_access_tokens()
    with pytest.raises(SendError):
        owner.context.access_tokens.get(account, fresh=True)


def test_accounts_says_not_signed_in_once_the_provider_refused_the_sign_in(
    qtbot: QtBot,
    config_dir: Path,
    google: OAuthServer,
    oauth_smtp_server: SmtpServer,
    memory_keyring: MemoryKeyring,
) -> None:
    account = saved_gmail(oauth_smtp_server)
    memory_keyring.set_password(SERVICE, oauth_secret_key(account.id), "withdrawn-token")
    owner = start(qtbot, config_dir, google, account)
    with pytest.raises(SendError) as caught:
        owner.context.access_tokens.get(owner.context.settings.accounts[0])
    assert caught.value.kind is ErrorKind.SIGN_IN_NEEDED

    dialog = open_dialog(qtbot, open_window(qtbot, owner))

    # The keyring is read on a worker; until then the panel says what it last knew.
    qtbot.waitUntil(lambda: not owner.sending.is_busy(), timeout=10_000)
    qtbot.waitUntil(lambda: status(dialog).text() == "Not signed in", timeout=10_000)


def test_removing_an_account_when_the_keyring_cannot_be_read_revokes_the_token_in_memory(
    qtbot: QtBot,
    owner: Session,
    google: OAuthServer,
    oauth_smtp_server: SmtpServer,
    browser: Browser,
    memory_keyring: MemoryKeyring,
) -> None:
    window = signed_in_window(qtbot, owner, browser, oauth_smtp_server)
    account = owner.context.settings.accounts[0]
    token = memory_keyring.passwords[(SERVICE, oauth_secret_key(account.id))]
    keyring.set_keyring(keyring.backends.fail.Keyring())  # locked, or gone, since

    dialog = open_dialog(qtbot, window)
    dialog.remove_button.click()
    save(qtbot, dialog)

    qtbot.waitUntil(lambda: token in google.revocations, timeout=15_000)
    with pytest.raises(SendError) as caught:  # retired: never refreshed again
        owner.context.access_tokens.get(account, fresh=True)
    assert caught.value.kind is ErrorKind.SIGN_IN_NEEDED


def test_removing_an_account_with_no_token_to_revoke_says_how_to_withdraw_the_permission(
    qtbot: QtBot,
    config_dir: Path,
    google: OAuthServer,
    oauth_smtp_server: SmtpServer,
    no_keyring: object,
) -> None:
    account = saved_gmail(oauth_smtp_server)
    owner = start(qtbot, config_dir, google, account)
    said: list[str] = []
    owner.bridge.shown.connect(lambda message: said.append(message.text))
    dialog = open_dialog(qtbot, open_window(qtbot, owner))
    dialog.remove_button.click()
    save(qtbot, dialog)

    qtbot.waitUntil(lambda: any("not withdrawn" in text for text in said), timeout=15_000)
    text = next(text for text in said if "not withdrawn" in text)
    assert "the permission it gave Composer at Google was not withdrawn" in text, text
    assert "Google account's security settings" in text, text
    assert google.revocations == []


def test_opening_accounts_reads_no_file_on_the_gui_thread(
    qtbot: QtBot,
    config_dir: Path,
    google: OAuthServer,
    oauth_smtp_server: SmtpServer,
) -> None:
    import sys
    import threading

    from composer.mail import oauth_registry

    # As at a program's start: the built-in client registrations not read yet.
    oauth_registry._built_in_clients.cache_clear()
    opened: list[str] = []
    watching = [True]

    def hook(event: str, args: tuple[object, ...]) -> None:
        if (
            watching[0]
            and event == "open"
            and oauth_registry.BUILT_IN_CLIENTS in str(args[0])
            and threading.current_thread() is threading.main_thread()
        ):
            opened.append(str(args[0]))

    sys.addaudithook(hook)  # cannot be removed: watching ends it
    try:
        owner = start(qtbot, config_dir, google)
        # They are read on a thread of their own once the first window is shown, long
        # before anyone can open Accounts; waited for here, since a test opens it at once.
        qtbot.waitUntil(owner.context.oauth_clients_read.is_set, timeout=10_000)
        window = open_window(qtbot, owner)
        dialog = open_dialog(qtbot, window)
        enter_gmail(dialog, oauth_smtp_server)
    finally:
        watching[0] = False
    assert opened == [], f"read on the GUI thread: {opened}"


def test_test_connection_before_signing_in_says_to_sign_in_first(
    qtbot: QtBot, owner: Session, google: OAuthServer, oauth_smtp_server: SmtpServer
) -> None:
    dialog = open_dialog(qtbot, open_window(qtbot, owner))
    enter_gmail(dialog, oauth_smtp_server)

    dialog.test_button.click()

    assert dialog.test_result.text() == (
        "Not signed in: press Sign In with Google… first, then test the connection."
    )
    assert dialog.test_button.isEnabled()
    assert oauth_smtp_server.sasl_attempts == []

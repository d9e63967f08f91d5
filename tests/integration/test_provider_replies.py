"""The replies people hit most at the big providers, from a server scripted to give them:
each said as what to do, naming the provider, with the server's own words after it.

The provider of an account on 127.0.0.1 is known by its address (providers.provider_of):
ann@gmail.com through a local server is Gmail's, as through a local relay or proxy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from composer.mail.accounts import Account, Security
from composer.mail.draft import Draft
from composer.mail.errors import ErrorKind, SendError
from composer.mail.message import build_message
from composer.mail.outbox import EntryState
from composer.mail.transport import SmtpTransport
from tests.integration.test_nothing_lost import session_of
from tests.scripted_server import Answer, Connection, ScriptedServer, scripted
from tests.servers import PASSWORD, account_for
from tests.windows import FakeClock, MakeWindow, configure, fill, send, snapshot

pytestmark = pytest.mark.timeout(120)


def after_the_message(reply: str) -> Callable[[Connection], None]:
    """Read the message to its final dot, then answer reply."""

    def play(connection: Connection) -> None:
        connection.read_message()
        connection.send(reply.encode() + b"\r\n")

    return play


def account_at(
    server: ScriptedServer, email: str, *, login: bool = True, **changes: Any
) -> Account:
    username = email if login else ""
    return account_for(server, Security.NONE, email=email, username=username, **changes)


def failure(answers: dict[str, Answer], email: str, *, login: bool = True) -> SendError:
    with scripted(answers) as server:
        account = account_at(server, email, login=login)
        message = build_message(Draft(to="bob@example.net", subject="Hi"), account.sender())
        caught: list[BaseException] = []

        def run() -> None:
            try:
                SmtpTransport(account, PASSWORD).send(message)
            except BaseException as error:
                caught.append(error)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(60)
        assert not thread.is_alive()
    [error] = caught
    assert isinstance(error, SendError), error
    assert PASSWORD not in error.message
    return error


GMAIL_535 = "535-5.7.8 Username and Password not accepted. For more information, go to\r\n" + (
    "535 5.7.8  https://support.google.com/mail/?p=BadCredentials x1-20020a.1 - gsmtp"
)
MICROSOFT_139 = (
    "535 5.7.139 Authentication unsuccessful, basic authentication is disabled. "
    "[AM0PR02CA0001.eurprd02.prod.outlook.com]"
)
ICLOUD_535 = "535 5.7.8 Error: authentication failed: bad user name or password"
STARTTLS_FIRST = "530 5.7.0 Must issue a STARTTLS command first. x1-2002 - gsmtp"
NOT_YOURS = "553 5.7.1 <ann@gmail.com>: Sender address rejected: not owned by user ann"
LATER = "421 4.7.0 Try again later, closing connection. (MAIL) x1-2002 - gsmtp"
SPAM = (
    "554 5.7.1 Message rejected as likely spam: Our system has detected that this message "
    "is likely unsolicited mail."
)


# --- through the transport ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "email", "words"),
    [
        (GMAIL_535, "ann@gmail.com", ["Gmail (127.0.0.1)", "2-Step Verification", "app password"]),
        (
            "534-5.7.9 Application-specific password required.\r\n534 5.7.9 Learn more",
            "ann@googlemail.com",
            ["Gmail", "myaccount.google.com/apppasswords", "Sign in with Google"],
        ),
        (
            MICROSOFT_139,
            "ann@example.org",
            ["Microsoft", "December 2026", "Sign in with Microsoft", "administrator"],
        ),
        (
            MICROSOFT_139,
            "ann@outlook.com",
            ["Outlook.com (127.0.0.1)", "Sign in with Microsoft", "no longer"],
        ),
        (
            "535 5.7.3 Authentication unsuccessful [DB8PR04CA0001.outlook.com]",
            "ann@hotmail.co.uk",
            ["Outlook.com (127.0.0.1)", "Sign in with Microsoft", "no longer takes passwords"],
        ),
        (ICLOUD_535, "ann@icloud.com", ["iCloud Mail (127.0.0.1)", "app-specific password"]),
        (
            "535 5.7.0 (#AUTH005) Too many bad auth attempts.",
            "ann@yahoo.co.uk",
            ["Yahoo Mail", "login.yahoo.com"],
        ),
        (
            "535 5.7.0 (#AUTH005) Too many bad auth attempts.",
            "ann@aol.com",
            ["AOL Mail", "login.aol.com"],
        ),
        ("535 5.7.8 Authentication failed", "ann@fastmail.com", ["Fastmail", "app password"]),
        ("535 Authentication credentials invalid", "ann@gmx.de", ["GMX", "POP3/IMAP"]),
        ("535 Authentication credentials invalid", "ann@web.de", ["WEB.DE", "POP3/IMAP"]),
        ("535 5.7.8 bad credentials", "ann@proton.me", ["Proton Mail Bridge", "Bridge password"]),
    ],
    ids=[
        "gmail 535 5.7.8",
        "gmail 534 5.7.9",
        "microsoft 5.7.139",
        "outlook.com 5.7.139",
        "outlook.com 5.7.3",
        "icloud",
        "yahoo",
        "aol",
        "fastmail",
        "gmx",
        "web.de",
        "proton bridge",
    ],
)
def test_a_refused_login_says_which_password_the_provider_takes(reply, email, words):
    error = failure({"AUTH": reply}, email)

    assert error.kind is ErrorKind.AUTH_FAILED
    assert not error.retryable
    for word in words:
        assert word in error.message
    # After the explanation, the server's reply, its lines joined.
    assert f"The server said '{reply[:3]}" in error.message
    assert error.message.endswith(f"{reply.split()[-1]}'.")


def test_a_refused_login_without_a_known_provider_keeps_the_usual_words():
    error = failure({"AUTH": "535 5.7.8 Authentication failed"}, "ann@example.org")

    assert error.kind is ErrorKind.AUTH_FAILED
    assert "Check the user name and password in Accounts" in error.message
    assert "app password" not in error.message


@pytest.mark.parametrize("email", ["ann@gmail.com", "ann@example.org"])
def test_530_5_7_0_at_mail_says_to_secure_the_connection(email):
    error = failure({"MAIL": STARTTLS_FIRST}, email, login=False)

    assert error.kind is ErrorKind.SENDER_REFUSED
    assert not error.retryable
    assert "only over a secure connection" in error.message
    assert "STARTTLS" in error.message
    assert "SSL/TLS" in error.message
    assert STARTTLS_FIRST in error.message
    assert ("Gmail (127.0.0.1)" in error.message) is (email == "ann@gmail.com")


def test_530_5_7_0_asking_for_a_login_says_to_enter_one():
    error = failure({"MAIL": "530 5.7.0 Authentication Required"}, "ann@gmail.com", login=False)

    assert "only from a logged-in user" in error.message
    assert "530 5.7.0 Authentication Required" in error.message


@pytest.mark.parametrize(
    ("verb", "reply"),
    [
        ("MAIL", "550 5.7.1 Client does not have permissions to send as this sender"),
        ("MAIL", "553 5.7.1 Sender address rejected"),
        ("RCPT", NOT_YOURS),
    ],
)
def test_a_from_address_not_ones_own_is_said_so(verb, reply):
    error = failure({verb: reply}, "ann@gmail.com")

    assert not error.retryable
    assert "will not send mail from" in error.message
    assert "this account's From address" in error.message
    assert "your own address at Gmail" in error.message
    assert "Send mail as" in error.message
    assert reply in error.message


def test_a_from_address_refused_after_the_message_says_nobody_got_it():
    reply = "550 5.7.60 SMTP; Client does not have permissions to send as this sender"
    error = failure({"message": after_the_message(reply)}, "ann@outlook.com")

    assert error.kind is ErrorKind.SERVER_ERROR
    assert "From address" in error.message
    assert "nobody got it" in error.message


@pytest.mark.parametrize(
    ("answers", "reply"),
    [
        ({"MAIL": LATER}, LATER),
        ({"RCPT": "450 4.2.1 The user you are trying to contact is receiving mail too fast"}, None),
        ({"MAIL": "451 4.3.0 Mail server temporarily rejected message."}, None),
        ({"message": after_the_message("452 4.3.1 Insufficient system resources")}, None),
    ],
    ids=["421 4.7.0", "450 at RCPT", "451 at MAIL", "452 after the message"],
)
def test_not_now_says_the_outbox_tries_again(answers, reply):
    error = failure(answers, "ann@gmail.com")

    assert error.retryable
    assert "Gmail (127.0.0.1)" in error.message
    assert "Outbox tries again by itself" in error.message
    said = reply or next(iter(answers.values()))
    if isinstance(said, str):
        assert said in error.message


def test_554_5_7_1_after_the_message_says_spam_and_what_to_check():
    error = failure({"message": after_the_message(SPAM)}, "ann@gmail.com")

    assert error.kind is ErrorKind.SERVER_ERROR
    assert not error.retryable
    assert "received the message and refused it as likely spam" in error.message
    assert "nobody got it" in error.message
    assert "attachments" in error.message
    assert SPAM in error.message


def test_554_5_7_1_relay_denied_says_to_log_in():
    reply = "554 5.7.1 <bob@example.net>: Relay access denied"
    error = failure({"RCPT": reply}, "ann@example.org", login=False)

    assert error.kind is ErrorKind.RECIPIENTS_REFUSED
    assert "will not pass mail on" in error.message
    assert reply in error.message
    assert error.refused  # still says whom


# --- through a compose window ------------------------------------------------------------

WINDOW_CASES = [
    ({"AUTH": GMAIL_535}, "ann@gmail.com", True, "app password", False),
    ({"AUTH": MICROSOFT_139}, "ann@example.org", True, "December 2026", False),
    ({"AUTH": ICLOUD_535}, "ann@icloud.com", True, "app-specific password", False),
    ({"MAIL": STARTTLS_FIRST}, "ann@gmail.com", False, "only over a secure connection", False),
    ({"RCPT": NOT_YOURS}, "ann@gmail.com", True, "your own address at Gmail", False),
    ({"MAIL": LATER}, "ann@gmail.com", True, "not taking mail from you right now", True),
    ({"message": after_the_message(SPAM)}, "ann@gmail.com", True, "likely spam", False),
]


@pytest.mark.parametrize(
    ("answers", "email", "login", "words", "queued"),
    WINDOW_CASES,
    ids=[
        "gmail 535 5.7.8",
        "microsoft 535 5.7.139",
        "icloud 535",
        "530 5.7.0",
        "553 5.7.1",
        "421 4.7.0",
        "554 5.7.1",
    ],
)
def test_the_status_bar_says_what_to_do_and_the_servers_words(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    clock: FakeClock,  # no retry from the Outbox while the test runs
    answers: dict[str, Answer],
    email: str,
    login: bool,
    words: str,
    queued: bool,
) -> None:
    with scripted(answers) as server:
        account = account_at(server, email, login=login, timeout=10)
        configure(config_dir, account, password=PASSWORD)
        window = make_window()
        fill(window, to="bob@example.org", subject="Keep me", body="Typed with care")
        before = snapshot(window)

        assert send(qtbot, window, timeout=60_000) is False

    shown = window.statusBar().currentMessage()
    assert words in shown
    assert "The server said '" in shown
    assert PASSWORD not in shown
    entries = session_of(window).sending.entries()
    if queued:
        [entry] = entries
        assert entry.subject == "Keep me"
        assert entry.state is EntryState.WAITING
        assert words in entry.last_error
    else:
        assert entries == []
        assert snapshot(window) == before
        assert window.action_send.isEnabled()

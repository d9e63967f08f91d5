"""Send through the window, then the copy in the mailbox's Sent folder: made, or told, retried."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from composer.folders import _uncopied
from composer.mail.accounts import Security
from composer.mail.mailbox_copy import DONE, PENDING, SentCopies, imap_secret_key
from composer.mail.secrets import SecretStore
from composer.ui.compose_window import ComposeWindow
from composer.ui.folders_window import FoldersWindow
from tests.dovecot import Dovecot
from tests.integration.test_nothing_lost import session_of
from tests.servers import PASSWORD, SmtpServer, account_for
from tests.windows import MakeWindow, configure, fill, send


def status(window: ComposeWindow) -> str:
    return window.statusBar().currentMessage()


def copies_of(window: ComposeWindow) -> SentCopies:
    context = session_of(window).context
    return SentCopies(context.sent, context.secrets)


def wait_until_idle(qtbot: QtBot, window: ComposeWindow) -> None:
    qtbot.waitUntil(lambda: not session_of(window).sending._tasks, timeout=20_000)


def test_a_message_sent_through_the_window_lands_in_the_mailboxs_sent_folder(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    smtp_server: SmtpServer,
    dovecot: Dovecot,
) -> None:
    account = account_for(
        smtp_server,
        Security.STARTTLS,
        imap_host=dovecot.host,
        imap_port=dovecot.starttls_port,
        imap_security=Security.STARTTLS,
    )
    configure(config_dir, account, password=PASSWORD)
    window = make_window()
    fill(window, to="bob@example.org", subject="Grüße — ✓", body="Hällo,\n.dot\n")

    assert send(qtbot, window) is True
    qtbot.waitUntil(lambda: len(dovecot.messages("Sent")) == 1, timeout=20_000)
    wait_until_idle(qtbot, window)

    assert dovecot.fetch_all("Sent") == smtp_server.raw
    assert "Sent to 1 recipient" in status(window)
    [summary] = session_of(window).context.sent.summaries()
    assert copies_of(window).state(summary.key) == DONE


def test_a_wrong_imap_password_is_told_without_touching_the_send_and_the_copy_comes_later(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    smtp_server: SmtpServer,
    dovecot: Dovecot,
) -> None:
    account = account_for(
        smtp_server,
        Security.STARTTLS,
        imap_host=dovecot.host,
        imap_port=dovecot.tls_port,
        imap_security=Security.SSL_TLS,
    )
    configure(config_dir, account, password=PASSWORD)
    SecretStore().set(imap_secret_key(account.id), "wrong")
    window = make_window()
    fill(window, to="bob@example.org", subject="First", body="one\n")

    assert send(qtbot, window) is True
    qtbot.waitUntil(lambda: "copy to the Sent folder" in status(window), timeout=20_000)

    text = status(window)
    assert "“First” was sent, but the copy to the Sent folder of your mailbox on 127.0.0.1" in text
    assert "did not accept the user name ann" in text
    assert "try again" in text
    assert len(smtp_server.raw) == 1  # delivered once
    [summary] = session_of(window).context.sent.summaries()  # and kept in local Sent
    assert copies_of(window).state(summary.key) == PENDING
    assert dovecot.messages("Sent") == []
    folders = FoldersWindow()
    qtbot.addWidget(folders)
    context = session_of(window).context
    folders.set_sent([summary], _uncopied(context.sent, [summary]))
    assert "not copied to the mailbox's Sent folder yet" in folders.sent.topLevelItem(0).text(3)
    wait_until_idle(qtbot, window)

    # The password is put right; the next send brings the earlier copy along with its own.
    SecretStore().delete(imap_secret_key(account.id))
    fill(window, to="bob@example.org", subject="Second", body="two\n")
    assert send(qtbot, window) is True
    qtbot.waitUntil(lambda: len(dovecot.messages("Sent")) == 2, timeout=20_000)
    wait_until_idle(qtbot, window)

    assert sorted(dovecot.fetch_all("Sent")) == sorted(smtp_server.raw)
    assert len(smtp_server.raw) == 2
    copies = copies_of(window)
    assert {copies.state(s.key) for s in session_of(window).context.sent.summaries()} == {DONE}


def test_a_copy_owed_when_composer_stopped_is_made_at_the_next_start(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    smtp_server: SmtpServer,
    dovecot: Dovecot,
) -> None:
    account = account_for(
        smtp_server,
        Security.STARTTLS,
        imap_host=dovecot.host,
        imap_port=dovecot.tls_port,
        imap_security=Security.SSL_TLS,
    )
    configure(config_dir, account, password=PASSWORD)
    SecretStore().set(imap_secret_key(account.id), "wrong")
    first = make_window()
    fill(first, to="bob@example.org", subject="Before", body="one\n")
    assert send(qtbot, first) is True
    qtbot.waitUntil(lambda: "copy to the Sent folder" in status(first), timeout=20_000)
    wait_until_idle(qtbot, first)
    first.close()

    SecretStore().delete(imap_secret_key(account.id))
    second = make_window()  # a new start over the same files
    qtbot.waitUntil(lambda: len(dovecot.messages("Sent")) == 1, timeout=20_000)
    wait_until_idle(qtbot, second)

    assert dovecot.fetch_all("Sent") == smtp_server.raw
    assert len(smtp_server.raw) == 1

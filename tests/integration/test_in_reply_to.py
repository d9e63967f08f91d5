"""A reply's In-Reply-To is shown in the window, and the user can drop it."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default

from pytestqt.qtbot import QtBot

from composer.mail.draft import Draft
from composer.mail.mailto import parse_mailto
from composer.ui.compose_window import ComposeWindow
from tests.integration.test_nothing_lost import session_of
from tests.windows import MakeWindow, send


def sent_headers(window: ComposeWindow) -> tuple[str | None, str | None]:
    sent = session_of(window).context.sent
    [summary] = sent.summaries()
    message = message_from_bytes(sent.message_bytes(summary.key), policy=default)
    return message["In-Reply-To"], message["References"]


def test_a_reply_shows_what_it_answers_and_threads_under_it(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    window = make_window()
    window.load_draft(
        parse_mailto("mailto:ann@example.org?subject=Re&in-reply-to=%3Corig@example.net%3E")
    )
    assert window.form.in_reply_to.isVisibleTo(window)
    assert window.form.in_reply_to.text() == "<orig@example.net>"
    assert window.form.in_reply_to.isReadOnly()
    assert send(qtbot, window)
    assert sent_headers(window) == ("<orig@example.net>", "<orig@example.net>")


def test_not_a_reply_drops_it_from_what_is_sent(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window()
    window.load_draft(Draft(to="ann@example.org", subject="Re", in_reply_to="<orig@example.net>"))
    window.form.not_a_reply.click()
    assert not window.form.in_reply_to.isVisibleTo(window)
    assert send(qtbot, window)
    assert sent_headers(window) == (None, None)


def test_a_new_message_has_no_reply_row(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window()
    assert not window.form.in_reply_to.isVisibleTo(window)
    window.load_draft(Draft(in_reply_to="<orig@example.net>"))
    window.action_new.trigger()
    assert not window.form.in_reply_to.isVisibleTo(window)
    assert window.draft().in_reply_to == ""

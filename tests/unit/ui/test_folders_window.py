"""The folders window: what it lists, as plain text, and what its buttons ask for."""

from __future__ import annotations

from datetime import datetime, timedelta

from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from composer.mail.drafts import DraftSummary
from composer.mail.message import Envelope
from composer.mail.outbox import EntryState, OutboxEntry
from composer.mail.sent import SentSummary
from composer.ui.folders_window import FoldersWindow

NOW = datetime.now().astimezone()
HOSTILE = '554 <img src="file:///dev/zero"> <b>bold</b>\r\nX-Injected: 1'


def entry(key: str, **changes: object) -> OutboxEntry:
    values: dict[str, object] = {
        "key": key,
        "account_id": "acc",
        "envelope": Envelope("ann@example.org", ("bob@example.org",)),
        "message_id": f"<{key}@example.org>",
        "subject": "Report",
        "to": "Bob <bob@example.org>",
        "size": 1200,
        "queued_at": NOW,
        "state": EntryState.WAITING,
        "attempts": 1,
        "next_attempt": NOW + timedelta(minutes=1),
        "last_error": HOSTILE,
        "last_error_kind": "server error",
        "scheduled": False,
    }
    values.update(changes)
    return OutboxEntry(**values)  # type: ignore[arg-type]


def make(qtbot: QtBot) -> FoldersWindow:
    window = FoldersWindow()
    qtbot.addWidget(window)
    return window


def test_outbox_rows_show_state_next_attempt_and_the_whole_error_as_plain_text(
    qtbot: QtBot,
) -> None:
    window = make(qtbot)
    window.set_outbox(
        [
            entry("a"),
            entry("b", state=EntryState.MAY_HAVE_BEEN_SENT, next_attempt=None),
            entry("c", scheduled=True, subject=""),
        ]
    )
    rows = [
        [window.outbox.topLevelItem(i).text(c) for c in range(5)]
        for i in range(window.outbox.topLevelItemCount())
    ]
    assert [row[2] for row in rows] == ["Waiting", "May have been sent", "Scheduled"]
    assert rows[0][3] == f"{NOW + timedelta(minutes=1):%H:%M}"
    assert rows[1][3] == ""
    assert rows[2][0] == "(no subject)"
    assert "\n" not in rows[0][4]  # one line in the list
    window.outbox.setCurrentItem(window.outbox.topLevelItem(0))
    assert window.details.toPlainText() == HOSTILE.replace("\r\n", "\n")


def test_buttons_ask_for_the_selected_messages(qtbot: QtBot) -> None:
    window = make(qtbot)
    window.set_outbox([entry("a"), entry("b")])
    asked: list[tuple[str, str]] = []
    window.send_now.connect(lambda key: asked.append(("send", key)))
    window.back_to_drafts.connect(lambda key: asked.append(("back", key)))
    window.delete_queued.connect(lambda key: asked.append(("delete", key)))
    window.outbox.topLevelItem(1).setSelected(True)
    for name in ("sendNow", "backToDrafts", "deleteQueued"):
        button = window.findChild(QPushButton, name)
        assert button is not None
        button.click()
    assert asked == [("send", "b"), ("back", "b"), ("delete", "b")]
    with qtbot.waitSignal(window.send_all_now):
        window.findChild(QPushButton, "sendAllNow").click()  # type: ignore[union-attr]


def test_refilling_keeps_the_selection(qtbot: QtBot) -> None:
    window = make(qtbot)
    window.set_outbox([entry("a"), entry("b")])
    window.outbox.topLevelItem(1).setSelected(True)
    window.set_outbox([entry("a"), entry("b"), entry("c")])
    assert [i.text(0) for i in window.outbox.selectedItems()] == ["Report"]
    assert window.outbox.selectedItems()[0] is window.outbox.topLevelItem(1)


def test_drafts_newest_first_and_sent_dates_readable(qtbot: QtBot) -> None:
    window = make(qtbot)
    window.set_drafts(
        [
            DraftSummary("k1", "Old", "a@example.org", NOW - timedelta(days=400), 10, False),
            DraftSummary("k2", "New", "b@example.org", NOW, 2048, True),
        ]
    )
    assert [window.drafts.topLevelItem(i).text(0) for i in range(2)] == ["New", "Old"]
    assert window.drafts.topLevelItem(1).text(2).endswith(f"{NOW - timedelta(days=400):%Y %H:%M}")
    window.set_sent(
        [
            SentSummary(
                "s1", "Hi", "c@example.org", "Tue, 01 Dec 2026 09:30:00 +0000", "h", "250 OK", 5
            )
        ]
    )
    assert window.sent.topLevelItem(0).text(3) == "250 OK"
    assert "2026" in window.sent.topLevelItem(0).text(2) or ":" in window.sent.topLevelItem(0).text(
        2
    )


def test_activating_a_draft_opens_it(qtbot: QtBot) -> None:
    window = make(qtbot)
    window.set_drafts([DraftSummary("k1", "Old", "a@example.org", NOW, 10, False)])
    with qtbot.waitSignal(window.open_draft) as opened:
        window.drafts.itemActivated.emit(window.drafts.topLevelItem(0), 0)
    assert opened.args == ["k1"]

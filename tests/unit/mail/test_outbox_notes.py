"""What the status bar says about a message in the Outbox."""

from __future__ import annotations

from datetime import datetime, timedelta

from composer.mail.message import Envelope
from composer.mail.outbox import EntryState, OutboxEntry
from composer.mail.outbox_notes import describe_entry, describe_time

NOW = datetime.now().astimezone()


def entry(**changes: object) -> OutboxEntry:
    values: dict[str, object] = {
        "key": "k",
        "account_id": "acc",
        "envelope": Envelope("ann@example.org", ("bob@example.org",)),
        "message_id": "<k@example.org>",
        "subject": "Report",
        "to": "bob@example.org",
        "size": 100,
        "queued_at": NOW,
        "state": EntryState.WAITING,
        "attempts": 1,
        "next_attempt": NOW.replace(hour=23, minute=59),
        "last_error": "The connection to smtp.example.org:587 was refused.",
        "last_error_kind": "connection refused",
        "scheduled": False,
    }
    values.update(changes)
    return OutboxEntry(**values)  # type: ignore[arg-type]


def test_a_retry_names_the_error_and_when() -> None:
    text = describe_entry(entry())
    assert text.startswith("“Report” could not be sent yet: The connection")
    assert "waits in the Outbox" in text
    assert text.endswith("tries again at 23:59.")


def test_a_send_later_says_when_on_another_day() -> None:
    later = NOW + timedelta(days=2)
    text = describe_entry(entry(scheduled=True, next_attempt=later, subject=""))
    assert text.startswith("“(no subject)” will be sent on ")
    assert f"{later.astimezone().day} " in text


def test_held_and_maybe_sent_say_they_are_kept() -> None:
    held = describe_entry(entry(state=EntryState.HELD, last_error="550 No such user."))
    assert held == "“Report” was not sent: 550 No such user. It is kept in the Outbox."
    maybe = describe_entry(
        entry(state=EntryState.MAY_HAVE_BEEN_SENT, last_error="This message may have been sent.")
    )
    assert maybe == "“Report”: This message may have been sent. It is kept in the Outbox."


def test_times_today_are_only_the_clock() -> None:
    assert describe_time(NOW.replace(hour=9, minute=5)) == "at 09:05"
    other = NOW.replace(hour=9, minute=5) + timedelta(days=1)
    assert describe_time(other) == f"on {other:%a} {other.day} {other:%b} at 09:05"

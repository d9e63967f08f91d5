"""Sentences about messages in the Outbox, for the status bar and the application's notes."""

from __future__ import annotations

from datetime import datetime

from composer.mail.outbox import EntryState, OutboxEntry


def describe_entry(entry: OutboxEntry) -> str:
    """What the status bar says about a message that waits in the Outbox."""
    subject = entry.subject or "(no subject)"
    if entry.state is EntryState.MAY_HAVE_BEEN_SENT:
        return f"“{subject}”: {entry.last_error} It is kept in the Outbox."
    if entry.state is EntryState.HELD:
        return f"“{subject}” was not sent: {entry.last_error} It is kept in the Outbox."
    when = describe_time(entry.next_attempt) if entry.next_attempt else "soon"
    if entry.scheduled:
        return f"“{subject}” will be sent {when}. Folders ▸ Outbox shows it until then."
    return (
        f"“{subject}” could not be sent yet: {entry.last_error} It waits in the Outbox, and "
        f"Composer tries again {when}."
    )


def describe_time(when: datetime) -> str:
    """ "at 14:05" today, "on Wed 2 Dec at 09:00" another day, in the local time."""
    local = when.astimezone()
    clock = f"at {local:%H:%M}"
    if local.date() == datetime.now().astimezone().date():
        return clock
    return f"on {local:%a} {local.day} {local:%b} {clock}"

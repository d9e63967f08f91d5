"""What an Outbox entry's state holds, and the rules read from it: when it is due, how long
to wait after a failure, whether a commit mark says its final dot may have gone."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from composer.mail.commit_log import Mark
from composer.mail.envelope import Envelope
from composer.mail.errors import describe_refused
from composer.mail.outbox_file import EntryHead

FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
# ±20 % around the nominal delay: queued messages that failed together spread out.
JITTER = 0.2


class EntryState(enum.Enum):
    WAITING = "waiting"
    SENDING = "sending"
    MAY_HAVE_BEEN_SENT = "may have been sent"
    HELD = "held"


@dataclass(frozen=True)
class OutboxEntry:
    """One queued message as a list shows it."""

    key: str
    account_id: str
    envelope: Envelope
    message_id: str
    subject: str
    to: str
    size: int
    queued_at: datetime
    state: EntryState
    attempts: int
    next_attempt: datetime | None
    last_error: str
    last_error_kind: str
    # Waiting for a Send later time rather than for a retry or the undo delay.
    scheduled: bool
    # Recipients that will not get it (refused for good), in words; "" when none.
    note: str = ""
    # The draft it was sent from (deleted once it is here; see Outbox.add).
    draft_key: str = ""


def retry_delay(attempts: int, random: Callable[[], float]) -> timedelta:
    """How long to wait after the attempts-th failed attempt (1 = the first).

    One minute, doubling up to one hour; then ±20 % jitter (random() in [0, 1)), so the
    average stays the nominal delay and messages that failed together do not retry in
    lockstep. Chosen over "full jitter" because a first retry should not come at once.
    """
    nominal = FIRST_RETRY * (1 << min(max(attempts, 1) - 1, 12))
    nominal = min(nominal, LONGEST_RETRY)
    return nominal * (1 - JITTER + 2 * JITTER * random())


def new_state(now: datetime, not_before: datetime | None, scheduled: bool) -> dict[str, Any]:
    return {
        "version": 1,
        "state": EntryState.WAITING.value,
        "attempts": 0,
        "next_attempt": (not_before or now).isoformat(),
        "scheduled": scheduled,
        "last_error": "",
        "last_error_kind": "",
        "committed": False,
        "round": 0,
        "updated_at": now.isoformat(),
    }


def pending_mark(state: dict[str, Any] | None, marks: list[Mark]) -> Mark | None:
    """The mark that says an attempt of the entry reached its final dot with no outcome on
    disk; None when there is none (no mark, or each is for an attempt that was settled).

    An outcome is written with the attempt's number, so a state that counts fewer attempts
    than a mark was written before that attempt began, whatever it says; one that counts as
    many is settled unless it is still SENDING. Without a state, any mark counts.
    """
    if state is None:
        return marks[-1] if marks else None
    attempts = int(state["attempts"])
    sending = state["state"] == EntryState.SENDING.value
    for mark in reversed(marks):
        if mark.attempt > attempts or (mark.attempt == attempts and sending):
            return mark
    return None


def state_is_valid(state: dict[str, Any]) -> bool:
    try:
        EntryState(state["state"])
        int(state["attempts"])
        if state.get("next_attempt"):
            datetime.fromisoformat(state["next_attempt"])
        recipients = state.get("recipients")
        return recipients is None or (
            isinstance(recipients, list) and all(isinstance(r, str) for r in recipients)
        )
    except (KeyError, ValueError, TypeError):
        return False


def envelope_of(head: EntryHead, state: dict[str, Any]) -> Envelope:
    recipients = state.get("recipients")
    if recipients:
        return replace(head.envelope, recipients=tuple(recipients))
    return head.envelope


def is_due(entry: OutboxEntry, now: datetime) -> bool:
    return (entry.next_attempt or entry.queued_at) <= now


def sent_record_key(key: str, round_: int) -> str:
    """The Sent record's key for round_ (0: the first delivery, 1…: after a partial one)."""
    if round_ == 0:
        return key
    first, dash, rest = key.partition("-")
    return f"{first[:30]}r{round_}{dash}{rest}"


def refused_note(refused: dict[str, tuple[int, str]]) -> str:
    if not refused:
        return ""
    return f"Refused for good, so they did not get it: {describe_refused(refused)}."


def later_note(refused: dict[str, tuple[int, str]]) -> str:
    return f"Not taken yet, so Composer will try again for: {describe_refused(refused)}."

"""The Outbox: queueing, backoff, failures by kind, partial delivery, recovery after a crash."""

from __future__ import annotations

import contextlib
import os
import random
import sys
import threading
import tracemalloc
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from pathlib import Path

import pytest

from composer.mail.draft import Attachment, Draft
from composer.mail.errors import ErrorKind, SendError
from composer.mail.message import OutgoingMessage, Sendable, build_message
from composer.mail.outbox import EntryState, Outbox, OutboxError
from composer.mail.outbox_state import retry_delay
from composer.mail.progress import SendResult
from composer.mail.sent import PIECE, SentFolder
from composer.mail.store import MessageFolder, new_key

SENDER = Address("Ann Lee", "ann", "example.org")
START = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sent(tmp_path: Path) -> SentFolder:
    return SentFolder(MessageFolder(tmp_path / "Sent"))


@pytest.fixture
def outbox(tmp_path: Path, sent: SentFolder, clock: Clock) -> Outbox:
    return Outbox(MessageFolder(tmp_path / "Outbox"), sent, clock=clock, random=lambda: 0.5)


def reopened(outbox: Outbox) -> Outbox:
    """The same folders as a new run of Composer would see them."""
    # The run before has ended: the system drops the locks it held on entries being sent.
    for fd in outbox._claims.values():
        os.close(fd)
    outbox._claims.clear()
    # And the lock on its commit log, which stays behind as a crash leaves it.
    commits = outbox._commits
    with commits._lock:
        commits._wait_idle()  # its background sync done with the file (see test_commit_log)
        if commits._fd is not None:
            os.close(commits._fd)
            commits._fd = commits._path = None
    sent = SentFolder(MessageFolder(outbox.sent.folder.path))
    return Outbox(MessageFolder(outbox.folder.path), sent, clock=outbox._clock, random=lambda: 0.5)


def build(**fields: object) -> OutgoingMessage:
    values: dict[str, object] = {"to": "bob@example.net", "subject": "Hello", "body": "Hi\n"}
    values.update(fields)
    return build_message(Draft(**values), SENDER)  # type: ignore[arg-type]


def result_for(message: Sendable, **fields: object) -> SendResult:
    values: dict[str, object] = {
        "host": "smtp.example.org",
        "message_id": message.message_id,
        "accepted": message.envelope.recipients,
        "reply": "250 Ok",
        "sent_at": "Tue, 04 Mar 2025 10:00:00 +0000",
    }
    values.update(fields)
    return SendResult(**values)  # type: ignore[arg-type]


def transmit(message: Sendable) -> bytes:
    """What a transport does with a message: check, then read it piece by piece."""
    message.check_files()
    pieces = list(message.chunks())
    assert all(len(piece) <= PIECE + 1000 for piece in pieces)
    data = b"".join(pieces)
    assert len(data) == message.size()
    return data


def disconnected() -> SendError:
    return SendError(ErrorKind.DISCONNECTED, "The connection to smtp.example.org:587 was lost.")


# Queueing


def test_entry_is_due_only_from_not_before(outbox: Outbox, clock: Clock) -> None:
    later = START + timedelta(minutes=10)
    entry = outbox.add(build(), "acc", not_before=later, scheduled=True)
    assert entry.state is EntryState.WAITING
    assert entry.scheduled
    assert entry.next_attempt == later
    assert outbox.due() == {}
    assert outbox.next_due() == later
    clock.advance(minutes=9, seconds=59)
    assert outbox.due() == {}
    clock.advance(seconds=1)
    assert [e.key for e in outbox.due()["acc"]] == [entry.key]


def test_an_undo_delay_is_not_a_send_later(outbox: Outbox) -> None:
    entry = outbox.add(build(), "acc", not_before=START + timedelta(seconds=5))
    assert not entry.scheduled
    assert outbox.due() == {}


def test_entry_without_not_before_is_due_now(outbox: Outbox) -> None:
    entry = outbox.add(build(), "acc")
    assert not entry.scheduled
    assert outbox.due() == {"acc": [entry]}


def test_entry_shows_what_a_list_needs(outbox: Outbox) -> None:
    message = build(
        to="Bob <bob@example.net>", cc="cy@example.net", bcc="dee@example.net", subject="Grüße"
    )
    entry = outbox.add(message, "acc-1")
    assert entry.subject == "Grüße"
    assert entry.to == "Bob <bob@example.net>"
    assert entry.envelope == message.envelope
    assert "dee@example.net" in entry.envelope.recipients
    assert entry.message_id == message.message_id
    assert entry.size == message.size()
    assert entry.queued_at == START
    assert entry.attempts == 0
    assert outbox.entry(entry.key) == entry
    assert outbox.entries() == [entry]


def test_due_groups_by_account_oldest_first(outbox: Outbox, clock: Clock) -> None:
    first = outbox.add(build(subject="1"), "a")
    clock.advance(seconds=1)
    second = outbox.add(build(subject="2"), "b")
    clock.advance(seconds=1)
    third = outbox.add(build(subject="3"), "a")
    due = outbox.due()
    assert [e.key for e in due["a"]] == [first.key, third.key]
    assert [e.key for e in due["b"]] == [second.key]


def test_naive_times_are_refused(outbox: Outbox, clock: Clock) -> None:
    with pytest.raises(ValueError, match="timezone"):
        outbox.add(build(), "acc", not_before=datetime(2025, 3, 4, 11, 0))
    clock.now = datetime(2025, 3, 4, 11, 0)
    with pytest.raises(ValueError, match="timezone"):
        outbox.due()


# The stored message


def test_stored_message_gives_the_same_bytes_as_the_built_one(
    tmp_path: Path, outbox: Outbox
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(random.Random(1).randbytes(700_000))
    message = build(
        subject="Ünïcode subject",
        body="é\n.line with a dot\n" * 50,
        attachments=(Attachment(big), Attachment(big, "second.bin")),
    )
    entry = outbox.add(message, "acc")
    stored = outbox.begin(entry.key)
    assert stored.envelope == message.envelope
    assert stored.message_id == message.message_id
    assert stored.size() == message.size()
    assert stored.is_ascii() == message.is_ascii()
    assert transmit(stored) == message.as_bytes()
    assert outbox.message_bytes(entry.key) == message.as_bytes()


def test_memory_stays_bounded_while_queueing_and_reading(tmp_path: Path, outbox: Outbox) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(random.Random(2).randbytes(8_000_000))
    message = build(attachments=(Attachment(big),))
    tracemalloc.start()
    try:
        entry = outbox.add(message, "acc")
        stored = outbox.begin(entry.key)
        for _piece in stored.chunks():
            pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stored.size() > 10_000_000
    assert peak < 2_000_000


def test_check_files_names_a_vanished_or_changed_entry(outbox: Outbox) -> None:
    entry = outbox.add(build(subject="Report"), "acc")
    stored = outbox.begin(entry.key)
    stored.check_files()
    path = outbox.folder.file(entry.key)
    with path.open("ab") as stream:
        stream.write(b"more")
    with pytest.raises(SendError, match=r"Report.*changed") as changed:
        stored.check_files()
    assert changed.value.kind is ErrorKind.FILE
    with pytest.raises(SendError, match="changed"):
        list(stored.chunks())
    path.unlink()
    with pytest.raises(SendError, match="no longer in the Outbox") as gone:
        stored.check_files()
    assert gone.value.kind is ErrorKind.FILE
    with pytest.raises(SendError, match="no longer"):
        list(stored.chunks())


def test_is_ascii_follows_the_message(outbox: Outbox) -> None:
    plain = outbox.add(build(), "acc")
    assert outbox.begin(plain.key).is_ascii()
    eight_bit = build(to="jörg@example.net")
    assert not eight_bit.is_ascii()
    stored = outbox.begin(outbox.add(eight_bit, "acc").key)
    assert not stored.is_ascii()
    assert stored.envelope.recipients == ("jörg@example.net",)
    assert transmit(stored) == eight_bit.as_bytes()


# Backoff


@pytest.mark.parametrize(
    ("attempts", "jitter", "seconds"),
    [
        (0, 0.5, 60),
        (1, 0.5, 60),
        (2, 0.5, 120),
        (3, 0.5, 240),
        (6, 0.5, 1920),
        (7, 0.5, 3600),
        (8, 0.5, 3600),
        (1000, 0.5, 3600),
        (1, 0.0, 48),
        (1, 0.999999, 72),
        (7, 0.0, 2880),
        (7, 0.999999, 4320),
        (2, 0.25, 108),
    ],
)
def test_retry_delay(attempts: int, jitter: float, seconds: float) -> None:
    delay = retry_delay(attempts, lambda: jitter)
    assert delay.total_seconds() == pytest.approx(seconds, abs=0.01)


def test_retry_delays_spread_out() -> None:
    rng = random.Random(3)
    delays = {retry_delay(3, rng.random) for _ in range(50)}
    assert len(delays) == 50
    assert min(delays) >= timedelta(seconds=192)
    assert max(delays) <= timedelta(seconds=288)


# One send and how it ends


def test_begin_refuses_an_entry_that_is_not_waiting(outbox: Outbox) -> None:
    entry = outbox.add(build(), "acc")
    outbox.begin(entry.key)
    assert outbox.entry(entry.key).state is EntryState.SENDING
    assert outbox.entry(entry.key).attempts == 1
    with pytest.raises(OutboxError, match="already being sent"):
        outbox.begin(entry.key)
    assert outbox.due() == {}
    with pytest.raises(OutboxError):
        outbox.begin(new_key())


def test_two_flushes_never_take_the_same_entry(outbox: Outbox) -> None:
    keys = [outbox.add(build(subject=str(i)), "acc").key for i in range(20)]
    taken: list[str] = []
    barrier = threading.Barrier(8)

    def flush() -> None:
        barrier.wait()
        for key in keys:
            try:
                outbox.begin(key)
            except OutboxError:
                continue
            taken.append(key)

    threads = [threading.Thread(target=flush) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == sorted(keys)


def test_delivered_writes_sent_then_removes(outbox: Outbox, sent: SentFolder) -> None:
    message = build()
    entry = outbox.add(message, "acc")
    stored = outbox.begin(entry.key)
    transmit(stored)
    outbox.committing(entry.key, "smtp.example.org")
    sent_key = outbox.delivered(entry.key, result_for(stored))
    assert sent_key == entry.key
    assert outbox.entries() == []
    assert not outbox.folder.file(entry.key).exists()
    assert sent.message_bytes(sent_key) == message.as_bytes()
    [summary] = sent.summaries()
    assert summary.account_id == "acc"
    assert summary.note == ""


def test_retryable_failure_waits_with_backoff(outbox: Outbox, clock: Clock) -> None:
    entry = outbox.add(build(), "acc")
    outbox.begin(entry.key)
    outbox.failed(entry.key, disconnected())
    waiting = outbox.entry(entry.key)
    assert waiting.state is EntryState.WAITING
    assert waiting.next_attempt == START + timedelta(minutes=1)
    assert waiting.last_error == "The connection to smtp.example.org:587 was lost."
    assert waiting.last_error_kind == ErrorKind.DISCONNECTED.value
    assert not waiting.scheduled
    assert outbox.due() == {}
    clock.advance(minutes=1)
    outbox.begin(entry.key)
    outbox.failed(entry.key, disconnected())
    assert outbox.entry(entry.key).next_attempt == clock.now + timedelta(minutes=2)
    assert outbox.entry(entry.key).attempts == 2


def test_a_4xx_reply_to_the_final_dot_is_retried(outbox: Outbox) -> None:
    entry = outbox.add(build(), "acc")
    outbox.begin(entry.key)
    outbox.committing(entry.key, "smtp.example.org")
    error = SendError(ErrorKind.SERVER_ERROR, "could not take it now", smtp_code=451)
    outbox.failed(entry.key, error)
    assert outbox.entry(entry.key).state is EntryState.WAITING


def test_permanent_failure_is_held_with_its_reason(outbox: Outbox, clock: Clock) -> None:
    entry = outbox.add(build(), "acc")
    outbox.begin(entry.key)
    error = SendError(ErrorKind.AUTH_FAILED, "Could not log in to smtp.example.org.", smtp_code=535)
    outbox.failed(entry.key, error)
    held = outbox.entry(entry.key)
    assert held.state is EntryState.HELD
    assert held.last_error == "Could not log in to smtp.example.org."
    assert held.next_attempt is None
    clock.advance(days=30)
    assert outbox.due() == {}
    assert outbox.next_due() is None
    with pytest.raises(OutboxError):
        outbox.begin(entry.key)


def test_may_have_been_sent_is_never_due_until_the_user_says(outbox: Outbox, clock: Clock) -> None:
    entry = outbox.add(build(), "acc")
    outbox.begin(entry.key)
    outbox.committing(entry.key, "smtp.example.org")
    outbox.failed(entry.key, SendError(ErrorKind.MAY_HAVE_BEEN_SENT, "It may have been sent."))
    assert outbox.entry(entry.key).state is EntryState.MAY_HAVE_BEEN_SENT
    clock.advance(days=30)
    assert outbox.due() == {}
    outbox.send_now(entry.key)
    assert outbox.entry(entry.key).state is EntryState.WAITING
    assert list(outbox.due()) == ["acc"]


def test_a_lost_connection_after_the_commit_mark_may_have_been_sent(outbox: Outbox) -> None:
    entry = outbox.add(build(), "acc")
    outbox.begin(entry.key)
    outbox.committing(entry.key, "smtp.example.org")
    outbox.failed(entry.key, disconnected())
    assert outbox.entry(entry.key).state is EntryState.MAY_HAVE_BEEN_SENT


def test_failed_and_delivered_need_a_send_under_way(outbox: Outbox) -> None:
    entry = outbox.add(build(), "acc")
    with pytest.raises(OutboxError, match="not being sent"):
        outbox.failed(entry.key, disconnected())
    with pytest.raises(OutboxError, match="not being sent"):
        outbox.delivered(entry.key, result_for(build()))
    with pytest.raises(OutboxError, match="not being sent"):
        outbox.committing(entry.key)


def test_partial_delivery_keeps_only_the_temporarily_refused(
    outbox: Outbox, sent: SentFolder, clock: Clock
) -> None:
    message = build(to="a@example.net, b@example.net, c@example.net, d@example.net")
    entry = outbox.add(message, "acc")
    stored = outbox.begin(entry.key)
    refused = {"b@example.net": (451, "try later"), "c@example.net": (550, "no such user")}
    accepted = ("a@example.net", "d@example.net")
    first = outbox.delivered(entry.key, result_for(stored, accepted=accepted, refused=refused))

    waiting = outbox.entry(entry.key)
    assert waiting.state is EntryState.WAITING
    assert waiting.envelope.recipients == ("b@example.net",)
    assert waiting.next_attempt == START + timedelta(minutes=1)
    assert "c@example.net (550 no such user)" in waiting.note
    assert "b@example.net" in waiting.last_error
    [record] = sent.summaries()
    assert record.key == first
    assert record.accepted == accepted
    assert "c@example.net (550 no such user)" in record.note
    assert "b@example.net (451 try later)" in record.note
    assert outbox.message_bytes(entry.key) == message.as_bytes()  # the bytes do not change

    clock.advance(minutes=1)
    again = outbox.begin(entry.key)
    assert again.envelope.recipients == ("b@example.net",)
    assert transmit(again) == message.as_bytes()
    second = outbox.delivered(entry.key, result_for(again, accepted=("b@example.net",)))
    assert second != first
    assert outbox.entries() == []
    assert {s.key for s in sent.summaries()} == {first, second}
    assert sent.message_bytes(second) == message.as_bytes()


def test_refused_for_good_are_dropped_before_a_retry(outbox: Outbox) -> None:
    entry = outbox.add(build(to="a@example.net, b@example.net"), "acc")
    outbox.begin(entry.key)
    refused = {"a@example.net": (450, "busy"), "b@example.net": (550, "no such user")}
    error = SendError(ErrorKind.RECIPIENTS_REFUSED, "refused", smtp_code=450, refused=refused)
    outbox.failed(entry.key, error)
    waiting = outbox.entry(entry.key)
    assert waiting.state is EntryState.WAITING
    assert waiting.envelope.recipients == ("a@example.net",)
    assert "b@example.net" in waiting.note


# What the user asks for


def test_send_now_and_send_all_now(outbox: Outbox) -> None:
    later = outbox.add(build(subject="later"), "acc", not_before=START + timedelta(days=1))
    held = outbox.add(build(subject="held"), "acc")
    sending = outbox.add(build(subject="sending"), "acc")
    outbox.begin(held.key)
    outbox.failed(held.key, SendError(ErrorKind.AUTH_FAILED, "no", smtp_code=535))
    outbox.begin(sending.key)
    outbox.send_now(later.key)
    assert [e.key for e in outbox.due()["acc"]] == [later.key]
    assert not outbox.entry(later.key).scheduled
    waiting = outbox.add(build(subject="waiting"), "acc", not_before=START + timedelta(hours=1))
    # Held messages (and those that may have been sent) need the user's word one by one.
    assert outbox.send_all_now() == [later.key, waiting.key]
    assert [e.key for e in outbox.due()["acc"]] == [later.key, waiting.key]
    assert outbox.entry(held.key).state is EntryState.HELD
    assert outbox.entry(sending.key).state is EntryState.SENDING
    outbox.send_now(held.key)
    assert [e.key for e in outbox.due()["acc"]] == [later.key, held.key, waiting.key]


def test_remove_undoes_a_send_but_not_one_under_way(outbox: Outbox) -> None:
    undone = outbox.add(build(), "acc", not_before=START + timedelta(seconds=10))
    outbox.remove(undone.key)
    assert outbox.entries() == []
    with pytest.raises(OutboxError):
        outbox.entry(undone.key)
    going = outbox.add(build(), "acc")
    outbox.begin(going.key)
    with pytest.raises(OutboxError, match="being sent right now"):
        outbox.remove(going.key)
    assert outbox.folder.exists(going.key)


def test_back_to_drafts_gets_bytes_and_envelope(outbox: Outbox) -> None:
    message = build(bcc="hidden@example.net")
    entry = outbox.add(message, "acc")
    assert outbox.message_bytes(entry.key) == message.as_bytes()
    assert outbox.envelope(entry.key) == message.envelope
    with pytest.raises(OutboxError):
        outbox.message_bytes(new_key())


# Recovery after a crash


def test_recover_before_the_commit_mark_sends_again(outbox: Outbox, sent: SentFolder) -> None:
    entry = outbox.add(build(subject="Plans"), "acc")
    transmit(outbox.begin(entry.key))  # then the power goes
    after = reopened(outbox)
    [said] = after.recover()
    assert "Plans" in said
    assert "will be sent again" in said
    assert [e.key for e in after.due()["acc"]] == [entry.key]
    assert sent.summaries() == []


def test_recover_after_the_commit_mark_may_have_been_sent(outbox: Outbox) -> None:
    entry = outbox.add(build(subject="Plans"), "acc")
    outbox.begin(entry.key)
    outbox.committing(entry.key, "smtp.example.org")
    after = reopened(outbox)
    [said] = after.recover()
    recovered = after.entry(entry.key)
    assert recovered.state is EntryState.MAY_HAVE_BEEN_SENT
    assert "smtp.example.org" in recovered.last_error
    assert START.isoformat() in recovered.last_error
    assert "may have been sent" in said
    assert after.due() == {}


def test_recover_after_sent_was_written_removes_the_entry(outbox: Outbox, sent: SentFolder) -> None:
    entry = outbox.add(build(), "acc")
    stored = outbox.begin(entry.key)
    outbox.committing(entry.key, "smtp.example.org")
    # The crash comes after the Sent record is written, before the entry is removed.
    sent.record(stored, result_for(stored), account_id="acc", key=entry.key)
    after = reopened(outbox)
    [said] = after.recover()
    assert "sent already" in said
    assert after.entries() == []
    assert len(sent.summaries()) == 1


def test_recover_after_a_partial_delivery_was_recorded(outbox: Outbox, sent: SentFolder) -> None:
    entry = outbox.add(build(to="a@example.net, b@example.net, c@example.net"), "acc")
    stored = outbox.begin(entry.key)
    refused = {"b@example.net": (451, "later"), "c@example.net": (550, "unknown")}
    result = result_for(stored, accepted=("a@example.net",), refused=refused)
    sent.record(stored, result, account_id="acc", key=entry.key)
    after = reopened(outbox)
    after.recover()
    assert after.envelope(entry.key).recipients == ("b@example.net",)
    again = after.begin(entry.key)
    after.delivered(entry.key, result_for(again, accepted=("b@example.net",)))
    assert after.entries() == []
    assert len(sent.summaries()) == 2


@pytest.mark.parametrize("damage", ["missing", "unreadable", "wrong shape"])
def test_recover_with_missing_state_sends_now(outbox: Outbox, damage: str) -> None:
    entry = outbox.add(build(), "acc", not_before=START + timedelta(days=1))
    state_file = outbox.folder.path / f"{entry.key}.json"
    if damage == "missing":
        state_file.unlink()
    elif damage == "unreadable":
        state_file.write_bytes(b"\x00{")
    else:
        state_file.write_text('{"state": "flying", "attempts": "many"}')
    after = reopened(outbox)
    assert len(after.recover()) == 1
    assert [e.key for e in after.due()["acc"]] == [entry.key]
    assert after.folder.read_state(entry.key) is not None


def test_recover_with_missing_state_but_a_sent_record_removes(
    outbox: Outbox, sent: SentFolder
) -> None:
    entry = outbox.add(build(), "acc")
    stored = outbox.begin(entry.key)
    sent.record(stored, result_for(stored), account_id="acc", key=entry.key)
    (outbox.folder.path / f"{entry.key}.json").unlink()
    after = reopened(outbox)
    after.recover()
    assert after.entries() == []


def test_recover_leaves_settled_entries_alone(outbox: Outbox) -> None:
    later = outbox.add(build(), "acc", not_before=START + timedelta(days=1))
    held = outbox.add(build(), "acc")
    outbox.begin(held.key)
    outbox.failed(held.key, SendError(ErrorKind.AUTH_FAILED, "no", smtp_code=535))
    after = reopened(outbox)
    assert after.recover() == []
    assert after.entry(later.key) == outbox.entry(later.key)
    assert after.entry(held.key).state is EntryState.HELD


def test_recover_sweeps_leftovers(outbox: Outbox) -> None:
    outbox.add(build(), "acc")
    leftover = outbox.folder.path / ".half-written.eml.tmp"
    leftover.write_bytes(b"half")
    orphan = outbox.folder.path / f"{new_key()}.json"
    orphan.write_text("{}")
    reopened(outbox).recover()
    assert not leftover.exists()
    assert not orphan.exists()


def test_junk_files_are_skipped(outbox: Outbox) -> None:
    good = outbox.add(build(), "acc")
    folder = outbox.folder
    foreign, truncated, wrong = new_key(), new_key(), new_key()
    folder.write(foreign, [b"From: x@example.org\r\nSubject: not ours\r\n\r\nbody\r\n"])
    folder.write(truncated, [folder.read(good.key)[:70]])
    folder.write(wrong, [b"X-Composer-Format: outbox-1\r\nX-Composer-Eight-Bit: no\r\n\r\n"])
    (folder.path / "readme.txt").write_text("hi")
    after = reopened(outbox)
    said = after.recover()
    assert [e.key for e in after.entries()] == [good.key]
    assert list(after.due()) == ["acc"]
    with pytest.raises(OutboxError):
        after.begin(foreign)
    # Named like an entry but not one: moved aside, never deleted, and the user is told.
    assert not folder.exists(foreign)
    for key in (foreign, truncated, wrong):
        [kept] = folder.path.glob(f"{key}.eml.broken-*")
        assert any(str(kept) in sentence for sentence in said)
    assert len(said) == 3
    assert (folder.path / "readme.txt").read_text() == "hi"  # not named like one: untouched


# Many messages, a flaky server


def test_a_flaky_queue_ends_with_every_message_sent_exactly_once(
    tmp_path: Path, sent: SentFolder, clock: Clock
) -> None:
    rng = random.Random(8)
    lock = threading.Lock()
    outbox = Outbox(MessageFolder(tmp_path / "Outbox"), sent, clock=clock, random=rng.random)
    attachment = tmp_path / "small.bin"
    attachment.write_bytes(b"\x00\x01" * 5000)
    built: dict[str, bytes] = {}
    for number in range(200):
        extra = {"attachments": (Attachment(attachment),)} if number % 10 == 0 else {}
        message = build(subject=f"Message {number}", **extra)
        built[message.message_id] = message.as_bytes()
        outbox.add(message, f"acc-{number % 3}", not_before=START + timedelta(seconds=number))
    deliveries: list[str] = []

    def flush(order: int) -> None:
        """A stand-in for the send loop: the calls a real one makes, in the same order."""
        for entries in outbox.due().values():
            for entry in entries[::order]:
                try:
                    stored = outbox.begin(entry.key)
                except OutboxError:
                    continue  # the other flush took it
                data = transmit(stored)
                with lock:
                    roll = rng.random()
                if roll < 0.1:
                    outbox.failed(entry.key, disconnected())
                    continue
                outbox.committing(entry.key, "smtp.example.org")
                if roll < 0.2:
                    error = SendError(ErrorKind.SERVER_ERROR, "try later", smtp_code=451)
                    outbox.failed(entry.key, error)
                    continue
                assert data == built[stored.message_id]
                outbox.delivered(entry.key, result_for(stored))
                with lock:
                    deliveries.append(stored.message_id)

    for _ in range(1000):
        next_due = outbox.next_due()
        if next_due is None:
            break
        clock.now = max(clock.now, next_due)
        threads = [threading.Thread(target=flush, args=(order,)) for order in (1, -1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert outbox.entries() == []
    assert sorted(deliveries) == sorted(built)
    summaries = sent.summaries()
    assert sorted(s.message_id for s in summaries) == sorted(built)
    for summary in summaries:
        assert sent.message_bytes(summary.key) == built[summary.message_id]


def test_a_sent_copy_that_cannot_be_written_is_never_sent_again(
    tmp_path: Path, outbox: Outbox
) -> None:
    entry = outbox.add(build(), "acc")
    stored = outbox.begin(entry.key)
    outbox.committing(entry.key, "smtp.example.org")
    (tmp_path / "Sent").write_text("a file where the folder should be")
    with pytest.raises(FileExistsError):
        outbox.delivered(entry.key, result_for(stored))
    kept = outbox.entry(entry.key)
    assert kept.state is EntryState.MAY_HAVE_BEEN_SENT
    assert "could not save it in Sent" in kept.last_error
    assert outbox.due() == {}


def test_a_refusal_for_someone_not_in_the_envelope_retries_nobody(outbox: Outbox) -> None:
    entry = outbox.add(build(), "acc")
    stored = outbox.begin(entry.key)
    outbox.delivered(entry.key, result_for(stored, refused={"x@example.net": (451, "later")}))
    assert outbox.entries() == []


def test_a_send_stopped_before_its_dot_is_released_without_counting(outbox: Outbox) -> None:
    entry = outbox.add(build(), "acc")
    outbox.begin(entry.key)
    outbox.release(entry.key)
    released = outbox.entry(entry.key)
    assert released.state is EntryState.WAITING
    assert released.attempts == 0
    assert outbox.due() == {"acc": [released]}


def test_a_send_past_its_dot_is_not_released(outbox: Outbox) -> None:
    entry = outbox.add(build(), "acc")
    outbox.begin(entry.key)
    outbox.committing(entry.key, "smtp.example.org")
    outbox.release(entry.key)
    assert outbox.entry(entry.key).state is EntryState.SENDING
    assert outbox.find("0000000000000000-00000000") is None


# Two Composers on one Outbox (each Outbox here stands for one process: its claims are its
# own open files, so they exclude each other as two processes' do)


def other_composer(outbox: Outbox) -> Outbox:
    sent = SentFolder(MessageFolder(outbox.sent.folder.path))
    return Outbox(MessageFolder(outbox.folder.path), sent, clock=outbox._clock, random=lambda: 0.5)


@pytest.mark.skipif(sys.platform == "win32", reason="claims are POSIX advisory locks")
def test_an_entry_being_sent_by_one_composer_cannot_be_taken_by_another(outbox: Outbox) -> None:
    entry = outbox.add(build(), "acc")
    other = other_composer(outbox)
    assert [e.state for e in other.entries()] == [EntryState.WAITING]  # read before the send

    stored = outbox.begin(entry.key)

    with pytest.raises(OutboxError, match="another Composer"):
        other.begin(entry.key)
    with pytest.raises(OutboxError):
        other.remove(entry.key)
    other.send_now(entry.key)  # nothing to do: it is being sent
    assert other.recover() == []  # not "stopped mid-send": someone is sending it
    assert outbox.entry(entry.key).state is EntryState.SENDING
    outbox.committing(entry.key, "smtp.example.org")
    outbox.delivered(entry.key, result_for(stored))
    with pytest.raises(OutboxError, match="no longer"):
        other.begin(entry.key)  # its stale list still showed it waiting
    assert other.entries() == []


@pytest.mark.skipif(sys.platform == "win32", reason="claims are POSIX advisory locks")
def test_a_failed_send_lets_another_composer_take_the_entry(outbox: Outbox, clock: Clock) -> None:
    entry = outbox.add(build(), "acc")
    other = other_composer(outbox)
    other.entries()
    outbox.begin(entry.key)
    outbox.failed(entry.key, SendError(ErrorKind.SERVER_ERROR, "not now", smtp_code=451))
    clock.now += timedelta(hours=2)

    other.begin(entry.key)  # read again from the disk: waiting, and free

    assert other.entry(entry.key).attempts == 2
    with pytest.raises(OutboxError):
        outbox.begin(entry.key)


# Commit marks: only they are synced before the final dot (begin's state is not)


def state_before_begin(outbox: Outbox, key: str, state: dict[str, object]) -> None:
    """A power cut lost the unsynced state written by begin(): the disk has the one before."""
    outbox.folder.write_state(key, state)


def test_a_mark_counts_when_the_state_of_its_attempt_was_lost(outbox: Outbox) -> None:
    entry = outbox.add(build(subject="Plans"), "acc")
    before = outbox.folder.read_state(entry.key)
    assert before is not None
    outbox.begin(entry.key)
    outbox.committing(entry.key, "smtp.example.org")
    state_before_begin(outbox, entry.key, before)
    after = reopened(outbox)
    [said] = after.recover()
    recovered = after.entry(entry.key)
    assert recovered.state is EntryState.MAY_HAVE_BEEN_SENT
    assert recovered.attempts == 1
    assert "smtp.example.org" in recovered.last_error
    assert "may have been sent" in said


def test_a_mark_of_an_earlier_attempt_does_not_count(outbox: Outbox, clock: Clock) -> None:
    entry = outbox.add(build(subject="Plans"), "acc")
    keeper = outbox.add(build(subject="Large"), "acc")
    outbox.begin(keeper.key)  # still going out: the log of the batch stays
    outbox.begin(entry.key)
    outbox.committing(entry.key, "smtp.example.org")
    outbox.failed(entry.key, SendError(ErrorKind.SERVER_ERROR, "later", smtp_code=451))
    clock.advance(minutes=2)
    outbox.begin(entry.key)  # attempt 2: then the crash, before its dot
    assert len(commit_logs(outbox)) == 1
    after = reopened(outbox)
    said = after.recover()
    assert len(said) == 2
    assert all("will be sent again" in sentence for sentence in said)
    assert after.entry(entry.key).state is EntryState.WAITING
    assert after.entry(entry.key).attempts == 2


def test_a_mark_counts_for_a_state_that_cannot_be_read(outbox: Outbox) -> None:
    entry = outbox.add(build(subject="Plans"), "acc")
    outbox.begin(entry.key)
    outbox.committing(entry.key, "smtp.example.org")
    (outbox.folder.path / f"{entry.key}.json").write_text("{not json")
    after = reopened(outbox)
    said = after.recover()
    assert after.entry(entry.key).state is EntryState.MAY_HAVE_BEEN_SENT
    assert any("may have been sent" in sentence for sentence in said)


def commit_logs(outbox: Outbox) -> list[str]:
    return [p.name for p in outbox.folder.path.iterdir() if p.name.startswith("commits-")]


def test_the_log_lasts_while_a_batch_is_sent_and_recovery_removes_a_stale_one(
    outbox: Outbox,
) -> None:
    first, second = (outbox.add(build(subject=s), "acc") for s in ("One", "Two"))
    stored = [outbox.begin(first.key), outbox.begin(second.key)]
    outbox.committing(first.key, "smtp.example.org")
    outbox.delivered(first.key, result_for(stored[0]))
    outbox.committing(second.key, "smtp.example.org")
    assert len(commit_logs(outbox)) == 1  # one log for the batch
    outbox.delivered(second.key, result_for(stored[1]))
    assert commit_logs(outbox) == []  # gone with the last send of the batch

    third = outbox.add(build(subject="Three"), "acc")
    outbox.begin(third.key)
    outbox.committing(third.key, "smtp.example.org")
    after = reopened(outbox)
    after.recover()
    assert commit_logs(after) == []
    assert after.entry(third.key).state is EntryState.MAY_HAVE_BEEN_SENT


@pytest.mark.skipif(sys.platform == "win32", reason="logs are held with POSIX advisory locks")
def test_recovery_leaves_the_log_of_a_composer_still_sending(outbox: Outbox) -> None:
    entry = outbox.add(build(), "acc")
    stored = outbox.begin(entry.key)
    outbox.committing(entry.key, "smtp.example.org")
    other = other_composer(outbox)
    assert other.recover() == []
    assert len(commit_logs(outbox)) == 1
    outbox.delivered(entry.key, result_for(stored))
    assert commit_logs(outbox) == []


def test_a_begin_whose_state_cannot_be_written_leaves_the_entry_waiting(
    outbox: Outbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = outbox.add(build(), "acc")

    def full(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(outbox.folder, "overwrite_state", full)
    with pytest.raises(OSError, match="No space"):
        outbox.begin(entry.key)
    monkeypatch.undo()
    assert outbox.entry(entry.key).state is EntryState.WAITING
    outbox.begin(entry.key)  # nothing was left claimed


@pytest.mark.parametrize("state_damaged", [False, True])
def test_a_log_that_cannot_be_read_makes_an_entry_being_sent_doubtful(
    outbox: Outbox, state_damaged: bool
) -> None:
    entry = outbox.add(build(subject="Plans"), "acc")
    outbox.begin(entry.key)
    outbox.committing(entry.key, "smtp.example.org")
    [log] = commit_logs(outbox)
    after = reopened(outbox)
    os.truncate(after.folder.path / log, 17 * 1024 * 1024)  # not a log Composer wrote
    if state_damaged:  # nor can the state say whether it was being sent
        (after.folder.path / f"{entry.key}.json").write_bytes(b'{"state": "send')
    [said] = after.recover()
    recovered = after.entry(entry.key)
    assert recovered.state is EntryState.MAY_HAVE_BEEN_SENT
    assert "to the server, before the server answered" in recovered.last_error
    assert "may have been sent" in said
    assert commit_logs(after) == [log]  # kept for a later look


def test_a_mark_with_an_unreadable_state_after_a_partial_delivery_stays_doubtful(
    outbox: Outbox, sent: SentFolder, clock: Clock
) -> None:
    entry = outbox.add(build(to="bob@example.net, carol@example.net"), "acc")
    stored = outbox.begin(entry.key)
    later = {"carol@example.net": (451, "later")}
    outbox.delivered(entry.key, result_for(stored, accepted=("bob@example.net",), refused=later))
    clock.advance(minutes=2)
    outbox.begin(entry.key)
    outbox.committing(entry.key, "smtp.example.org")  # carol's dot goes; then the power
    (outbox.folder.path / f"{entry.key}.json").write_text("")
    after = reopened(outbox)
    after.recover()
    recovered = after.entry(entry.key)
    assert recovered.state is EntryState.MAY_HAVE_BEEN_SENT
    assert recovered.envelope.recipients == ("carol@example.net",)
    assert after.due() == {}


def test_the_sent_record_names_only_who_is_left_after_refusals_for_good(
    outbox: Outbox, sent: SentFolder, clock: Clock
) -> None:
    entry = outbox.add(build(to="", bcc="a@example.net, b@example.net"), "acc")
    outbox.begin(entry.key)
    refused = {"b@example.net": (550, "no such user")}
    outbox.failed(entry.key, SendError(ErrorKind.DISCONNECTED, "lost", refused=refused))
    clock.advance(minutes=2)
    stored = outbox.begin(entry.key)
    outbox.committing(entry.key, "smtp.example.org")
    outbox.delivered(entry.key, result_for(stored))
    [record] = sent.summaries()
    assert record.to == "a@example.net"


# A batch: Sent records synced together, marks written ahead


def test_a_message_delivered_in_a_batch_is_hidden_until_settled_then_gone(
    outbox: Outbox, sent: SentFolder
) -> None:
    first, second = outbox.add(build(subject="One"), "acc"), outbox.add(build(), "acc")
    stored = outbox.begin(first.key)
    outbox.begin(second.key)
    outbox.committing(first.key, "smtp.example.org")
    sent_key = outbox.delivered(first.key, result_for(stored), settle_later=True)
    assert [e.key for e in outbox.entries()] == [second.key]
    assert outbox.find(first.key) is None
    assert outbox.folder.file(first.key).exists()  # until its Sent record is synced
    summary = sent.summary(sent_key)
    assert summary is not None
    assert summary.subject == "One"
    outbox.settle()
    assert not outbox.folder.file(first.key).exists()
    assert len(commit_logs(outbox)) == 1  # the second is still being sent
    outbox.release(second.key)
    assert commit_logs(outbox) == []


def test_delivered_messages_are_settled_without_waiting_for_the_batch_to_end(
    outbox: Outbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    import composer.mail.outbox as outbox_module

    monkeypatch.setattr(outbox_module, "SETTLE_COUNT", 2)
    entries = [outbox.add(build(subject=f"No. {n}"), "acc") for n in range(3)]
    stored = [outbox.begin(e.key) for e in entries]
    for entry, message in zip(entries[:2], stored[:2], strict=True):
        outbox.committing(entry.key)
        outbox.delivered(entry.key, result_for(message), settle_later=True)
    assert outbox.folder.keys() == [entries[2].key]


def delivered_unsettled(outbox: Outbox) -> tuple[str, str]:
    """One message sent in a batch whose end never came: its key and its Sent record's."""
    entry = outbox.add(build(subject="Plans"), "acc")
    stored = outbox.begin(entry.key)
    outbox.committing(entry.key, "smtp.example.org")
    return entry.key, outbox.delivered(entry.key, result_for(stored), settle_later=True)


def test_a_crash_before_settling_takes_the_delivered_message_out_at_start(
    outbox: Outbox, sent: SentFolder
) -> None:
    _, sent_key = delivered_unsettled(outbox)
    after = reopened(outbox)
    [said] = after.recover()
    assert "had been sent already" in said
    assert after.entries() == []
    assert sent.summary(sent_key) is not None


def test_a_sent_record_a_power_cut_left_empty_makes_the_message_doubtful(
    outbox: Outbox, sent: SentFolder
) -> None:
    key, sent_key = delivered_unsettled(outbox)
    os.truncate(sent.folder.file(sent_key), 0)  # named on disk, its bytes never written
    after = reopened(outbox)
    [said] = after.recover()
    recovered = after.entry(key)
    assert recovered.state is EntryState.MAY_HAVE_BEEN_SENT  # never sent again unasked
    assert "may have been sent" in said


def test_a_mark_written_ahead_is_the_one_the_final_dot_waits_for(outbox: Outbox) -> None:
    first, second = outbox.add(build(), "acc"), outbox.add(build(subject="Next"), "acc")
    stored = outbox.begin(first.key)
    outbox.begin(second.key)
    outbox.committing(first.key, "smtp.example.org")
    outbox.delivered(first.key, result_for(stored), settle_later=True)
    outbox.commit_ahead(second.key, "smtp.example.org")
    outbox.committing(second.key, "smtp.example.org")
    [log] = commit_logs(outbox)
    lines = [line for line in (outbox.folder.path / log).read_bytes().split(b"\n") if line]
    assert [line.count(second.key.encode()) for line in lines] == [0, 1]  # written once
    # Stopped before its answer: its dot may have gone.
    after = reopened(outbox)
    said = after.recover()
    assert any("may have been sent" in sentence for sentence in said)
    assert after.entry(second.key).state is EntryState.MAY_HAVE_BEEN_SENT


def test_a_message_released_after_its_mark_ahead_is_not_doubtful_after_a_crash(
    outbox: Outbox,
) -> None:
    entry = outbox.add(build(), "acc")
    other = outbox.add(build(), "acc")
    outbox.begin(entry.key)
    outbox.begin(other.key)  # keeps the log open, as the rest of a batch would
    outbox.commit_ahead(entry.key)
    outbox.release(entry.key)  # cancelled before its envelope went
    released = outbox.entry(entry.key)
    assert (released.state, released.attempts) == (EntryState.WAITING, 1)
    after = reopened(outbox)
    after.recover()
    assert after.entry(entry.key).state is EntryState.WAITING


# settle() when syncs fail (review of 6aa7cd7)


def delivered_in_batch(outbox: Outbox, count: int) -> list[str]:
    """count messages of one batch delivered, none settled yet; their keys."""
    entries = [outbox.add(build(subject=f"No. {n}"), "acc") for n in range(count)]
    stored = [outbox.begin(e.key) for e in entries]
    for entry, message in zip(entries, stored, strict=True):
        outbox.committing(entry.key, "smtp.example.org")
        outbox.delivered(entry.key, result_for(message), settle_later=True)
    return [e.key for e in entries]


def test_an_entry_whose_sent_record_could_not_be_synced_is_never_removed_later(
    outbox: Outbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = delivered_in_batch(outbox, 3)

    def sync_fails(_keys: list[str]) -> None:
        raise OSError(5, "Input/output error")

    real_write_state = outbox.folder.write_state
    writes = [0]

    def first_write_fails(*args: object, **kwargs: object) -> None:
        writes[0] += 1
        if writes[0] == 1:
            raise OSError(5, "Input/output error")
        real_write_state(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(outbox.sent, "sync_records", sync_fails)
    monkeypatch.setattr(outbox.folder, "write_state", first_write_fails)
    with contextlib.suppress(OSError):
        outbox.settle()
    monkeypatch.undo()
    # None of them is hidden any more, waiting for a settle that would remove it.
    assert outbox._unsettled == {}
    outbox.settle()  # the next batch's, with a sync that works (or says it does)
    # Their Sent records may never have reached the disk: the entries must stay.
    assert all(outbox.folder.file(key).exists() for key in keys)
    assert [outbox.entry(k).state for k in keys[1:]] == [EntryState.MAY_HAVE_BEEN_SENT] * 2


def test_two_settles_at_once_never_remove_an_entry_whose_sync_failed(
    outbox: Outbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    [key] = delivered_in_batch(outbox, 1)
    first_in, go = threading.Event(), threading.Event()
    calls = [0]

    def sync(_keys: list[str]) -> None:
        calls[0] += 1
        if calls[0] == 1:  # one account's settle: its sync reports an I/O error...
            first_in.set()
            assert go.wait(10)
            raise OSError(5, "Input/output error")
        go.set()  # ...and the other's, after it, a success that cannot see that error

    monkeypatch.setattr(outbox.sent, "sync_records", sync)
    errors: list[BaseException] = []

    def settle() -> None:
        try:
            outbox.settle()
        except Exception as error:  # what each would have logged
            errors.append(error)

    first = threading.Thread(target=settle)
    first.start()
    assert first_in.wait(10)
    second = threading.Thread(target=settle)
    second.start()
    second.join(1)  # done by now unless it waits for the first (as it should)
    go.set()
    first.join(10)
    second.join(10)
    assert errors == []
    assert outbox.folder.file(key).exists()
    assert outbox.entry(key).state is EntryState.MAY_HAVE_BEEN_SENT


def test_a_sent_record_a_power_cut_left_short_does_not_take_the_entry_out(
    outbox: Outbox, sent: SentFolder
) -> None:
    entry = outbox.add(build(subject="Report", body="x" * 70 + "\n" * 2000), "acc")
    stored = outbox.begin(entry.key)
    outbox.committing(entry.key, "smtp.example.org")
    sent_key = outbox.delivered(entry.key, result_for(stored), settle_later=True)
    record = sent.folder.file(sent_key)
    # Unsynced: its head reached the disk, the rest of its blocks did not.
    os.truncate(record, record.stat().st_size - 4096)
    after = reopened(outbox)
    after.recover()
    # The Outbox's copy is the only whole one left: kept, never sent again unasked.
    assert after.folder.file(entry.key).exists()
    assert after.entry(entry.key).state is EntryState.MAY_HAVE_BEEN_SENT

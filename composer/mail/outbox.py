"""The Outbox: built messages waiting to be sent, retried with backoff, never sent twice.

An entry is ``<key>.eml`` in a MessageFolder: ``X-Composer-*`` lines that never change
(account, envelope, queue time, what a list shows), then the exact wire bytes, written once.
Everything that changes (state, attempts, next attempt, last error, whether the final dot
was about to go out) is in the entry's state file, written atomically at each step.

A send is ``begin`` → (transport streams StoredMessage.chunks()) → ``committing`` just
before the final dot → ``delivered`` or ``failed``. The commit mark is what lets a restart
tell "nothing was delivered" (the server drops a message without its final dot) from "it may
have been delivered" (never resent without the user's word).

Only the commit mark (commit_log.py) and the outcome are synced to disk before Composer goes
on; begin's state and a delivered entry's removal are not, as recovery after a power cut
makes the same of their loss: SENDING without a mark is sent again, and an entry with its
Sent record is taken out. In a batch over one connection the Sent records are synced
together (settle): each is written at once, unsynced, its entry hidden from lists, and the
entries go once their records are on disk. What a state holds and the rules read from it
are in outbox_state.py.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random as random_module
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from itertools import chain
from typing import TYPE_CHECKING, Any

from composer.mail.commit_log import CommitLog, LeftMarks, Mark, left_marks, remove_logs
from composer.mail.envelope import Envelope
from composer.mail.errors import ErrorKind, SendError, describe_refused
from composer.mail.lock import LOCKS_AVAILABLE, try_lock
from composer.mail.outbox_file import FORMAT, EntryHead, StoredMessage, parse_head
from composer.mail.outbox_state import EntryState as EntryState
from composer.mail.outbox_state import OutboxEntry as OutboxEntry
from composer.mail.outbox_state import (
    envelope_of,
    is_due,
    later_note,
    new_state,
    pending_mark,
    refused_note,
    retry_delay,
    sent_record_key,
    state_is_valid,
)
from composer.mail.progress import SendResult
from composer.mail.sent import SentFolder, json_headers, peek_display
from composer.mail.store import (
    MessageFolder,
    StoreError,
    composer_headers,
    new_key,
    split_composer_headers,
)

if TYPE_CHECKING:
    from composer.mail.message import OutgoingMessage

log = logging.getLogger(__name__)

# A batch's delivered entries are settled when this many wait, or the first has waited this
# long: what a power cut can turn into "may have been sent" stays small.
SETTLE_COUNT = 64
SETTLE_SECONDS = 1.0


class OutboxError(Exception):
    """An entry cannot do what was asked (gone, or being sent); str() says so in words."""


class Outbox:
    """The queue of messages to send; every method is safe from any thread.

    Only files and their state are the truth: an Outbox made again on the same folder (after
    a restart) picks up where the last one stopped, once recover() has run.
    """

    def __init__(
        self,
        folder: MessageFolder,
        sent: SentFolder,
        *,
        clock: Callable[[], datetime],
        random: Callable[[], float] = random_module.random,
    ) -> None:
        self.folder = folder
        self.sent = sent
        self._clock = clock
        self._random = random
        self._lock = threading.RLock()
        self._heads: dict[str, EntryHead] = {}
        # What this Outbox wrote last: lists and timers read states from memory, never from
        # the disk on the GUI thread. Another Composer on the same folder may have changed
        # one since, so whatever decides a send (begin, remove) reads it again under a claim.
        self._states: dict[str, dict[str, Any]] = {}
        # Entries this Outbox is sending: an open .eml with an exclusive lock on it, held from
        # begin() until the entry leaves SENDING. Another process cannot claim it meanwhile,
        # and the system drops the lock if this one dies.
        self._claims: dict[str, int] = {}
        # Entries this Outbox is sending; the log of their commit marks stays open while
        # there are any (a batch's marks go in one log) and goes when the last is settled.
        self._commits = CommitLog(folder.path)
        self._in_send: set[str] = set()
        # Delivered, with a Sent record not yet synced: key → (Sent key, result). Hidden from
        # lists; still claimed and SENDING on disk until settle() takes them out.
        self._unsettled: dict[str, tuple[str, SendResult]] = {}
        self._unsettled_since = 0.0
        # One settle() at a time (two accounts' batches, or a batch's own and its end's): a
        # sync after one that failed may succeed without the failed records being on disk.
        self._settling = threading.Lock()

    # Queueing and listing

    def add(
        self,
        message: OutgoingMessage,
        account_id: str,
        *,
        not_before: datetime | None = None,
        scheduled: bool = False,
        key: str = "",
        draft_key: str = "",
    ) -> OutboxEntry:
        """Queue message, sent from not_before on (the undo delay, or Send later when
        scheduled) or now.

        Streams the message into the Outbox (attached files are read here, so call it on a
        worker thread); raises SendError(FILE) when one cannot be read, and OSError.
        """
        now = self._now()
        if not_before is not None and not_before.tzinfo is None:
            raise ValueError("not_before must be timezone-aware")
        # The caller may choose the key (store.new_key()) to know it before the entry exists.
        key = key or new_key()
        envelope = message.envelope
        pieces = message.chunks()
        subject, to, pieces = peek_display(pieces, envelope.recipients)
        fields = {
            "Account": account_id,
            "Envelope-From": envelope.sender,
            "Envelope-To": list(envelope.recipients),
            "Queued-At": now.isoformat(),
            "Message-Id": message.message_id,
            "Subject": subject,
            "To": to,
            # The draft it came from, which the caller deletes next: should Composer stop in
            # between, recovery deletes it, so the message is never in both (drafts_replaced).
            "Draft": draft_key,
        }
        values = {"Format": FORMAT, "Eight-Bit": "no" if message.is_ascii() else "yes"}
        values |= json_headers(fields)
        head = composer_headers(values)
        state = new_state(now, not_before, scheduled)
        with self._lock:
            # The state goes first: the moment the message appears, it says when it is due.
            self._write_state(key, state)
        try:
            size = self.folder.write(key, chain([head], pieces))
        except BaseException:
            self.folder.delete(key)
            raise
        with self._lock:
            # As _head() would read it back: lists and the flush need not open the file.
            self._heads[key] = parse_head(values, len(head), size)
        return self.entry(key)

    def entries(self) -> list[OutboxEntry]:
        """Every readable entry, oldest first; files that are not entries are skipped."""
        with self._lock:
            keys = self.folder.keys()
            found = (self._entry_or_none(key) for key in keys)
            return [entry for entry in found if entry is not None]

    def entry(self, key: str) -> OutboxEntry:
        """key's entry; raises OutboxError when it is not (or no longer) in the Outbox."""
        with self._lock:
            entry = self._entry_or_none(key)
        if entry is None:
            raise OutboxError(f"The message {key} is no longer in the Outbox.")
        return entry

    def find(self, key: str) -> OutboxEntry | None:
        """key's entry, or None when it is not (or no longer) in the Outbox."""
        with self._lock:
            return self._entry_or_none(key)

    def due(self, entries: list[OutboxEntry] | None = None) -> dict[str, list[OutboxEntry]]:
        """WAITING entries whose time has come, by account, oldest first; of entries when
        given (a list entries() gave), so that one reading serves due and next_due."""
        now = self._now()
        grouped: dict[str, list[OutboxEntry]] = {}
        for entry in self.entries() if entries is None else entries:
            if entry.state is EntryState.WAITING and is_due(entry, now):
                grouped.setdefault(entry.account_id, []).append(entry)
        return grouped

    def next_due(self, entries: list[OutboxEntry] | None = None) -> datetime | None:
        """When the next WAITING entry (of entries, when given) is due (maybe already
        past); None when none waits."""
        times = [
            entry.next_attempt or entry.queued_at
            for entry in (self.entries() if entries is None else entries)
            if entry.state is EntryState.WAITING
        ]
        return min(times, default=None)

    # One send

    def begin(self, key: str) -> StoredMessage:
        """Mark key SENDING and give its stored message; raises OutboxError unless WAITING."""
        with self._lock:
            self._claim(key)
            try:
                head, state = self._loaded(key)
                if state["state"] != EntryState.WAITING.value:
                    raise OutboxError(
                        f"The message “{head.subject}” is already being sent or held."
                    )
                state.update(
                    state=EntryState.SENDING.value,
                    attempts=int(state["attempts"]) + 1,
                    started_at=self._now().isoformat(),
                    committed=False,
                )
                self._states[key] = _copied(state)
                self._in_send.add(key)
            except BaseException:
                self._unclaim(key)
                raise
        try:
            # Outside the lock, so that lists (on the GUI thread) never wait for the disk: the
            # claim makes this thread the only writer of key's state until the send is over.
            # Not synced, and in place: should a power cut lose it, the entry is WAITING again,
            # which is what recovery makes of SENDING without the commit mark anyway.
            self.folder.overwrite_state(key, state)
        except BaseException:
            with self._lock:
                self._states.pop(key, None)  # read again: the disk has the truth
                self._unclaim(key)
                self._settled(key)
            raise
        return StoredMessage(self.folder.file(key), head, envelope_of(head, state))

    def committing(self, key: str, host: str = "") -> None:
        """Record, durably, that the final dot of key is about to go to host; raises OSError
        when that cannot be written (the dot must not go then)."""
        with self._lock:
            _, state = self._sending(key)
        when = self._now().isoformat()
        attempt = int(state["attempts"])
        # Outside the Outbox's lock (the log has its own): the sync must not hold up lists.
        if not self._commits.wait_ahead(key, attempt):
            self._commits.mark(key, attempt, host, when)
        with self._lock:
            state.update(committed=True, committed_at=when, server=host)
            # In memory only: on disk the mark says it, and the outcome follows in a moment.
            self._states[key] = _copied(state)

    def commit_ahead(self, key: str, host: str = "") -> None:
        """Write key's commit mark before its turn, synced in the background (see
        commit_log.py): for the next message of a batch, once the one before it is answered.
        committing(key) then waits only for what is left of the sync."""
        with self._lock:
            try:
                _, state = self._sending(key)
            except OutboxError:
                return
        when = self._now().isoformat()
        self._commits.mark_ahead(key, int(state["attempts"]), host, when)

    def delivered(self, key: str, result: SendResult, *, settle_later: bool = False) -> str:
        """Record key as sent (its Sent record) and take it out; returns the Sent key.

        Recipients the server refused for now (4xx) stay queued, alone in the envelope, and
        are retried with backoff; those refused for good (5xx) are named in the notes.

        settle_later (a batch): the record is written but not synced, and key is taken out
        by a later settle() (the caller's, at the end of the batch, or this method's own
        once SETTLE_COUNT wait or the first has waited SETTLE_SECONDS). Until then key is in
        no list.
        """
        with self._lock:
            head, state = self._sending(key)
            envelope = envelope_of(head, state)
            round_ = int(state.get("round", 0))
        # Only recipients of this envelope are retried: an empty list would mean "everyone".
        later = {
            r: reply
            for r, reply in result.refused.items()
            if 400 <= reply[0] < 500 and r in envelope.recipients
        }
        never = {r: reply for r, reply in result.refused.items() if r not in later}
        note = refused_note(never)
        if later:
            note = " ".join(filter(None, [note, later_note(later)]))
        stored = StoredMessage(self.folder.file(key), head, envelope)
        # The head's Subject and To were read from this message's header when it was queued;
        # once the recipients are fewer, To may have fallen back on some no longer in it.
        display = None if state.get("recipients") else (head.subject, head.to)
        grouped = settle_later and not later
        # Streams a copy of the message: outside the lock, as no one else touches a SENDING entry.
        try:
            sent_key = self.sent.record(
                stored,
                result,
                account_id=head.account_id,
                key=sent_record_key(key, round_),
                note=note,
                display=display,
                durable=not grouped,
            )
        except (OSError, SendError) as error:
            self._unrecorded(key, result, error)
            raise
        if grouped:
            self._wait_for_settle(key, sent_key, result)
            return sent_key
        with self._lock:
            if not later:
                # Not synced: should a power cut bring the entry back, recovery finds its Sent
                # record (written durably above) and takes it out again.
                self._forget(key, durable=False)
                return sent_key
            now = self._now()
            state.update(
                state=EntryState.WAITING.value,
                round=round_ + 1,
                recipients=[r for r in envelope.recipients if r in later],
                next_attempt=(now + retry_delay(int(state["attempts"]), self._random)).isoformat(),
                scheduled=False,
                committed=False,
                last_error=f"{result.host} did not take it yet for {describe_refused(later)}; "
                "Composer will try again for them.",
                last_error_kind=ErrorKind.RECIPIENTS_REFUSED.value,
                note=" ".join(filter(None, [str(state.get("note", "")), refused_note(never)])),
                updated_at=now.isoformat(),
            )
            self._write_state(key, state)
        return sent_key

    def settle(self) -> None:
        """Sync the Sent records of entries delivered with settle_later, then take those
        entries out. A record that cannot be synced keeps its entry, never to be sent again
        without the user's word (as when it cannot be written)."""
        with self._settling:
            self._settle()

    def _settle(self) -> None:
        with self._lock:
            pending = dict(self._unsettled)
        if not pending:
            return
        try:
            # Outside the lock: the sync must not hold up lists.
            self.sent.sync_records([sent_key for sent_key, _ in pending.values()])
        except OSError as error:
            failure: Exception | None = None
            for key, (_, result) in pending.items():
                with self._lock:
                    self._unsettled.pop(key, None)
                try:
                    self._unrecorded(key, result, error)
                except Exception as unwritten:  # the others are still owed their state
                    log.warning("could not keep sent Outbox entry %s: %s", key, unwritten)
                    failure = failure or unwritten
            if failure is not None:
                raise failure from error
            return
        for key in pending:
            # Outside the lock too (removing a file is a change to the folder, as slow as
            # making one): the entry is claimed and hidden, so no one else touches it.
            # Not synced: should a power cut bring it back, recovery finds its Sent record
            # (synced above) and takes it out again.
            try:
                self.folder.delete(key, durable=False)
            except OSError as error:
                log.warning("could not remove sent Outbox entry %s: %s", key, error)
            with self._lock:
                self._unsettled.pop(key, None)
                self._heads.pop(key, None)
                self._states.pop(key, None)
                fd = self._claims.pop(key, None)
                self._settled(key)
            if fd is not None:
                os.close(fd)  # the last reference to the removed file: it is freed here

    def failed(self, key: str, error: SendError) -> None:
        """Record that sending key failed: wait and retry, hold it, or ask the user."""
        with self._lock:
            head, state = self._sending(key)
            now = self._now()
            state.update(
                last_error=error.message,
                last_error_kind=error.kind.value,
                updated_at=now.isoformat(),
                scheduled=False,
                next_attempt=None,
            )
            never = {r: reply for r, reply in error.refused.items() if reply[0] >= 500}
            recipients = envelope_of(head, state).recipients
            kept = [r for r in recipients if r not in never]
            if never and kept:
                # Retrying could not help those; it may help the others.
                note = " ".join(filter(None, [str(state.get("note", "")), refused_note(never)]))
                state.update(recipients=kept, note=note)
            if error.kind is ErrorKind.MAY_HAVE_BEEN_SENT or (
                # After the final dot only a reply from the server says it was not delivered.
                state.get("committed") and error.smtp_code is None
            ):
                state["state"] = EntryState.MAY_HAVE_BEEN_SENT.value
            elif error.retryable and (kept or not never):
                delay = retry_delay(int(state["attempts"]), self._random)
                state.update(state=EntryState.WAITING.value, next_attempt=(now + delay).isoformat())
            else:
                state["state"] = EntryState.HELD.value
            if state["state"] != EntryState.MAY_HAVE_BEEN_SENT.value:
                state["committed"] = False
            self._write_state(key, state)

    # What the user asks for

    def send_now(self, key: str) -> None:
        """Make key due now, whatever stopped it (for MAY_HAVE_BEEN_SENT: the user's word).

        An entry being sent is left alone.
        """
        with self._lock, self._claimed_briefly(key) as claimed:
            _, state = self._loaded(key)
            if claimed and state["state"] != EntryState.SENDING.value:
                self._make_due(key, state)

    def release(self, key: str) -> None:
        """A send of key stopped before its final dot (cancelled, the program exiting): it is
        WAITING again, due now, and the attempt does not count."""
        with self._lock:
            _, state = self._loaded(key)
            if state["state"] != EntryState.SENDING.value or state.get("committed"):
                return
            # A mark written ahead stays in the log: the attempt counts, or it would be taken
            # for a later one's after a crash.
            if not self._commits.forget_ahead(key, int(state["attempts"])):
                state["attempts"] = max(0, int(state["attempts"]) - 1)
            self._make_due(key, state)

    def send_all_now(self) -> list[str]:
        """send_now for every entry waiting for a retry or its time; returns their keys.

        Held messages and those that may have been sent need the user's word one by one."""
        with self._lock:
            keys = [e.key for e in self.entries() if e.state is EntryState.WAITING]
            for key in keys:
                self.send_now(key)
            return keys

    def remove(self, key: str) -> None:
        """Take key out of the Outbox (Delete, Undo); raises OutboxError while it is sent."""
        with self._lock, self._claimed_briefly(key) as claimed:
            head, state = self._loaded(key)
            if not claimed or state["state"] == EntryState.SENDING.value:
                raise OutboxError(
                    f"The message “{head.subject}” is being sent right now, so it cannot be "
                    "taken back."
                )
            self._forget(key)

    def message_bytes(self, key: str) -> bytes:
        """key's wire bytes, all at once (for "Back to drafts"); raises OutboxError."""
        with self._lock:
            head, _ = self._loaded(key)
        try:
            with self.folder.open(key) as stream:
                stream.seek(head.offset)
                return stream.read()
        except StoreError as error:
            raise OutboxError(str(error)) from None

    def envelope(self, key: str) -> Envelope:
        """key's envelope now (fewer recipients after a partial delivery)."""
        with self._lock:
            head, state = self._loaded(key)
            return envelope_of(head, state)

    # Start-up

    def recover(self) -> list[str]:
        """Settle what a crash or power cut left behind; returns a sentence per entry changed.

        Call once at start-up, before anything is sent.
        """
        said = self.folder.tidy()
        with self._lock:
            left = left_marks(self.folder.path)
            keys = self.folder.keys()
            for key in keys:
                if not self.folder.is_message_file(key):
                    said.append(self._set_aside(key))  # a folder, a pipe: never opened
                    continue
                with self._claimed_briefly(key) as claimed:
                    if not claimed:
                        continue  # another Composer is sending it right now
                    head = self._head(key)
                    if head is None:
                        sentence = self._set_aside(key)
                    else:
                        sentence = self._recover(key, head, left)
                if sentence:
                    said.append(sentence)
            # Every entry they spoke of is settled now, durably.
            remove_logs(left.logs)
        return said

    def _set_aside(self, key: str) -> str:
        """A file in the Outbox that is not an entry Composer wrote (damaged, or not a file)."""
        path = self.folder.file(key)
        try:
            kept = self.folder.set_aside(key)
        except OSError as error:
            return f"{path} in the Outbox could not be read, nor moved aside ({error})."
        return (
            f"{path} in the Outbox was damaged and could not be read, so nothing was sent from "
            f"it; it was kept as {kept[0] if kept else path}."
        )

    def _recover(self, key: str, head: EntryHead, left: LeftMarks) -> str:
        state = self.folder.read_state(key)
        valid = state is not None and state_is_valid(state)
        marks = left.by_key.get(key, [])
        if left.unread and not marks:
            # A log that could not be read may hold this entry's mark: SENDING counts as past
            # it, and so does a state that cannot be read.
            marks = [Mark(key, int(state["attempts"]) if valid and state else 0, "", "")]
        kept = ""
        if not valid:
            # Kept for whoever wants to look; a fresh state is written below.
            with contextlib.suppress(OSError):
                for moved in self.folder.set_aside(key, state_only=True):
                    kept = f" (the damaged state file was kept as {moved})"
            self._states.pop(key, None)
        recorded = self._recorded_rounds(key)
        round_ = int(state.get("round", 0)) if state is not None and valid else 0
        if recorded > round_:
            # Which round a mark was for cannot be told without the state: the rest may have
            # been sent too.
            doubtful = not valid and bool(marks or left.unread)
            return self._settle_recorded(key, head, recorded, doubtful=doubtful)
        mark = pending_mark(state if valid else None, marks)
        if mark is not None:
            if state is None or not valid:
                state = new_state(self._now(), None, scheduled=False)
            state["attempts"] = max(int(state["attempts"]), mark.attempt)
            return self._stopped_after_dot(key, head, state, mark.host, mark.when)
        if state is None or not valid:
            self._make_due(key, new_state(self._now(), None, scheduled=False))
            return f"“{head.subject}” will be sent again: its Outbox state could not be read{kept}."
        if state["state"] != EntryState.SENDING.value:
            return ""
        if not state.get("committed"):
            self._make_due(key, state)
            return (
                f"“{head.subject}” was being sent when Composer stopped; nobody got it, so it "
                "will be sent again."
            )
        # Marked committed in the state file by an earlier version of Composer.
        return self._stopped_after_dot(
            key, head, state, str(state.get("server", "")), str(state.get("committed_at", ""))
        )

    def _stopped_after_dot(
        self, key: str, head: EntryHead, state: dict[str, Any], host: str, when: str
    ) -> str:
        server = host or "the server"
        at = f" (at {when})" if when else ""
        state.update(
            state=EntryState.MAY_HAVE_BEEN_SENT.value,
            next_attempt=None,
            last_error_kind=ErrorKind.MAY_HAVE_BEEN_SENT.value,
            last_error=f"Composer stopped right after sending the whole message to {server}"
            f"{at}, before the server answered: it may have been delivered. Check with a "
            "recipient before sending it again.",
        )
        self._write_state(key, state)
        return f"“{head.subject}” may have been sent: {state['last_error']}"

    def _settle_recorded(self, key: str, head: EntryHead, rounds: int, *, doubtful: bool) -> str:
        """Sent records exist that the state does not know of: the crash came after them.
        doubtful: the later round may have reached its final dot as well."""
        done: set[str] = set()
        for number in range(rounds):
            summary = self.sent.summary(sent_record_key(key, number))
            if summary is None or summary.size != head.file_size - head.offset:
                # A record a power cut left unreadable or short (written, not yet synced):
                # who got that round cannot be told, and the entry is the only whole copy.
                doubtful = True
                continue
            done.update(summary.accepted)
            done.update(r for r, (code, _) in summary.refused.items() if code >= 500)
        left = [r for r in head.envelope.recipients if r not in done]
        if not left:
            self._forget(key)
            return f"“{head.subject}” had been sent already; it was taken out of the Outbox."
        state = new_state(self._now(), None, scheduled=False)
        state.update(round=rounds, recipients=left)
        if doubtful:
            return self._stopped_after_dot(key, head, state, "", "")
        self._write_state(key, state)
        return (
            f"“{head.subject}” had been sent to some recipients; it will be sent to "
            f"{', '.join(left)}."
        )

    def _recorded_rounds(self, key: str) -> int:
        rounds = 0
        while self.sent.exists(sent_record_key(key, rounds)):
            rounds += 1
        return rounds

    # Internals (the lock is held)

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the Outbox clock must give timezone-aware times")
        return now

    def _make_due(self, key: str, state: dict[str, Any]) -> None:
        now = self._now()
        state.update(
            state=EntryState.WAITING.value,
            next_attempt=now.isoformat(),
            scheduled=False,
            committed=False,
            updated_at=now.isoformat(),
        )
        self._write_state(key, state)

    def _wait_for_settle(self, key: str, sent_key: str, result: SendResult) -> None:
        with self._lock:
            if not self._unsettled:
                self._unsettled_since = time.monotonic()
            self._unsettled[key] = (sent_key, result)
            due = (
                len(self._unsettled) >= SETTLE_COUNT
                or time.monotonic() - self._unsettled_since >= SETTLE_SECONDS
            )
        if due:
            self.settle()

    def _unrecorded(self, key: str, result: SendResult, error: Exception) -> None:
        """Delivered, but the Sent copy could not be written: kept, and never sent again
        without the user's word."""
        with self._lock:
            _, state = self._sending(key)
            state.update(
                state=EntryState.MAY_HAVE_BEEN_SENT.value,
                next_attempt=None,
                last_error_kind=ErrorKind.MAY_HAVE_BEEN_SENT.value,
                last_error=f"{result.host} accepted this message, but Composer could not save "
                f"it in Sent ({error}), so it is kept here. Do not send it again.",
                updated_at=self._now().isoformat(),
            )
            self._write_state(key, state)

    def _forget(self, key: str, *, durable: bool = True) -> None:
        try:
            self.folder.delete(key, durable=durable)
        finally:
            # Only now: a claim let go of before the file is gone could be taken by another
            # Composer for an entry that was just delivered.
            self._unclaim(key)
            self._settled(key)
        self._heads.pop(key, None)
        self._states.pop(key, None)

    def _write_state(self, key: str, state: dict[str, Any], *, durable: bool = True) -> None:
        self.folder.write_state(key, state, durable=durable)
        self._states[key] = _copied(state)
        if state.get("state") != EntryState.SENDING.value:
            self._unclaim(key)
            self._settled(key)

    def _settled(self, key: str) -> None:
        """key's send is over, its outcome on disk (or it is gone): its mark is needed no more."""
        self._in_send.discard(key)
        if not self._in_send:
            self._commits.close()

    def _claim(self, key: str) -> None:
        """Lock key's .eml for this Outbox; raises OutboxError when another Composer has it
        or it is gone. What is cached of its state is read again from the disk."""
        if not LOCKS_AVAILABLE:
            return
        if key in self._claims:
            raise OutboxError(f"The message {key} is already being sent.")
        path = self.folder.file(key)
        try:
            # Non-blocking: a pipe put in an entry's place must not hold the thread.
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            self._heads.pop(key, None)
            self._states.pop(key, None)
            raise OutboxError(f"The message {key} is no longer in the Outbox.") from None
        if not try_lock(fd):
            os.close(fd)
            raise OutboxError(f"The message {key} is being sent by another Composer right now.")
        # Another Composer may have sent and removed it between the open and the lock.
        if not _still_there(fd, path):
            os.close(fd)
            self._heads.pop(key, None)
            self._states.pop(key, None)
            raise OutboxError(f"The message {key} is no longer in the Outbox.")
        self._claims[key] = fd
        self._states.pop(key, None)

    def _unclaim(self, key: str) -> None:
        fd = self._claims.pop(key, None)
        if fd is not None:
            os.close(fd)

    @contextlib.contextmanager
    def _claimed_briefly(self, key: str) -> Iterator[bool]:
        """Claim key for the with-block unless this Outbox has it already; gives whether it
        is this Outbox's (False: another Composer is sending it, or it is gone)."""
        if key in self._claims or not LOCKS_AVAILABLE:
            yield True
            return
        try:
            self._claim(key)
        except OutboxError:
            yield False
            return
        try:
            yield True
        finally:
            if self._states.get(key, {}).get("state") != EntryState.SENDING.value:
                self._unclaim(key)

    def _read_state(self, key: str) -> dict[str, Any] | None:
        if key not in self._states:
            state = self.folder.read_state(key)
            if state is None:
                return None
            self._states[key] = state
        return _copied(self._states[key])

    def _loaded(self, key: str) -> tuple[EntryHead, dict[str, Any]]:
        head = self._head(key)
        if head is None:
            raise OutboxError(f"The message {key} is no longer in the Outbox.")
        state = self._read_state(key)
        if state is None or not state_is_valid(state):
            # Unreadable state: the entry waits, due at once (recover() writes this down).
            state = new_state(head.queued_at, None, scheduled=False)
        return head, state

    def _sending(self, key: str) -> tuple[EntryHead, dict[str, Any]]:
        head, state = self._loaded(key)
        if state["state"] != EntryState.SENDING.value:
            raise OutboxError(f"The message “{head.subject}” is not being sent.")
        return head, state

    def _entry_or_none(self, key: str) -> OutboxEntry | None:
        if key in self._unsettled:
            return None  # delivered: gone as far as anyone can tell
        try:
            head, state = self._loaded(key)
        except OutboxError:
            return None
        next_attempt = state.get("next_attempt")
        return OutboxEntry(
            key=key,
            account_id=head.account_id,
            envelope=envelope_of(head, state),
            message_id=head.message_id,
            subject=head.subject,
            to=head.to,
            size=head.file_size - head.offset,
            queued_at=head.queued_at,
            state=EntryState(state["state"]),
            attempts=int(state["attempts"]),
            next_attempt=datetime.fromisoformat(next_attempt) if next_attempt else None,
            last_error=str(state.get("last_error", "")),
            last_error_kind=str(state.get("last_error_kind", "")),
            scheduled=bool(state.get("scheduled")),
            note=str(state.get("note", "")),
            draft_key=head.draft_key,
        )

    def _head(self, key: str) -> EntryHead | None:
        """key's X-Composer lines (cached: they never change); None for a file not ours."""
        if key in self._heads:
            return self._heads[key]
        try:
            with self.folder.open(key) as stream:
                values, offset = split_composer_headers(stream)
                file_size = os.fstat(stream.fileno()).st_size
        except (StoreError, OSError):
            return None
        try:
            head = parse_head(values, offset, file_size)
        except (KeyError, ValueError, TypeError):
            log.warning("%s is not an Outbox entry; skipped", self.folder.file(key))
            return None
        self._heads[key] = head
        return head


def _copied(state: dict[str, Any]) -> dict[str, Any]:
    """A copy of a state that shares nothing changeable with it: its values are JSON's (lists
    of strings at most one level deep), for which deepcopy's generality costs more than the
    state write it guards."""
    return {
        k: list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v
        for k, v in state.items()
    }


def _still_there(fd: int, path: os.PathLike[str] | str) -> bool:
    try:
        found, opened = os.stat(path), os.fstat(fd)
    except OSError:
        return False
    return (found.st_dev, found.st_ino) == (opened.st_dev, opened.st_ino)

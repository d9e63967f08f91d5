"""Sending for the whole application: every message goes through the Outbox, which this runs.

A window submits a draft; the message is built once, on a worker, and stored in the Outbox
(so it no longer depends on the window, the attached files or the program staying up). It
goes out when it is due: at once, after the undo-send delay, at a send-later time, or when a
retry comes round. Whatever is due for one account goes over one connection.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import threading
import time
from collections.abc import Callable, Generator, Sequence
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QObject, QTimer, Signal, SignalInstance, Slot

from composer.context import AppContext
from composer.mail.accounts import Account
from composer.mail.draft import Draft
from composer.mail.errors import ErrorKind, SendError
from composer.mail.files import describe_write_error
from composer.mail.store import new_key
from composer.submission import Submission

if TYPE_CHECKING:
    from datetime import datetime
    from email.headerregistry import Address

    from composer.mail.mailbox_copy import CopyReport, SentCopies
    from composer.mail.message import OutgoingMessage, Sendable
    from composer.mail.outbox import Outbox, OutboxEntry
    from composer.mail.progress import SendResult
    from composer.mail.transcript import Transcript
    from composer.tasks import Job, Report, Task

log = logging.getLogger(__name__)

# QTimer takes an int of milliseconds; a send-later weeks away is looked at again daily.
_MAX_WAIT_MS = 24 * 3600 * 1000

_UNDONE = "Not sent: you undid it. Your message is unchanged."
_CANCELLED = "Sending was cancelled. Your message is unchanged."


class SendService(QObject):
    """Runs the Outbox and every connection check of one running Composer on worker threads.

    Signals:
        finished(Submission | None, object, str): a message left the Outbox's hands now, with
            a SendResult, or was kept there (an OutboxEntry) or refused (a SendError); the
            submission is None for a message no window handed over in this run; the str is
            the message's subject.
        outbox_changed(): what the Outbox holds, or its states, changed.
        idle(): nothing is running any more.
    """

    finished = Signal(object, object, str)
    outbox_changed = Signal()
    idle = Signal()

    def __init__(self, context: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._tasks: set[Task] = set()
        # Registered before the message is in the Outbox, so no flush can miss its window.
        self._watchers: dict[str, Submission] = {}
        # Accounts whose due messages are going out now, each over its own connection, and
        # the keys each of those connections carries.
        self._flushing: dict[str, Task] = {}
        self._in_flight: dict[str, str] = {}
        # Keys the user said to send now: each goes alone, a large one without the question.
        self._send_anyway: set[str] = set()
        self._handed_in: dict[str, Account] = {}
        self._subjects: dict[str, str] = {}
        self._cancelled_keys: set[str] = set()
        # Copies for the mailbox's Sent folder being made, by account, and the accounts whose
        # copies are to be looked at again once theirs ends.
        self._copying: dict[str, Task] = {}
        self._copy_again: set[str] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.flush_due)
        self._stopped = False

    # --- submitting -----------------------------------------------------------------------

    def submit(
        self,
        draft: Draft,
        account: Account,
        *,
        large_ok: bool = False,
        delay: float = 0,
        at: datetime | None = None,
        built: OutgoingMessage | None = None,
        draft_key: str = "",
    ) -> Submission:
        """Build draft into a message and queue it: due at once, after delay seconds (the
        undo-send delay), or at the time at (send later). Watch the submission.

        built: the message already built from this draft (what Show Source showed), so that
        what is sent is byte for byte what the user saw. draft_key: the draft in Drafts that
        this message was typed in; it is removed the moment the Outbox has the message, so a
        crash can never leave it in both (and let it be sent twice).
        """
        submission = Submission(draft, account, self)
        submission.draft_key = draft_key
        key = submission.key = new_key()
        self._watchers[key] = submission
        self._subjects[key] = draft.subject
        if large_ok:
            self._send_anyway.add(key)
        self._handed_in[account.id] = account
        from datetime import timedelta  # the clock has imported datetime by now

        now = self._context.clock()
        not_before = at or (now + timedelta(seconds=delay) if delay > 0 else None)
        outbox = self._outbox

        def job(_report: Report) -> object:
            message = built or self.build(draft, account)
            try:
                entry = outbox.add(
                    message,
                    account.id,
                    not_before=not_before,
                    scheduled=at is not None,
                    key=key,
                    draft_key=draft_key,
                )
            except OSError as error:
                raise SendError(
                    ErrorKind.FILE,
                    f"Composer could not keep the message in its Outbox ({outbox.folder.path}: "
                    f"{describe_write_error(error)}), so it was not sent. Your message is "
                    "unchanged; free some disk space or check the folder, then send again.",
                ) from error
            if draft_key:
                self._forget_draft(draft_key)
            return entry

        task = self._task(job)
        task.succeeded.connect(lambda entry: self._on_queued(submission, entry))
        task.failed.connect(lambda error: self._not_queued(submission, error))
        self._start(task)
        return submission

    def _forget_draft(self, key: str) -> None:
        drafts, writer = self._context.drafts, self._context.writer
        try:
            drafts.delete(key)
        except OSError:
            log.warning("could not remove draft %s after queueing it", key, exc_info=True)
        # Again after any save of it the background writer is running at this moment.
        writer.submit(("draft", key), lambda: drafts.delete(key))

    @staticmethod
    def build(draft: Draft, account: Account) -> OutgoingMessage:
        """draft as account sends it; slow (files are checked): call it in a job given to run()."""
        from composer.mail.message import build_message

        return build_message(draft, account.sender(), account.reply_to)

    def undo(self, submission: Submission) -> bool:
        """Take a message back before it starts going out; False once it has started."""
        key = submission.key
        if key in self._in_flight or not self._take_out(key):
            return False
        self._watchers.pop(key, None)
        self._end(submission, SendError(ErrorKind.CANCELLED, _UNDONE), submission.failed)
        return True

    def cancel(self, submission: Submission) -> None:
        if submission.undo():
            return
        account_id = self._in_flight.get(submission.key)
        task = self._flushing.get(account_id or "")
        if task is not None:
            self._cancelled_keys.add(submission.key)
            task.cancel()  # the others on that connection go again at once (see _outcome)

    # --- the Outbox -----------------------------------------------------------------------
    # Its modules (imported by the first use of context.outbox, or by the warm-up) are not
    # imported here at start: a start with an empty Outbox shows its window without them.

    @property
    def _outbox(self) -> Outbox:
        return self._context.outbox

    def entries(self) -> list[OutboxEntry]:
        return self._outbox.entries()

    def send_now(self, key: str) -> None:
        """The user's word: send this Outbox message now, whatever state it is in (a large
        message the server gave no size for included)."""
        from composer.mail.outbox import OutboxError

        try:
            self._outbox.send_now(key)
        except (OutboxError, OSError) as error:
            self._tell(error)  # gone meanwhile: sent, or deleted from another list
        else:
            self._send_anyway.add(key)
        self.outbox_changed.emit()
        self.flush_due()

    def send_all_now(self) -> None:
        """Every message waiting for a retry or its time goes now (not held ones, nor those
        that may have been sent: those need the user's word one by one)."""
        from composer.mail.outbox import OutboxError

        try:
            self._outbox.send_all_now()
        except (OutboxError, OSError) as error:
            self._tell(error)
        self.outbox_changed.emit()
        self.flush_due()

    def remove(self, key: str) -> bool:
        """Delete an Outbox message that is not going out right now; False if it could not
        be (it is going out, or gone already)."""
        if key in self._in_flight or not self._take_out(key):
            return False
        self._schedule()
        return True

    @Slot()
    def flush_due(self) -> None:
        """Send whatever is due, one connection per account; then wait for the next."""
        if self._stopped:
            return
        try:
            # Read once for both: a second reading would race the batch's begin() calls.
            listed = self._outbox.entries()
        except OSError as error:
            self._tell(error)
            listed = []
        due = self._outbox.due(listed)
        for account_id, entries in due.items():
            if account_id in self._flushing:
                continue  # its next batch starts when this one ends
            # As the settings say now; else as it was handed in (an account given directly).
            account = self._context.account(account_id) or self._handed_in.get(account_id)
            if account is None:
                self._hold(entries, _account_gone)
                continue
            self._flush(account, entries)
        self._schedule(listed)

    def _flush(self, account: Account, entries: Sequence[OutboxEntry]) -> None:
        from composer.mail.outbox import OutboxError
        from composer.mail.outcome_recorder import OutcomeRecorder
        from composer.mail.progress import Progress, ProgressThrottle, SendResult

        anyway = [e for e in entries if e.key in self._send_anyway]
        # A message the user said to send now goes on a connection of its own, so that a
        # large one can go without the size question.
        batch = [e.key for e in anyway[:1] or entries]
        large_ok = bool(anyway)
        for entry in entries:
            self._subjects.setdefault(entry.key, entry.subject)
        progress = ProgressThrottle()
        delivery = self._context.delivery(account, progress=progress)
        outbox = self._outbox
        host = "the local sandbox" if account.is_sandbox else account.host.strip()
        remember = {key: self._remembered(key) for key in batch}
        watched = frozenset(key for key in batch if key in self._watchers)
        from composer.mail.mailbox_copy import SentCopies, copy_wanted

        copies = SentCopies(self._context.sent, self._context.secrets)
        owes_copy = copy_wanted(account)

        def job(report: Report) -> object:
            keys: list[str] = []  # those taken, in the order they go
            answered = [False]  # whether the server took the last one

            def taken() -> Generator[Sendable, None, None]:
                # Taken here, not on the GUI thread: each take is a state write. And each
                # when its turn comes, not all before the first: 200 takes held the first
                # message back 35 ms, and one that another Composer took out or sent
                # meanwhile is passed over, not sent.
                for key in batch:
                    try:
                        message = outbox.begin(key)
                    except (OutboxError, OSError):  # undone, deleted or sent a moment ago
                        report((key, None))
                        continue
                    if answered[0]:
                        # Its sync runs while this message's envelope and body go out.
                        outbox.commit_ahead(key, host)
                    keys.append(key)
                    yield message

            def report_progress(step: Progress) -> None:
                # Only a window shows progress: for the rest (a queue left from before,
                # send later) each report would be a signal the GUI thread takes for nothing.
                if keys[-1] in watched:
                    report((keys[-1], step))

            progress.report = report_progress
            # The next message goes out while the last one's outcome is written down.
            recorder = OutcomeRecorder(outbox, copies if owes_copy else None)

            def on_result(index: int, outcome: SendResult | SendError) -> None:
                recorder.put(keys[index], outcome)
                answered[0] = isinstance(outcome, SendResult)
                for key, recorded in recorder.recorded():
                    report((key, recorded))

            def committing(index: int) -> None:
                outbox.committing(keys[index], host)

            messages = taken()
            try:
                first = next(messages, None)
                if first is None:
                    return None
                if large_ok:
                    try:
                        result = delivery.send_message(
                            first,
                            large_ok=True,
                            before_final_dot=lambda: committing(0),
                            remember=remember[keys[0]],
                        )
                    except SendError as error:
                        on_result(0, error)
                    else:
                        on_result(0, result)
                else:
                    delivery.send_batch(
                        itertools.chain([first], messages),
                        before_final_dot=committing,
                        on_result=on_result,
                        remember=lambda index: remember[keys[index]],
                    )
            finally:
                messages.close()
                for key, recorded in recorder.finish():
                    report((key, recorded))
            return None

        task = self._task(job, cancel=delivery.cancel)
        task.progressed.connect(self._on_flush_report)
        task.failed.connect(lambda error: self._on_flush_failed(batch, error))
        task.finished.connect(lambda: self._on_flush_finished(account.id, batch))
        self._flushing[account.id] = task
        for key in batch:
            self._in_flight[key] = account.id
        self._start(task)
        self.outbox_changed.emit()

    def _remembered(self, key: str) -> Sequence[Address]:
        submission = self._watchers.get(key)
        if submission is None:
            return ()
        return [a for parsed in submission.draft.recipients().values() for a in parsed.valid]

    @Slot(object)
    def _on_flush_report(self, report: object) -> None:
        from composer.mail.progress import Progress

        key, what = cast(tuple[str, object], report)
        if what is None:  # not taken: it was no longer waiting
            self._in_flight.pop(key, None)
            return
        if isinstance(what, Progress):
            submission = self._watchers.get(key)
            if submission is not None:
                submission.progressed.emit(what)
            return
        self._in_flight.pop(key, None)
        self._send_anyway.discard(key)
        self.outbox_changed.emit()
        self._outcome(key, what)

    def _outcome(self, key: str, outcome: object) -> None:
        submission = self._watchers.pop(key, None)
        cancelled = key in self._cancelled_keys
        self._cancelled_keys.discard(key)
        subject = self._subjects.pop(key, "")
        from composer.mail.progress import SendResult

        if isinstance(outcome, SendResult):
            self._end(submission, outcome, submission.sent if submission else None, subject)
            return
        entry = self._find(key)
        if isinstance(outcome, SendError) and outcome.kind is ErrorKind.CANCELLED:
            if cancelled:
                self._take_out(key)
                cancel = SendError(ErrorKind.CANCELLED, _CANCELLED)
                self._end(submission, cancel, _failed(submission), subject)
                return
            # Stopped because another message on its connection was cancelled, or the
            # program is exiting: released, it goes again with the next flush.
            if submission is not None:
                self._watchers[key] = submission
            self._subjects[key] = subject
            return
        if entry is not None and submission is not None and submission.watched and _held(entry):
            # Refused for good while its window still shows it: the window has the message
            # to change and send again, so the Outbox lets go of its copy.
            self._take_out(key)
            self._end(submission, outcome, submission.failed, subject)
        elif entry is not None:
            self._end(submission, entry, submission.deferred if submission else None, subject)
        else:
            self._end(submission, outcome, _failed(submission), subject)

    def _on_flush_failed(self, keys: list[str], error: SendError) -> None:
        # Only a fault in Composer gets here (the transport reports through on_result).
        from composer.mail.outbox import EntryState, OutboxError

        for key in keys:
            if key not in self._in_flight:
                continue  # its outcome was reported already
            self._in_flight.pop(key, None)
            entry = self._find(key)
            if entry is not None and entry.state is EntryState.SENDING:
                with contextlib.suppress(OSError, OutboxError):
                    self._outbox.failed(key, error)
            self._outcome(key, error)
        self.outbox_changed.emit()

    def _on_flush_finished(self, account_id: str, keys: list[str]) -> None:
        self._flushing.pop(account_id, None)
        for key in keys:
            self._in_flight.pop(key, None)
        if not self._stopped:
            self.copy_owed(account_id)  # what was just sent, and what failed before
            self.flush_due()  # what came due meanwhile, or the rest of the queue

    def _on_queued(self, submission: Submission, entry: OutboxEntry) -> None:
        if self._watchers.get(entry.key) is not submission:
            return  # undone or finished already
        submission.queued.emit(entry)
        self.outbox_changed.emit()
        if entry.scheduled:
            # Send later: the window is done with it; the Outbox sends it at its time.
            self._watchers.pop(entry.key, None)
            self._end(submission, entry, submission.deferred, entry.subject)
        self.flush_due()

    def _not_queued(self, submission: Submission, error: SendError) -> None:
        self._watchers.pop(submission.key, None)
        self._send_anyway.discard(submission.key)
        subject = self._subjects.pop(submission.key, "")
        self._end(submission, error, submission.failed, subject)

    def _hold(
        self, entries: Sequence[OutboxEntry], why: Callable[[OutboxEntry], SendError]
    ) -> None:
        from composer.mail.outbox import OutboxError

        for entry in entries:
            with contextlib.suppress(OutboxError, OSError):
                self._outbox.begin(entry.key)
                self._outbox.failed(entry.key, why(entry))
        self.outbox_changed.emit()

    def _take_out(self, key: str) -> bool:
        from composer.mail.outbox import OutboxError

        try:
            self._outbox.remove(key)
        except (OutboxError, OSError):
            return False
        self.outbox_changed.emit()
        return True

    def _find(self, key: str) -> OutboxEntry | None:
        try:
            return self._outbox.find(key)
        except OSError:
            return None

    def _tell(self, error: Exception) -> None:
        log.warning("Outbox: %s", error)
        self._context.notify(str(error))

    def _schedule(self, listed: list[OutboxEntry] | None = None) -> None:
        """Time the next flush_due for the next entry due, of those listed when given.

        Entries of an account whose batch is under way are left out: that batch's end
        looks again, and a timer for them would fire over and over meanwhile."""
        try:
            entries = self._outbox.entries() if listed is None else listed
        except OSError:
            entries = []
        waiting = [e for e in entries if e.account_id not in self._flushing]
        due = self._outbox.next_due(waiting)
        if due is None or self._stopped:
            self._timer.stop()
            return
        wait = (due - self._context.clock()).total_seconds()
        self._timer.start(min(_MAX_WAIT_MS, max(0, int(wait * 1000) + 1)))

    # --- copies in the mailbox's Sent folder ----------------------------------------------

    @Slot()
    def copy_owed(self, account_id: str = "") -> None:
        """Make the Sent copies owed for account_id (every account when ""), in the background;
        a failure is told through the context, and the copy is tried again later."""
        if self._stopped:
            return
        # Here, not at the top: the IMAP side is not needed to open a window.
        from composer.mail.mailbox_copy import SentCopies, copy_wanted

        for account in self._context.accounts():
            if (account_id and account.id != account_id) or not copy_wanted(account):
                continue
            if account.id in self._copying:
                self._copy_again.add(account.id)
                continue
            copies = SentCopies(self._context.sent, self._context.secrets)
            task = self._task(functools.partial(_copy_job, copies, account), cancel=copies.cancel)
            task.succeeded.connect(self._on_copied)
            task.finished.connect(functools.partial(self._on_copy_finished, account.id))
            self._copying[account.id] = task
            self._start(task)

    @Slot(object)
    def _on_copied(self, report: CopyReport) -> None:
        if report.error is not None:
            self._context.notify(report.failure_text())
        elif report.copied:
            log.info(
                "%d copies put in %s on %s",
                len(report.copied),
                report.folder,
                report.account.imap_host,
            )

    def _on_copy_finished(self, account_id: str) -> None:
        self._copying.pop(account_id, None)
        if account_id in self._copy_again:
            self._copy_again.discard(account_id)
            self.copy_owed(account_id)

    # --- connection checks and other work -------------------------------------------------

    def check(
        self, account: Account, password: str | None, *, transcript: Transcript | None = None
    ) -> Task:
        """Connect, secure and log in as account (with password if typed), on a worker thread.

        succeeded carries a sentence saying what worked, failed a SendError. Outcomes are
        queued to the GUI thread, so connecting to them after this returns misses nothing.
        The conversation goes into transcript, complete once either has arrived.
        """
        from composer.mail.progress import ProgressThrottle

        progress = ProgressThrottle()
        delivery = self._context.delivery(
            account, password=password, progress=progress, transcript=transcript
        )

        def job(report: Report) -> object:
            progress.report = report
            return delivery.check()

        task = self._task(job, cancel=delivery.cancel)
        self._start(task)
        return task

    def discover(self, address: str) -> Task:
        """Find the servers for address (see mail/discovery.py), on a worker thread.

        succeeded carries a Discovery, failed a SendError saying what to do. cancel() makes
        the search stop before its next step; each step is bounded by the settings' timeout.
        """
        stop = threading.Event()
        # Loaded on the first search: dnspython and the XML parser cost the window's start-up
        # about a tenth of a second otherwise.
        from composer.mail.discovery import discover

        settings = self._context.settings.discovery
        task = self._task(lambda _report: discover(address, settings, stop.is_set), cancel=stop.set)
        self._start(task)
        return task

    def run(self, job: Callable[[], object], *, cancel: Callable[[], None] | None = None) -> Task:
        """Any other background work for a window (message source, .eml, a sign-in), on a
        worker thread; cancel (any thread) asks job to stop, as cancel_all() does at exit."""
        task = self._task(lambda _report: job(), cancel=cancel)
        self._start(task)
        return task

    def _task(self, job: Job, *, cancel: Callable[[], None] | None = None) -> Task:
        # Imported with the warm-up, not before the first frame: its thread class makes
        # QThread's Python class and enums.
        from composer.tasks import Task

        return Task(job, self, cancel=cancel)

    # --- the program's life ---------------------------------------------------------------

    def is_busy(self) -> bool:
        """Work is running, or a message just sent waits out its undo delay: a program whose
        last window closed right after Send stays until that message has gone."""
        if self._tasks:
            return True
        from composer.mail.outbox import EntryState

        return not self._stopped and any(
            e.state is EntryState.WAITING and e.attempts == 0 and not e.scheduled
            for e in self._outbox.entries()
        )

    def cancel_all(self) -> None:
        """The program is exiting: stop everything; the Outbox keeps what did not go."""
        self._stopped = True
        self._timer.stop()
        for task in list(self._tasks):
            task.cancel()

    def wait(self, timeout_ms: int) -> None:
        """Block until every thread has ended: only when the program is about to exit."""
        deadline = time.monotonic() + timeout_ms / 1000
        for task in list(self._tasks):
            task.wait(max(0, int((deadline - time.monotonic()) * 1000)))

    def _start(self, task: Task) -> None:
        task.finished.connect(self._on_task_finished)
        self._tasks.add(task)
        task.start()

    def _end(
        self,
        submission: Submission | None,
        outcome: object,
        signal: SignalInstance | None,
        subject: str = "",
    ) -> None:
        if submission is not None and signal is not None:
            signal.emit(outcome)
            submission.finished.emit()
        self.finished.emit(submission, outcome, subject)
        if submission is not None:
            submission.deleteLater()

    @Slot()
    def _on_task_finished(self) -> None:
        self._tasks.discard(cast("Task", self.sender()))
        if not self.is_busy():
            self.idle.emit()


def _copy_job(copies: SentCopies, account: Account, _report: Report) -> CopyReport:
    return copies.copy_owed(account)


def _held(entry: OutboxEntry) -> bool:
    from composer.mail.outbox import EntryState

    return entry.state is EntryState.HELD


def _failed(submission: Submission | None) -> SignalInstance | None:
    return submission.failed if submission is not None else None


def _account_gone(entry: OutboxEntry) -> SendError:
    return SendError(
        ErrorKind.INVALID_MESSAGE,
        f"The account this message was to go out from no longer exists. Use Back to Drafts "
        f"to send “{entry.subject or '(no subject)'}” from another account.",
    )

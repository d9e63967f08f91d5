"""Sending for the whole application: windows submit a message and watch it; this owns the work."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, SignalInstance, Slot

from composer.context import AppContext
from composer.mail.accounts import Account
from composer.mail.draft import Draft
from composer.mail.progress import Progress, Stage
from composer.tasks import Report, Task

# A large message reports every 64 KiB; the status bar needs an update at most this often.
_PROGRESS_INTERVAL = 0.05


class Submission(QObject):
    """One message on its way out; belongs to the SendService, not to the window that sent it.

    Signals:
        progressed(Progress): how far the send got.
        sent(SendResult): the server accepted it for at least one recipient.
        failed(SendError): it was not sent (or cancelled).
        finished(): the work has ended, after sent or failed.
    """

    progressed = Signal(object)
    sent = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(self, draft: Draft, account: Account, parent: QObject) -> None:
        super().__init__(parent)
        self.draft = draft
        self.account = account
        # True while a window shows this send; a window that closes lets go of it, and the
        # application then reports the outcome instead.
        self.watched = True
        self.cancelled = False
        self._cancel: Callable[[], None] = lambda: None

    def cancel(self) -> None:
        """Stop the send; returns at once, and failed(CANCELLED) follows within a moment."""
        self.cancelled = True
        self._cancel()

    def release(self) -> None:
        """The window that watched this send is closing."""
        self.watched = False


class SendService(QObject):
    """Runs every send and connection check of one running Composer on worker threads.

    Signals:
        finished(Submission, object): a submission ended with a SendResult or a SendError.
        idle(): nothing is running any more.
    """

    finished = Signal(object, object)
    idle = Signal()

    def __init__(self, context: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._tasks: set[Task] = set()

    def submit(self, draft: Draft, account: Account, *, large_ok: bool = False) -> Submission:
        """Start sending draft from account; watch the returned submission for the outcome."""
        submission = Submission(draft, account, self)
        progress = _Throttle()
        delivery = self._context.delivery(account, progress=progress)

        def job(report: Report) -> object:
            progress.report = report
            return delivery.send(draft, large_ok=large_ok)

        task = Task(job, self, cancel=delivery.cancel)
        submission._cancel = task.cancel
        task.progressed.connect(submission.progressed)
        task.succeeded.connect(lambda result: self._end(submission, result, submission.sent))
        task.failed.connect(lambda error: self._end(submission, error, submission.failed))
        self._start(task)
        return submission

    def check(self, account: Account, password: str | None) -> Task:
        """Connect, secure and log in as account (with password if typed), on a worker thread.

        succeeded carries a sentence saying what worked, failed a SendError. Outcomes are
        queued to the GUI thread, so connecting to them after this returns misses nothing.
        """
        progress = _Throttle()
        delivery = self._context.delivery(account, password=password, progress=progress)

        def job(report: Report) -> object:
            progress.report = report
            return delivery.check()

        task = Task(job, self, cancel=delivery.cancel)
        self._start(task)
        return task

    def run(self, job: Callable[[], object]) -> Task:
        """Any other background work for a window (message source, .eml), on a worker thread."""
        task = Task(lambda _report: job(), self)
        self._start(task)
        return task

    def is_busy(self) -> bool:
        return bool(self._tasks)

    def cancel_all(self) -> None:
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

    def _end(self, submission: Submission, outcome: object, signal: SignalInstance) -> None:
        signal.emit(outcome)
        submission.finished.emit()
        self.finished.emit(submission, outcome)
        submission.deleteLater()

    @Slot()
    def _on_task_finished(self) -> None:
        task = self.sender()
        self._tasks.discard(task)
        if not self._tasks:
            self.idle.emit()


class _Throttle:
    """Passes a transport's progress on at most every 50 ms while data flows (and every change
    of stage, and the end); each report is a signal queued across threads."""

    def __init__(self) -> None:
        self.report: Report = lambda _progress: None
        self._last = 0.0
        self._stage: Stage | None = None

    def __call__(self, step: Progress) -> None:
        now = time.monotonic()
        done = step.total and step.sent >= step.total
        if step.stage is self._stage and not done and now - self._last < _PROGRESS_INTERVAL:
            return
        self._last, self._stage = now, step.stage
        self.report(step)

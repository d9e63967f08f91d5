"""Background work on a QThread whose progress, result or error come back on the GUI thread."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot

from composer.mail.errors import SendError, internal_error

log = logging.getLogger(__name__)

# What a job calls, on its own thread, to report how far it got.
Report = Callable[[object], None]
Job = Callable[[Report], object]


class _Runner(QThread):
    """The task's thread: run() does the job there and ends; never touches a widget.

    The thread object itself lives on the GUI thread, so nothing is ever moved between
    threads: a worker QObject moved back to the GUI thread as it finished (moveToThread holds
    the GIL while it waits for Qt's locks) could deadlock with a GUI thread inside Qt,
    holding one of those locks and waiting for the GIL.
    """

    progressed = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)

    def __init__(self, job: Job, parent: QObject) -> None:
        super().__init__(parent)
        self._job = job

    def run(self) -> None:
        try:
            result = self._job(self.progressed.emit)
        except SendError as error:
            self.failed.emit(error)
        except Exception as error:
            log.exception("unexpected failure in a background task")
            self.failed.emit(internal_error(error))
        else:
            self.succeeded.emit(result)


class Task(QObject):
    """One job on its own thread, started by start(); each outcome arrives once, on this
    object's (the GUI) thread.

    Connect to these signals, never to its thread's: PySide calls a plain function or lambda
    connected to a signal emitted on the task's thread there, where touching a widget crashes.
    The task deletes itself (and its thread) once the thread has ended, so its parent must
    outlive the work: the application's services, never a window that may close first. Let
    that parent go with deleteLater(): PySide crashes when a parent freed by Python still
    has a child whose deleteLater() is pending.

    Signals:
        progressed(object): what the job reported, on the GUI thread.
        succeeded(object): what the job returned.
        failed(object): the SendError the job raised (anything else is logged and wrapped
            as an internal error).
        finished(): the thread has ended; drop every reference to this task.
    """

    progressed = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(
        self, job: Job, parent: QObject, *, cancel: Callable[[], None] | None = None
    ) -> None:
        super().__init__(parent)
        self._cancel = cancel or (lambda: None)
        self._thread = _Runner(job, self)
        self._running = False
        # Bound slots of this GUI-thread object: queued across threads, in the order emitted.
        self._thread.progressed.connect(self._on_progressed)
        self._thread.succeeded.connect(self._on_succeeded)
        self._thread.failed.connect(self._on_failed)
        self._thread.finished.connect(self._on_thread_finished)

    def start(self) -> None:
        """Run the job; calling again does nothing."""
        if not self._running and not self._thread.isFinished():
            self._running = True
            self._thread.start()

    def is_running(self) -> bool:
        return self._running

    def cancel(self) -> None:
        """Ask the job to stop; returns at once, and the outcome still arrives."""
        self._cancel()

    def wait(self, timeout_ms: int) -> bool:
        """Block until the thread has ended (only when the program is about to exit)."""
        return self._thread.wait(timeout_ms)

    @Slot(object)
    def _on_progressed(self, progress: object) -> None:
        self.progressed.emit(progress)

    @Slot(object)
    def _on_succeeded(self, result: object) -> None:
        self.succeeded.emit(result)

    @Slot(object)
    def _on_failed(self, error: object) -> None:
        self.failed.emit(error)

    @Slot()
    def _on_thread_finished(self) -> None:
        self._running = False
        self.finished.emit()
        self.deleteLater()  # and its thread, which has ended

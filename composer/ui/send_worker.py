"""Running a Delivery (send or connection check) on a QThread, reporting back by signals."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot

from composer.mail.delivery import Delivery
from composer.mail.errors import ErrorKind, SendError
from composer.mail.progress import Progress, Stage

log = logging.getLogger(__name__)


class TaskWorker(QObject):
    """Calls ``job()`` off the GUI thread; never touches a widget.

    Signals:
        progressed(object): a transport ``Progress``, emitted from the worker thread.
        succeeded(object): what the job returned.
        failed(object): a ``SendError`` (anything else that escapes is logged and wrapped).
    """

    progressed = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)

    def __init__(self, job: Callable[[], object], cancel: Callable[[], None] | None = None) -> None:
        super().__init__()
        self._job = job
        self._cancel = cancel or (lambda: None)

    @Slot()
    def run(self) -> None:
        try:
            result = self._job()
        except SendError as error:
            self.failed.emit(error)
        except Exception as error:
            log.exception("unexpected failure in a background task")
            self.failed.emit(
                SendError(
                    ErrorKind.SERVER_ERROR,
                    f"Something unexpected went wrong ({type(error).__name__}: {error}). "
                    "Your message is unchanged.",
                )
            )
        else:
            self.succeeded.emit(result)

    def cancel(self) -> None:
        """Thread-safe: asks the job to stop, so run() ends within a moment."""
        self._cancel()


class DeliveryWorker(TaskWorker):
    """Runs ``job(delivery)`` for a Delivery made with this worker's progress signal."""

    def __init__(
        self, make_delivery: Callable[..., Delivery], job: Callable[[Delivery], object]
    ) -> None:
        super().__init__(lambda: job(delivery))
        self._last_progress = 0.0
        # The progress callback is handed in at construction so it exists before run().
        delivery = make_delivery(progress=self._report)
        self._cancel = delivery.cancel

    def _report(self, progress: Progress) -> None:
        """Pass progress on at most every 50 ms (and every change of stage or the end).

        A large message reports every 64 KiB; the status bar needs far fewer updates, and
        each is a signal queued across threads.
        """
        now = time.monotonic()
        done = progress.total and progress.sent >= progress.total
        if progress.stage is Stage.SENDING and not done and now - self._last_progress < 0.05:
            return
        self._last_progress = now
        self.progressed.emit(progress)


class WorkerThread(QObject):
    """Runs one worker on its own QThread and owns both until the thread has finished.

    The worker's signals are passed on from this object, which lives on the GUI thread:
    connect to these, never to the worker's. PySide calls a plain function or lambda
    connected to the worker's signals on the worker's thread, where touching a widget crashes.

    Signals:
        progressed(object): the worker's progress, on the GUI thread.
        succeeded(object): the worker's result, on the GUI thread.
        failed(object): the worker's ``SendError``, on the GUI thread.
        finished(): the thread has ended; drop every reference to this object, which is
            deleted (with its worker and thread) right after.
    """

    progressed = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(self, parent: QObject, worker: TaskWorker) -> None:
        super().__init__(parent)
        self.worker = worker
        self._thread = QThread(self)
        self._done = False
        worker.moveToThread(self._thread)
        self._thread.started.connect(worker.run)
        # Bound slots of this object: queued to the GUI thread, in the order emitted.
        worker.progressed.connect(self._on_progressed)
        worker.succeeded.connect(self._on_succeeded)
        worker.failed.connect(self._on_failed)
        self._thread.finished.connect(self._on_thread_finished)
        self._thread.start()

    def stop(self, wait_ms: int = 5000) -> None:
        """Cancel the work and wait for the thread to end (when a window closes)."""
        if self._done:
            return
        self.worker.cancel()
        self._thread.quit()
        self._thread.wait(wait_ms)

    @Slot(object)
    def _on_progressed(self, progress: object) -> None:
        self.progressed.emit(progress)

    @Slot(object)
    def _on_succeeded(self, result: object) -> None:
        self._thread.quit()
        self.succeeded.emit(result)

    @Slot(object)
    def _on_failed(self, error: object) -> None:
        self._thread.quit()
        self.failed.emit(error)

    @Slot()
    def _on_thread_finished(self) -> None:
        self._done = True
        self.worker.deleteLater()
        self.finished.emit()
        self.deleteLater()

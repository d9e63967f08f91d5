"""Running a Delivery (send or connection check) on a QThread, reporting back by signals."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot

from composer.mail.delivery import Delivery
from composer.mail.errors import ErrorKind, SendError

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
        # The progress callback is handed in at construction so it exists before run().
        delivery = make_delivery(progress=self.progressed.emit)
        self._cancel = delivery.cancel


class WorkerThread(QObject):
    """Runs one worker on its own QThread and owns both until the thread has finished.

    Signals:
        finished(): the thread has ended; drop every reference to this object, which is
            deleted (with its worker and thread) right after.
    """

    finished = Signal()

    def __init__(self, parent: QObject, worker: TaskWorker) -> None:
        super().__init__(parent)
        self.worker = worker
        self._thread = QThread(self)
        self._done = False
        worker.moveToThread(self._thread)
        self._thread.started.connect(worker.run)
        worker.succeeded.connect(self._thread.quit)
        worker.failed.connect(self._thread.quit)
        # Queued to this object's (the GUI) thread, so nothing is deleted under a running slot.
        self._thread.finished.connect(self._on_thread_finished)
        self._thread.start()

    @property
    def running(self) -> bool:
        return not self._done

    def stop(self, wait_ms: int = 5000) -> None:
        """Cancel the work and wait for the thread to end (when a window closes)."""
        if self._done:
            return
        self.worker.cancel()
        self._thread.quit()
        self._thread.wait(wait_ms)

    @Slot()
    def _on_thread_finished(self) -> None:
        self._done = True
        self.worker.deleteLater()
        self.finished.emit()
        self.deleteLater()

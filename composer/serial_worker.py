"""One background thread running small jobs in order: writes the GUI thread never waits for."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)

Job = Callable[[], None]


class SerialWorker:
    """Runs jobs one after another on a thread of its own, started on the first job.

    A job submitted under a key replaces one still waiting under the same key (it keeps the
    waiting one's place), so a burst of saves of one file costs one write: typing, or choosing
    accounts in From one after another, never queues up work. Jobs under different keys run
    in the order they were submitted. A job that raises is passed to on_error and the next
    one runs.
    """

    def __init__(self, name: str, on_error: Callable[[Exception], None]) -> None:
        self._name = name
        self._on_error = on_error
        self._wake = threading.Condition()
        self._queue: list[tuple[Hashable, Job]] = []
        self._running = False
        self._closed = False
        self._thread: threading.Thread | None = None

    def submit(self, key: Hashable, job: Job) -> bool:
        """Queue job; False (and job ignored) once the worker is closed."""
        with self._wake:
            if self._closed:
                log.warning("%s: job after close ignored", self._name)
                return False
            for index, (waiting, _) in enumerate(self._queue):
                if waiting == key:
                    self._queue[index] = (key, job)
                    break
            else:
                self._queue.append((key, job))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._wake.notify_all()
        return True

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every job submitted so far has run; False if timeout passed first."""
        with self._wake:
            return self._wake.wait_for(lambda: not self._queue and not self._running, timeout)

    def close(self) -> None:
        """Run what is queued, then stop the thread (the program is exiting)."""
        with self._wake:
            self._closed = True
            thread = self._thread
            self._wake.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._queue or self._closed)
                if not self._queue:
                    return
                _, job = self._queue.pop(0)
                self._running = True
            try:
                job()
            except Exception as error:
                self._on_error(error)
            finally:
                with self._wake:
                    self._running = False
                    self._wake.notify_all()

"""Background work: results reach the GUI thread, whatever kind of callable receives them."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject
from pytestqt.qtbot import QtBot

from composer.mail.errors import ErrorKind, SendError
from composer.ui.send_worker import TaskWorker, WorkerThread


def test_lambdas_on_a_worker_thread_run_on_the_gui_thread(qtbot: QtBot) -> None:
    parent = QObject()
    threads: dict[str, threading.Thread] = {}
    worker = TaskWorker(lambda: threads.setdefault("job", threading.current_thread()) and 42)
    run = WorkerThread(parent, worker)
    results: list[object] = []
    run.succeeded.connect(
        lambda result: (
            threads.setdefault("slot", threading.current_thread()),
            results.append(result),
        )
    )

    with qtbot.waitSignal(run.finished, timeout=5000):
        pass

    assert results == [42]
    assert threads["job"] is not threading.main_thread()
    assert threads["slot"] is threading.main_thread()


def test_failures_arrive_as_send_errors(qtbot: QtBot) -> None:
    parent = QObject()

    def job() -> object:
        raise SendError(ErrorKind.TIMEOUT, "too slow")

    run = WorkerThread(parent, TaskWorker(job))
    errors: list[object] = []
    run.failed.connect(lambda error: errors.append((error, threading.current_thread())))

    with qtbot.waitSignal(run.finished, timeout=5000):
        pass

    [(error, thread)] = errors
    assert isinstance(error, SendError)
    assert error.kind is ErrorKind.TIMEOUT
    assert thread is threading.main_thread()


def test_an_unexpected_exception_is_wrapped_not_raised(qtbot: QtBot) -> None:
    parent = QObject()

    def job() -> object:
        raise RuntimeError("boom")

    run = WorkerThread(parent, TaskWorker(job))
    errors: list[SendError] = []
    run.failed.connect(errors.append)

    with qtbot.waitSignal(run.finished, timeout=5000):
        pass

    assert "boom" in errors[0].message
    assert "unchanged" in errors[0].message

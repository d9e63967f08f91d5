"""Background tasks: started explicitly, outcomes once and on the GUI thread, errors in words."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QObject
from pytestqt.qtbot import QtBot

from composer.mail.errors import ErrorKind, SendError
from composer.tasks import Report, Task


@pytest.fixture
def owner(qtbot: QtBot) -> Iterator[QObject]:
    """What tasks belong to: it must outlive them (Qt aborts if a running QThread is deleted),
    and goes with deleteLater(), after the tasks' own deferred deletes (composer/tasks.py)."""
    parent = QObject()
    yield parent
    with qtbot.waitSignal(parent.destroyed):
        parent.deleteLater()


def test_nothing_runs_before_start(qtbot: QtBot, owner: QObject) -> None:
    ran = threading.Event()
    task = Task(lambda _report: ran.set(), owner)

    qtbot.wait(50)
    assert not ran.is_set()
    assert not task.is_running()

    with qtbot.waitSignal(task.finished, timeout=5000):
        task.start()
    assert ran.is_set()


def test_results_and_progress_arrive_on_the_gui_thread_even_in_lambdas(
    qtbot: QtBot, owner: QObject
) -> None:
    seen: dict[str, threading.Thread] = {}

    def job(report: Report) -> int:
        seen["job"] = threading.current_thread()
        report("half way")
        return 42

    task = Task(job, owner)
    progress: list[tuple[object, threading.Thread]] = []
    results: list[tuple[object, threading.Thread]] = []
    task.progressed.connect(lambda p: progress.append((p, threading.current_thread())))
    task.succeeded.connect(lambda r: results.append((r, threading.current_thread())))

    with qtbot.waitSignal(task.finished, timeout=5000):
        task.start()

    assert seen["job"] is not threading.main_thread()
    assert progress == [("half way", threading.main_thread())]
    assert results == [(42, threading.main_thread())]


def test_a_send_error_arrives_as_it_was_raised(qtbot: QtBot, owner: QObject) -> None:
    errors: list[object] = []

    def job() -> object:
        raise SendError(ErrorKind.TIMEOUT, "too slow")

    task = Task(lambda _report: job(), owner)
    task.failed.connect(errors.append)
    with qtbot.waitSignal(task.finished, timeout=5000):
        task.start()

    [error] = errors
    assert isinstance(error, SendError)
    assert (error.kind, error.message) == (ErrorKind.TIMEOUT, "too slow")


def test_a_programming_error_is_an_internal_error_without_its_text(
    qtbot: QtBot, owner: QObject
) -> None:
    errors: list[SendError] = []

    def job() -> object:
        raise KeyError("secret detail")

    task = Task(lambda _report: job(), owner)
    task.failed.connect(errors.append)
    with qtbot.waitSignal(task.finished, timeout=5000):
        task.start()

    [error] = errors
    assert error.kind is ErrorKind.INTERNAL
    assert "inside Composer" in error.message
    assert "unchanged" in error.message
    assert "secret detail" not in error.message


def test_cancel_reaches_the_job_and_the_outcome_still_arrives(qtbot: QtBot, owner: QObject) -> None:
    stop = threading.Event()

    def job(_report: Report) -> object:
        if not stop.wait(30):
            return "not cancelled"
        raise SendError(ErrorKind.CANCELLED, "Sending was cancelled.")

    task = Task(job, owner, cancel=stop.set)
    errors: list[SendError] = []
    task.failed.connect(errors.append)
    task.start()

    with qtbot.waitSignal(task.finished, timeout=10_000):
        task.cancel()

    assert [e.kind for e in errors] == [ErrorKind.CANCELLED]


def test_starting_twice_runs_the_job_once(qtbot: QtBot, owner: QObject) -> None:
    runs: list[int] = []
    task = Task(lambda _report: runs.append(1), owner)

    with qtbot.waitSignal(task.finished, timeout=5000):
        task.start()
        task.start()

    assert runs == [1]

"""The send service: submissions run on its threads and report through their own signals."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from composer.context import AppContext
from composer.mail import progress
from composer.mail.accounts import Security, sandbox_account
from composer.mail.draft import Draft
from composer.mail.errors import ErrorKind, SendError
from composer.mail.progress import Progress, SendResult, Stage
from composer.paths import Paths
from composer.send_service import SendService
from composer.submission import Submission
from tests.servers import SilentServer, account_for


@pytest.fixture
def service(qtbot: QtBot, tmp_path: Path) -> Iterator[SendService]:
    context = AppContext(Paths.under(tmp_path))
    made = SendService(context)
    yield made
    made.cancel_all()
    made.wait(10_000)
    context.close()
    # As the session does: tasks delete themselves later, so their owner must too.
    with qtbot.waitSignal(made.destroyed):
        made.deleteLater()


def test_a_submission_reports_progress_then_the_result_on_the_gui_thread(
    qtbot: QtBot, service: SendService, tmp_path: Path
) -> None:
    events: list[tuple[str, object, threading.Thread]] = []
    submission = service.submit(Draft(to="bob@example.org", subject="Hi"), sandbox_account())
    for name in ("progressed", "sent", "failed"):
        getattr(submission, name).connect(
            lambda value, name=name: events.append((name, value, threading.current_thread()))
        )

    with qtbot.waitSignal(service.idle, timeout=20_000):
        pass

    assert {thread for _, _, thread in events} == {threading.main_thread()}
    kinds = [name for name, _, _ in events]
    assert kinds[-1] == "sent"
    assert "progressed" in kinds
    result = events[-1][1]
    assert isinstance(result, SendResult)
    assert result.accepted == ("bob@example.org",)
    assert len(list((tmp_path / "sandbox" / "Maildir" / "new").iterdir())) == 1
    assert not service.is_busy()


def test_the_service_tells_whether_a_window_still_watches(
    qtbot: QtBot, service: SendService
) -> None:
    submission = service.submit(Draft(to="bob@example.org", subject="Hi"), sandbox_account())
    submission.release()

    with qtbot.waitSignal(service.finished, timeout=20_000) as ended:
        pass

    finished, outcome, subject = ended.args
    assert finished is submission
    assert not finished.watched
    assert isinstance(outcome, SendResult)
    assert subject == "Hi"


def test_cancel_stops_a_send_that_waits_for_a_silent_server(
    qtbot: QtBot, service: SendService, silent_server: SilentServer
) -> None:
    account = account_for(silent_server, Security.NONE, username="", timeout=60)
    submission = service.submit(Draft(to="bob@example.org"), account)
    errors: list[SendError] = []
    submission.failed.connect(errors.append)
    qtbot.waitUntil(lambda: silent_server.accepted >= 1, timeout=10_000)

    with qtbot.waitSignal(submission.finished, timeout=10_000):
        submission.cancel()

    assert [e.kind for e in errors] == [ErrorKind.CANCELLED]
    assert submission.cancelled


def test_progress_while_data_flows_is_passed_on_at_most_every_50_ms(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [100.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    passed: list[Progress] = []
    throttle = progress.ProgressThrottle()
    throttle.report = passed.append

    def step(stage: Stage, sent: int = 0, after: float = 0.0) -> Progress:
        clock[0] += after
        progress = Progress(stage, "h", sent, 100 if stage is Stage.SENDING else 0)
        throttle(progress)
        return progress

    connecting = step(Stage.CONNECTING)
    first = step(Stage.SENDING, 10, after=0.001)
    step(Stage.SENDING, 20, after=0.01)  # too soon
    later = step(Stage.SENDING, 30, after=0.05)
    end = step(Stage.SENDING, 100, after=0.001)  # the end always

    assert passed == [connecting, first, later, end]


def test_submission_is_owned_by_the_service_not_the_caller(service: SendService) -> None:
    submission = service.submit(Draft(to="bob@example.org"), sandbox_account())

    assert isinstance(submission, Submission)
    assert submission.parent() is service


def test_waiting_at_exit_needs_no_event_loop(
    qtbot: QtBot, service: SendService, silent_server: SilentServer
) -> None:
    account = account_for(silent_server, Security.NONE, username="", timeout=60)
    service.submit(Draft(to="bob@example.org"), account)
    qtbot.waitUntil(lambda: silent_server.accepted >= 1, timeout=10_000)
    tasks = list(service._tasks)

    service.cancel_all()
    service.wait(10_000)  # the GUI thread is blocked here, as when the program exits

    assert [task._thread.isFinished() for task in tasks] == [True]

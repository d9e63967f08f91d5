"""The outcomes of a batch, written down on a thread of their own while the next goes out."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from composer.mail.errors import ErrorKind, SendError
from composer.mail.outbox import EntryState, Outbox
from composer.mail.outcome_recorder import OutcomeRecorder
from composer.mail.sent import SentFolder
from tests.unit.mail.test_outbox import Clock, build, commit_logs, result_for


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    from composer.mail.store import MessageFolder

    sent = SentFolder(MessageFolder(tmp_path / "Sent"))
    return Outbox(MessageFolder(tmp_path / "Outbox"), sent, clock=Clock())


def test_outcomes_are_recorded_in_order_and_settled_at_the_end(outbox: Outbox) -> None:
    entries = [outbox.add(build(subject=f"No. {n}"), "acc") for n in range(5)]
    stored = [outbox.begin(e.key) for e in entries]
    recorder = OutcomeRecorder(outbox, None)
    refused = SendError(ErrorKind.TOO_LARGE, "too large", smtp_code=552)
    told = []
    for number, (entry, message) in enumerate(zip(entries, stored, strict=True)):
        outbox.committing(entry.key)
        outcome = refused if number == 2 else result_for(message)
        recorder.put(entry.key, outcome)
        told.extend(recorder.recorded())
    told.extend(recorder.finish())
    assert [key for key, _ in told] == [e.key for e in entries]
    assert told[2][1] is refused
    assert [e.key for e in outbox.entries()] == [entries[2].key]
    assert outbox.entries()[0].state is not EntryState.SENDING
    assert len(outbox.sent.summaries()) == 4
    assert commit_logs(outbox) == []
    assert outbox.folder.keys() == [entries[2].key]  # the others settled, files gone


def test_recording_runs_beside_the_caller(outbox: Outbox) -> None:
    entry = outbox.add(build(), "acc")
    stored = outbox.begin(entry.key)
    outbox.committing(entry.key)
    seen: list[str] = []
    real = outbox.delivered

    def delivered(*args: object, **kwargs: object) -> str:
        seen.append(threading.current_thread().name)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    outbox.delivered = delivered  # type: ignore[method-assign]
    recorder = OutcomeRecorder(outbox, None)
    recorder.put(entry.key, result_for(stored))
    recorder.finish()
    assert seen == ["composer-recorder"]


def test_an_outcome_that_cannot_be_recorded_does_not_stop_the_rest(
    outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = outbox.add(build(), "acc"), outbox.add(build(), "acc")
    outbox.begin(first.key)
    stored = outbox.begin(second.key)
    outbox.committing(second.key)
    recorder = OutcomeRecorder(outbox, None)
    # first was never committed nor is it known to the server: delivered() refuses it.
    recorder.put("0000000000000000-deadbeef", result_for(stored))
    recorder.put(second.key, result_for(stored))
    told = recorder.finish()
    assert [key for key, _ in told] == ["0000000000000000-deadbeef", second.key]
    assert "could not record the outcome" in caplog.text
    assert [e.key for e in outbox.entries()] == [first.key]


def test_a_recorder_given_nothing_starts_no_thread(outbox: Outbox) -> None:
    recorder = OutcomeRecorder(outbox, None)
    assert recorder.finish() == []
    assert not any(t.name == "composer-recorder" for t in threading.enumerate())

"""SerialWorker: jobs in order on one thread, a waiting job replaced by a newer one of its key."""

from __future__ import annotations

import threading

from composer.serial_worker import SerialWorker


def test_jobs_run_in_order_off_the_calling_thread() -> None:
    errors: list[Exception] = []
    worker = SerialWorker("test", errors.append)
    ran: list[tuple[int, str]] = []
    for number in range(20):
        worker.submit(number, lambda n=number: ran.append((n, threading.current_thread().name)))
    assert worker.flush(5)
    assert [n for n, _ in ran] == list(range(20))
    assert {name for _, name in ran} == {"test"}
    assert errors == []
    worker.close()


def test_a_waiting_job_is_replaced_in_its_place() -> None:
    worker = SerialWorker("test", lambda error: None)
    gate = threading.Event()
    ran: list[str] = []
    worker.submit("block", gate.wait)
    worker.submit("a", lambda: ran.append("a1"))
    worker.submit("b", lambda: ran.append("b"))
    worker.submit("a", lambda: ran.append("a2"))
    gate.set()
    assert worker.flush(5)
    assert ran == ["a2", "b"]
    worker.close()


def test_a_failing_job_is_reported_and_the_next_runs() -> None:
    errors: list[Exception] = []
    worker = SerialWorker("test", errors.append)
    ran: list[str] = []

    def fail() -> None:
        raise OSError("disk full")

    worker.submit("x", fail)
    worker.submit("y", lambda: ran.append("y"))
    assert worker.flush(5)
    assert [str(e) for e in errors] == ["disk full"]
    assert ran == ["y"]
    worker.close()


def test_close_runs_what_is_queued_then_refuses_more() -> None:
    worker = SerialWorker("test", lambda error: None)
    gate = threading.Event()
    ran: list[str] = []
    worker.submit("block", gate.wait)
    worker.submit("last", lambda: ran.append("last"))
    threading.Timer(0.05, gate.set).start()
    worker.close()
    assert ran == ["last"]
    worker.submit("late", lambda: ran.append("late"))
    assert worker.flush(1)
    assert ran == ["last"]


def test_flush_times_out_while_a_job_runs() -> None:
    worker = SerialWorker("test", lambda error: None)
    gate = threading.Event()
    worker.submit("block", gate.wait)
    assert not worker.flush(0.05)
    gate.set()
    assert worker.flush(5)
    worker.close()

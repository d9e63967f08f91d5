"""Signals emitted from worker threads must not corrupt Python's reference counts.

PySide6 6.12.0 lost a reference to True on every emit from a non-GUI thread and aborted the
process after about a thousand; a long send emits progress from its worker many times.
"""

from __future__ import annotations

import sys
import threading

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    progressed = Signal(object)


def test_emitting_from_a_thread_keeps_reference_counts(qapp: object) -> None:
    emitter = _Emitter()
    before = sys.getrefcount(True)

    def work() -> None:
        for value in range(300):
            emitter.progressed.emit(value)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()

    # Other objects may take a few references meanwhile; the bug lost one per emit.
    assert sys.getrefcount(True) > before - 50

"""Values of which only the latest matters, passed on at most every so often.

A status line replaces the one before it. When a queue of small messages goes out, one a
few milliseconds after another, showing each line would repaint every window's status bar
hundreds of times a second on the GUI thread, which the sending thread then waits for (the
GIL), and nobody could read them. So the first goes at once, and within the interval after
it only the latest is kept and goes when the interval is over.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from PySide6.QtCore import QObject, QTimer, Slot

_T = TypeVar("_T")


class LatestOnly(QObject, Generic[_T]):
    """Passes put() values to deliver: at once when none went for interval_ms, else the
    latest when that interval is over; the ones in between are dropped. GUI thread only."""

    def __init__(
        self, interval_ms: int, deliver: Callable[[_T], None], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._deliver = deliver
        self._held: list[_T] = []  # the latest value not yet passed on, if any
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._on_timeout)

    def put(self, value: _T) -> None:
        if self._timer.isActive():
            self._held[:] = [value]
            return
        self._deliver(value)
        self._timer.start()

    def flush(self) -> None:
        """Pass on the value held now: before something that must come after it."""
        if self._held:
            self._deliver(self._held.pop())

    def drop(self) -> None:
        """Forget the value held now: something newer than it was shown meanwhile."""
        self._held.clear()

    @Slot()
    def _on_timeout(self) -> None:
        if self._held:
            self._deliver(self._held.pop())
            self._timer.start()

"""Running Python's cyclic garbage collector on the GUI thread only.

Qt objects must be destroyed by the thread that owns them. An automatic collection starts in
whichever thread happens to allocate (a send worker, the sandbox server) and, when it frees a
cycle holding a widget wrapper, deletes the widget there: a crash. So automatic collection is
switched off and a timer on the GUI thread collects instead, generation by generation.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Slot

_INTERVAL_MS = 500
_INSTALLED = "composer-gui-thread-collector"
_frozen = False


class GuiThreadCollector(QObject):
    """Collects garbage from a timer on the thread it lives on (the GUI thread)."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(_INTERVAL_MS)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    @Slot()
    def check(self) -> None:
        """Collect each generation whose allocation count passed its threshold, as gc would."""
        counts = gc.get_count()
        thresholds = gc.get_threshold()
        for generation in (2, 1, 0):
            if counts[generation] > thresholds[generation]:
                gc.collect(generation)
                return


def collect_on_gui_thread() -> None:
    """Install one collector for the running QApplication (calling again does nothing)."""
    app = QCoreApplication.instance()
    # A mark on the application rather than findChild(), which walks every object of the
    # application through Python (some 5 ms at start-up).
    if app is None or app.property(_INSTALLED):
        return
    GuiThreadCollector(app)
    app.setProperty(_INSTALLED, True)


def keep_start_up_objects() -> None:
    """Put every object made so far (modules, classes, the first window: some 60,000) out
    of the collector's sight, once per process; call when start-up is over.

    A full collection walks every tracked object, about 30 ms for these here, on the GUI
    thread and holding the GIL (a send worker waits for it too); afterwards it walks only
    what was made since. They live as long as the program anyway: start-up leaves some 500
    objects in cycles, which stay.
    """
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()

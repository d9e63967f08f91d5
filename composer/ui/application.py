"""The owner of one running Composer: its AppContext and every open compose window."""

from __future__ import annotations

from collections.abc import Iterable

import shiboken6
from PySide6.QtCore import QEvent, QObject, QThread, QTimer, Signal, Slot

from composer.context import AppContext
from composer.mail.draft import Draft
from composer.paths import Paths
from composer.ui.compose_window import ComposeWindow
from composer.ui.garbage import collect_on_gui_thread

_RETRY_MS = 500


class ComposerApplication(QObject):
    """Opens compose windows over one shared AppContext and keeps them alive until closed.

    One per process in the real program; ``create_main_window`` makes one per call.

    Signals:
        window_opened(ComposeWindow): a new compose window was built (shown or not).
    """

    window_opened = Signal(object)

    def __init__(self, paths: Paths, parent: QObject | None = None) -> None:
        super().__init__(parent)
        collect_on_gui_thread()
        self.context = AppContext(paths)
        self._windows: list[ComposeWindow] = []
        # Closed, but kept until the threads they own have finished.
        self._closed: list[ComposeWindow] = []

    def windows(self) -> list[ComposeWindow]:
        """The compose windows built here and not closed yet, oldest first."""
        return [w for w in self._windows if shiboken6.isValid(w)]

    def new_window(self, draft: Draft | None = None) -> ComposeWindow:
        """Build a compose window (not shown), filled from draft."""
        window = ComposeWindow(self.context)
        if draft is not None:
            window.load_draft(draft)
        # New Window (Ctrl+Shift+N) on any window opens another one here.
        requested = getattr(window, "new_window_requested", None)
        if requested is not None:
            requested.connect(self._on_new_window_requested)
        window.installEventFilter(self)
        self._windows.append(window)
        self.window_opened.emit(window)
        return window

    def open_window(self, draft: Draft | None = None) -> ComposeWindow:
        """Build, show and raise a compose window filled from draft."""
        window = self.new_window(draft)
        window.show()
        # A new window is mapped on top already; activating asks the window manager for
        # focus too (raise_() would add nothing, and the offscreen platform warns about it).
        window.activateWindow()
        # The first window shown has told the user about start-up problems (a broken
        # settings file, say); later windows should not repeat it.
        self.context.warnings.clear()
        return window

    @Slot(list)
    def open_drafts(self, drafts: Iterable[Draft]) -> None:
        """Open one window per draft (what a launch, or a later launch, asked for)."""
        for draft in drafts:
            self.open_window(draft)

    @Slot()
    def _on_new_window_requested(self) -> None:
        source = self.sender()
        account = source.from_account.currentData() if isinstance(source, ComposeWindow) else ""
        account_id = str(account or "")
        self.open_window(Draft(account_id=account_id))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Close and isinstance(watched, ComposeWindow):
            # The window may still refuse to close; look once the event is handled.
            QTimer.singleShot(0, self, lambda: self._forget_if_closed(watched))
        return super().eventFilter(watched, event)

    def _forget_if_closed(self, window: ComposeWindow) -> None:
        self._windows = [w for w in self._windows if shiboken6.isValid(w)]
        if window not in self._windows or window.isVisible():
            return
        self._windows.remove(window)
        window.removeEventFilter(self)
        # create_main_window parents the owner to its window; let the owner (and so the
        # windows it opened) outlive that window while others are open.
        if self.parent() is window and self._windows:
            self.setParent(self._windows[0])
        self._closed.append(window)
        self._release(window)

    def _release(self, window: ComposeWindow) -> None:
        if shiboken6.isValid(window) and any(
            thread.isRunning() for thread in window.findChildren(QThread)
        ):
            # Dropping the last reference deletes the window, and Qt aborts the process
            # when a running QThread is deleted: wait until its work has wound down.
            QTimer.singleShot(_RETRY_MS, self, lambda: self._release(window))
            return
        self._closed.remove(window)

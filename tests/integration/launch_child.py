"""A real launch that says which windows it opened, for the instance tests.

Usage: ``python -m tests.integration.launch_child ARGS…`` runs ``composer.app.main(ARGS)``
unchanged, and prints ``opened SUBJECT`` for the first compose window it opens, then quits as
Composer does at the end of a session (what was typed is kept as a draft), with status 0,
once it has set up its instance server (which the running Composer does after the first
frame). A launch that hands its message to a running Composer prints nothing and ends at once.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

import composer.app
import composer.ui.instance
from composer.paths import Paths
from composer.session import Session
from composer.ui.compose_window import ComposeWindow


def main(argv: list[str]) -> int:
    ready = {"window": False, "server": False}

    def exit_when_ready() -> None:
        if all(ready.values()):
            QApplication.exit(0)  # as quit() would, without asking each window first

    def on_window(window: object) -> None:
        assert isinstance(window, ComposeWindow)
        if not ready["window"]:
            print("opened", window.form.subject.text(), flush=True)
        ready["window"] = True
        exit_when_ready()

    server_init = composer.ui.instance.InstanceServer.__init__

    def watching_server(self: composer.ui.instance.InstanceServer, *args: object) -> None:
        server_init(self, *args)  # type: ignore[arg-type]
        ready["server"] = True
        QTimer.singleShot(0, exit_when_ready)  # after its listen(), which follows at once

    composer.ui.instance.InstanceServer.__init__ = watching_server  # type: ignore[method-assign]
    original = Session.__init__

    def watching_init(self: Session, paths: Paths) -> None:
        original(self, paths)
        self.window_opened.connect(lambda w: QTimer.singleShot(0, lambda: on_window(w)))

    Session.__init__ = watching_init  # type: ignore[method-assign]
    return composer.app.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

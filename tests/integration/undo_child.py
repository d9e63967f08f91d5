"""The child half of the undo-send tests in test_undo_across_quit.py.

Usage: ``python -m tests.integration.undo_child CONFIG_DIR SECONDS``: the real ``_run`` path
(QApplication, session, its end quitting the program), one window that sends with an undo
delay of SECONDS and is closed at once. Prints ``queued`` once the message is in the Outbox
and the window's draft writes are done; the process ends when Composer ends by itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

import composer.app
from composer.mail.draft import Draft
from composer.paths import Paths
from composer.session import Session
from composer.ui.compose_window import ComposeWindow
from composer.ui.instance import instance_name


def main(config_dir: Path, seconds: int) -> int:
    QApplication([sys.argv[0]])

    def on_window(window: object) -> None:
        assert isinstance(window, ComposeWindow)
        session = window._sending.parent()
        assert isinstance(session, Session)
        session.context.set_undo_send_seconds(seconds)
        window.form.to.setText("bob@example.org")
        window.form.subject.setText("Undo across a quit ✓")
        window.form.body.setPlainText("Goes once.")
        window.action_send.trigger()

        def queued() -> None:
            if not session.sending.entries():
                QTimer.singleShot(5, queued)
                return
            window.close()
            session.context.writer.flush(10)
            print("queued", flush=True)

        queued()

    original = Session.__init__

    def watching_init(self: Session, paths: Paths) -> None:
        original(self, paths)
        self.window_opened.connect(lambda w: QTimer.singleShot(0, lambda: on_window(w)))

    Session.__init__ = watching_init  # type: ignore[method-assign]
    paths = Paths(config_dir, config_dir)
    return composer.app._run(paths, instance_name(config_dir), [Draft()])


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), int(sys.argv[2])))

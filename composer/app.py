"""Starting Composer: single instance, QApplication and the compose windows."""

from __future__ import annotations

import gc

# Automatic collection is off while Composer runs (see _stop_automatic_collection), and off
# from here, before the imports below: PySide6 is on the heap by now, so a full collection
# that their allocations set off walks every object it made, some 30 ms.
gc.disable()

import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from composer import __version__
from composer.mail.draft import Draft
from composer.paths import Paths

if TYPE_CHECKING:
    from composer.ui.compose_window import ComposeWindow
    from composer.ui.instance import InstanceServer

# The widgets are imported only once this launch knows it will show a window, so that a
# launch handing a mailto: link to the running Composer stays quick.

log = logging.getLogger(__name__)

# Logged once the first window is on the screen, with time.monotonic() then.
WINDOW_SHOWN = "first window shown; monotonic clock %.6f"


def create_main_window(config_dir: Path, *, data_dir: Path | None = None) -> ComposeWindow:
    """Build a compose window (a QMainWindow, not shown) keeping all its state under config_dir.

    Needs a running QApplication. data_dir defaults to config_dir, so that a given directory
    holds every file Composer writes. The window's New Window action opens further windows
    that share its accounts and sandbox.

    What a crash left is restored: every draft that was open in a window comes back in a
    window of its own; the one returned holds the first, the others are shown.
    """
    _stop_automatic_collection()
    from composer.ui.pyside_imports import skip_source_scan

    skip_source_scan()
    from composer.session import Session

    paths = Paths(Path(config_dir), Path(data_dir) if data_dir else Path(config_dir))
    # The session belongs to the QApplication and ends when its last window has closed.
    session = Session(paths)
    restored = session.reopen_unsent()
    if not restored:
        return session.new_window()
    for window in restored[1:]:
        window.show()
    return restored[0]


def _stop_automatic_collection() -> None:
    # Off for as long as Composer runs (the session collects on the GUI thread instead, see
    # ui/garbage.py), and off from here already: the imports' many allocations would set off
    # some forty collections of a heap that holds nothing to collect (about 5 ms).
    gc.disable()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the program; returns the exit status."""
    # Here, not at the top: create_main_window() (tests, scripts) needs neither the log file
    # nor the instance socket.
    from composer.command_line import CommandLineError, drafts_from_arguments, parse_arguments
    from composer.instance_socket import instance_name, may_be_listening
    from composer.logs import start_logging, stop_logging

    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    # Warnings go to stderr; the log file, which keeps more, belongs to the running Composer.
    stderr = logging.StreamHandler()
    stderr.setLevel(logging.WARNING)
    logging.basicConfig(
        level=logging.WARNING, format="composer: %(levelname)s: %(message)s", handlers=[stderr]
    )
    if arguments.self_test:
        from composer.selftest import run_self_test

        if arguments.config_dir:  # else it runs in a directory of its own, removed after
            start_logging(Paths.under(arguments.config_dir).log_file, debug=arguments.debug)
        return run_self_test(arguments.config_dir)
    try:
        drafts = drafts_from_arguments(arguments)
    except CommandLineError as error:
        print(f"composer: error: {error}", file=sys.stderr)
        return 2
    paths = Paths.under(arguments.config_dir) if arguments.config_dir else None
    paths = paths or Paths.platform_default()
    # None when no directory of this user's own can hold the socket: then every launch is a
    # Composer of its own, which beats handing messages to whoever made the directory.
    name = instance_name(paths.config_dir)
    if name is not None and may_be_listening(name):
        # Only now the client's modules (QtNetwork): a launch with no Composer running, the
        # usual one, shows its window without them.
        from composer.ui.instance import send_to_running_instance

        if send_to_running_instance(name, drafts):
            return 0
    start_logging(paths.log_file, debug=arguments.debug)
    try:
        return _run(paths, name, drafts)
    finally:
        stop_logging()


def _run(paths: Paths, name: str | None, drafts: list[Draft]) -> int:
    """Be the running Composer: open the windows and listen for later launches (at name)."""
    import shiboken6
    from PySide6.QtWidgets import QApplication

    _stop_automatic_collection()
    from composer.ui.pyside_imports import skip_source_scan

    skip_source_scan()
    from composer.session import Session
    from composer.ui.icons import app_icon
    from composer.warm_up import after_first_frame, after_first_paint

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([sys.argv[0]])
    app.setApplicationName("Composer")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("composer")
    # A message may still be going out after the last window closed: the session says when
    # nothing is left to do.
    app.setQuitOnLastWindowClosed(False)
    session = Session(paths)
    app.setWindowIcon(app_icon())  # after the session has handed the icon folder in
    session.ended.connect(app.quit)
    servers: list[InstanceServer] = []

    def listen() -> None:
        # After the first frame is on the screen, as QtNetwork costs some 10 ms: a launch in
        # the moment before finds no socket and opens a Composer of its own.
        from composer.ui.instance import InstanceServer

        server = InstanceServer()
        servers.append(server)
        server.drafts_received.connect(session.open_drafts)
        if name is not None:
            server.listen(name)  # when it cannot, this Composer still runs, on its own

    restored = session.reopen_unsent()
    for window in restored:
        window.show()
    # After a crash the restored windows are enough, unless the launch asked for a message.
    session.open_drafts(d for d in drafts if not restored or not d.is_empty())

    def shown() -> None:
        # When the program was ready for its user, on a clock that other processes share:
        # how `make bench` times the frozen program, whose start-up it cannot probe from
        # inside.
        log.info(WINDOW_SHOWN, time.monotonic())
        listen()

    windows = session.windows()
    if windows:
        after_first_paint(session, windows[0], shown)
    else:  # nothing to show (cannot happen today): listen all the same
        after_first_frame(session, shown)
    try:
        return int(app.exec())
    finally:
        for server in servers:
            server.close()
        if shiboken6.isValid(session):
            session.shut_down()

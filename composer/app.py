"""Starting Composer: command line, QApplication, and the main window."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import QApplication

from composer import __version__
from composer.context import AppContext
from composer.paths import Paths
from composer.ui.compose_window import ComposeWindow
from composer.ui.icons import app_icon

log = logging.getLogger(__name__)


def create_main_window(config_dir: Path, *, data_dir: Path | None = None) -> ComposeWindow:
    """Build a compose window (a QMainWindow, not shown) keeping all its state under config_dir.

    Needs a running QApplication. data_dir defaults to config_dir, so that a given directory
    holds every file Composer writes.
    """
    paths = Paths(Path(config_dir), Path(data_dir) if data_dir else Path(config_dir))
    return ComposeWindow(AppContext(paths))


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="composer", description="Write and send email through your SMTP accounts."
    )
    parser.add_argument("--version", action="version", version=f"Composer {__version__}")
    parser.add_argument(
        "--config-dir",
        type=Path,
        metavar="DIR",
        help="keep settings, sandbox mail and every other file Composer writes in DIR",
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="send one message through the local sandbox offscreen, then exit (0 on success)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the program; returns the exit status."""
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="composer: %(levelname)s: %(message)s")
    if arguments.self_test:
        from composer.selftest import run_self_test

        return run_self_test(arguments.config_dir)

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([sys.argv[0]])
    app.setApplicationName("Composer")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("composer")
    app.setWindowIcon(app_icon())
    if arguments.config_dir:
        window = create_main_window(arguments.config_dir)
    else:
        window = ComposeWindow(AppContext(Paths.platform_default()))
    window.show()
    return int(app.exec())

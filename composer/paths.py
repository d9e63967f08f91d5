"""Where Composer keeps its files: given directories, or the platform's own."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NamedTuple

APP_NAME = "composer"


class Paths(NamedTuple):
    """Every file Composer writes lives under config_dir or data_dir."""

    config_dir: Path
    data_dir: Path

    @classmethod
    def under(cls, directory: Path) -> Paths:
        """All state in one directory (``--config-dir``, tests)."""
        return cls(directory, directory)

    @classmethod
    def platform_default(cls) -> Paths:
        # Here: a window given its directories (tests, --config-dir) does without it.
        import platformdirs

        return cls(
            platformdirs.user_config_path(APP_NAME, appauthor=False),
            platformdirs.user_data_path(APP_NAME, appauthor=False),
        )

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def log_file(self) -> Path:
        """Composer's log, rotated beside itself as composer.log.1, .2, .3."""
        return self.data_dir / "composer.log"

    @property
    def settings_lock(self) -> Path:
        """Held around each read-modify-write of settings_file (see mail/lock.py)."""
        return self.config_dir / ".settings.json.lock"

    @property
    def startup_lock(self) -> Path:
        """Held while a starting Composer tidies data_dir after a crash."""
        return self.data_dir / ".composer-startup.lock"

    @property
    def presence_lock(self) -> Path:
        """Held, shared, by every Composer using data_dir: tells one starting if it is alone."""
        return self.data_dir / ".composer-running.lock"

    @property
    def address_book(self) -> Path:
        return self.data_dir / "addressbook.sqlite3"

    @property
    def sandbox_maildir(self) -> Path:
        return self.data_dir / "sandbox" / "Maildir"

    @property
    def drafts_dir(self) -> Path:
        """Unsent messages as typed, one .eml each (attachment copies in ``.files``)."""
        return self.data_dir / "Drafts"

    @property
    def outbox_dir(self) -> Path:
        """Messages built and waiting to go out, one .eml each with its state beside it."""
        return self.data_dir / "Outbox"

    @property
    def sent_dir(self) -> Path:
        """Every message a server accepted, byte for byte, one .eml each."""
        return self.data_dir / "Sent"


def resources_dir() -> Path:
    """The resources/ folder, from a source tree or from inside a PyInstaller bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"

"""Where Composer keeps its files: given directories, or the platform's own."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "composer"


@dataclass(frozen=True)
class Paths:
    """Every file Composer writes lives under config_dir or data_dir."""

    config_dir: Path
    data_dir: Path

    @classmethod
    def under(cls, directory: Path) -> Paths:
        """All state in one directory (``--config-dir``, tests)."""
        return cls(directory, directory)

    @classmethod
    def platform_default(cls) -> Paths:
        return cls(
            platformdirs.user_config_path(APP_NAME, appauthor=False),
            platformdirs.user_data_path(APP_NAME, appauthor=False),
        )

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def address_book(self) -> Path:
        return self.data_dir / "addressbook.sqlite3"

    @property
    def sandbox_maildir(self) -> Path:
        return self.data_dir / "sandbox" / "Maildir"


def resources_dir() -> Path:
    """The resources/ folder, from a source tree or from inside a PyInstaller bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"

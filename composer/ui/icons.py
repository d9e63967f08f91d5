"""Icons: the desktop theme's where it has one, else Composer's own from the icon folder.

The application layer says once, at start-up, where Composer's own icons are
(use_icon_folder); until then only the theme's icons are used.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon

_SIZES = (16, 24, 32, 48, 64, 128, 256)
# Set once at start-up, before the first window is built.
_folder: Path | None = None


def use_icon_folder(folder: Path | None) -> None:
    """Take Composer's own icons from folder (resources/icons); None: the theme's only."""
    global _folder
    _folder = folder


def icon_folder() -> Path | None:
    """The folder given to use_icon_folder, if any."""
    return _folder


def icon(theme_name: str, fallback: str) -> QIcon:
    """The theme icon theme_name, or <icon folder>/<fallback>.svg (none if fallback is "")."""
    own = _own(f"{fallback}.svg") if fallback else None
    return QIcon.fromTheme(theme_name, own if own is not None else QIcon())


def app_icon() -> QIcon:
    """Composer's own icon at every size the platforms ask for; else the theme's "composer"."""
    result = QIcon()
    for size in _SIZES:
        path = _own_path(f"composer-{size}.png")
        if path is not None:
            # With its size given, each file is read when that size is first drawn. The SVG
            # beside them would make an SVG icon, which reads every PNG added to it at once
            # (some 4 ms before the first frame), and reports no sizes to the window system.
            result.addFile(str(path), QSize(size, size))
    scalable = _own_path("composer.svg")
    if result.isNull() and scalable is not None:
        result.addFile(str(scalable))
    # "composer" is the name the desktop file installs the icon under.
    return QIcon.fromTheme("composer") if result.isNull() else result


def _own(name: str) -> QIcon | None:
    path = _own_path(name)
    return QIcon(str(path)) if path is not None else None


def _own_path(name: str) -> Path | None:
    if _folder is None:
        return None
    path = _folder / name
    # QIcon takes a missing file without complaint and then draws nothing.
    return path if path.is_file() else None

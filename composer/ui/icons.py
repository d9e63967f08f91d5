"""Icons: the desktop theme's where it has one, else Composer's own from resources/icons."""

from __future__ import annotations

from PySide6.QtGui import QIcon

from composer.paths import resources_dir


def icon(theme_name: str, fallback: str) -> QIcon:
    """The theme icon theme_name, or resources/icons/<fallback>.svg (none if fallback is "")."""
    own = QIcon(str(resources_dir() / "icons" / f"{fallback}.svg")) if fallback else QIcon()
    return QIcon.fromTheme(theme_name, own)


def app_icon() -> QIcon:
    """Composer's own icon, at every size the platforms ask for."""
    result = QIcon(str(resources_dir() / "icons" / "composer.svg"))
    for size in (16, 24, 32, 48, 64, 128, 256):
        png = resources_dir() / "icons" / f"composer-{size}.png"
        if png.exists():
            result.addFile(str(png))
    return result

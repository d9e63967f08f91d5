"""Icons come from the theme, else from the folder the application layer hands in."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

import composer
from composer.paths import resources_dir
from composer.ui.icons import app_icon, icon, icon_folder, use_icon_folder
from tests.windows import MakeWindow

# No icon theme has these, so what is shown is Composer's own or nothing.
NO_THEME_ICON = "composer-test-no-such-theme-icon"
ICONS = resources_dir() / "icons"


@pytest.fixture(autouse=True)
def _restore_icon_folder(qapp: QApplication) -> Iterator[None]:
    """Each test starts with no folder and leaves the one it found."""
    previous = icon_folder()
    use_icon_folder(None)
    yield
    use_icon_folder(previous)


def test_before_a_folder_is_given_there_are_theme_icons_only() -> None:
    if QIcon.hasThemeIcon("composer"):
        pytest.skip("the desktop theme has Composer's icon")
    assert icon(NO_THEME_ICON, "send").isNull()
    assert app_icon().isNull()


def test_own_icons_come_from_the_folder_given() -> None:
    use_icon_folder(ICONS)

    send = icon(NO_THEME_ICON, "send")

    assert icon_folder() == ICONS
    assert not send.isNull()
    assert not send.pixmap(32, 32).isNull()


def test_an_empty_fallback_means_no_own_icon() -> None:
    use_icon_folder(ICONS)

    assert icon(NO_THEME_ICON, "").isNull()


def test_the_app_icon_is_composers_own() -> None:
    use_icon_folder(ICONS)

    assert not app_icon().pixmap(16, 16).isNull()
    assert not app_icon().pixmap(256, 256).isNull()
    # Each size its own file, which the window system is offered.
    assert [s.width() for s in app_icon().availableSizes()] == [16, 24, 32, 48, 64, 128, 256]


def test_the_app_icon_takes_each_size_the_folder_holds(tmp_path: Path) -> None:
    for size in (16, 48):
        shutil.copy(ICONS / f"composer-{size}.png", tmp_path)
    use_icon_folder(tmp_path)

    assert app_icon().availableSizes() == [QSize(16, 16), QSize(48, 48)]


def test_any_folder_can_be_given(tmp_path: Path) -> None:
    shutil.copy(ICONS / "attach.svg", tmp_path / "paper-clip.svg")
    shutil.copy(ICONS / "composer.svg", tmp_path / "composer.svg")
    use_icon_folder(tmp_path)

    assert not icon(NO_THEME_ICON, "paper-clip").isNull()
    assert icon(NO_THEME_ICON, "send").isNull()  # not in that folder
    assert not app_icon().pixmap(48, 48).isNull()


def test_a_folder_without_the_icons_gives_none_and_no_error(tmp_path: Path) -> None:
    use_icon_folder(tmp_path / "missing")

    assert icon(NO_THEME_ICON, "send").isNull()
    assert app_icon().availableSizes() == []
    assert app_icon().pixmap(32, 32).isNull() or QIcon.hasThemeIcon("composer")


def test_icons_do_not_need_to_know_where_files_live() -> None:
    # composer.paths belongs to the application layer; the widgets are handed folders.
    code = "import sys, composer.ui.icons; print('composer.paths' in sys.modules)"

    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PYTHONPATH": str(Path(composer.__file__).resolve().parents[1])},
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_windows_the_application_builds_have_composers_icons(make_window: MakeWindow) -> None:
    window = make_window()

    assert icon_folder() == ICONS
    assert not window.windowIcon().isNull()
    assert not window.actions_.send.icon().isNull()

"""Where Composer keeps its files, and where it finds its resources."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import composer
from composer.paths import APP_NAME, Paths, resources_dir

SOURCE_TREE = Path(composer.__file__).resolve().parents[1]


def test_one_directory_holds_everything(tmp_path: Path) -> None:
    paths = Paths.under(tmp_path)

    assert paths.config_dir == paths.data_dir == tmp_path
    assert paths.settings_file == tmp_path / "settings.json"
    assert paths.address_book == tmp_path / "addressbook.sqlite3"
    assert paths.sandbox_maildir == tmp_path / "sandbox" / "Maildir"


def test_settings_go_to_the_config_dir_and_mail_data_to_the_data_dir(tmp_path: Path) -> None:
    config, data = tmp_path / "config", tmp_path / "data"

    paths = Paths(config, data)

    assert paths.settings_file.parent == config
    assert paths.address_book.parent == data
    assert paths.sandbox_maildir.is_relative_to(data)


def test_naming_paths_creates_nothing(tmp_path: Path) -> None:
    paths = Paths.under(tmp_path / "state")

    _ = (paths.settings_file, paths.address_book, paths.sandbox_maildir)

    assert list(tmp_path.iterdir()) == []


def test_paths_cannot_be_changed_once_made(tmp_path: Path) -> None:
    paths = Paths.under(tmp_path)

    with pytest.raises(AttributeError):
        paths.config_dir = tmp_path / "elsewhere"  # type: ignore[misc]


@pytest.mark.skipif(sys.platform != "linux", reason="the XDG base directories are Linux's")
def test_the_platform_default_follows_the_xdg_base_directories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))

    paths = Paths.platform_default()

    assert paths.config_dir == tmp_path / "xdg-config" / APP_NAME
    assert paths.data_dir == tmp_path / "xdg-data" / APP_NAME
    assert not (tmp_path / "xdg-config").exists()


def test_resources_come_from_the_source_tree() -> None:
    folder = resources_dir()

    assert folder == SOURCE_TREE / "resources"
    assert (folder / "icons" / "composer.svg").is_file()
    assert (folder / "composer.desktop").is_file()


def test_resources_come_from_the_bundle_when_frozen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PyInstaller sets sys._MEIPASS to the folder it unpacked (or installed) the program in.
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)

    assert resources_dir() == tmp_path / "resources"

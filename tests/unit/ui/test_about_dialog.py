"""The About dialog: icon, name, version, licence and where the source is."""

from __future__ import annotations

import tomllib
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QLabel, QWidget
from pytestqt.qtbot import QtBot

from composer import __version__
from composer.ui.about_dialog import LICENCE, AboutDialog

PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"


def open_about(qtbot: QtBot, parent: QWidget | None = None) -> AboutDialog:
    dialog = AboutDialog(parent)
    qtbot.addWidget(dialog)
    dialog.open()
    qtbot.waitExposed(dialog)
    return dialog


def label_text(dialog: AboutDialog, name: str) -> str:
    label = dialog.findChild(QLabel, name)
    assert isinstance(label, QLabel), name
    return label.text()


def test_shows_name_and_version(qtbot: QtBot) -> None:
    dialog = open_about(qtbot)

    assert dialog.objectName() == "aboutDialog"
    assert dialog.windowTitle() == "About Composer"
    assert f"Composer {__version__}" in label_text(dialog, "aboutTitle")


def test_shows_the_application_icon(qtbot: QtBot) -> None:
    dialog = open_about(qtbot)

    icon = dialog.findChild(QLabel, "aboutIcon")
    assert isinstance(icon, QLabel)
    assert not icon.pixmap().isNull()
    assert icon.pixmap().width() >= 48


def test_licence_is_the_one_in_pyproject_and_links_out(qtbot: QtBot) -> None:
    declared = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["license"]["text"]
    dialog = open_about(qtbot)

    licence = dialog.findChild(QLabel, "aboutLicence")
    assert isinstance(licence, QLabel)
    assert declared == LICENCE
    assert declared in licence.text()
    assert 'href="https://www.gnu.org/licenses/gpl-3.0.html"' in licence.text()
    assert licence.textFormat() == Qt.TextFormat.RichText
    assert licence.openExternalLinks()


def test_says_where_the_source_is(qtbot: QtBot) -> None:
    dialog = open_about(qtbot)

    assert "composer repository" in label_text(dialog, "aboutSource")
    assert "Qt " in label_text(dialog, "aboutBuiltWith")


def test_close_button_closes_and_deletes_the_dialog(qtbot: QtBot) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    dialog = AboutDialog(parent)
    dialog.open()
    qtbot.waitExposed(dialog)
    buttons = dialog.findChild(QDialogButtonBox, "aboutButtons")
    assert isinstance(buttons, QDialogButtonBox)

    with qtbot.waitSignal(dialog.destroyed, timeout=5_000):
        buttons.button(QDialogButtonBox.StandardButton.Close).click()

    assert parent.findChildren(AboutDialog) == []

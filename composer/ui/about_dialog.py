"""Help ▸ About: Composer's icon, version, licence and where its source lives."""

from __future__ import annotations

import platform

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from composer import __version__
from composer.ui.icons import app_icon
from composer.ui.naming import named

LICENCE = "GPL-3.0-or-later"
_LICENCE_URL = "https://www.gnu.org/licenses/gpl-3.0.html"
_ICON_SIZE = 64


class AboutDialog(QDialog):
    """Shows what Composer is; deletes itself when closed, so ``AboutDialog(parent).open()``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About Composer")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        icon = named("aboutIcon", QLabel())
        icon.setPixmap(app_icon().pixmap(_ICON_SIZE, _ICON_SIZE))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        title = named("aboutTitle", QLabel(f"<h2>Composer {__version__}</h2>"))
        description = QLabel("A small, dependable desktop email composer.")
        licence = named(
            "aboutLicence",
            QLabel(
                "Free software under the GNU General Public License, version 3 or (at your "
                f'option) any later version (<a href="{_LICENCE_URL}">{LICENCE}</a>). '
                "There is no warranty, to the extent permitted by law."
            ),
        )
        licence.setTextFormat(Qt.TextFormat.RichText)
        licence.setOpenExternalLinks(True)
        source = named(
            "aboutSource",
            QLabel(
                "Source code, README and issue tracker: the composer repository "
                "this copy was built from."
            ),
        )
        built_with = named(
            "aboutBuiltWith",
            QLabel(
                f"Qt {qVersion()} · PySide6 {PySide6.__version__} · "
                f"Python {platform.python_version()}"
            ),
        )
        built_with.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for label in (description, licence, source):
            label.setWordWrap(True)

        buttons = named("aboutButtons", QDialogButtonBox(QDialogButtonBox.StandardButton.Close))
        buttons.rejected.connect(self.reject)

        text = QVBoxLayout()
        for widget in (title, description, licence, source, built_with):
            text.addWidget(widget)
        row = QHBoxLayout()
        row.addWidget(icon)
        row.addLayout(text, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(buttons)
        self.setMinimumWidth(420)

"""A rich text editor whose documents never read a file, or anything else, by themselves."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QTextEdit

if TYPE_CHECKING:
    from PySide6.QtCore import QUrl


class OfflineTextEdit(QTextEdit):
    """A QTextEdit for HTML from elsewhere (pastes, drafts, signatures): an image or a style
    sheet its document does not hold is never loaded from the file or URL it names."""

    def loadResource(self, type: int, name: QUrl | str) -> object:  # noqa: N802
        # Asked by the document (through its text control) for each resource it lacks; a
        # result here keeps QTextDocument.loadResource from opening the file itself.
        from PySide6.QtCore import QUrl

        from composer.ui.document_images import offline_resource  # at the first resource

        return offline_resource(type, QUrl(name))

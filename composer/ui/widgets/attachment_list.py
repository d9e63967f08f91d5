"""The list of attached files under the headers, with sizes, type icons and a running total."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, Signal, Slot
from PySide6.QtGui import QAction, QIcon, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from composer.mail.draft import Attachment
from composer.mail.sizes import base64_wire_size, format_size
from composer.ui.naming import named
from composer.ui.plain_text import plain_tooltip
from composer.ui.qt_values import (
    CUSTOM_CONTEXT_MENU,
    TOOL_BUTTON_TEXT_BESIDE_ICON,
    USER_ROLE,
    WIDGET_SHORTCUT,
    set_enum_property,
    set_shortcut,
)

if TYPE_CHECKING:
    from PySide6.QtCore import QMimeDatabase
    from PySide6.QtWidgets import QFileIconProvider, QListWidgetItem

_PATH_ROLE = USER_ROLE


class AttachmentList(QListWidget):
    """Attached files. Only file metadata is read here, never their contents.

    Signals:
        changed(): files were added or removed.
    """

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("attachmentList")
        self.setAccessibleName("Attachments")
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setFlow(QListWidget.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setMovement(QListWidget.Movement.Static)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setWordWrap(True)
        self.setMaximumHeight(96)
        set_enum_property(self, "contextMenuPolicy", CUSTOM_CONTEXT_MENU)
        self.customContextMenuRequested.connect(self._on_context_menu)
        self.remove_action = QAction(QIcon.fromTheme("list-remove"), "&Remove", self)
        self.remove_action.setObjectName("actionRemoveAttachment")
        set_shortcut(self.remove_action, QKeySequence.StandardKey.Delete)
        set_enum_property(self.remove_action, "shortcutContext", WIDGET_SHORTCUT)
        self.remove_action.triggered.connect(self.remove_selected)
        self.addAction(self.remove_action)
        self.remove_action.setEnabled(False)
        self.itemSelectionChanged.connect(
            lambda: self.remove_action.setEnabled(bool(self.selectedItems()))
        )
        # Made at the first file attached, with their classes: a new message has none.
        self._file_types: tuple[QMimeDatabase, QFileIconProvider] | None = None

    def attachments(self) -> tuple[Attachment, ...]:
        return tuple(
            Attachment(Path(self.item(row).data(_PATH_ROLE))) for row in range(self.count())
        )

    def add_files(self, paths: Iterable[Path]) -> list[str]:
        """Attach paths; returns a sentence for each one that is not a readable file."""
        problems: list[str] = []
        known = {a.path for a in self.attachments()}
        for path in paths:
            path = path.absolute()
            if path in known:
                continue
            if not path.is_file() or not os.access(path, os.R_OK):
                problems.append(f"{path} is not a readable file")
                continue
            known.add(path)
            self.addItem(self._item(path))
        self._update()
        return problems

    def set_attachments(self, attachments: Iterable[Attachment]) -> list[str]:
        self.clear()
        return self.add_files(a.path for a in attachments)

    def total_size(self) -> int:
        """The files' size, as on disk."""
        return sum(self._size(a.path) for a in self.attachments())

    def wire_size(self) -> int:
        """What the attachments add to the message on the wire (base64 adds about a third)."""
        return sum(base64_wire_size(self._size(a.path)) for a in self.attachments())

    def summary(self) -> str:
        count = self.count()
        if not count:
            return ""
        noun = "attachment" if count == 1 else "attachments"
        return (
            f"{count} {noun}, {format_size(self.total_size())} "
            f"(about {format_size(self.wire_size())} to send)"
        )

    @Slot()
    def remove_selected(self) -> None:
        for item in self.selectedItems():
            self.takeItem(self.row(item))
        self._update()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        from PySide6.QtCore import Qt  # here: not before the first frame (see qt_values.py)

        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.selectedItems():
            self.remove_selected()
            return
        super().keyPressEvent(event)

    def _item(self, path: Path) -> QListWidgetItem:
        from PySide6.QtWidgets import QListWidgetItem

        item = QListWidgetItem(self._icon(path), f"{path.name}\n{format_size(self._size(path))}")
        item.setData(_PATH_ROLE, str(path))
        item.setToolTip(plain_tooltip(str(path)))
        return item

    def _icon(self, path: Path) -> QIcon:
        from PySide6.QtCore import QFileInfo, QMimeDatabase
        from PySide6.QtWidgets import QFileIconProvider

        if self._file_types is None:
            self._file_types = (QMimeDatabase(), QFileIconProvider())
        types, icons = self._file_types
        mime = types.mimeTypeForFile(str(path), QMimeDatabase.MatchMode.MatchExtension)
        fallback = icons.icon(QFileInfo(str(path)))
        return QIcon.fromTheme(mime.iconName(), QIcon.fromTheme(mime.genericIconName(), fallback))

    @staticmethod
    def _size(path: Path) -> int:
        try:
            return path.stat().st_size
        except OSError:
            return 0

    def _update(self) -> None:
        self.changed.emit()

    @Slot(QPoint)
    def _on_context_menu(self, position: QPoint) -> None:
        if not self.itemAt(position):
            return
        menu = QMenu(self)
        menu.addAction(self.remove_action)
        menu.exec(self.viewport().mapToGlobal(position))


class AttachmentPanel(QWidget):
    """The attachment list with its running total and a Remove button; hidden while empty."""

    def __init__(self) -> None:
        super().__init__()
        self.list = AttachmentList()
        self.total = named("attachmentTotal", QLabel())
        remove = named("removeAttachment", QToolButton())
        remove.setDefaultAction(self.list.remove_action)
        set_enum_property(remove, "toolButtonStyle", TOOL_BUTTON_TEXT_BESIDE_ICON)
        row = QHBoxLayout()
        row.addWidget(self.total, 1)
        row.addWidget(remove)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        layout.addLayout(row)
        self.list.changed.connect(self._on_changed)
        self.setVisible(False)

    @Slot()
    def _on_changed(self) -> None:
        summary = self.list.summary()
        self.total.setText(summary)
        self.setVisible(bool(summary))

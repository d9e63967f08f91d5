"""Send Later: choosing when a message goes out."""

from __future__ import annotations

from datetime import datetime, timedelta

from PySide6.QtCore import QDateTime, Qt
from PySide6.QtWidgets import (
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from composer.ui.naming import named


class SendLaterDialog(QDialog):
    """A date and time in the future; OK queues the message in the Outbox for then."""

    def __init__(self, now: datetime, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sendLaterDialog")
        self.setWindowTitle("Send Later")
        self._now = now.astimezone()
        note = QLabel(
            "Composer sends the message at this time if it is running, or as soon as it "
            "starts again after it. Until then the message waits in the Outbox."
        )
        note.setWordWrap(True)
        note.setTextFormat(Qt.TextFormat.PlainText)
        self.time_edit = named("sendLaterTime", QDateTimeEdit())
        self.time_edit.setCalendarPopup(True)
        self.time_edit.setDisplayFormat("ddd d MMM yyyy  HH:mm")
        self.time_edit.setAccessibleName("Send at")
        self.time_edit.setMinimumDateTime(_qt_time(self._now))
        self.time_edit.setDateTime(_qt_time(default_send_time(self._now)))
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Send Later")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.time_edit)
        layout.addWidget(buttons)

    def chosen(self) -> datetime:
        """The chosen time, aware of the local zone."""
        chosen = self.time_edit.dateTime().toPython()
        assert isinstance(chosen, datetime)
        return chosen.astimezone()


def _qt_time(when: datetime) -> QDateTime:
    return QDateTime.fromSecsSinceEpoch(int(when.timestamp()))


def default_send_time(now: datetime) -> datetime:
    """An hour from now, on the next quarter hour: a time people would pick."""
    later = now + timedelta(hours=1)
    minutes = (later.minute // 15 + 1) * 15
    return later.replace(minute=0, second=0, microsecond=0) + timedelta(minutes=minutes)


def ask_send_time(parent: QWidget, now: datetime) -> datetime | None:
    """Ask when to send; None when the user cancelled."""
    dialog = SendLaterDialog(now, parent)
    try:
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.chosen()
    finally:
        dialog.deleteLater()

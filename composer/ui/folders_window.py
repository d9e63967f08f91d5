"""The Drafts, Outbox and Sent lists, in one window with a tab each.

The window shows what it is given and says what the user asked for; the application
layer reads the folders and acts. Every text here (subjects, addresses, server replies) was
written by someone else, so it is shown as plain item text, never as rich text or tooltips.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence, Set
from datetime import datetime
from email.utils import parsedate_to_datetime

from PySide6.QtCore import Qt, Signal, SignalInstance
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from composer.mail.drafts import DraftSummary
from composer.mail.outbox import EntryState, OutboxEntry
from composer.mail.sent import SentSummary
from composer.mail.sizes import format_size
from composer.ui.naming import named

_KEY = Qt.ItemDataRole.UserRole
# The whole text of a row's last column (an error, a server's reply), for the details box.
_DETAILS = Qt.ItemDataRole.UserRole + 1

_STATES = {
    EntryState.WAITING: "Waiting",
    EntryState.SENDING: "Sending…",
    EntryState.MAY_HAVE_BEEN_SENT: "May have been sent",
    EntryState.HELD: "Not sent (needs you)",
}


class FoldersWindow(QWidget):
    """Drafts, Outbox and Sent; a top-level window of its own, one per running Composer.

    Signals (each with the message's key unless said):
        open_draft, delete_draft, send_now, delete_queued, back_to_drafts, open_sent,
        edit_as_new, show_sent_file (str); send_all_now(); refresh_requested().
    """

    open_draft = Signal(str)
    delete_draft = Signal(str)
    send_now = Signal(str)
    send_all_now = Signal()
    delete_queued = Signal(str)
    back_to_drafts = Signal(str)
    open_sent = Signal(str)
    edit_as_new = Signal(str)
    show_sent_file = Signal(str)
    refresh_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("foldersWindow")
        self.setWindowTitle("Folders — Composer")
        self.resize(820, 480)
        self.tabs = named("folderTabs", QTabWidget())
        self.drafts = _view("draftsView", ["Subject", "To", "Saved", "Size"])
        self.outbox = _view("outboxView", ["Subject", "To", "State", "Next attempt", "Last error"])
        self.sent = _view("sentView", ["Subject", "To", "Sent", "Server's reply"])
        self.tabs.addTab(
            self._page(
                self.drafts,
                ("openDraft", "&Open", self.open_draft),
                ("deleteDraft", "&Delete", self.delete_draft),
            ),
            "&Drafts",
        )
        self.details = named("folderDetails", QPlainTextEdit())
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(72)
        self.details.setPlaceholderText("The selected message's last error or server reply")
        for view in (self.outbox, self.sent):
            view.currentItemChanged.connect(self._show_details)
        self.tabs.currentChanged.connect(lambda _index: self.details.clear())
        self.tabs.addTab(
            self._page(
                self.outbox,
                ("sendNow", "Send &Now", self.send_now),
                ("sendAllNow", "Send &All Now", None),
                ("backToDrafts", "&Back to Drafts", self.back_to_drafts),
                ("deleteQueued", "&Delete", self.delete_queued),
            ),
            "&Outbox",
        )
        self.tabs.addTab(
            self._page(
                self.sent,
                ("openSent", "&Open", self.open_sent),
                ("editAsNew", "&Edit as New", self.edit_as_new),
                ("showSentFile", "Show in &File Manager", self.show_sent_file),
            ),
            "&Sent",
        )
        self.drafts.itemActivated.connect(lambda item: self.open_draft.emit(item.data(0, _KEY)))
        self.sent.itemActivated.connect(lambda item: self.open_sent.emit(item.data(0, _KEY)))
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.details)

    def _show_details(self, item: QTreeWidgetItem | None, _previous: object = None) -> None:
        self.details.setPlainText(str(item.data(0, _DETAILS) or "") if item else "")

    def show_tab(self, view: QTreeWidget) -> None:
        for index in range(self.tabs.count()):
            page = self.tabs.widget(index)
            if page is not None and page.isAncestorOf(view):
                self.tabs.setCurrentIndex(index)
        self.show()
        self.raise_()
        self.activateWindow()
        self.refresh_requested.emit()

    def set_drafts(self, drafts: Sequence[DraftSummary]) -> None:
        _fill(
            self.drafts,
            [
                (d.key, [d.subject or "(no subject)", d.to, _when(d.saved_at), format_size(d.size)])
                for d in reversed(drafts)
            ],
        )

    def set_outbox(self, entries: Sequence[OutboxEntry]) -> None:
        rows = []
        for entry in entries:
            next_attempt = _when(entry.next_attempt) if entry.state is EntryState.WAITING else ""
            rows.append(
                (
                    entry.key,
                    [
                        entry.subject or "(no subject)",
                        entry.to,
                        "Scheduled" if entry.scheduled else _STATES[entry.state],
                        next_attempt,
                        entry.last_error,
                    ],
                )
            )
        _fill(self.outbox, rows)

    def set_sent(self, sent: Sequence[SentSummary], uncopied: Set[str] = frozenset()) -> None:
        """uncopied: the keys whose copy is not in the mailbox's Sent folder (yet)."""
        _fill(
            self.sent,
            [
                (s.key, [s.subject or "(no subject)", s.to, _date(s.sent_at), _reply(s, uncopied)])
                for s in sent
            ],
        )

    def _page(self, view: QTreeWidget, *buttons: tuple[str, str, SignalInstance | None]) -> QWidget:
        page = QWidget()
        row = QHBoxLayout()
        for name, text, signal in buttons:
            button = named(name, QPushButton(text))
            if signal is None:
                button.clicked.connect(self.send_all_now)
            else:
                button.clicked.connect(self._emit_selected(view, signal))
            row.addWidget(button)
        row.addStretch(1)
        layout = QVBoxLayout(page)
        layout.addWidget(view)
        layout.addLayout(row)
        return page

    @staticmethod
    def _emit_selected(view: QTreeWidget, signal: SignalInstance) -> Callable[[], None]:
        def emit() -> None:
            for item in view.selectedItems():
                signal.emit(item.data(0, _KEY))

        return emit


def _view(name: str, columns: list[str]) -> QTreeWidget:
    view = named(name, QTreeWidget())
    view.setHeaderLabels(columns)
    view.setRootIsDecorated(False)
    view.setUniformRowHeights(True)
    view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    for column, width in enumerate((220, 170, 130, 120)[: len(columns) - 1]):
        view.setColumnWidth(column, width)
    return view


def _fill(view: QTreeWidget, rows: list[tuple[str, list[str]]]) -> None:
    selected = {item.data(0, _KEY) for item in view.selectedItems()}
    view.clear()
    for key, texts in rows:
        item = QTreeWidgetItem([_one_line(text) for text in texts])
        item.setData(0, _KEY, key)
        item.setData(0, _DETAILS, texts[-1])
        view.addTopLevelItem(item)
        item.setSelected(key in selected)


def _when(when: datetime | None) -> str:
    if when is None:
        return ""
    local = when.astimezone()
    if local.date() == datetime.now().astimezone().date():
        return f"{local:%H:%M}"
    return f"{local:%a} {local.day} {local:%b %Y %H:%M}"


def _date(rfc5322: str) -> str:
    try:
        return _when(parsedate_to_datetime(rfc5322))
    except (TypeError, ValueError):
        return rfc5322


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _reply(summary: SentSummary, uncopied: Set[str]) -> str:
    if summary.key in uncopied:
        return f"{summary.reply} (not copied to the mailbox's Sent folder yet)".lstrip()
    return summary.reply

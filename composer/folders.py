"""Drafts, Outbox and Sent as the user sees them: the folders window and what its buttons do."""

from __future__ import annotations

import logging
from collections.abc import Callable
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices

from composer.mail.draft_file import LoadedDraft, draft_from_message
from composer.mail.drafts import DraftSummary
from composer.mail.outbox import EntryState, OutboxEntry
from composer.mail.sent import SentSummary
from composer.mail.source import message_text
from composer.mail.store import new_key
from composer.ui.compose_window import ComposeWindow

if TYPE_CHECKING:
    from composer.session import Session
    from composer.ui.folders_window import FoldersWindow

log = logging.getLogger(__name__)


class Folders(QObject):
    """Owns the one folders window of a running Composer (built on first use) and carries out
    what it asks, through the session's windows and send service."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self._session = session
        self._context = session.context
        self._window: FoldersWindow | None = None
        session.sending.outbox_changed.connect(self.refresh)

    def watch(self, window: ComposeWindow) -> None:
        """Connect a compose window's Folders menu."""
        actions = window.actions_
        actions.drafts.triggered.connect(lambda: self.show("draftsView"))
        actions.outbox.triggered.connect(lambda: self.show("outboxView"))
        actions.sent.triggered.connect(lambda: self.show("sentView"))

    def window(self) -> FoldersWindow:
        if self._window is None:
            from composer.ui.folders_window import FoldersWindow

            folders = self._window = FoldersWindow()
            folders.refresh_requested.connect(self.refresh)
            folders.open_draft.connect(self.open_draft)
            folders.delete_draft.connect(self.delete_draft)
            folders.send_now.connect(self._session.sending.send_now)
            folders.send_all_now.connect(self._session.sending.send_all_now)
            folders.delete_queued.connect(self._session.sending.remove)
            folders.back_to_drafts.connect(self.back_to_drafts)
            folders.open_sent.connect(self.open_sent)
            folders.edit_as_new.connect(self.edit_as_new)
            folders.show_sent_file.connect(self.show_sent_file)
        return self._window

    def show(self, view_name: str) -> None:
        folders = self.window()
        folders.show_tab(getattr(folders, view_name.removesuffix("View")))

    @Slot()
    def refresh(self) -> None:
        """Read the three folders on a worker; the lists follow when it is done."""
        if self._window is None or not self._window.isVisible():
            return
        context = self._context

        def job() -> object:
            # Pending draft writes first, so the list shows what the windows hold.
            context.writer.flush(2)
            return context.drafts.summaries(), context.outbox.entries(), context.sent.summaries()

        task = self._session.sending.run(job)
        task.succeeded.connect(self._on_read)

    def _on_read(self, lists: object) -> None:
        if self._window is None:
            return
        drafts, outbox, sent = cast(
            tuple[list[DraftSummary], list[OutboxEntry], list[SentSummary]], lists
        )
        self._window.set_drafts(drafts)
        self._window.set_outbox(outbox)
        self._window.set_sent(sent)

    @Slot(str)
    def open_draft(self, key: str) -> None:
        existing = self._session.window_for_draft(key)
        if existing is not None:
            existing.show()
            existing.activateWindow()
            return
        try:
            loaded = self._context.drafts.load(key)
        except Exception as error:
            self._tell(str(error))
            self.refresh()
            return
        window = self._session.open_window(stored=(key, loaded))
        self._context.writer.submit(
            ("window", key), lambda: self._context.drafts.set_window_open(key, True)
        )
        if loaded.problems:
            window.show_status(" ".join(loaded.problems))

    @Slot(str)
    def delete_draft(self, key: str) -> None:
        window = self._session.window_for_draft(key)
        if window is not None:
            window.show()
            window.activateWindow()
            window.show_status("This draft is open here: close the window to discard it.")
            return
        self._context.writer.submit(("draft", key), lambda: self._context.drafts.delete(key))
        self.refresh()

    @Slot(str)
    def back_to_drafts(self, key: str) -> None:
        """Take a message out of the Outbox and open it for editing."""
        entry = self._context.outbox.find(key)
        if entry is None or entry.state is EntryState.SENDING:
            return
        outbox, files_dir = self._context.outbox, self._context.drafts.files_dir(new_key())

        def job() -> object:
            data = outbox.message_bytes(key)
            bcc = _bcc(data, entry.envelope.recipients)
            return draft_from_message(
                data, account_id=entry.account_id, bcc=bcc, files_dir=files_dir
            )

        def done(loaded: object) -> None:
            assert isinstance(loaded, LoadedDraft)
            window = self._session.open_window(loaded.draft)
            window.show_status("Back from the Outbox: change what you need and send it again.")
            self._session.sending.remove(key)

        self._in_background(job, done, "Could not open the message from the Outbox")

    @Slot(str)
    def open_sent(self, key: str) -> None:
        sent = self._context.sent

        def done(text: object) -> None:
            from composer.ui.message_view import MessageView

            MessageView(str(text), self.window()).open()

        self._in_background(
            lambda: message_text(sent.message_bytes(key)), done, "Could not open the message"
        )

    @Slot(str)
    def edit_as_new(self, key: str) -> None:
        sent, files_dir = self._context.sent, self._context.drafts.files_dir(new_key())

        def job() -> object:
            summary = sent.summary(key)
            return draft_from_message(
                sent.message_bytes(key),
                account_id=summary.account_id if summary else "",
                bcc="",
                files_dir=files_dir,
            )

        def done(loaded: object) -> None:
            assert isinstance(loaded, LoadedDraft)
            self._session.open_window(loaded.draft)

        self._in_background(job, done, "Could not open the sent message")

    @Slot(str)
    def show_sent_file(self, key: str) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._context.sent.file(key).parent)))

    def close(self) -> None:
        if self._window is not None:
            self._window.close()
            self._window.deleteLater()
            self._window = None

    def _in_background(
        self, job: Callable[[], object], done: Callable[[object], None], failure: str
    ) -> None:
        task = self._session.sending.run(job)
        task.succeeded.connect(done)
        task.failed.connect(lambda error: self._tell(f"{failure}: {error}"))

    def _tell(self, text: str) -> None:
        log.warning("%s", text)
        self._session.bridge.post(text)


def _bcc(data: bytes, recipients: tuple[str, ...]) -> str:
    """The envelope's recipients that the header does not name: the message's Bcc."""
    headers = BytesHeaderParser().parsebytes(data)
    named = {
        address.lower()
        for _, address in getaddresses([*headers.get_all("To", []), *headers.get_all("Cc", [])])
    }
    return ", ".join(r for r in recipients if r.lower() not in named)

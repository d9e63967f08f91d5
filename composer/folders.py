"""Drafts, Outbox and Sent as the user sees them: the folders window and what its buttons do."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox

from composer.mail.drafts import DraftSummary
from composer.mail.outbox import EntryState, OutboxEntry
from composer.mail.sent import SentFolder, SentSummary
from composer.mail.store import new_key
from composer.ui.plain_text import question

if TYPE_CHECKING:
    from composer.mail.draft_file import LoadedDraft
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
        self._reading = self._read_again = False
        session.sending.outbox_changed.connect(self.refresh)

    def window(self) -> FoldersWindow:
        if self._window is None:
            from composer.ui.folders_window import FoldersWindow

            folders = self._window = FoldersWindow()
            folders.refresh_requested.connect(self.refresh)
            folders.open_draft.connect(self.open_draft)
            folders.delete_draft.connect(self.delete_draft)
            folders.send_now.connect(self.send_now)
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
        """Read the three folders on a worker; the lists follow when it is done. Requests
        while a read runs make one more read after it, so the last list shown is current."""
        if self._window is None or not self._window.isVisible():
            return
        if self._reading:
            self._read_again = True
            return
        self._reading, self._read_again = True, False
        context = self._context

        def job() -> object:
            # Pending draft writes first, so the list shows what the windows hold.
            context.writer.flush(2)
            sent = context.sent.summaries()
            return (
                context.drafts.summaries(),
                context.outbox.entries(),
                sent,
                _uncopied(context.sent, sent),
            )

        task = self._session.sending.run(job)
        task.succeeded.connect(self._on_read)
        task.finished.connect(self._on_read_finished)

    def _on_read_finished(self) -> None:
        self._reading = False
        if self._read_again:
            self.refresh()

    def _on_read(self, lists: object) -> None:
        if self._window is None:
            return
        drafts, outbox, sent, uncopied = cast(
            tuple[list[DraftSummary], list[OutboxEntry], list[SentSummary], set[str]], lists
        )
        self._window.set_drafts(drafts)
        self._window.set_outbox(outbox)
        self._window.set_sent(sent, uncopied)

    @Slot(str)
    def open_draft(self, key: str) -> None:
        existing = self._session.window_for_draft(key)
        if existing is not None:
            existing.show()
            existing.activateWindow()
            return
        drafts = self._context.drafts

        def done(result: object) -> None:
            loaded = _loaded_draft(result)
            if self._session.window_for_draft(key) is not None:
                return  # opened twice in a row: the first is shown
            window = self._session.open_window(stored=(key, loaded))
            self._context.writer.submit(("window", key), lambda: drafts.set_window_open(key, True))
            if loaded.problems:
                window.show_status(" ".join(loaded.problems))

        # Read and parsed off the GUI thread: a draft may hold copies of large attachments.
        self._in_background(lambda: drafts.load(key), done, "Could not open the draft")

    @Slot(str)
    def send_now(self, key: str) -> None:
        """Send Now; for a message that may have been delivered, only once the user agrees."""
        entry = self._context.outbox.find(key)
        if entry is not None and entry.state is EntryState.MAY_HAVE_BEEN_SENT:
            buttons = QMessageBox.StandardButton
            answer = question(
                self.window(),
                "Send this message again?",
                f"“{entry.subject or '(no subject)'}” may already have reached its recipients: "
                f"{entry.last_error}\n\nSending it again may give them two copies. Send it "
                "again anyway?",
                buttons.Yes | buttons.No,
                buttons.No,
            )
            if answer != buttons.Yes:
                return
        self._session.sending.send_now(key)

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
        draft_key = new_key()
        outbox, files_dir = self._context.outbox, self._context.drafts.files_dir(draft_key)

        def job() -> object:
            data = outbox.message_bytes(key)
            bcc = _bcc(data, entry.envelope.recipients)
            from composer.mail.draft_file import draft_from_message

            return draft_from_message(
                data, account_id=entry.account_id, bcc=bcc, files_dir=files_dir
            )

        def done(result: object) -> None:
            loaded = _loaded_draft(result)
            # Only once it is out of the Outbox: it may have gone out while it was read.
            if not self._session.sending.remove(key):
                self._tell(
                    f"“{entry.subject or '(no subject)'}” is going out or has gone already, so "
                    "it was left in the Outbox. Folders ▸ Sent shows it once it has gone."
                )
                return
            self._open_as_draft(draft_key, loaded, "Back from the Outbox")

        self._in_background(job, done, "Could not open the message from the Outbox")

    def _open_as_draft(self, draft_key: str, loaded: LoadedDraft, note: str) -> None:
        # Under the key whose folder holds its attachments' copies, kept in Drafts at once.
        window = self._session.open_window(stored=(draft_key, loaded), unsaved=True)
        self._session.keeper(window).save_soon_now()
        problems = " ".join(loaded.problems)
        window.show_status(f"{note}: change what you need and send it again. {problems}".strip())

    @Slot(str)
    def open_sent(self, key: str) -> None:
        sent = self._context.sent

        def done(text: object) -> None:
            from composer.ui.message_view import MessageView

            MessageView(str(text), self.window()).open()

        self._in_background(
            lambda: _message_text(sent.message_bytes(key)), done, "Could not open the message"
        )

    @Slot(str)
    def edit_as_new(self, key: str) -> None:
        draft_key = new_key()
        sent, files_dir = self._context.sent, self._context.drafts.files_dir(draft_key)

        def job() -> object:
            summary = sent.summary(key)
            data = sent.message_bytes(key)
            everyone = (*summary.accepted, *summary.refused) if summary else ()
            from composer.mail.draft_file import draft_from_message

            return draft_from_message(
                data,
                account_id=summary.account_id if summary else "",
                bcc=_bcc(data, tuple(everyone)),
                files_dir=files_dir,
            )

        def done(result: object) -> None:
            loaded = _loaded_draft(result)
            self._open_as_draft(draft_key, loaded, "A copy of the sent message")

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
    from email.parser import BytesHeaderParser
    from email.utils import getaddresses

    headers = BytesHeaderParser().parsebytes(data)
    named = {
        address.lower()
        for _, address in getaddresses([*headers.get_all("To", []), *headers.get_all("Cc", [])])
    }
    return ", ".join(r for r in recipients if r.lower() not in named)


def _uncopied(folder: SentFolder, sent: list[SentSummary]) -> set[str]:
    """The records whose copy in the mailbox's Sent folder is owed or was given up."""
    # Here, when Sent is first shown: the IMAP side is not needed to open a compose window.
    from composer.mail.mailbox_copy import GAVE_UP, PENDING, copy_state

    return {s.key for s in sent if copy_state(folder, s.key) in (PENDING, GAVE_UP)}


def _message_text(data: bytes) -> str:
    # Here: the email package's parsing is not needed to open a window.
    from composer.mail.source import message_text

    return message_text(data)


def _loaded_draft(result: object) -> LoadedDraft:
    """What a background read of a draft gave (its module loaded then, not to open a window)."""
    from composer.mail.draft_file import LoadedDraft

    assert isinstance(result, LoadedDraft)
    return result

"""Keeping one compose window's message in Drafts: saved soon after every change, and on close."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Slot

from composer.context import AppContext
from composer.mail.draft import Draft
from composer.mail.files import describe_write_error
from composer.mail.store import new_key
from composer.ui.close_questions import CloseChoice

log = logging.getLogger(__name__)

# A draft is written this long after the last change (typing restarts the wait)...
SAVE_DELAY_MS = 2_000
# ...and at least this often while changes keep coming.
SAVE_AT_LEAST_EVERY_MS = 10_000


class DraftKeeper(QObject):
    """Writes the window's Draft to the Drafts folder, on the context's background writer.

    Reading the fields (``current``) is the only part on the GUI thread; building the .eml
    and writing it (with its fsync) never are. The draft stays marked as open in a window
    until the window closes, so after a crash the next start reopens it.

    "Unsaved changes" are changes since the user last chose to keep the message (Save
    Draft, or opening it from Drafts): an autosave is a safety copy, not a choice, so closing
    still asks. ``kept`` is that version; None when the user never kept one.
    """

    def __init__(
        self,
        context: AppContext,
        current: Callable[[], Draft],
        parent: QObject,
        *,
        key: str | None = None,
        kept: Draft | None = None,
        message_id: str = "",
    ) -> None:
        super().__init__(parent)
        self._context = context
        self._current = current
        self.key = key or new_key()
        # Made at the first write: a window that is never written to needs none.
        self._message_id = message_id
        self.kept = kept
        # A restored draft is all unsaved; a new window's own start (its signature) is not.
        self._pristine = current() if key is None else Draft()
        self._written: Draft | None = kept if key is not None else None
        self._paused = False
        self._previous_key = ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.save_soon_now)
        self._first_unsaved = QTimer(self)
        self._first_unsaved.setSingleShot(True)
        self._first_unsaved.timeout.connect(self.save_soon_now)

    @Slot()
    def changed(self) -> None:
        """A field changed: save in a moment (the form's changed signal comes here)."""
        if self._paused:
            return
        self._timer.start(SAVE_DELAY_MS)
        if not self._first_unsaved.isActive():
            self._first_unsaved.start(SAVE_AT_LEAST_EVERY_MS)

    def has_unsaved_changes(self) -> bool:
        return self._current() != (self.kept if self.kept is not None else self._pristine)

    @Slot()
    def save_soon_now(self) -> None:
        """The autosave: write the message as it is now, if it differs from what was written."""
        self._timer.stop()
        self._first_unsaved.stop()
        if self._paused:
            return
        draft = self._current()
        if draft == self._written:
            return
        if draft == self._pristine and self.kept is None:
            self._delete()  # back to how the window started: nothing worth keeping
            return
        self._write(draft, window_open=True)

    def not_written(self) -> None:
        """The last write failed: the next autosave writes the message again."""
        self._written = None

    def save(self) -> None:
        """Save Draft: the message as it is now is the one to keep."""
        # An autosave still waiting would write the same again (and, on a full disk, fail
        # again after the failure of this one had been said).
        self._timer.stop()
        self._first_unsaved.stop()
        draft = self._current()
        self.kept = draft
        self._write(draft, window_open=True)

    def close(self, choice: CloseChoice | None) -> None:
        """The window is closing; choice is the user's answer when there were changes."""
        self._timer.stop()
        self._first_unsaved.stop()
        if self._paused:
            return  # the message is in the Outbox, or already gone
        if choice is CloseChoice.SAVE:
            self.kept = self._current()
        if self.kept is None:
            self._delete()
        else:
            self._write(self.kept, window_open=False)

    def pause(self) -> None:
        """The message has gone to the Outbox: it is kept there, not in Drafts."""
        self._timer.stop()
        self._first_unsaved.stop()
        self._paused = True
        self._delete()

    def resume(self) -> None:
        """The message came back to the window (undone, or refused): keep it again now."""
        self._paused = False
        self._written = None
        self.save_soon_now()

    @Slot(object)
    def start_over(self, previous: Draft | None) -> None:
        """The window holds a new message now; previous is the one it held (None when that
        was sent). A previous message with anything in it stays in Drafts, closed."""
        self._let_go(previous)
        self._previous_key = self.key
        self._begin(new_key(), "")

    @Slot(object)
    def swap_back(self, replaced: Draft) -> None:
        """Restore Previous Message: the window shows the message start_over let go of;
        replaced (what it showed) is let go of in turn."""
        previous = self._previous_key
        self._let_go(replaced)
        self._previous_key = self.key
        self._begin(previous or new_key(), "")
        self._pristine = Draft()  # the restored message is all unsaved again
        self.save_soon_now()

    def _let_go(self, draft: Draft | None) -> None:
        self._timer.stop()
        self._first_unsaved.stop()
        if self._paused:
            return  # sent: already out of Drafts
        if draft is not None and draft != self._pristine:
            self._write(draft, window_open=False)
        else:
            self._delete()

    def _begin(self, key: str, message_id: str) -> None:
        self._paused = False
        self.key = key
        self._message_id = message_id
        self.kept = None
        self._written = None
        self._pristine = self._current()

    def _write(self, draft: Draft, *, window_open: bool) -> None:
        self._written = draft
        if not self._message_id:
            self._message_id = _draft_message_id()
        key, message_id, context = self.key, self._message_id, self._context
        account = context.account(draft.account_id)
        sender = account.sender() if account is not None else None
        saved_at = context.clock()

        def job() -> None:
            try:
                context.drafts.save(
                    key, draft, sender=sender, message_id=message_id, saved_at=saved_at
                )
                context.drafts.set_window_open(key, window_open)
            except OSError as error:
                context.draft_not_saved(
                    key,
                    draft,
                    f"Composer could not save the draft “{draft.subject or '(no subject)'}” in "
                    f"{context.paths.drafts_dir}: {describe_write_error(error)}. Your message "
                    "is still here; free some space or check the folder, and Composer saves it "
                    "again at the next change or Save Draft.",
                )

        context.writer.submit(("draft", key), job)

    def _delete(self) -> None:
        self._written = None
        key, context = self.key, self._context

        def job() -> None:
            try:
                context.drafts.delete(key)
            except OSError as error:
                log.warning("could not delete draft %s: %s", key, error)

        context.writer.submit(("draft", key), job)


def _draft_message_id() -> str:
    """A Message-ID for a draft's file, in a domain that is no one's."""
    # Here, not at the top: email.utils (and socket, datetime, calendar) is not needed to
    # open a window, and by the first write the imports after start-up have brought it.
    from email.utils import make_msgid

    return make_msgid(domain="composer.invalid")

"""Questions asked before a message leaves: a missing subject, a forgotten attachment, and
many recipients who would see each other's addresses."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from composer.mail.draft import Draft
from composer.mail.reminder import attachment_mention
from composer.ui.plain_text import question

# More visible recipients than this, and Composer offers to hide them from each other.
MANY_RECIPIENTS = 10

_Button = QMessageBox.StandardButton


def confirm_send(parent: QWidget, draft: Draft) -> Draft | None:
    """The draft to send (perhaps with recipients moved to Bcc), or None to stop and edit."""
    if not draft.subject.strip() and not _ask(
        parent,
        "Send without a subject?",
        "This message has no subject. Send it anyway?",
    ):
        return None
    word = attachment_mention(draft.body)
    if (
        word
        and not draft.attachments
        and not _ask(
            parent,
            "Forgot an attachment?",
            f"The message mentions “{word}”, but nothing is attached. Send it anyway?",
        )
    ):
        return None
    recipients = draft.recipients()
    visible = len(recipients["To"].valid) + len(recipients["Cc"].valid)
    if visible > MANY_RECIPIENTS:
        answer = question(
            parent,
            "Hide the recipients from each other?",
            f"{visible} people in To and Cc would all see each other's addresses. Move them to "
            "Bcc, so each sees only their own?",
            _Button.Yes | _Button.No | _Button.Cancel,
            _Button.Yes,
        )
        if answer == _Button.Cancel:
            return None
        if answer == _Button.Yes:
            return move_to_bcc(draft)
    return draft


def confirm_large(parent: QWidget, why: str) -> bool:
    """True when the user wants a message sent although its size could not be checked."""
    return _ask(parent, "Send this large message?", f"{why}\n\nSend it anyway?")


def move_to_bcc(draft: Draft) -> Draft:
    """The same draft with every To and Cc recipient in Bcc instead."""
    hidden = ", ".join(part for part in (draft.to, draft.cc, draft.bcc) if part.strip())
    return draft._replace(to="", cc="", bcc=hidden)


def _ask(parent: QWidget, title: str, text: str) -> bool:
    answer = question(parent, title, text, _Button.Yes | _Button.No, _Button.No)
    return answer == _Button.Yes

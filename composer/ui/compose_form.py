"""The fields of one message: From, To, Cc, Bcc, Subject, attachments and Body, as a Draft."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from composer.mail.accounts import Account
from composer.mail.addressbook import AddressBook
from composer.mail.draft import Draft, InlineImage
from composer.ui.body_model import quote_level
from composer.ui.identity import IdentityKeeper
from composer.ui.naming import named
from composer.ui.widgets.address_edit import AddressLineEdit
from composer.ui.widgets.attachment_list import AttachmentPanel
from composer.ui.widgets.body_edit import BodyEdit
from composer.ui.widgets.format_toolbar import FormatToolBar

if TYPE_CHECKING:
    from PySide6.QtGui import QTextDocument


class ComposeForm(QWidget):
    """Reads and writes a Draft; knows nothing of sending.

    The account picker shows the accounts handed to set_accounts(); choosing one switches the
    signature and default Cc/Bcc where the user has not changed them.

    Signals:
        changed(): any field changed, by the user or by loading a draft.
    """

    changed = Signal()

    def __init__(self, address_book: AddressBook, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composeArea")
        self._accounts: dict[str, Account] = {}
        self.from_account = named("fromAccount", QComboBox())
        self.from_account.setAccessibleName("From")
        self.to = _address_edit("to", "To", "Ann Lee <ann@example.org>, bob@example.net")
        self.cc = _address_edit("cc", "Cc", "")
        self.bcc = _address_edit("bcc", "Bcc", "Hidden from the other recipients")
        for edit in (self.to, self.cc, self.bcc):
            edit.set_address_book(address_book)
        self.subject = named("subject", QLineEdit())
        self.subject.setAccessibleName("Subject")
        # The message this one answers (from a mailto: link): shown, never carried unseen.
        self.in_reply_to = named("inReplyTo", QLineEdit())
        self.in_reply_to.setReadOnly(True)
        self.in_reply_to.setAccessibleName("In reply to")
        self.not_a_reply = named("notAReply", QToolButton())
        self.not_a_reply.setText("Not a Reply")
        self.not_a_reply.setToolTip("Send this as a new message, not threaded as a reply")
        self.not_a_reply.clicked.connect(lambda: self._set_in_reply_to(""))
        self.attachment_panel = AttachmentPanel()
        self.attachment_list = self.attachment_panel.list
        self.body = named("body", BodyEdit())
        self.body.setAccessibleName("Message body")
        self.identity = IdentityKeeper(self.body, self.cc, self.bcc)
        self.format_bar = FormatToolBar(self.body)
        self.from_account.currentIndexChanged.connect(
            lambda _index: self.identity.switch(self.account())
        )
        for signal in (
            self.from_account.currentIndexChanged,
            self.to.textChanged,
            self.cc.textChanged,
            self.bcc.textChanged,
            self.subject.textChanged,
            self.in_reply_to.textChanged,
            self.body.textChanged,  # the document's contentsChanged
            self.attachment_list.changed,
        ):
            signal.connect(self.changed)
        self._lay_out()

    def _lay_out(self) -> None:
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for label, field in (
            ("&From:", self.from_account),
            ("&To:", self.to),
            ("&Cc:", self.cc),
            ("&Bcc:", self.bcc),
            ("S&ubject:", self.subject),
        ):
            form.addRow(label, field)
        reply_row = QHBoxLayout()
        reply_row.addWidget(self.in_reply_to, 1)
        reply_row.addWidget(self.not_a_reply)
        form.addRow("In reply to:", reply_row)
        self._form_layout, self._reply_row = form, form.rowCount() - 1
        self._set_in_reply_to("")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.attachment_panel)
        layout.addWidget(self.format_bar)
        layout.addWidget(self.body, 1)

    def drop_targets(self) -> tuple[QWidget, ...]:
        """The fields where a dropped file is attached rather than pasted as text."""
        return (self.to, self.cc, self.bcc, self.subject, self.attachment_list)

    # --- accounts -------------------------------------------------------------------------

    def set_accounts(self, accounts: list[Account], preferred_id: str) -> None:
        """Offer accounts in From, keeping the chosen one if it is still there."""
        current = self.account_id() or preferred_id
        self._accounts = {account.id: account for account in accounts}
        self.from_account.blockSignals(True)
        self.from_account.clear()
        for account in accounts:
            self.from_account.addItem(account.label, account.id)
        index = self.from_account.findData(current)
        if index < 0:
            index = self.from_account.findData(preferred_id)
        self.from_account.setCurrentIndex(max(index, 0))
        self.from_account.blockSignals(False)
        self.identity.switch(self.account())

    def account_id(self) -> str:
        return str(self.from_account.currentData() or "")

    def account(self) -> Account | None:
        return self._accounts.get(self.account_id())

    # --- the message ----------------------------------------------------------------------

    def draft(self, *, plain_only: bool = False) -> Draft:
        """The message exactly as typed (formatting only when there is any, and allowed)."""
        body = html = ""
        images: tuple[InlineImage, ...] = ()
        formatted = False
        # A fresh window's blank body (what its keeper compares with at start) is "": the
        # writer (rich_text, images) is imported by the warm-up, not before the first frame,
        # and an editor never written in is not even looked at (its document's classes).
        if not self.body.is_untouched() and not _is_blank(document := self.body.document()):
            from composer.ui.rich_text import document_parts

            parts = document_parts(document)
            body, html, images = parts.plain, parts.html, parts.images
            formatted = parts.formatted and not plain_only
        return Draft(
            account_id=self.account_id(),
            to=self.to.text(),
            cc=self.cc.text(),
            bcc=self.bcc.text(),
            subject=self.subject.text(),
            body=body,
            html=html if formatted else "",
            attachments=self.attachment_list.attachments(),
            inline_images=images if formatted else (),
            in_reply_to=self.in_reply_to.text(),
        )

    def load_draft(self, draft: Draft) -> list[str]:
        """Show draft in the fields (the account only if it still exists).

        Returns the attachments that could not be attached, in words.
        """
        index = self.from_account.findData(draft.account_id)
        if index >= 0:
            self.from_account.setCurrentIndex(index)
        self.set_recipients(draft)
        self.subject.setText(draft.subject)
        self._set_in_reply_to(draft.in_reply_to)
        self.identity.forget()
        if draft.html:
            self.body.set_html_with_images(draft.html, draft.inline_images)
        else:
            self.body.setPlainText(draft.body)
        return self.attachment_list.set_attachments(draft.attachments)

    def start_with(self, draft: Draft) -> list[str]:
        """Begin the new message in these fields from draft (a mailto: link, the command
        line, New Window's account): what the account puts into a new message stays, its
        signature under the draft's text and its default Cc and Bcc beside the draft's.

        Returns the attachments that could not be attached, in words.
        """
        if draft.html or draft.inline_images:  # not a beginning but a whole message
            return self.load_draft(draft)
        index = self.from_account.findData(draft.account_id)
        if index >= 0:
            self.from_account.setCurrentIndex(index)  # the identity follows the account
        for edit, given in ((self.to, draft.to), (self.cc, draft.cc), (self.bcc, draft.bcc)):
            if given:
                edit.setText(", ".join(part for part in (edit.text(), given) if part))
        if draft.subject:
            self.subject.setText(draft.subject)
        if draft.in_reply_to:
            self._set_in_reply_to(draft.in_reply_to)
        if draft.body:
            from PySide6.QtGui import QTextCursor

            # At the start: above the signature, which stays the identity's to swap.
            QTextCursor(self.body.document()).insertText(draft.body)
            # Undo takes back what the user typed, not the message they were handed.
            self.body.document().clearUndoRedoStacks()
            self.body.document().setModified(False)
        return self.attachment_list.set_attachments(draft.attachments) if draft.attachments else []

    def set_recipients(self, draft: Draft) -> None:
        self.to.setText(draft.to)
        self.cc.setText(draft.cc)
        self.bcc.setText(draft.bcc)

    def start_new(self) -> None:
        """Empty every field but From, then fill in the account's signature and Cc/Bcc."""
        for edit in (self.to, self.cc, self.bcc, self.subject):
            edit.clear()
        self.body.clear()
        self._set_in_reply_to("")
        self.identity.forget()
        self.attachment_list.set_attachments(())
        self.identity.start(self.account())
        self.to.setFocus()

    def attach(self, paths: list[Path]) -> list[str]:
        """Attach files; returns those that could not be attached, in words."""
        return self.attachment_list.add_files(paths)

    def _set_in_reply_to(self, message_id: str) -> None:
        self.in_reply_to.setText(message_id)
        # Shown only for a reply, so a new message has no empty row.
        self._form_layout.setRowVisible(self._reply_row, bool(message_id))

    def set_locked(self, locked: bool) -> None:
        """While a send runs the fields stay selectable and scrollable but cannot change, so
        what is cleared after success is exactly what was sent."""
        for edit in (self.to, self.cc, self.bcc, self.subject):
            edit.setReadOnly(locked)
        self.body.setReadOnly(locked)
        self.format_bar.setEnabled(not locked)
        self.attachment_list.setEnabled(not locked)
        self.from_account.setEnabled(not locked)
        self.not_a_reply.setEnabled(not locked)


def _address_edit(name: str, accessible: str, placeholder: str) -> AddressLineEdit:
    edit = named(name, AddressLineEdit())
    edit.setAccessibleName(accessible)
    edit.setPlaceholderText(placeholder)
    return edit


def _is_blank(document: QTextDocument) -> bool:
    """One empty paragraph, not in a list or a quote: what rich_text writes as "" unformatted."""
    block = document.begin()
    return document.isEmpty() and block.textList() is None and not quote_level(block.blockFormat())

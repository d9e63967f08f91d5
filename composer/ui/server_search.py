"""Find Settings in the accounts dialog: the search for an address's servers, in the background."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QObject, Signal

from composer.mail.accounts import Account
from composer.mail.addresses import parse_address
from composer.mail.autoconfig import Discovery
from composer.send_service import SendService
from composer.tasks import Task
from composer.ui.account_form import AccountForm


class ServerSearch(QObject):
    """Runs one search at a time for the form's address and shows its progress in the form.

    Signals:
        found(str, object): the account id the search was for, and its Discovery.
    """

    found = Signal(str, object)

    def __init__(self, form: AccountForm, sending: SendService, parent: QObject) -> None:
        super().__init__(parent)
        self._form = form
        self._sending = sending
        self._task: Task | None = None
        self._account_id = ""

    def start(self, account_id: str) -> None:
        """Look for the servers of the address in the form, for the account account_id."""
        if self._task is not None:
            return
        address = parse_address(self._form.email.text().strip())
        if address is None or not address.domain:
            self._form.show_discovery("Enter your email address first, like ann@example.org.")
            return
        self._account_id = account_id
        self._task = task = self._sending.discover(address.addr_spec)
        # The task's signals arrive on the GUI thread (tasks.py): lambdas are safe here.
        task.succeeded.connect(lambda outcome: self._on_done(task, outcome))
        task.failed.connect(lambda outcome: self._on_done(task, outcome))
        self._form.show_discovery(f"Looking for the settings of {address.domain}…", searching=True)

    def cancel(self) -> None:
        """Stop the search the user started; the fields stay as they are."""
        if self._task is not None:
            self.forget()
            self._form.show_discovery("Search cancelled. The fields are as they were.")

    def forget(self) -> None:
        """Drop the search under way (it stops before its next step; its outcome, when it
        comes, is ignored) and what was said about it."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._form.show_discovery("")

    def _on_done(self, task: Task, outcome: object) -> None:
        if task is not self._task:
            return  # cancelled, or the form shows another account since
        self._task = None
        if isinstance(outcome, Discovery):
            self.found.emit(self._account_id, outcome)
            # The account shows what was found by now, its login choice included.
            self._form.show_discovery(found_text(outcome, self._form.sign_in_name()))
        else:
            self._form.show_discovery(str(outcome))


def found_text(found: Discovery, sign_in: str = "") -> str:
    """What was found and where from, for the user to check (host names are the network's);
    sign_in: the name of the provider the account signs in with, "" for a password."""
    smtp = found.smtp
    lines = [
        f"Found in {found.source}: {smtp.host}, port {smtp.port}, {smtp.security.label}, "
        f"user name {smtp.username}."
    ]
    if found.imap is not None:
        imap = found.imap
        lines.append(f"IMAP: {imap.host}, port {imap.port}, {imap.security.label}.")
    if found.provider is not None and found.provider.password:
        lines.append(f"{found.provider.name} takes {found.provider.password}.")
    if sign_in:
        lines.append(
            f"Check the settings, press Sign In with {sign_in}…, then Test Connection and Save."
        )
    else:
        lines.append("Check the settings, enter your password, then Test Connection and Save.")
    return "\n".join(lines)


def with_found(account: Account, found: Discovery) -> Account:
    """account with the servers found in its fields, for the user to check before saving."""
    smtp, imap = found.smtp, found.imap
    account = dataclasses.replace(
        account,
        host=smtp.host,
        port=smtp.port,
        security=smtp.security,
        username=smtp.username,
        # A certificate trusted for the old server says nothing about the new one.
        trusted_certificate=account.trusted_certificate if smtp.host == account.host else "",
    )
    if imap is None:
        return account
    return dataclasses.replace(
        account,
        imap_host=imap.host,
        imap_port=imap.port,
        imap_security=imap.security,
        imap_username="" if imap.username == smtp.username else imap.username,  # "": SMTP's
    )

"""Copies of sent messages in the mailbox's Sent folder: which are wanted, owed, and made.

A copy is owed from the moment the SMTP server accepted a message: the Sent record's state
says so (``pending``), and it is made from the record, byte for byte, without Composer's own
lines. A copy that fails stays owed and is tried again (after the next send, or at start) up
to MAX_ATTEMPTS times; the send itself is never undone or repeated for it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from composer.mail.accounts import Account
from composer.mail.imap_client import CopyError, SentMailbox
from composer.mail.imap_names import ListedFolder
from composer.mail.providers import provider_of
from composer.mail.secrets import KeyringUnavailable, SecretStore
from composer.mail.sent import SentFolder
from composer.mail.smtp_client import MIN_DATA_RATE
from composer.mail.store import StoreError

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
_STATE = "mailbox_copy"
PENDING, DONE, GAVE_UP = "pending", "done", "failed"


def copy_wanted(account: Account) -> bool:
    """Whether messages sent through account get a copy in its mailbox's Sent folder."""
    if account.is_sandbox or not account.imap_host.strip():
        return False
    if account.copy_to_sent is not None:
        return account.copy_to_sent
    provider = provider_of(account.host, account.email)
    return not (provider is not None and provider.files_sent_itself)


def imap_secret_key(account_id: str) -> str:
    """Where the IMAP password is kept when it is not the SMTP one."""
    return f"{account_id}:imap"


def copy_state(sent: SentFolder, key: str) -> str:
    """PENDING, DONE, GAVE_UP, or "" for a Sent record that needs no copy."""
    state = sent.folder.read_state(key) or {}
    value = state.get(_STATE, "")
    return value if value in (PENDING, DONE, GAVE_UP) else ""


@dataclass
class CopyReport:
    """What one run did: the copies made, and for the others why not."""

    account: Account
    copied: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # still owed, tried again later
    gave_up: list[str] = field(default_factory=list)  # tried MAX_ATTEMPTS times
    subjects: dict[str, str] = field(default_factory=dict)
    folder: str = ""
    error: CopyError | None = None

    def failure_text(self) -> str:
        """The status bar's sentence when copies failed: the send stands, the copy waits."""
        keys = [*self.failed, *self.gave_up]
        if len(keys) == 1:
            what = f"“{self.subjects.get(keys[0]) or '(no subject)'}” was sent"
        else:
            what = f"{len(keys)} messages were sent"
        if self.failed:
            later = "Composer will try again after the next message you send, and when it starts."
        else:
            kept = "it" if len(keys) == 1 else "them"
            later = f"Composer has stopped trying; Folders ▸ Sent keeps {kept}."
        return (
            f"{what}, but the copy to the Sent folder of your mailbox on "
            f"{self.account.imap_host.strip()} failed: {self.error}. {later}"
        )


class SentCopies:
    """The copies owed for the records of one Sent folder; safe from worker threads."""

    def __init__(self, sent: SentFolder, secrets: SecretStore) -> None:
        self.sent = sent
        self._secrets = secrets
        self._lock = threading.Lock()
        self._mailbox: SentMailbox | None = None
        self._cancelled = False

    def owe(self, key: str) -> None:
        """Note that the record key needs its copy (right after it was written)."""
        self.sent.folder.write_state(key, {_STATE: PENDING, "attempts": 0})

    def state(self, key: str) -> str:
        """PENDING, DONE, GAVE_UP, or "" for a record that needs no copy."""
        return copy_state(self.sent, key)

    def owed(self, account_id: str) -> list[str]:
        """The records of account_id whose copy is still owed, oldest first."""
        found = []
        for key in self.sent.folder.keys():  # noqa: SIM118 - a folder, not a dict
            if self.state(key) != PENDING:
                continue
            summary = self.sent.summary(key)
            if summary is not None and summary.account_id == account_id:
                found.append(key)
        return found

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            mailbox = self._mailbox
        if mailbox is not None:
            mailbox.cancel()

    def copy_owed(self, account: Account) -> CopyReport:
        """Make every copy owed for account over one IMAP session (blocking)."""
        report = CopyReport(account)
        keys = self.owed(account.id)
        for key in keys:
            summary = self.sent.summary(key)
            report.subjects[key] = summary.subject if summary else ""
        if not keys:
            return report
        try:
            self._copy(account, keys, report)
        except CopyError as error:
            report.error = error
            for key in keys:
                if key not in report.copied:
                    self._failed(key, str(error), report)
        return report

    def _copy(self, account: Account, keys: list[str], report: CopyReport) -> None:
        mailbox = SentMailbox(account, self._password(account))
        with self._lock:
            if self._cancelled:
                raise CopyError("the copy was cancelled")
            self._mailbox = mailbox
        try:
            mailbox.open()
            folder = mailbox.sent_folder()
            report.folder = ListedFolder(folder, frozenset()).name
            for key in keys:
                try:
                    message = self.sent.message_bytes(key)
                except (StoreError, OSError) as error:
                    log.warning("Sent record %s could not be read for its copy: %s", key, error)
                    continue  # removed meanwhile, or damaged: nothing to copy
                mailbox.append(folder, message, extra_seconds=len(message) / MIN_DATA_RATE)
                self.sent.folder.write_state(key, {_STATE: DONE, "folder": report.folder})
                report.copied.append(key)
        finally:
            mailbox.close()
            with self._lock:
                self._mailbox = None

    def _password(self, account: Account) -> str | None:
        try:
            own = self._secrets.get(imap_secret_key(account.id))
            return own if own is not None else self._secrets.get(account.id)
        except KeyringUnavailable as error:
            raise CopyError(
                f"the password could not be read from the system keyring ({error}); enter it "
                "again in Accounts"
            ) from error

    def _failed(self, key: str, why: str, report: CopyReport) -> None:
        state = self.sent.folder.read_state(key) or {}
        attempts = state.get("attempts", 0)
        attempts = (attempts if isinstance(attempts, int) else 0) + 1
        given_up = attempts >= MAX_ATTEMPTS
        try:
            self.sent.folder.write_state(
                key,
                {_STATE: GAVE_UP if given_up else PENDING, "attempts": attempts, "error": why},
            )
        except OSError as error:
            log.warning("could not note the failed copy of %s: %s", key, error)
        (report.gave_up if given_up else report.failed).append(key)

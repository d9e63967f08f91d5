"""The services one running Composer shares between its windows; no Qt here."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from composer import logs
from composer.mail.accounts import Account, AccountSettings, AccountStore, sandbox_account
from composer.mail.addressbook import AddressBook
from composer.mail.draft import Draft
from composer.mail.drafts import DraftStore
from composer.mail.files import describe_write_error
from composer.mail.lock import LockTimeout, Presence, exclusive
from composer.mail.secrets import SecretStore
from composer.mail.store import MessageFolder
from composer.paths import Paths
from composer.serial_worker import SerialWorker

if TYPE_CHECKING:
    from concurrent.futures import Future
    from datetime import datetime

    # Sending's modules (smtplib, ssl, aiosmtpd) are imported at the first send, not at start.
    from composer.mail.access_tokens import AccessTokens
    from composer.mail.delivery import Delivery
    from composer.mail.oauth_registry import OAuthRegistry
    from composer.mail.outbox import Outbox
    from composer.mail.progress import ProgressCallback
    from composer.mail.sandbox import SandboxServer
    from composer.mail.sent import SentFolder
    from composer.mail.transcript import Transcript

log = logging.getLogger(__name__)

# Called with a sentence for the user, from any thread.
Notify = Callable[[str], None]
# How long a start waits for another Composer that is tidying the same files after a crash.
_STARTUP_WAIT = 30.0
# How long closing waits for the Sent folder's check (some 260 ms for 2,000 records).
_SENT_CHECK_WAIT = 10.0
# The time now, aware of its zone; tests give their own to move it on without waiting.
Clock = Callable[[], "datetime"]


def local_now() -> datetime:
    from datetime import datetime  # here: not before the first window

    return datetime.now().astimezone()


class AppContext:
    """Accounts, secrets, the address book, the sandbox server, Drafts, Outbox and Sent,
    loaded once from paths.

    ``load_warnings`` says what could not be read at start (and what a crash left to tidy);
    later problems (a write that failed in the background) go to ``notify``.
    """

    def __init__(
        self,
        paths: Paths,
        secrets: SecretStore | None = None,
        *,
        notify: Notify | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.paths = paths
        self.store = AccountStore(paths.settings_file)
        loaded = self.store.load()
        self.settings: AccountSettings = loaded.settings
        self.secrets = secrets or SecretStore()
        # What sending needs is made, and its modules imported, at the first send.
        self._made_lock = threading.Lock()
        self._access_tokens: AccessTokens | None = None
        self._sandbox: SandboxServer | None = None
        # Loaded by load_address_book() (or at the first search or record); searched from
        # memory while typing, written by workers.
        self.address_book = AddressBook(paths.address_book, lambda text: self.notify(text))
        self.clock: Clock = clock or local_now
        self.drafts = DraftStore(MessageFolder(paths.drafts_dir))
        self._sent_folder = MessageFolder(paths.sent_dir)
        self._sent: SentFolder | None = None  # made at its first use (see sent)
        # Made at its first use (see outbox), as its modules are not needed before then.
        self._outbox: Outbox | None = None
        self._presence = Presence(paths.presence_lock)
        # False when another Composer process uses these files too: it tidied them when it
        # started, and what looks left over (a temporary file, a draft marked open in a
        # window) may be its work in progress.
        self.alone = True
        # Set when this Composer tidied the files at start: Sent's records are checked
        # later (see check_sent).
        self._sent_unchecked = False
        self._sent_check: threading.Thread | None = None
        self.load_warnings: tuple[str, ...] = (
            *loaded.warnings,
            *self._recover(),
        )
        logs.set_debug(self.settings.debug_log)
        self._notify = notify or (lambda text: log.warning("%s", text))
        self._lock = threading.Lock()
        # Serialises writes only: the GUI thread never waits for a write (and its fsync).
        self._write_lock = threading.Lock()
        # Settings fields changed here and not yet written (merged into the file on disk).
        self._changed: set[str] = set()
        # Set by the session: gets a draft whose write failed (see draft_not_saved).
        self.on_draft_not_saved: Callable[[str, Draft, str], None] | None = None
        # Settings and drafts are written here, in order, never on the GUI thread.
        self.writer = SerialWorker("composer-writer", self._write_failed)
        # Set once read_oauth_clients() has read the distributor's client registrations.
        self.oauth_clients_read = threading.Event()

    @property
    def access_tokens(self) -> AccessTokens:
        """Access tokens of the accounts that sign in with their provider, in memory only."""
        # Made at first use, from whichever thread comes first, and only once: two would keep
        # tokens apart (a sign-in withdrawn in one, still held in the other).
        with self._made_lock:
            if self._access_tokens is None:
                from composer.mail.access_tokens import AccessTokens

                self._access_tokens = AccessTokens(self.secrets, self.oauth)
            return self._access_tokens

    @property
    def sent(self) -> SentFolder:
        """What went out; made, with its module imported, at the first use (the first frame
        needs neither)."""
        with self._made_lock:
            if self._sent is None:
                from composer.mail.sent import SentFolder

                self._sent = SentFolder(self._sent_folder)
            return self._sent

    @property
    def outbox(self) -> Outbox:
        """The messages waiting to go; made, with its modules imported, at the first use."""
        sent = self.sent  # before the lock, which it takes too
        with self._made_lock:
            if self._outbox is None:
                from composer.mail.outbox import Outbox

                folder = MessageFolder(self.paths.outbox_dir)
                self._outbox = Outbox(folder, sent, clock=self.clock)
            return self._outbox

    @property
    def sandbox(self) -> SandboxServer:
        """The Local sandbox's server (not started until a message goes to it)."""
        with self._made_lock:
            if self._sandbox is None:
                from composer.mail.sandbox import SandboxServer

                self._sandbox = SandboxServer(self.paths.sandbox_maildir)
            return self._sandbox

    def _recover(self) -> list[str]:
        """Tidy what a crash left, unless another Composer is using the files."""
        with contextlib.ExitStack() as held:
            try:
                held.enter_context(exclusive(self.paths.startup_lock, timeout=_STARTUP_WAIT))
                self.alone = self._presence.join()
            except LockTimeout as error:
                # Another Composer has been starting for that long: it is tidying, not us.
                log.warning("%s", error)
                self.alone = False
            except OSError as error:
                # No lock file can be made there (a read-only folder): tidy as if alone.
                log.warning("could not lock %s: %s", self.paths.data_dir, error)
            if not self.alone:
                log.info("another Composer uses %s; leaving its files alone", self.paths.data_dir)
                return []
            return self._recover_files()

    def _recover_files(self) -> list[str]:
        said = self.drafts.recover()
        # Usually the Outbox is empty (a message leaves within seconds): then there is
        # nothing to settle, and its modules wait for the first send.
        if self._outbox_holds_anything():
            said += self.outbox.recover()
            self._forget_queued_drafts()
        said += self._sent_folder.tidy()
        # After the Outbox's recovery, which reads the Sent records it counts on itself.
        self._sent_unchecked = True
        return said

    def _outbox_holds_anything(self) -> bool:
        """Whether anything is in the Outbox's folder, or something other than a folder
        stands in its place (its recovery says what)."""
        try:
            with os.scandir(self.paths.outbox_dir) as entries:
                return next(entries, None) is not None
        except FileNotFoundError:
            return False
        except OSError:
            return True

    def _forget_queued_drafts(self) -> None:
        """Delete each draft whose message is in the Outbox: Composer stopped between
        queueing it and deleting the draft, and it must not come back to be sent twice."""
        drafts = set(self.drafts.folder.keys())
        for entry in self.outbox.entries():
            if entry.draft_key in drafts:
                log.info("draft %s is queued as %s; deleting it", entry.draft_key, entry.key)
                try:
                    self.drafts.delete(entry.draft_key)
                except OSError as error:
                    log.warning("could not delete draft %s: %s", entry.draft_key, error)

    def draft_not_saved(self, key: str, draft: Draft, text: str) -> None:
        """Writing draft (key in Drafts) failed, text says why (from the writer thread):
        the session shows it again if its window has closed meanwhile."""
        if self.on_draft_not_saved is None:
            self.notify(text)
        else:
            self.on_draft_not_saved(key, draft, text)

    def notify(self, text: str) -> None:
        """Tell the user text (from any thread): the status bar, and a box for a warning."""
        self._notify(text)

    def accounts(self) -> list[Account]:
        """The accounts to offer in From; the local sandbox when none is configured."""
        return list(self.settings.accounts) or [sandbox_account()]

    def preferred_account_id(self) -> str:
        """Last used if it still exists, else the default, else the first."""
        ids = [a.id for a in self.accounts()]
        for candidate in (self.settings.last_used_id, self.settings.default_id):
            if candidate in ids:
                return candidate
        return ids[0]

    def account(self, account_id: str) -> Account | None:
        return next((a for a in self.accounts() if a.id == account_id), None)

    def read_oauth_clients(self) -> None:
        """Read the distributor's client registrations (a file in the package, read once and
        kept) on a thread of its own, so that opening Accounts never reads them on the GUI
        thread; the session starts it once its first window is shown."""
        if self.oauth_clients_read.is_set():
            return
        threading.Thread(
            target=self._read_oauth_clients, name="composer-oauth", daemon=True
        ).start()

    def load_address_book(self, warn: Notify | None = None) -> threading.Thread:
        """Load the address book on a thread of its own: opening it (SQLite, and on the first
        start creating and syncing the file) is not for the GUI thread before the first frame;
        the session starts it once its first window is shown. What the user should be told
        (a damaged book set aside, say) goes to warn, else to notify. Returns the thread,
        started."""
        return self._in_background("composer-address-book", self.address_book.load_once, warn)

    def check_sent(self, warn: Notify | None = None) -> threading.Thread | None:
        """Set aside the Sent records that cannot be read, on a thread of its own, once and
        only when this Composer tidied at start. Each record is opened, some 120 µs: with
        thousands that would hold the first frame for a noticeable time, and meanwhile a
        damaged record is merely not listed. The session starts it once its first window is
        shown; what was set aside goes to warn, else to notify. Returns the thread, started,
        or None when there is nothing to check."""
        if not self._sent_unchecked:
            return None
        self._sent_unchecked = False
        # The record module too is imported there, not on the GUI thread.
        self._sent_check = self._in_background(
            "composer-sent-check", lambda: self.sent.set_aside_unreadable(), warn
        )
        return self._sent_check

    def _in_background(
        self, name: str, work: Callable[[], Iterable[str]], warn: Notify | None
    ) -> threading.Thread:
        """Run work on a thread of its own, telling what it returns to warn (else to
        notify), in one message: a window shows each in a box; returns the thread, started."""
        tell = warn or self.notify

        def run() -> None:
            said = list(work())
            if said:
                tell("\n\n".join(said))

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        return thread

    def _read_oauth_clients(self) -> None:
        try:
            self.oauth()  # fills the registrations' cache
        except Exception:
            log.exception("could not read the built-in client registrations")
        finally:
            self.oauth_clients_read.set()

    def oauth(self) -> OAuthRegistry:
        """The authorization servers and client registrations in force now."""
        # Here: the servers' table and the built-in registrations are not for the first frame.
        from composer.mail.oauth_registry import OAuthRegistry

        return OAuthRegistry(self.settings.oauth)

    def delivery(
        self,
        account: Account,
        *,
        password: str | None = None,
        progress: ProgressCallback | None = None,
        transcript: Transcript | None = None,
    ) -> Delivery:
        """One send or connection check for account (password: one typed, not yet stored;
        transcript: where to keep the conversation)."""
        from composer.mail.delivery import Delivery

        return Delivery(
            account,
            self.secrets,
            self.sandbox,
            password=password,
            progress=progress,
            address_book=self.address_book,
            transcript=transcript,
            access_tokens=self.access_tokens,
        )

    def save_settings(self, change: Callable[[AccountSettings], AccountSettings]) -> Future[None]:
        """Replace the settings with change(settings) and save them, on the writer thread.

        The future ends once they are written, or with the OSError that stopped it (a
        LockTimeout when another Composer held the file's lock too long); the GUI thread
        must never wait for it. The whole file is the new settings then (what Accounts
        shows is what is kept), even over what another Composer saved a moment ago: the lock
        only keeps the two writes apart.
        """
        from concurrent.futures import Future  # at the first save: not for the first frame

        saved: Future[None] = Future()

        def job() -> None:
            try:
                self._replace_settings(change)
            except Exception as error:
                saved.set_exception(error)
            else:
                saved.set_result(None)

        if not self.writer.submit(("replace settings", saved), job):
            saved.set_exception(OSError(errno.ESHUTDOWN, "Composer is closing"))
        return saved

    def update_settings(self, settings: AccountSettings) -> None:
        """Replace and save the settings, and wait until they are written; raises OSError if
        they cannot be. Waits for another Composer's write: never call it on the GUI thread.
        """
        self.save_settings(lambda _current: settings).result()

    def remember_last_used(self, account_id: str) -> None:
        """Note the account chosen in From; saved soon on a thread of its own, never here."""
        with self._lock:
            if account_id == self.settings.last_used_id:
                return
            self.settings = dataclasses.replace(self.settings, last_used_id=account_id)
            self._changed.add("last_used_id")
        self.writer.submit("settings", self._save_current)

    def set_undo_send_seconds(self, seconds: int) -> None:
        """How long Send waits with Undo offered; saved soon on the writer thread."""
        with self._lock:
            self.settings = dataclasses.replace(self.settings, undo_send_seconds=seconds)
            self._changed.add("undo_send_seconds")
        self.writer.submit("settings", self._save_current)

    def set_debug_log(self, enabled: bool) -> None:
        """Whether the log keeps the SMTP conversation; from now on, and saved soon."""
        with self._lock:
            self.settings = dataclasses.replace(self.settings, debug_log=enabled)
            self._changed.add("debug_log")
        logs.set_debug(enabled)
        self.writer.submit("settings", self._save_current)

    def close(self) -> None:
        """Finish pending writes and stop the sandbox server (the program is done with it)."""
        self.writer.close()
        if self._sandbox is not None:  # made only once something went to it
            self._sandbox.stop()
        if self._sent_check is not None:
            # Before leaving: a Composer starting alone then would sweep Sent, and could
            # take the state of a record this check had begun to move aside for an orphan.
            self._sent_check.join(_SENT_CHECK_WAIT)
        self._presence.leave()

    def _write_failed(self, error: Exception) -> None:
        if isinstance(error, OSError):
            self.notify(
                f"Could not save settings in {self.paths.settings_file}: "
                f"{describe_write_error(error)}. They stay as they are while Composer runs, "
                "and it tries again at the next change."
            )
        else:
            log.error("a background write failed", exc_info=error)

    def _replace_settings(self, change: Callable[[AccountSettings], AccountSettings]) -> None:
        with self._write_lock, exclusive(self.paths.settings_lock):
            with self._lock:
                before = self.settings
                settings = change(before)
            self.store.save(settings)
            with self._lock:
                # A change made while they were written stays on top, to be saved next.
                later = {
                    name: getattr(self.settings, name)
                    for name in self._changed
                    if getattr(self.settings, name) != getattr(before, name)
                }
                self._changed = set(later)
                self.settings = dataclasses.replace(settings, **later)

    def _save_current(self) -> None:
        """Write this Composer's own changes into the file as it is now, under its lock, so
        that an account another Composer added meanwhile is kept."""
        with self._write_lock, exclusive(self.paths.settings_lock):
            with self._lock:
                changed = {name: getattr(self.settings, name) for name in self._changed}
                mine = self.settings
            on_disk = self.store.read()
            # Unreadable or gone: what this Composer holds is all there is to keep.
            settings = mine if on_disk is None else dataclasses.replace(on_disk, **changed)
            self.store.save(settings)
            with self._lock:
                for name, value in changed.items():
                    if getattr(self.settings, name) == value:
                        self._changed.discard(name)
                # Changes made while this one was written stay on top.
                later = {name: getattr(self.settings, name) for name in self._changed}
                self.settings = dataclasses.replace(settings, **later)

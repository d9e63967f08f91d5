"""The services one running Composer shares between its windows; no Qt here."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable

from composer.mail.accounts import Account, AccountSettings, AccountStore, sandbox_account
from composer.mail.addressbook import AddressBook
from composer.mail.delivery import Delivery
from composer.mail.progress import ProgressCallback
from composer.mail.sandbox import SandboxServer
from composer.mail.secrets import SecretStore
from composer.paths import Paths

log = logging.getLogger(__name__)

# Called with a sentence for the user, from any thread.
Notify = Callable[[str], None]


class AppContext:
    """Accounts, secrets, the address book and the sandbox server, loaded once from paths.

    ``load_warnings`` says what could not be read at start; later problems (a settings write
    that failed in the background) go to ``notify``.
    """

    def __init__(
        self, paths: Paths, secrets: SecretStore | None = None, *, notify: Notify | None = None
    ) -> None:
        self.paths = paths
        self.store = AccountStore(paths.settings_file)
        loaded = self.store.load()
        self.settings: AccountSettings = loaded.settings
        self.secrets = secrets or SecretStore()
        # Loaded once here (a small file); searched from memory while typing, written by workers.
        self.address_book = AddressBook(paths.address_book)
        self.load_warnings: tuple[str, ...] = (*loaded.warnings, *self.address_book.load())
        self.sandbox = SandboxServer(paths.sandbox_maildir)
        self._notify = notify or (lambda text: log.warning("%s", text))
        self._lock = threading.Lock()
        # Serialises writes only: the GUI thread never waits for a write (and its fsync).
        self._write_lock = threading.Lock()
        self._saver = _SettingsSaver(self._save_current, self._notify)

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

    def delivery(
        self,
        account: Account,
        *,
        password: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> Delivery:
        """One send or connection check for account (password: one typed, not yet stored)."""
        return Delivery(
            account,
            self.secrets,
            self.sandbox,
            password=password,
            progress=progress,
            address_book=self.address_book,
        )

    def update_settings(self, settings: AccountSettings) -> None:
        """Replace and save the settings now; raises OSError if the file cannot be written."""
        with self._write_lock:
            self.store.save(settings)
            with self._lock:
                self.settings = settings

    def remember_last_used(self, account_id: str) -> None:
        """Note the account chosen in From; saved soon on a thread of its own, never here."""
        with self._lock:
            if account_id == self.settings.last_used_id:
                return
            self.settings = dataclasses.replace(self.settings, last_used_id=account_id)
        self._saver.request()

    def close(self) -> None:
        """Finish pending writes and stop the sandbox server (the program is done with it)."""
        self._saver.close()
        self.sandbox.stop()

    def _save_current(self) -> None:
        with self._write_lock:
            with self._lock:
                settings = self.settings
            self.store.save(settings)


class _SettingsSaver:
    """Writes the settings on a background thread, once for any number of quick requests.

    Choosing accounts in From one after another costs one write (with its fsync), off the
    thread that asked.
    """

    def __init__(self, save: Callable[[], None], notify: Notify) -> None:
        self._save = save
        self._notify = notify
        self._wake = threading.Condition()
        self._pending = False
        self._closed = False
        self._thread: threading.Thread | None = None

    def request(self) -> None:
        with self._wake:
            if self._closed:
                return
            self._pending = True
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="composer-settings", daemon=True
                )
                self._thread.start()
            self._wake.notify()

    def close(self) -> None:
        """Write what is pending, then stop the thread."""
        with self._wake:
            self._closed = True
            thread = self._thread
            self._wake.notify()
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if not self._pending:
                    return
                self._pending = False
            try:
                self._save()
            except OSError as error:
                self._notify(f"Could not save settings: {error}.")

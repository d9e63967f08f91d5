"""The services one running Composer shares between its windows; no Qt here."""

from __future__ import annotations

import dataclasses
import threading

from composer.mail.accounts import Account, AccountSettings, AccountStore, sandbox_account
from composer.mail.addressbook import AddressBook
from composer.mail.sandbox import SandboxServer
from composer.mail.secrets import SecretStore
from composer.paths import Paths


class AppContext:
    """Accounts, secrets and the sandbox server, loaded once from paths."""

    def __init__(self, paths: Paths, secrets: SecretStore | None = None) -> None:
        self.paths = paths
        self.store = AccountStore(paths.settings_file)
        loaded = self.store.load()
        self.settings: AccountSettings = loaded.settings
        self.warnings: list[str] = list(loaded.warnings)
        self.secrets = secrets or SecretStore()
        # Loaded once here (a small file); searched from memory while typing, written by workers.
        self.address_book = AddressBook(paths.address_book)
        self.warnings.extend(self.address_book.load())
        self.sandbox = SandboxServer(paths.sandbox_maildir)
        self._lock = threading.Lock()
        self._users = 0

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

    def update_settings(self, settings: AccountSettings) -> None:
        """Replace and save the settings; raises OSError if the file cannot be written."""
        with self._lock:
            self.store.save(settings)
            self.settings = settings

    def remember_last_used(self, account_id: str) -> None:
        if account_id == self.settings.last_used_id:
            return
        try:
            self.update_settings(dataclasses.replace(self.settings, last_used_id=account_id))
        except OSError as error:
            self.warnings.append(f"Could not save settings: {error}")

    def attach(self) -> None:
        """A window starts using this context."""
        self._users += 1

    def detach(self) -> None:
        """A window is done with it; the last one stops the sandbox server."""
        self._users = max(0, self._users - 1)
        if not self._users:
            self.sandbox.stop()

"""A keyring backend that keeps passwords in a dict, so tests never touch the OS keyring."""

from __future__ import annotations

import keyring.errors
from keyring.backend import KeyringBackend


class MemoryKeyring(KeyringBackend):
    """Stores (service, username) -> password in memory; lives as long as the instance."""

    priority = 1  # type: ignore[assignment]  # keyring declares it as a classproperty
    # Every backend class registers itself with keyring; this one is only ever set explicitly,
    # so keyring's own discovery must not pick it (or instantiate it) as a system default.
    viable = False

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.passwords[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError("no such password") from None


class LockedKeyring(MemoryKeyring):
    """A keyring that reads and stores but cannot delete, as a locked collection refuses."""

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.KeyringLocked("the collection is locked")

"""Passwords: kept in the OS keyring (service "composer"), or in memory for this session only.

This is the only module that touches ``keyring``. A backend that stores secrets in a plain or
merely obfuscated file (keyrings.alt's file backends) counts as no keyring at all.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

# keyring is imported where it is used: loading it and its backends costs more than a tenth
# of a second, which the window's start-up should not pay before anyone sends.

log = logging.getLogger(__name__)

SERVICE = "composer"

# Modules whose backends cannot keep a secret: they fail, forget, or write files anyone can read.
_UNSAFE_MODULES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")


class KeyringUnavailable(Exception):
    """No trustworthy keyring could store or read a password; says why."""


def _is_safe(backend: KeyringBackend) -> bool:
    module = type(backend).__module__
    return not any(module == m or module.startswith(m + ".") for m in _UNSAFE_MODULES)


def usable_backend(backend: KeyringBackend) -> KeyringBackend | None:
    """The backend to trust with passwords, or None; a chain keeps only its safe members."""
    from keyring.backends.chainer import ChainerBackend

    if isinstance(backend, ChainerBackend):
        # A chain falls through to its next member on failure: that member must not be a file.
        safe = [b for b in backend.backends if _is_safe(b)]
        return safe[0] if safe else None
    return backend if _is_safe(backend) else None


class SecretStore:
    """Stores passwords by account id; thread-safe so workers can read them off the GUI thread."""

    def __init__(self, service: str = SERVICE) -> None:
        self.service = service
        self._session: dict[str, str] = {}
        self._lock = threading.Lock()

    def _backend(self) -> KeyringBackend:
        import keyring

        chosen = keyring.get_keyring()
        backend = usable_backend(chosen)
        if backend is None:
            raise KeyringUnavailable(
                "no secure keyring is available on this system "
                f"(keyring chose {type(chosen).__module__}.{type(chosen).__name__})"
            )
        return backend

    def get(self, account_id: str) -> str | None:
        """The password for account_id, None if none is stored; raises KeyringUnavailable."""
        with self._lock:
            if account_id in self._session:
                return self._session[account_id]
        try:
            return self._backend().get_password(self.service, account_id)
        except KeyringUnavailable:
            raise
        except Exception as error:
            log.warning("reading a password from the keyring failed: %s", type(error).__name__)
            raise KeyringUnavailable(_reason(error)) from error

    def set(self, account_id: str, password: str) -> None:
        """Store in the keyring; raises KeyringUnavailable and then stores nothing."""
        try:
            self._backend().set_password(self.service, account_id, password)
        except KeyringUnavailable:
            raise
        except Exception as error:
            log.warning("storing a password in the keyring failed: %s", type(error).__name__)
            raise KeyringUnavailable(_reason(error)) from error
        with self._lock:
            self._session.pop(account_id, None)

    def keep_for_session(self, account_id: str, password: str) -> None:
        """Hold the password in memory only, until Composer quits."""
        with self._lock:
            self._session[account_id] = password

    def left_behind(self, key: str, why: str) -> str:
        """The end of a sentence telling the user that the secret under key is still in the
        keyring, since deleting it failed (why), and how to remove it by hand."""
        return (
            f"deleting it failed ({why}). Remove the entry for service “{self.service}”, user "
            f"“{key}” with your keyring manager (for example Passwords and Keys)."
        )

    def delete(self, account_id: str) -> None:
        """Forget the password everywhere.

        Raises KeyringUnavailable when the keyring could not be asked to delete it: the
        password may then still be stored there, and the user must be told. With no keyring
        at all nothing can be stored in one, so there is nothing to delete.
        """
        with self._lock:
            self._session.pop(account_id, None)
        from keyring.errors import PasswordDeleteError

        try:
            backend = self._backend()
        except KeyringUnavailable:
            return
        try:
            backend.delete_password(self.service, account_id)
        except PasswordDeleteError:
            pass  # nothing was stored
        except Exception as error:
            log.warning("deleting a password from the keyring failed: %s", type(error).__name__)
            raise KeyringUnavailable(_reason(error)) from error


def _reason(error: BaseException) -> str:
    text = str(error).strip()
    name = type(error).__name__
    return f"{name}: {text}" if text else name

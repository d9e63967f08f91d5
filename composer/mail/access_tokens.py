"""The access tokens sends log in with: held in memory by account, refreshed with the
refresh token the keyring keeps (rotated ones stored, refused ones deleted)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from composer.mail.errors import ErrorKind, SendError, SignInFailed, SignInNeeded
from composer.mail.oauth import SignInUnavailable, Tokens, oauth_secret_key, refresh
from composer.mail.request_guard import Stop

if TYPE_CHECKING:
    from composer.mail.accounts import Account
    from composer.mail.oauth_registry import OAuthRegistry
    from composer.mail.secrets import SecretStore

log = logging.getLogger(__name__)


class AccessTokens:
    """Access tokens in memory by account id; refreshed from the keyring's refresh token.

    Thread-safe; one refresh at a time per account, since a provider that rotates refresh
    tokens honours only the newest.
    """

    def __init__(
        self,
        secrets: SecretStore,
        registry: Callable[[], OAuthRegistry],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secrets = secrets
        self._registry = registry
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, Tokens] = {}
        self._account_locks: dict[str, threading.Lock] = {}
        # Accounts removed (or switched to a password): nothing of theirs is kept again.
        self._retired: set[str] = set()

    def remember(self, account_id: str, tokens: Tokens) -> None:
        """Keep the access token of a sign-in just finished (the refresh token is the
        keyring's: the caller stores it)."""
        with self._lock:
            self._tokens[account_id] = tokens
            self._retired.discard(account_id)

    def forget(self, account_id: str) -> None:
        with self._lock:
            self._tokens.pop(account_id, None)

    def held_refresh_token(self, account_id: str) -> str:
        """The refresh token held in memory for account_id ("" if none): what can still be
        revoked when the keyring cannot be read."""
        with self._lock:
            held = self._tokens.get(account_id)
        return held.refresh_token if held is not None else ""

    def retire(self, account_id: str) -> str:
        """The account no longer signs in here (removed, or a password chosen): forget its
        tokens, wait for a refresh under way, and never store one for it again. Returns the
        refresh token held in memory, if any, for revoking."""
        with self._lock:
            account_lock = self._account_locks.setdefault(account_id, threading.Lock())
        with account_lock, self._lock:
            self._retired.add(account_id)
            held = self._tokens.pop(account_id, None)
        return held.refresh_token if held is not None else ""

    def get(self, account: Account, *, fresh: bool = False, stop: Stop | None = None) -> str:
        """An access token for account; fresh: not the one held (the server refused it);
        stop ends a refresh under way (the send was cancelled).

        Raises SendError: SIGN_IN_NEEDED when only signing in again can help, KEYRING,
        UNREACHABLE or TIMEOUT when the provider could not be asked (retryable), AUTH_FAILED
        for a refusal of another kind.
        """
        with self._lock:
            account_lock = self._account_locks.setdefault(account.id, threading.Lock())
        with account_lock:
            with self._lock:
                held = self._tokens.get(account.id)
                retired = account.id in self._retired
            if retired:
                raise _retired(account)
            if held is not None and not fresh and held.fresh(self._clock()):
                return held.access_token
            registry = self._registry()
            server = registry.server(account.oauth)
            client = registry.client(account.oauth)
            if server is None or client is None:
                raise SendError(
                    ErrorKind.AUTH_FAILED,
                    registry.why_not(account)
                    or f"Composer does not know how to sign in {account.name} (its sign-in "
                    f"“{account.oauth}” is not set up). Choose another login in Accounts.",
                )
            stored = self._refresh_token(account, held)
            try:
                tokens = refresh(server, client, stored, stop=stop)
            except SignInNeeded as error:
                self.forget(account.id)
                # A refresh token the provider refuses is worth nothing: Accounts must say
                # the account is not signed in, not find it and say it is.
                self._discard(account, stored)
                raise SendError(
                    ErrorKind.SIGN_IN_NEEDED,
                    f"Sign in again to {server.name} for {account.name}: {error}",
                ) from error
            except SignInFailed as error:
                raise _not_asked(error) from error
            with self._lock:
                retired = account.id in self._retired
            if retired:  # removed while the refresh was under way
                raise _retired(account)
            if tokens.refresh_token != stored:
                self._store(account, tokens.refresh_token)
            with self._lock:
                self._tokens[account.id] = tokens
            return tokens.access_token

    def _refresh_token(self, account: Account, held: Tokens | None) -> str:
        """The keyring's refresh token; else that of a sign-in not yet saved in Accounts."""
        from composer.mail.secrets import KeyringUnavailable

        try:
            stored = self._secrets.get(oauth_secret_key(account.id))
        except KeyringUnavailable as error:
            if held is not None and held.refresh_token:
                return held.refresh_token
            raise SendError(
                ErrorKind.KEYRING,
                f"Could not read the sign-in of {account.name} from the system keyring "
                f"({error}). Unlock the keyring, or sign in again in Accounts.",
            ) from error
        if not stored and held is not None:
            stored = held.refresh_token
        if not stored:
            raise SendError(
                ErrorKind.SIGN_IN_NEEDED,
                f"Sign in again for {account.name}: it is not signed in on this computer.",
            )
        return stored

    def _discard(self, account: Account, refused: str) -> None:
        from composer.mail.secrets import KeyringUnavailable

        key = oauth_secret_key(account.id)
        try:
            if self._secrets.get(key) == refused:  # not a newer sign-in saved meanwhile
                self._secrets.delete(key)
        except KeyringUnavailable:
            log.warning("could not delete a withdrawn sign-in from the keyring")

    def _store(self, account: Account, refresh_token: str) -> None:
        """Keep a rotated refresh token: the old one may no longer work."""
        from composer.mail.secrets import KeyringUnavailable

        key = oauth_secret_key(account.id)
        try:
            self._secrets.set(key, refresh_token)
        except KeyringUnavailable:
            self._secrets.keep_for_session(key, refresh_token)


def _retired(account: Account) -> SendError:
    return SendError(
        ErrorKind.SIGN_IN_NEEDED,
        f"Sign in again for {account.name}: its sign-in was removed on this computer.",
    )


def _not_asked(error: SignInFailed) -> SendError:
    kind = error.kind if isinstance(error, SignInUnavailable) else ErrorKind.AUTH_FAILED
    if kind is ErrorKind.CANCELLED:
        return SendError(kind, "Sending was cancelled. Your message is unchanged.")
    return SendError(kind, str(error))

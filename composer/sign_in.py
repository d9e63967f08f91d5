"""Signing an account in with its provider in the browser, and what follows: the refresh
token into the keyring, held messages due again, and the grant withdrawn when the account
goes. Everything that waits (the browser, the network, the keyring) runs on the send
service's worker threads; results come back on the GUI thread."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable

from PySide6.QtCore import QObject, Signal, Slot

from composer.context import AppContext
from composer.mail.accounts import Account
from composer.mail.errors import ErrorKind, SendError, SignInFailed
from composer.mail.oauth import SIGN_IN_TIMEOUT, SignIn, Tokens, oauth_secret_key, revoke
from composer.mail.oauth_servers import OAuthClient, OAuthServer
from composer.mail.outbox import EntryState, Outbox, OutboxError
from composer.mail.secrets import KeyringUnavailable
from composer.send_service import SendService


class BrowserSignIn(QObject):
    """One sign-in of one account in the browser, on a worker thread.

    Belongs to the send service, since it outlives the dialog that started it, and deletes
    itself once its thread has ended. Every signal carries nothing of another account: the
    account it is for is account_id, fixed when it starts.

    Signals:
        url_ready(str): the address to open in the browser (the listener is waiting).
        signed_in(object): the Tokens the provider gave.
        failed(str): why not, in words (a cancel included).
        finished(): the thread has ended; drop every reference.
    """

    url_ready = Signal(str)
    signed_in = Signal(object)
    failed = Signal(str)
    finished = Signal()
    _url_found = Signal(str)  # emitted on the worker; a bound slot here makes it queued

    def __init__(
        self,
        sending: SendService,
        account: Account,
        server: OAuthServer,
        client: OAuthClient,
        *,
        timeout: float = SIGN_IN_TIMEOUT,
    ) -> None:
        super().__init__(sending)
        self.account_id = account.id
        self.email = account.email
        self.server = server
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._flow: SignIn | None = None
        self._url_found.connect(self._on_url_found)
        login_hint = account.email

        def job() -> object:
            return self._run(server, client, login_hint, timeout)

        self._task = task = sending.run(job, cancel=self.cancel)
        task.succeeded.connect(self._on_succeeded)
        task.failed.connect(self._on_failed)
        task.finished.connect(self._on_finished)

    def cancel(self) -> None:
        """Stop waiting for the browser; failed follows within a moment. Any thread."""
        self._cancelled.set()
        with self._lock:
            flow = self._flow
        if flow is not None:
            flow.cancel()

    def is_cancelled(self) -> bool:
        return self._cancelled.is_set()

    def _run(self, server: OAuthServer, client: OAuthClient, hint: str, timeout: float) -> Tokens:
        """On the worker: listen, hand out the address, wait for the browser, get tokens."""
        try:
            flow = SignIn(server, client, hint, timeout=timeout)
        except OSError as error:
            raise SendError(
                ErrorKind.INTERNAL,
                f"Composer could not wait for the browser on this computer ({error}).",
            ) from error
        with self._lock:
            self._flow = flow
        if self._cancelled.is_set():
            flow.cancel()
        else:
            self._url_found.emit(flow.url)
        try:
            return flow.finish(self._cancelled.is_set)
        except SignInFailed as error:
            raise SendError(ErrorKind.AUTH_FAILED, str(error)) from error

    @Slot(str)
    def _on_url_found(self, url: str) -> None:
        if not self._cancelled.is_set():
            self.url_ready.emit(url)

    @Slot(object)
    def _on_succeeded(self, tokens: object) -> None:
        if self._cancelled.is_set():
            self.failed.emit("Signing in was cancelled.")
        elif isinstance(tokens, Tokens):
            self.signed_in.emit(tokens)

    @Slot(object)
    def _on_failed(self, error: object) -> None:
        if self._cancelled.is_set():
            self.failed.emit("Signing in was cancelled.")
        else:
            self.failed.emit(error.message if isinstance(error, SendError) else str(error))

    @Slot()
    def _on_finished(self) -> None:
        self.finished.emit()
        self.deleteLater()


def resume_held(outbox: Outbox, account_ids: Iterable[str]) -> list[str]:
    """Make due again each message of these accounts held because a sign-in was needed;
    on a worker thread (each is a state write). Returns their keys."""
    ids = set(account_ids)
    resumed: list[str] = []
    for entry in outbox.entries():
        if (
            entry.account_id in ids
            and entry.state is EntryState.HELD
            and entry.last_error_kind == ErrorKind.SIGN_IN_NEEDED.value
        ):
            with contextlib.suppress(OutboxError, OSError):  # sent or deleted meanwhile
                outbox.send_now(entry.key)
                resumed.append(entry.key)
    return resumed


def withdraw(context: AppContext, account: Account) -> str:
    """Retire the account's sign-in (no token refreshed or kept for it again), revoke its
    refresh token at its provider (where it offers that), then delete it from the keyring;
    on a worker thread.

    Returns what the user must know ("" when all went well): the keyring entry is deleted
    even when revoking failed.
    """
    # First: a send or refresh under way must not store a token again after it is deleted.
    held = context.access_tokens.retire(account.id)
    key = oauth_secret_key(account.id)
    said: list[str] = []
    registry = context.oauth()
    server, client = registry.server(account.oauth), registry.client(account.oauth)
    unreadable = False
    try:
        token = context.secrets.get(key) or held
    except KeyringUnavailable:
        unreadable = True
        token = held  # the one in memory, when this session signed in or refreshed
    if server is not None and client is not None and token:
        said.extend(_revoke(account, server, client, token))
    elif unreadable and server is not None and server.revocation_endpoint:
        said.append(
            f"“{account.name}” no longer signs in with {server.name}, but the permission it "
            f"gave Composer at {server.name} was not withdrawn: Composer could not read the "
            f"sign-in from the system keyring. Withdraw it in your {server.name} account's "
            "security settings (where the apps with access to your account are listed)."
        )
    try:
        context.secrets.delete(key)
    except KeyringUnavailable as error:
        said.append(
            f"The sign-in of “{account.name}” is still in the system keyring: "
            f"{context.secrets.left_behind(key, str(error))}"
        )
    return " ".join(said)


def _revoke(account: Account, server: OAuthServer, client: OAuthClient, token: str) -> list[str]:
    """Withdraw the grant behind token; what the user must know when that failed."""
    try:
        revoke(server, client, token)
    except SignInFailed as error:
        return [
            f"“{account.name}” no longer signs in with {server.name}, but Composer could "
            f"not withdraw its permission there: {error} You can withdraw it yourself in "
            f"your {server.name} account's security settings."
        ]
    return []

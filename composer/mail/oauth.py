"""Signing in with a provider (OAuth2 authorization code with PKCE, RFC 7636 and 8252), and
the access tokens a send logs in with.

authlib does the protocol (the authorization URL, the S256 challenge, the token, refresh and
revocation requests and their error replies) over httpx2, which takes Composer's own verifying
TLS context. Everything here blocks: it runs on worker threads. The refresh token lives only
in the keyring (``oauth_secret_key``), the access token only in memory.
"""

from __future__ import annotations

import contextlib
import logging
import secrets as random_tokens
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from composer.mail.certificates import verifying_context
from composer.mail.errors import ErrorKind, SendError, SignInFailed, SignInNeeded, server_reply
from composer.mail.oauth_servers import OAuthClient, OAuthServer
from composer.mail.request_guard import ReplyTooLarge, Stop

if TYPE_CHECKING:
    from authlib.integrations.httpx_client import OAuth2Client

    from composer.mail.accounts import Account
    from composer.mail.oauth_settings import OAuthRegistry
    from composer.mail.request_guard import RequestGuard
    from composer.mail.secrets import SecretStore

log = logging.getLogger(__name__)

__all__ = [
    "AccessTokens",
    "SignIn",
    "SignInFailed",
    "SignInNeeded",
    "Tokens",
    "oauth_secret_key",
    "refresh",
    "revoke",
]

SIGN_IN_TIMEOUT = 300.0  # seconds the user has to finish signing in in the browser
HTTP_TIMEOUT = 30.0  # seconds for each request to a token or revocation endpoint
# An access token this close to its end is refreshed before a send rather than during it.
_LEEWAY = 60.0
# What an access token without expires_in is taken to last (RFC 6749 leaves it open).
_DEFAULT_LIFETIME = 3600.0


def oauth_secret_key(account_id: str) -> str:
    """Where the account's refresh token is kept in the keyring."""
    return f"{account_id}:oauth"


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str  # "" when the server sent none (a refresh keeps the one it had)
    expires_at: float  # time.time() when the access token ends

    def __repr__(self) -> str:
        return f"Tokens(expires_at={self.expires_at!r})"  # never the tokens themselves

    def fresh(self, now: float | None = None) -> bool:
        return (now if now is not None else time.time()) < self.expires_at - _LEEWAY


class SignIn:
    """One sign-in in the browser: open ``url``, then finish() waits for the way back.

    Constructing it starts the loopback listener (on the calling worker thread).
    """

    def __init__(
        self,
        server: OAuthServer,
        client: OAuthClient,
        login_hint: str = "",
        *,
        timeout: float = SIGN_IN_TIMEOUT,
    ) -> None:
        # Loaded on the first sign-in: http.server is not needed before.
        from composer.mail.oauth_redirect import LoopbackRedirect

        self.server = server
        self._client = client
        self._stop = Stop()
        self._state = random_tokens.token_urlsafe(32)
        # 86 characters of the unreserved set: within RFC 7636's 43 to 128.
        self._verifier = random_tokens.token_urlsafe(64)
        self._redirect = LoopbackRedirect(
            self._state, timeout=timeout, host_name=server.redirect_host
        )
        extra = dict(server.extra_params)
        if login_hint:
            extra["login_hint"] = login_hint
        with _session(server, client, self._redirect.redirect_uri) as session:
            self.url, _ = session.create_authorization_url(
                server.authorization_endpoint,
                state=self._state,
                code_verifier=self._verifier,
                **extra,
            )

    @property
    def redirect_uri(self) -> str:
        return self._redirect.redirect_uri

    def cancel(self) -> None:
        """Stop waiting, or the token request under way; finish() raises SignInFailed
        within a moment. Any thread."""
        self._stop.set()

    def finish(self, cancelled: Callable[[], bool] = lambda: False) -> Tokens:
        """Wait for the browser to come back, then trade its code for tokens; raises
        SignInFailed (a wrong state, an error, the time up, cancelled, a refusal)."""
        callback = self._redirect.wait(lambda: self._stop.is_set() or cancelled())
        server = self.server
        token = _request(
            server,
            self._client,
            lambda session: session.fetch_token(
                server.token_endpoint,
                authorization_response=callback,
                state=self._state,
                code_verifier=self._verifier,
            ),
            stop=self._stop,
            redirect_uri=self._redirect.redirect_uri,
        )
        if self._stop.is_set() or cancelled():
            raise SignInFailed("Signing in was cancelled.")
        tokens = _tokens(token, "")
        if not tokens.refresh_token:
            raise SignInFailed(
                f"{server.name} signed you in but gave Composer no lasting permission (no "
                "refresh token), so Composer could not send later without asking again. Try "
                "again; if it keeps happening, check the client registration (see the README)."
            )
        return tokens


def refresh(
    server: OAuthServer,
    client: OAuthClient,
    refresh_token: str,
    *,
    timeout: float = HTTP_TIMEOUT,
    stop: Stop | None = None,
) -> Tokens:
    """A new access token (and maybe a new refresh token); raises SignInNeeded when the
    grant was withdrawn or has expired, SignInFailed otherwise (within timeout seconds,
    or at once when stop is set)."""
    token = _request(
        server,
        client,
        lambda session: session.refresh_token(server.token_endpoint, refresh_token=refresh_token),
        timeout=timeout,
        stop=stop,
    )
    return _tokens(token, refresh_token)


def revoke(
    server: OAuthServer,
    client: OAuthClient,
    token: str,
    *,
    timeout: float = HTTP_TIMEOUT,
    stop: Stop | None = None,
) -> bool:
    """Withdraw the grant behind token (RFC 7009); False when the server offers no way to.

    Raises SignInFailed when the server could not be asked or refused.
    """
    if not server.revocation_endpoint:
        return False
    response = _request(
        server,
        client,
        lambda session: session.revoke_token(
            server.revocation_endpoint,
            token=token,
            token_type_hint="refresh_token",  # noqa: S106 (a kind of token)
        ),
        timeout=timeout,
        stop=stop,
    )
    # RFC 7009 §2.2: 200 also for a token the server no longer knows; 400 invalid_token
    # from Google for one already withdrawn. Either way nothing is left to withdraw.
    status = int(response.status_code)
    if status == 200 or (
        status == 400 and _error_of(response) in ("invalid_token", "invalid_grant")
    ):
        return True
    raise SignInFailed(
        f"{server.name} did not withdraw Composer's permission (HTTP {status}). You can "
        f"withdraw it yourself in your {server.name} account's security settings."
    )


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


class _Unavailable(SignInFailed):
    """The provider could not be asked (the network, its certificate, time): a later try may
    work."""

    def __init__(self, text: str, kind: ErrorKind) -> None:
        super().__init__(text)
        self.kind = kind


def _not_asked(error: SignInFailed) -> SendError:
    kind = error.kind if isinstance(error, _Unavailable) else ErrorKind.AUTH_FAILED
    if kind is ErrorKind.CANCELLED:
        return SendError(kind, "Sending was cancelled. Your message is unchanged.")
    return SendError(kind, str(error))


def shown(text: str) -> str:
    """Text from a provider, as one line with its control characters escaped."""
    return server_reply(-1, text)


def _request(
    server: OAuthServer,
    client: OAuthClient,
    call: Callable[[OAuth2Client], Any],
    *,
    timeout: float = HTTP_TIMEOUT,
    stop: Stop | None = None,
    redirect_uri: str | None = None,
) -> Any:
    """call(session)'s result, within timeout seconds for the whole request and a bounded
    reply; its failure as a SignInFailed in words."""
    from composer.mail.request_guard import RequestGuard

    guard = RequestGuard(timeout)
    try:
        with (
            stop.watching(guard) if stop is not None else contextlib.nullcontext(),
            _session(server, client, redirect_uri, timeout=timeout, hooks=guard.hooks()) as session,
        ):
            return _asking(server, guard, lambda: call(session))
    finally:
        guard.close()


def _session(
    server: OAuthServer,
    client: OAuthClient,
    redirect_uri: str | None,
    *,
    timeout: float = HTTP_TIMEOUT,
    hooks: dict[str, list[Callable[[Any], None]]] | None = None,
) -> OAuth2Client:
    from authlib.integrations.httpx_client import OAuth2Client

    return OAuth2Client(
        client_id=client.client_id,
        client_secret=client.client_secret or None,
        # A public client (Microsoft's desktop registrations) proves itself by PKCE alone.
        token_endpoint_auth_method="client_secret_post" if client.client_secret else "none",
        revocation_endpoint_auth_method="client_secret_post" if client.client_secret else "none",
        scope=" ".join(server.scopes),
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        verify=verifying_context(),
        timeout=timeout,
        # Like SMTP, no proxy from the environment; and no other CA file than Composer's.
        trust_env=False,
        follow_redirects=False,
        event_hooks=hooks or {},
    )


def _asking(server: OAuthServer, guard: RequestGuard, request: Callable[[], Any]) -> Any:
    """request()'s result; its failure as a SignInFailed in words."""
    try:
        return request()
    except Exception as error:
        worded = _worded(server, guard, error)
        if worded is None:
            raise
        raise worded from error


def _worded(server: OAuthServer, guard: RequestGuard, error: Exception) -> SignInFailed | None:
    """What error means for the user; None for a fault of Composer's own."""
    import httpx2
    from authlib.integrations.base_client import OAuthError

    host = urllib.parse.urlsplit(server.token_endpoint).hostname or server.token_endpoint
    # The guard ended it (by shutting the socket): that, not the read that broke, is why.
    if guard.ended == "cancelled":
        return _Unavailable("Signing in was cancelled.", ErrorKind.CANCELLED)
    if guard.ended == "time":
        return _Unavailable(
            f"{host} did not finish answering within {guard.seconds:g} seconds. Check your "
            "internet connection and try again.",
            ErrorKind.TIMEOUT,
        )
    if isinstance(error, ReplyTooLarge):
        return _Unavailable(
            f"{host} sent a reply far larger than a sign-in server's, so Composer stopped "
            "reading it. Try again later.",
            ErrorKind.SERVER_ERROR,
        )
    if isinstance(error, OAuthError):
        code = str(error.error or "")
        said = shown(str(error.description or "")[:300])
        if code == "invalid_grant":
            return SignInNeeded(
                "the permission Composer was given has been withdrawn or has expired"
                + (f" ({said})." if said else ".")
            )
        if code in ("invalid_client", "unauthorized_client"):
            return SignInFailed(
                f"{server.name} does not accept Composer's client registration "
                f"({shown(code)}{': ' + said if said else ''}). Check the client ID "
                "(see “Sign in with Google or Microsoft” in the README)."
            )
        return SignInFailed(
            f"{server.name} refused the sign-in ({shown(code[:60])}"
            f"{': ' + said if said else ''}). Try again."
        )
    if isinstance(error, httpx2.TimeoutException):
        return _Unavailable(
            f"{host} did not answer in time. Check your internet connection and try again.",
            ErrorKind.TIMEOUT,
        )
    if isinstance(error, httpx2.HTTPStatusError):
        return _Unavailable(
            f"{host} answered with an error (HTTP {error.response.status_code}). Try again later.",
            ErrorKind.SERVER_ERROR,
        )
    if isinstance(error, httpx2.HTTPError):
        return _Unavailable(_network_words(host, error), ErrorKind.UNREACHABLE)
    if isinstance(error, ValueError):  # a reply that is no JSON object
        return _Unavailable(
            f"{host} did not answer as a sign-in server does. Try again later.",
            ErrorKind.SERVER_ERROR,
        )
    return None


def _network_words(host: str, error: BaseException) -> str:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return (
                f"The certificate of {host} could not be verified "
                f"({shown(cause.verify_message or 'untrusted')}), so Composer did not "
                "sign in there. Check the computer's date and network; a network that "
                "intercepts secure connections can cause this."
            )
        cause = cause.__cause__ or cause.__context__
    return f"Could not reach {host} to sign in. Check your internet connection and try again."


def _error_of(response: Any) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    return str(data.get("error", "")) if isinstance(data, dict) else ""


def _tokens(token: Any, previous_refresh: str) -> Tokens:
    access = token.get("access_token") if isinstance(token, dict) else None
    if not isinstance(access, str) or not access:
        raise _Unavailable(
            "The sign-in server answered without an access token. Try again later.",
            ErrorKind.SERVER_ERROR,
        )
    refresh_token = token.get("refresh_token")
    try:  # a number, or a string of one from some servers
        seconds: float | None = float(token.get("expires_in"))
    except (TypeError, ValueError):
        seconds = None
    if seconds is not None and seconds <= 0:
        seconds = 0.0  # said to be over already: refreshed before its next use
    elif seconds is not None and seconds >= 10**8:
        seconds = None
    return Tokens(
        access_token=access,
        refresh_token=refresh_token
        if isinstance(refresh_token, str) and refresh_token
        else previous_refresh,
        expires_at=time.time() + (seconds if seconds is not None else _DEFAULT_LIFETIME),
    )

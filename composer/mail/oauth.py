"""Signing in with a provider (OAuth2 authorization code with PKCE, RFC 7636 and 8252), and
refreshing and revoking what it gave (access_tokens.py holds the tokens sends use).

authlib does the protocol (the authorization URL, the S256 challenge, the token, refresh and
revocation requests and their error replies) over httpx2, which takes Composer's own verifying
TLS context. Everything here blocks: it runs on worker threads. The refresh token lives only
in the keyring (``oauth_secret_key``), the access token only in memory.
"""

from __future__ import annotations

import contextlib
import secrets as random_tokens
import ssl
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from composer.mail.certificates import verifying_context
from composer.mail.errors import ErrorKind, SignInFailed, SignInNeeded, server_reply
from composer.mail.oauth_servers import OAuthClient, OAuthServer
from composer.mail.request_guard import ReplyTooLarge, Stop

if TYPE_CHECKING:
    from authlib.integrations.httpx_client import OAuth2Client

    from composer.mail.request_guard import RequestGuard

__all__ = [
    "SignIn",
    "SignInFailed",
    "SignInNeeded",
    "SignInUnavailable",
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
    raise SignInFailed(f"{server.name} did not withdraw Composer's permission (HTTP {status}).")


class SignInUnavailable(SignInFailed):
    """The provider could not be asked (the network, its certificate, time): a later try may
    work."""

    def __init__(self, text: str, kind: ErrorKind) -> None:
        super().__init__(text)
        self.kind = kind


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
        return SignInUnavailable("Signing in was cancelled.", ErrorKind.CANCELLED)
    if guard.ended == "time":
        return SignInUnavailable(
            f"{host} did not finish answering within {guard.seconds:g} seconds. Check your "
            "internet connection and try again.",
            ErrorKind.TIMEOUT,
        )
    if isinstance(error, ReplyTooLarge):
        return SignInUnavailable(
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
        return SignInUnavailable(
            f"{host} did not answer in time. Check your internet connection and try again.",
            ErrorKind.TIMEOUT,
        )
    if isinstance(error, httpx2.HTTPStatusError):
        return SignInUnavailable(
            f"{host} answered with an error (HTTP {error.response.status_code}). Try again later.",
            ErrorKind.SERVER_ERROR,
        )
    if isinstance(error, httpx2.HTTPError):
        return SignInUnavailable(_network_words(host, error), ErrorKind.UNREACHABLE)
    if isinstance(error, ValueError):  # a reply that is no JSON object
        return SignInUnavailable(
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
        raise SignInUnavailable(
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

"""A real OAuth2 authorization server on 127.0.0.1 over HTTPS, built from oauthlib's
WebApplicationServer: the authorization, token and revocation endpoints sign-in tests use.

The "browser" approves every authorization request for the one registered user (unless
``deny`` is set), so a test follows the authorization URL (tests/browser.py) and the redirect
reaches the app's loopback listener. PKCE with S256 is required of every client. oauthlib
checks transport security on its client side only (``is_secure_transport``, which
``OAUTHLIB_INSECURE_TRANSPORT`` turns off): its server side never looks at a redirect URI's
scheme, so RFC 8252's ``http://127.0.0.1:PORT/`` redirects need no setting, and the endpoints
themselves are HTTPS.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import http.server
import json
import secrets
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
import trustme
from oauthlib import common
from oauthlib.oauth2 import RequestValidator, WebApplicationServer
from oauthlib.oauth2.rfc6749 import errors

from tests.servers import HOST, USERNAME, SmtpServer, running, server_tls_context, starttls_server

# Like Microsoft's registrations for desktop apps: a client id and no secret.
PUBLIC_CLIENT_ID = "composer-public"
# Like Google's desktop client, whose "secret" is shipped with the program.
DESKTOP_CLIENT_ID = "composer-desktop.apps.example.test"
DESKTOP_CLIENT_SECRET = "desktop-secret-not-so-secret"
ACCESS_TOKEN_BYTES = 1500
GRANT_TYPES = ("authorization_code", "refresh_token")
# (headers, body, status), as oauthlib's endpoints answer.
_Response = tuple[dict[str, str], str | None, int]


@dataclass
class _Grant:
    """What the user approved for a client; revoking any of its tokens ends all of them."""

    user: str
    client_id: str
    scopes: tuple[str, ...]
    revoked: bool = False


@dataclass(frozen=True)
class _Code:
    grant: _Grant
    redirect_uri: str
    challenge: str
    challenge_method: str


@dataclass
class _Access:
    grant: _Grant
    expires_at: float


@dataclass(frozen=True)
class _Client:
    client_id: str  # oauthlib reads request.client.client_id


def _is_loopback_redirect(uri: str) -> bool:
    """RFC 8252 §7.3: http on 127.0.0.1, any port, any path; or localhost, as Microsoft
    Entra registers desktop apps."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    return parts.scheme == "http" and parts.hostname in (HOST, "localhost")


def _basic_credentials(request: Any) -> tuple[str, str] | None:
    """client_secret_basic (RFC 6749 §2.3.1): form-encoded id and secret in a Basic header."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return unquote(client_id), unquote(secret)


def _require_s256(request: Any) -> dict[str, str]:
    # oauthlib accepts "plain" too (and assumes it when no method is named); S256 only here,
    # as RFC 9700 §2.1.1 asks.
    if request.code_challenge_method != "S256":
        raise errors.InvalidRequestError(
            description="code_challenge_method must be S256", request=request
        )
    return {}


class _Validator(RequestValidator):  # type: ignore[misc]
    """oauthlib's storage and policy hooks over the OAuthServer's dictionaries."""

    def __init__(self, owner: OAuthServer) -> None:
        super().__init__()
        self._owner = owner

    def _secret(self, client_id: str | None) -> str | None:
        return self._owner.clients.get(client_id or "")

    def client_authentication_required(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        basic = _basic_credentials(request)
        client_id = basic[0] if basic else request.client_id
        return bool(basic) or bool(self._secret(client_id))

    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        client_id, secret = _basic_credentials(request) or (
            request.client_id,
            request.client_secret,
        )
        expected = self._secret(client_id)
        if not expected or secret != expected:
            return False
        request.client = _Client(client_id)
        return True

    def authenticate_client_id(self, client_id: str, request: Any, *args: Any, **kw: Any) -> bool:
        if self._secret(client_id) != "":  # unknown, or it has a secret it must show
            return False
        request.client = _Client(client_id)
        return True

    def validate_client_id(self, client_id: str, request: Any, *args: Any, **kw: Any) -> bool:
        return self._secret(client_id) is not None

    def validate_redirect_uri(self, client_id: str, uri: str, request: Any, *a: Any) -> bool:
        return _is_loopback_redirect(uri)

    def get_default_redirect_uri(self, client_id: str, request: Any, *a: Any) -> None:
        return None

    def validate_response_type(self, client_id: str, kind: str, *args: Any, **kw: Any) -> bool:
        return bool(kind == "code")

    def validate_scopes(self, client_id: str, scopes: list[str], *args: Any, **kw: Any) -> bool:
        return True

    def get_default_scopes(self, client_id: str, request: Any, *args: Any) -> list[str]:
        return []

    def is_pkce_required(self, client_id: str, request: Any) -> bool:
        return True

    def save_authorization_code(self, client_id: str, code: Any, request: Any, *a: Any) -> None:
        grant = _Grant(request.user, client_id, tuple(request.scopes))
        self._owner._codes[code["code"]] = _Code(
            grant, request.redirect_uri, request.code_challenge, request.code_challenge_method
        )

    def validate_code(self, client_id: str, code: str, client: Any, request: Any, *a: Any) -> bool:
        saved = self._owner._codes.get(code)
        if saved is None or saved.grant.client_id != client.client_id:
            return False
        request.user = saved.grant.user
        request.scopes = list(saved.grant.scopes)
        request.approved = saved.grant
        return True

    def get_code_challenge(self, code: str, request: Any) -> str | None:
        saved = self._owner._codes.get(code)
        return saved.challenge if saved else None

    def get_code_challenge_method(self, code: str, request: Any) -> str | None:
        saved = self._owner._codes.get(code)
        return saved.challenge_method if saved else None

    def confirm_redirect_uri(self, client_id: str, code: str, uri: str, *a: Any, **kw: Any) -> bool:
        saved = self._owner._codes.get(code)
        return saved is not None and saved.redirect_uri == uri

    def invalidate_authorization_code(self, client_id: str, code: str, *a: Any, **k: Any) -> None:
        self._owner._codes.pop(code, None)

    def validate_grant_type(self, client_id: str, grant_type: str, *a: Any, **k: Any) -> bool:
        return grant_type in GRANT_TYPES

    def validate_refresh_token(self, token: str, client: Any, request: Any, *a: Any) -> bool:
        grant = self._owner._refresh.get(token)
        if grant is None or grant.revoked or grant.client_id != client.client_id:
            return False
        request.user = grant.user
        request.approved = grant
        return True

    def get_original_scopes(self, token: str, request: Any, *args: Any, **kw: Any) -> list[str]:
        return list(self._owner._refresh[token].scopes)

    def rotate_refresh_token(self, request: Any) -> bool:
        return self._owner.rotate_refresh_tokens

    def save_bearer_token(self, token: dict[str, Any], request: Any, *a: Any, **k: Any) -> None:
        owner = self._owner
        grant: _Grant = request.approved
        expires_at = time.monotonic() + token["expires_in"]
        owner._access[token["access_token"]] = _Access(grant, expires_at)
        owner.access_tokens_issued.append(token["access_token"])
        new = token.get("refresh_token")
        if new and new != request.refresh_token:
            if request.refresh_token:  # rotated: the old one is spent
                owner._refresh.pop(request.refresh_token, None)
            owner._refresh[new] = grant
            owner.refresh_tokens_issued.append(new)

    def revoke_token(self, token: str, hint: str | None, request: Any, *a: Any, **k: Any) -> None:
        owner = self._owner
        owner.revocations.append(token)
        access = owner._access.get(token)
        grant = owner._refresh.get(token) or (access.grant if access else None)
        # RFC 7009 §2.1: only the client the token was issued to may revoke it.
        if grant is not None and grant.client_id == request.client.client_id:
            grant.revoked = True


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _HttpServer

    def do_GET(self) -> None:
        owner = self.server.owner
        self._route({"/authorize": lambda uri, body, headers: owner._authorize(uri, headers)})

    def do_POST(self) -> None:
        owner = self.server.owner
        self._route({"/token": owner._token, "/revoke": owner._revoke})

    def _route(self, routes: dict[str, Callable[[str, str, dict[str, str]], _Response]]) -> None:
        route = routes.get(urlsplit(self.path).path)
        if route is None:
            self._answer({}, "not found", 404)
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        owner = self.server.owner
        try:
            with owner.lock:  # one request at a time through oauthlib and the stores
                answer = route(owner.url(self.path), body, dict(self.headers))
        except Exception as error:  # a bug in this server: the fixture fails the test
            owner.failures.append(error)
            answer = ({}, "server error", 500)
        self._answer(*answer)

    def _answer(self, headers: dict[str, str], body: str | None, status: int) -> None:
        data = (body or "").encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _HttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    owner: OAuthServer


class OAuthServer:
    """An authorization server on 127.0.0.1 and a free port, over HTTPS with context.

    ``clients`` maps client ids to secrets ("" for a public client); tokens are issued to
    ``user``. Switches: ``deny`` answers every authorization with error=access_denied,
    ``rotate_refresh_tokens`` issues a new refresh token (spending the old one) on each
    refresh, ``access_lifetime`` is the seconds an access token issued from then on lives.
    Records: ``authorizations`` (each /authorize query), ``token_requests`` (grant types, in
    order), ``token_errors`` (error codes answered), ``revocations`` (tokens sent to /revoke),
    ``access_tokens_issued``, ``refresh_tokens_issued``; ``failures``, exceptions raised while
    answering (a bug here; the fixture checks there are none).
    """

    def __init__(self, context: ssl.SSLContext, *, user: str = USERNAME) -> None:
        self.user = user
        self.clients = {PUBLIC_CLIENT_ID: "", DESKTOP_CLIENT_ID: DESKTOP_CLIENT_SECRET}
        self.deny = False
        self.rotate_refresh_tokens = True
        self.access_lifetime = 3600
        self.authorizations: list[dict[str, str]] = []
        self.token_requests: list[str] = []
        self.token_errors: list[str] = []
        self.revocations: list[str] = []
        self.access_tokens_issued: list[str] = []
        self.refresh_tokens_issued: list[str] = []
        self.failures: list[Exception] = []
        self.lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._refresh: dict[str, _Grant] = {}
        self._access: dict[str, _Access] = {}
        self._endpoint = WebApplicationServer(
            _Validator(self),
            token_expires_in=lambda request: self.access_lifetime,
            # Microsoft's access tokens are JWTs of 1.5 to 2.5 kB: as long as those, so that
            # what carries them (an AUTH line of about 2 kB in base64) is tested at real size.
            token_generator=lambda request: secrets.token_urlsafe(ACCESS_TOKEN_BYTES),
            refresh_token_generator=lambda request: secrets.token_urlsafe(32),
        )
        self._endpoint.auth_grant.custom_validators.post_auth.append(_require_s256)
        self._http = _HttpServer((HOST, 0), _Handler)
        self._http.owner = self
        self._http.socket = context.wrap_socket(self._http.socket, server_side=True)
        self.port: int = self._http.server_address[1]
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str) -> str:
        return f"https://{HOST}:{self.port}{path}"

    @property
    def authorization_endpoint(self) -> str:
        return self.url("/authorize")

    @property
    def token_endpoint(self) -> str:
        return self.url("/token")

    @property
    def revocation_endpoint(self) -> str:
        return self.url("/revoke")

    def check_access_token(self, token: str) -> str | None:
        """The user token was issued to, or None if it is unknown, expired or revoked."""
        with self.lock:
            access = self._access.get(token)
            if access is None or access.grant.revoked or time.monotonic() >= access.expires_at:
                return None
            return access.grant.user

    def revoke_all(self, user: str) -> None:
        """The user withdraws every grant: its refresh tokens get invalid_grant from now on."""
        with self.lock:
            for grant in [*self._refresh.values(), *(a.grant for a in self._access.values())]:
                if grant.user == user:
                    grant.revoked = True

    def expire_access_tokens(self) -> None:
        """Every access token issued so far has expired (the clients do not know it yet)."""
        with self.lock:
            for access in self._access.values():
                access.expires_at = 0.0

    def start(self) -> OAuthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(5)

    def _authorize(self, uri: str, headers: dict[str, str]) -> _Response:
        self.authorizations.append(dict(parse_qsl(urlsplit(uri).query)))
        try:
            return self._denied(uri, headers) if self.deny else self._approved(uri, headers)
        except errors.FatalClientError as error:
            # A bad client id or redirect URI: told to the user, never redirected.
            return {"Content-Type": "text/plain"}, f"{error.error}: {error.description}", 400

    def _approved(self, uri: str, headers: dict[str, str]) -> _Response:
        credentials = {"user": self.user}
        answer: _Response = self._endpoint.create_authorization_response(
            uri, "GET", None, headers, credentials=credentials
        )
        return answer

    def _denied(self, uri: str, headers: dict[str, str]) -> _Response:
        try:
            _, info = self._endpoint.validate_authorization_request(uri, "GET", None, headers)
        except errors.FatalClientError:
            raise
        except errors.OAuth2Error:  # answered as it would be without deny
            return self._approved(uri, headers)
        denied = errors.AccessDeniedError(state=info["state"]).twotuples
        return {"Location": common.add_params_to_uri(info["redirect_uri"], denied)}, None, 302

    def _token(self, uri: str, body: str, headers: dict[str, str]) -> _Response:
        self.token_requests.append(dict(parse_qsl(body)).get("grant_type", ""))
        answer: _Response = self._endpoint.create_token_response(uri, "POST", body, headers)
        if answer[2] != 200:
            self.token_errors.append(json.loads(answer[1] or "{}").get("error", ""))
        return answer

    def _revoke(self, uri: str, body: str, headers: dict[str, str]) -> _Response:
        answer: _Response = self._endpoint.create_revocation_response(uri, "POST", body, headers)
        return answer


@pytest.fixture
def oauth_server(tls_ca: trustme.CA) -> Iterator[OAuthServer]:
    """An authorization server with a certificate from the trusted test CA; fails the test
    if answering any request raised."""
    server = OAuthServer(server_tls_context(tls_ca)).start()
    try:
        yield server
    finally:
        server.stop()
    assert not server.failures, server.failures


@pytest.fixture
def oauth_smtp_server(tls_ca: trustme.CA, oauth_server: OAuthServer) -> Iterator[SmtpServer]:
    """STARTTLS required, then AUTH OAUTHBEARER or XOAUTH2 with a token from oauth_server."""
    with running(starttls_server(server_tls_context(tls_ca), oauth=oauth_server)) as server:
        yield server

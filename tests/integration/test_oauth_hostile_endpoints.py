"""Token endpoints that misbehave (a reply that drips, one that never ends, one said to last no
time): real HTTPS servers on 127.0.0.1 with the test CA trusted."""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator

import pytest
import trustme

from composer.mail.access_tokens import AccessTokens
from composer.mail.accounts import Security
from composer.mail.delivery import Delivery
from composer.mail.draft import Draft
from composer.mail.errors import ErrorKind, SendError, SignInFailed
from composer.mail.oauth import SignIn, oauth_secret_key, refresh
from composer.mail.oauth_registry import OAuthRegistry
from composer.mail.oauth_servers import OAuthClient, OAuthServer
from composer.mail.oauth_settings import OAuthSettings
from composer.mail.request_guard import Stop
from composer.mail.secrets import SecretStore
from tests.oauth_server import OAuthServer as AuthorizationServer
from tests.servers import account_for, running, server_tls_context, starttls_server

CLIENT = OAuthClient("client-id")


class _Endpoint:
    """An HTTPS token endpoint whose every POST is answered by reply(handler)."""

    def __init__(self, ca: trustme.CA, reply: Callable[[http.server.BaseHTTPRequestHandler], None]):
        self.written = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                self.rfile.read(length)
                with contextlib.suppress(OSError, ssl.SSLError):  # the client went away
                    reply(self)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        context = server_tls_context(ca)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}/token"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def endpoint(tls_ca: trustme.CA) -> Iterator[Callable[..., _Endpoint]]:
    made: list[_Endpoint] = []

    def make(reply: Callable[[http.server.BaseHTTPRequestHandler], None]) -> _Endpoint:
        server = _Endpoint(tls_ca, reply)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()


def server_at(url: str) -> OAuthServer:
    return OAuthServer(
        key="google",
        name="Google",
        authorization_endpoint="https://127.0.0.1:1/auth",
        token_endpoint=url,
        revocation_endpoint="",
        scopes=("https://mail.google.com/",),
    )


def json_reply(body: dict[str, object]) -> Callable[[http.server.BaseHTTPRequestHandler], None]:
    def reply(handler: http.server.BaseHTTPRequestHandler) -> None:
        data = json.dumps(body).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    return reply


@pytest.mark.parametrize("expires_in", [0, -5, "0"])
def test_an_access_token_said_to_last_no_time_is_refreshed_before_its_next_use(
    endpoint: Callable[..., _Endpoint], expires_in: object
) -> None:
    server = endpoint(
        json_reply({"access_token": "a", "token_type": "Bearer", "expires_in": expires_in})
    )
    assert not refresh(server_at(server.url), CLIENT, "r").fresh()


def test_a_missing_lifetime_is_taken_as_an_hour(endpoint: Callable[..., _Endpoint]) -> None:
    server = endpoint(json_reply({"access_token": "a", "token_type": "Bearer"}))
    tokens = refresh(server_at(server.url), CLIENT, "r")
    assert tokens.fresh(time.time() + 3000)
    assert not tokens.fresh(time.time() + 3600)


def _drip(seconds: float) -> Callable[[http.server.BaseHTTPRequestHandler], None]:
    """Headers at once, then the body one byte every 0.3 s for `seconds`."""

    def reply(handler: http.server.BaseHTTPRequestHandler) -> None:
        body = b'{"access_token": "a", "token_type": "Bearer"}'.ljust(4000)
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.flush()
        end = time.monotonic() + seconds
        for byte in body:
            if time.monotonic() > end:
                break
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(0.3)

    return reply


def test_a_reply_that_drips_ends_at_the_deadline_of_the_whole_request(
    endpoint: Callable[..., _Endpoint],
) -> None:
    # Each byte comes well within httpx2's timeout for one read; only the deadline of the
    # whole request ends it.
    server = endpoint(_drip(20.0))
    started = time.monotonic()
    with pytest.raises(SignInFailed, match=r"did not finish answering within 1\.5 seconds"):
        refresh(server_at(server.url), CLIENT, "r", timeout=1.5)
    assert time.monotonic() - started < 10  # the drip alone would take 20 s


def test_cancel_ends_the_token_request_under_way(endpoint: Callable[..., _Endpoint]) -> None:
    server = endpoint(_drip(20.0))
    flow = SignIn(server_at(server.url), CLIENT, timeout=30)
    query = urllib.parse.urlencode({"state": flow._state, "code": "the-code"})
    with urllib.request.urlopen(f"{flow.redirect_uri}?{query}", timeout=5) as page:  # noqa: S310
        assert page.status == 200
    threading.Timer(0.5, flow.cancel).start()
    started = time.monotonic()
    with pytest.raises(SignInFailed, match="cancelled"):
        flow.finish()
    assert time.monotonic() - started < 10  # the drip alone would take 20 s


def test_a_stop_set_before_the_request_ends_it_at_once() -> None:
    # A listener that never answers (nor accepts: the kernel completes the connection): only
    # the stop can end the request before httpx2's 30 s. No TLS server here, since an
    # accept() racing the client's hang-up can leave an SSL socket of the server's unclosed.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"https://127.0.0.1:{silent.getsockname()[1]}/token"
        stop = Stop()
        stop.set()
        started = time.monotonic()
        with pytest.raises(SignInFailed, match="cancelled"):
            refresh(server_at(url), CLIENT, "r", stop=stop)
    assert time.monotonic() - started < 10


def _huge(
    *, declared: bool
) -> tuple[Callable[[http.server.BaseHTTPRequestHandler], None], list[int]]:
    size = 64 * 1024 * 1024
    sent = [0]

    def reply(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        if declared:
            handler.send_header("Content-Length", str(size))
        else:
            handler.send_header("Connection", "close")  # the body ends with the connection
        handler.end_headers()
        chunk = b" " * (1024 * 1024)
        while sent[0] < size:
            handler.wfile.write(chunk)
            sent[0] += len(chunk)

    return reply, sent


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "until-closed"])
def test_a_huge_token_reply_is_not_read_whole(
    endpoint: Callable[..., _Endpoint], declared: bool
) -> None:
    reply, sent = _huge(declared=declared)
    server = endpoint(reply)
    with pytest.raises(SignInFailed, match="far larger than a sign-in server"):
        refresh(server_at(server.url), CLIENT, "r", timeout=20)
    # What the server wrote before the connection closed: socket buffers, not 64 MiB.
    assert sent[0] < 16 * 1024 * 1024


def test_cancelling_a_send_ends_the_token_refresh_it_waits_for(
    endpoint: Callable[..., _Endpoint], tls_ca: trustme.CA, oauth_server: AuthorizationServer
) -> None:
    server = endpoint(_drip(20.0))
    registry = OAuthRegistry(
        OAuthSettings.from_json(
            {
                "servers": {"google": {"token_endpoint": server.url}},
                "clients": {"google": {"client_id": "client-id"}},
            }
        ),
        {},
        {},
    )
    with running(starttls_server(server_tls_context(tls_ca), oauth=oauth_server)) as smtp:
        account = account_for(smtp, Security.STARTTLS, email="ann@gmail.com", oauth="google")
        SecretStore().set(oauth_secret_key(account.id), "a-refresh-token")
        tokens = AccessTokens(SecretStore(), lambda: registry)
        delivery = Delivery(account, SecretStore(), None, access_tokens=tokens)
        threading.Timer(0.5, delivery.cancel).start()
        started = time.monotonic()
        with pytest.raises(SendError) as caught:
            delivery.send(Draft(to="bob@example.net", subject="Hi", body="Hello\n"))
    assert caught.value.kind is ErrorKind.CANCELLED
    assert time.monotonic() - started < 10  # the drip alone would take 20 s
    assert smtp.received == []

"""The browser's way back to Composer after signing in: one HTTP request to a listener on
127.0.0.1 at a free port (RFC 8252 §7.3), which must carry the state Composer sent."""

from __future__ import annotations

import contextlib
import errno
import hmac
import html
import http.server
import logging
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from composer.mail.errors import SignInFailed, server_reply

log = logging.getLogger(__name__)

# A browser that opened a connection and sends nothing (a speculative connection) must not
# hold a handler thread for long.
_REQUEST_TIMEOUT = 10.0
_POLL = 0.1
_MAX_CONNECTIONS = 16
_BIND_ATTEMPTS = 20
_MAX_DESCRIPTION = 300

# Said before the code is traded for tokens, which can still fail: Composer says how it went.
_DONE = (
    "Composer has your sign-in. You can close this tab and go back to Composer, which says "
    "whether it worked."
)
_REFUSED = (
    "Composer was not waiting for this sign-in. Nothing was signed in; you can close this tab."
)
_DECLINED = "Signing in did not finish. You can close this tab and go back to Composer."
_OVER = "Composer is no longer waiting for a sign-in here. You can close this tab."


class LoopbackRedirect:
    """Listens on 127.0.0.1 for the one redirect that ends a sign-in.

    wait() blocks (on a worker thread) until a request carries the expected state with a
    code, an error, or the wrong state; or until the time is up or cancelled() says so.
    """

    def __init__(self, state: str, *, timeout: float, host_name: str = "127.0.0.1") -> None:
        # It listens on 127.0.0.1 whatever the name: "localhost" may also mean ::1, or
        # whatever a hosts file says, and only 127.0.0.1 is sure to be this computer.
        self._host_name = host_name
        self._state = state
        self._timeout = timeout
        self._ended = threading.Event()
        self._lock = threading.Lock()
        self._callback = ""
        self._failure: SignInFailed | None = None
        self._servers = _bind(host_name == "localhost")
        self._threads: list[threading.Thread] = []
        for server in self._servers:
            server.redirect = self
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": _POLL},
                name="sign-in redirect",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    @property
    def port(self) -> int:
        return int(self._servers[0].server_address[1])

    @property
    def redirect_uri(self) -> str:
        port = self.port
        if self._host_name == "localhost":
            # As Entra registers it and Microsoft's own library sends it: no path at all.
            return f"http://localhost:{port}"
        return f"http://127.0.0.1:{port}/"

    def wait(self, cancelled: Callable[[], bool]) -> str:
        """The URL the browser came back to (with its code); raises SignInFailed."""
        deadline = time.monotonic() + self._timeout
        try:
            while not self._ended.wait(_POLL):
                if cancelled():
                    raise SignInFailed("Signing in was cancelled.")
                if time.monotonic() >= deadline:
                    minutes = max(1, round(self._timeout / 60))
                    raise SignInFailed(
                        f"Signing in was not finished in the browser within {minutes} "
                        f"minute{'s' if minutes != 1 else ''}. Try again, and finish signing "
                        "in in the browser window that opens."
                    )
            with self._lock:
                if self._failure is not None:
                    raise self._failure
                return self._callback
        finally:
            self.close()

    def close(self) -> None:
        """Stop listening; safe to call more than once, from any thread."""
        with self._lock:
            if not self._ended.is_set():
                self._failure = self._failure or SignInFailed("Signing in was cancelled.")
                self._ended.set()
        for server, thread in zip(self._servers, self._threads, strict=True):
            if thread.is_alive() and threading.current_thread() is not thread:
                server.shutdown()
                thread.join()
            server.server_close()

    def answer(self, target: str) -> tuple[int, str]:
        """What the browser is told about the request for target; ends the wait if conclusive."""
        parts = urllib.parse.urlsplit(target)
        if parts.path != "/":
            return 404, ""  # a browser's favicon.ico and the like: keep waiting
        query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        state = _single(query, "state")
        if state is None and "code" not in query and "error" not in query:
            return 404, ""
        with self._lock:
            if self._ended.is_set():
                return 410, _OVER
            self._ended.set()
            if state is None or not hmac.compare_digest(state.encode(), self._state.encode()):
                log.warning("a sign-in redirect came back with the wrong state")
                self._failure = SignInFailed(
                    "The browser came back with a sign-in Composer did not start (its "
                    "security check did not match), so Composer ignored it. Try again; if "
                    "this keeps happening, another program may be interfering."
                )
                return 400, _REFUSED
            error = _single(query, "error")
            if error is not None:
                self._failure = _declined(error, _single(query, "error_description") or "")
                return 200, _DECLINED
            if not _single(query, "code"):
                self._failure = SignInFailed(
                    "The provider came back without a sign-in code. Try again."
                )
                return 400, _DECLINED
            self._callback = f"{self.redirect_uri}?{parts.query}"
            return 200, _DONE


def _single(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values and len(values) == 1 else None


def _declined(error: str, description: str) -> SignInFailed:
    said = server_reply(-1, description[:_MAX_DESCRIPTION]) if description else ""
    if error == "access_denied":
        text = "Signing in was declined in the browser, so the account was not signed in."
    else:
        text = f"The provider did not sign you in ({server_reply(-1, error[:60])})."
    if said:
        text += f" It said: {said}"
    return SignInFailed(text + " Try again, or check the account's settings with its provider.")


def _bind(with_ipv6: bool) -> list[_Server]:
    """A listener on 127.0.0.1 at a free port; with_ipv6, on ::1 at the same port too.

    A browser may look "localhost" up as ::1 first: had Composer left [::1]:PORT free, any
    program of any user could listen there and be sent the code (useless to it without the
    PKCE verifier, but the sign-in would hang, and it would show the page).
    """
    for _ in range(_BIND_ATTEMPTS):
        ipv4 = _Server(("127.0.0.1", 0), _Handler)
        if not with_ipv6:
            return [ipv4]
        try:
            ipv6 = _Server6(("::1", ipv4.server_address[1]), _Handler)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                ipv4.server_close()
                continue  # taken on ::1: another port for both
            return [ipv4]  # no IPv6 loopback here: nothing can listen there either
        return [ipv4, ipv6]
    raise SignInFailed(
        "Composer could not find a free port on this computer for the browser to come back "
        "to. Try again."
    )


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    redirect: LoopbackRedirect

    def __init__(self, address: tuple[str, int], handler: type[_Handler]) -> None:
        self._active = 0
        self._active_lock = threading.Lock()
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # Only this computer can reach it; no port is shared with another listener.
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
        super().server_bind()

    def process_request(self, request: Any, client_address: Any) -> None:
        # Any program on this computer can connect: a few at a time, the rest turned away
        # (a browser opens two or three).
        with self._active_lock:
            full = self._active >= _MAX_CONNECTIONS
            if not full:
                self._active += 1
        if full:
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._active_lock:
                self._active -= 1


class _Server6(_Server):
    address_family = socket.AF_INET6

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        super().server_bind()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    timeout = _REQUEST_TIMEOUT  # for each read

    def setup(self) -> None:
        super().setup()
        # And for the whole request: a byte every few seconds must not hold a thread.
        self._deadline = threading.Timer(_REQUEST_TIMEOUT, _shut, (self.connection,))
        self._deadline.daemon = True
        self._deadline.start()

    def finish(self) -> None:
        self._deadline.cancel()
        super().finish()

    def do_GET(self) -> None:
        status, text = self.server.redirect.answer(self.path)
        body = _page(text).encode("utf-8") if text else b""
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        # Nothing on the page may fetch anything, or be framed by another page.
        self.send_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the query holds the code: never logged


def _shut(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)


def _page(text: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Composer</title>"
        "<style>body{font:16px sans-serif;margin:4em auto;max-width:32em}</style></head>"
        f"<body><h1>Composer</h1><p>{html.escape(text)}</p></body></html>"
    )

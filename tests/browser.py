"""The browser of sign-in tests: follows an authorization URL (HTTPS, verified against the test
CA that SSL_CERT_FILE names) through its redirect to the app's loopback listener."""

from __future__ import annotations

import concurrent.futures
import http.client
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

# More redirects than any sign-in takes (one, from the authorization server to the app).
_MAX_REDIRECTS = 5


@dataclass(frozen=True)
class BrowserResult:
    """The last page reached: its address, status and body; visited lists every address
    asked for, in order."""

    url: str
    status: int
    body: str
    location: str  # the Location header of the last page ("" if none)
    visited: tuple[str, ...]


def visit(url: str, timeout: float = 10) -> BrowserResult:
    """GET url once, following no redirect: what a user typing it into the address bar
    gets (or what a forged redirect to the app's listener gets)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        context = ssl.create_default_context()
        connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    try:
        connection.request("GET", target, headers={"Connection": "close"})
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
        location = response.getheader("Location") or ""
        return BrowserResult(url, response.status, body, location, (url,))
    finally:
        connection.close()


def follow(url: str, timeout: float = 10) -> BrowserResult:
    """GET url and follow its redirects; the result is the last page's. Safe in any thread."""
    visited: list[str] = []
    for _ in range(_MAX_REDIRECTS + 1):
        page = visit(url, timeout)
        visited.append(url)
        if page.status not in (301, 302, 303, 307, 308) or not page.location:
            return BrowserResult(page.url, page.status, page.body, page.location, tuple(visited))
        url = urljoin(url, page.location)
    raise AssertionError(f"more than {_MAX_REDIRECTS} redirects: {visited}")


def follow_later(url: str, timeout: float = 10) -> concurrent.futures.Future[BrowserResult]:
    """follow(url) in a thread of its own, so that the caller's (Qt) event loop keeps running;
    the future's result() is the BrowserResult or raises what follow raised."""
    future: concurrent.futures.Future[BrowserResult] = concurrent.futures.Future()

    def run() -> None:
        try:
            future.set_result(follow(url, timeout))
        except BaseException as error:
            future.set_exception(error)

    threading.Thread(target=run, name="browser", daemon=True).start()
    return future

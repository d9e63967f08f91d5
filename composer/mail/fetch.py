"""Fetching a configuration document: HTTPS only, a verified certificate, bounded time and size."""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import time
import urllib.parse
from collections.abc import Callable

from composer.mail.certificates import verifying_context
from composer.mail.dns_lookup import Lookup

log = logging.getLogger(__name__)

_MAX_REDIRECTS = 3
_CHUNK = 16 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class FetchRefused(Exception):
    """The document was not fetched or not used; str() says why, for the log."""


def fetch(
    url: str,
    *,
    lookup: Lookup,
    timeout: float,
    limit: int,
    cancelled: Callable[[], bool],
) -> bytes:
    """The body of url (https:// only, also after a redirect), at most limit bytes, read
    within timeout seconds; raises FetchRefused."""
    deadline = time.monotonic() + timeout
    for _ in range(_MAX_REDIRECTS + 1):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise FetchRefused(f"{url} is not an https:// address; never fetched")
        status, location, body = _get(parts, lookup, deadline, limit, cancelled)
        if status in _REDIRECTS and location:
            url = urllib.parse.urljoin(url, location)
            continue
        if status != 200:
            raise FetchRefused(f"{url} answered HTTP {status}")
        return body
    raise FetchRefused(f"{url}: more than {_MAX_REDIRECTS} redirects")


def _get(
    parts: urllib.parse.SplitResult,
    lookup: Lookup,
    deadline: float,
    limit: int,
    cancelled: Callable[[], bool],
) -> tuple[int, str, bytes]:
    host = parts.hostname or ""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchRefused(f"{parts.geturl()}: out of time")
    connection = http.client.HTTPSConnection(
        host, parts.port or 443, timeout=remaining, context=verifying_context()
    )
    # Resolved as the rest of discovery resolves; the certificate is still checked against
    # host (http.client passes it as the server name).
    connection._create_connection = lambda address, timeout, _source=None: lookup.connect(  # type: ignore[attr-defined]
        address[0], address[1], timeout
    )
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    try:
        connection.request("GET", target, headers={"Accept": "application/xml, text/xml"})
        response = connection.getresponse()
        location = response.getheader("Location") or ""
        length = response.getheader("Content-Length") or ""
        if length.isdigit() and int(length) > limit:
            raise FetchRefused(f"{parts.geturl()}: {length} bytes, more than {limit}")
        body = _read(response, connection.sock, deadline, limit, cancelled, parts.geturl())
        return response.status, location, body
    except ssl.SSLCertVerificationError as error:
        raise FetchRefused(
            f"{parts.geturl()}: certificate not trusted ({error.verify_message})"
        ) from error
    except (OSError, http.client.HTTPException) as error:
        raise FetchRefused(f"{parts.geturl()}: {type(error).__name__}: {error}") from error
    finally:
        connection.close()


def _read(
    response: http.client.HTTPResponse,
    sock: socket.socket | None,
    deadline: float,
    limit: int,
    cancelled: Callable[[], bool],
    url: str,
) -> bytes:
    body = bytearray()
    while True:
        if cancelled():
            raise FetchRefused(f"{url}: cancelled")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchRefused(f"{url}: not read whole within the time allowed")
        if sock is not None:
            sock.settimeout(remaining)  # each read waits no longer than the whole may take
        chunk = response.read1(_CHUNK)
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > limit:
            raise FetchRefused(f"{url}: larger than {limit} bytes")

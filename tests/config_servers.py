"""Servers auto-configuration asks, on 127.0.0.1: HTTPS (and plain HTTP) serving documents by
path, and a DNS server answering from a table of records."""

from __future__ import annotations

import contextlib
import http.server
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import trustme
from dnslib import AAAA, MX, QTYPE, RR, SRV, A, DNSLabel
from dnslib.server import DNSLogger, DNSServer

from tests.servers import server_tls_context

HOST = "127.0.0.1"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _HttpServer

    def do_GET(self) -> None:
        owner = self.server.owner
        with owner.lock:
            owner.requests.append(self.path)
        answer = owner.routes.get(self.path.split("?")[0])
        if answer is None:
            self.send_error(404)
            return
        status, headers, body = answer
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _HttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    owner: DocumentServer


class DocumentServer:
    """Serves routes (path → (status, headers, body)) over HTTPS with context, or over plain
    HTTP without one; requests lists the paths asked for, query included."""

    def __init__(self, context: ssl.SSLContext | None) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.requests: list[str] = []
        self.lock = threading.Lock()
        self._server = _HttpServer((HOST, 0), _Handler)
        self._server.owner = self
        if context is not None:
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self.scheme = "https" if context is not None else "http"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    def url(self, path: str) -> str:
        return f"{self.scheme}://{HOST}:{self.port}{path}"

    def serve(self, path: str, body: bytes, status: int = 200, **headers: str) -> None:
        self.routes[path] = (status, headers, body)

    def start(self) -> DocumentServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class _Records:
    """dnslib's resolver interface over a table: (name, type) → list of record data."""

    def __init__(self) -> None:
        self.table: dict[tuple[str, str], list[Any]] = {}
        self.asked: list[tuple[str, str]] = []

    def resolve(self, request: Any, handler: Any) -> Any:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        kind = QTYPE[request.q.qtype]
        self.asked.append((name, kind))
        for data in self.table.get((name, kind), []):
            reply.add_answer(RR(DNSLabel(name), getattr(QTYPE, kind), rdata=data, ttl=60))
        return reply


class DnsServer:
    """A DNS server on 127.0.0.1 and a free UDP port, answering from its records."""

    def __init__(self) -> None:
        self._records = _Records()
        quiet = DNSLogger(log="-request,-reply,-truncated,-error", prefix=False)
        self._server = DNSServer(self._records, address=HOST, port=0, logger=quiet)
        self.port = self._server.server.server_address[1]
        # dnslib's own thread polls for shutdown twice a second; this one, twenty times.
        self._thread = threading.Thread(
            target=self._server.server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def asked(self) -> list[tuple[str, str]]:
        return list(self._records.asked)

    def add(self, name: str, kind: str, data: Any) -> None:
        self._records.table.setdefault((name.lower(), kind), []).append(data)

    def srv(self, name: str, target: str, port: int, priority: int = 0, weight: int = 0) -> None:
        self.add(name, "SRV", SRV(priority=priority, weight=weight, port=port, target=target))

    def mx(self, domain: str, host: str, preference: int = 10) -> None:
        self.add(domain, "MX", MX(host, preference))

    def a(self, name: str, address: str = HOST) -> None:
        self.add(name, "A", A(address))

    def aaaa(self, name: str, address: str = "::1") -> None:
        self.add(name, "AAAA", AAAA(address))

    def start(self) -> DnsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.server.shutdown()
        self._server.server.server_close()
        self._thread.join(5)


@contextlib.contextmanager
def serving(server: Any) -> Iterator[Any]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


def autoconfig_xml(
    smtp: tuple[str, int, str] = ("smtp.example.test", 465, "SSL"),
    imap: tuple[str, int, str] | None = ("imap.example.test", 993, "SSL"),
    username: str = "%EMAILADDRESS%",
    extra: str = "",
) -> bytes:
    """A config-v1.1 document offering smtp (host, port, socketType) and imap."""
    incoming = ""
    if imap is not None:
        incoming = f"""
    <incomingServer type="imap">
      <hostname>{imap[0]}</hostname><port>{imap[1]}</port><socketType>{imap[2]}</socketType>
      <username>{username}</username><authentication>password-cleartext</authentication>
    </incomingServer>"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="example.test">
    <domain>example.test</domain>
    <displayName>Example</displayName>{incoming}{extra}
    <outgoingServer type="smtp">
      <hostname>{smtp[0]}</hostname><port>{smtp[1]}</port><socketType>{smtp[2]}</socketType>
      <username>{username}</username><authentication>password-cleartext</authentication>
    </outgoingServer>
  </emailProvider>
</clientConfig>
""".encode()


@pytest.fixture
def documents(tls_ca: trustme.CA) -> Iterator[DocumentServer]:
    """An HTTPS server with a certificate from the trusted test CA."""
    with serving(DocumentServer(server_tls_context(tls_ca))) as server:
        yield server


@pytest.fixture
def plain_documents() -> Iterator[DocumentServer]:
    """A plain HTTP server."""
    with serving(DocumentServer(None)) as server:
        yield server


@pytest.fixture
def dns() -> Iterator[DnsServer]:
    with serving(DnsServer()) as server:
        yield server

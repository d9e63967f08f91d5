"""Asking a possible SMTP server whether it speaks TLS: no login, QUIT after the greeting."""

from __future__ import annotations

import contextlib
import socket
import ssl
import time

from composer.mail.accounts import Security
from composer.mail.certificates import verifying_context
from composer.mail.dns_lookup import Lookup
from composer.mail.smtp_client import address_literal

_MAX_REPLY = 16 * 1024  # bytes of one reply: a greeting or EHLO needs well under 1 KiB


class ProbeFailed(Exception):
    """No usable server there; str() says why, for the log."""


def probe(host: str, port: int, security: Security, *, lookup: Lookup, timeout: float) -> None:
    """Return when host:port is an SMTP server behind TLS with a certificate valid for host
    (implicit TLS or STARTTLS, as security says); raise ProbeFailed otherwise."""
    if security is Security.NONE:
        raise ProbeFailed("never without TLS")
    deadline = time.monotonic() + timeout
    try:
        sock = lookup.connect(host, port, timeout)
    except OSError as error:
        raise ProbeFailed(f"{host}:{port}: {error}") from error
    try:
        _converse(sock, host, security, deadline)
    except ssl.SSLCertVerificationError as error:
        raise ProbeFailed(
            f"{host}:{port}: certificate not trusted ({error.verify_message})"
        ) from error
    except (OSError, ValueError) as error:
        raise ProbeFailed(f"{host}:{port}: {type(error).__name__}: {error}") from error
    finally:
        sock.close()


def _converse(sock: socket.socket, host: str, security: Security, deadline: float) -> None:
    """The conversation; every socket it makes (TLS wraps the plain one) is closed at the end."""
    held = [sock]
    try:
        _greet(held, host, security, deadline)
    finally:
        for each in reversed(held):
            each.close()


def _greet(held: list[socket.socket], host: str, security: Security, deadline: float) -> None:
    context = verifying_context()
    sock = held[0]
    if security is Security.SSL_TLS:
        sock = _secure(context, sock, host, deadline)
        held.append(sock)
    replies = _Replies(sock, deadline)
    replies.expect(220)
    sock.sendall(b"EHLO " + address_literal(sock).encode("ascii") + b"\r\n")
    lines = replies.expect(250)
    if security is Security.STARTTLS:
        if not any(line[4:].strip().upper() == b"STARTTLS" for line in lines):
            raise ValueError("STARTTLS not offered")
        sock.sendall(b"STARTTLS\r\n")
        replies.expect(220)
        if replies.pending:  # RFC 3207: nothing may follow the reply in the clear
            raise ValueError("data after the STARTTLS reply")
        sock = _secure(context, sock, host, deadline)
        held.append(sock)
        replies = _Replies(sock, deadline)
        sock.sendall(b"EHLO " + address_literal(sock).encode("ascii") + b"\r\n")
        replies.expect(250)
    with contextlib.suppress(OSError, ValueError):
        sock.sendall(b"QUIT\r\n")
        replies.expect(221)


def _secure(
    context: ssl.SSLContext, sock: socket.socket, host: str, deadline: float
) -> ssl.SSLSocket:
    sock.settimeout(max(0.1, deadline - time.monotonic()))
    return context.wrap_socket(sock, server_hostname=host)


class _Replies:
    """Reads SMTP replies from sock, each bounded in size and by deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline
        self.pending = b""

    def expect(self, code: int) -> list[bytes]:
        lines = self._reply()
        if not lines[-1].startswith(str(code).encode()):
            raise ValueError(f"the server answered {lines[-1][:80]!r}")
        return lines

    def _reply(self) -> list[bytes]:
        lines: list[bytes] = []
        size = 0
        while True:
            line = self._line()
            size += len(line)
            if size > _MAX_REPLY:
                raise ValueError("reply too long")
            lines.append(line)
            if len(line) < 4 or line[3:4] != b"-":
                return lines

    def _line(self) -> bytes:
        while b"\n" not in self.pending:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no reply in time")
            if len(self.pending) > _MAX_REPLY:
                raise ValueError("reply too long")
            self._sock.settimeout(remaining)
            chunk = self._sock.recv(4096)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return line.rstrip(b"\r")

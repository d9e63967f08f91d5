"""The SMTP connection itself: smtplib made cancellable from any thread, with UTF-8 logins."""

from __future__ import annotations

import base64
import binascii
import contextlib
import smtplib
import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from email.base64mime import body_encode as encode_base64
from typing import Any

from composer.mail.transcript import TranscriptMixin

# A LOGIN needs two rounds (user name, password), PLAIN at most one; more is a server that
# will never be satisfied.
LOGIN_ROUNDS = 5

# How a host name becomes addresses to connect to: socket.getaddrinfo's signature, called
# as resolve(host, port, family, type).
Resolver = Callable[[str, int, int, int], Sequence[tuple[int, int, int, str, Any]]]


class LoginUnfinished(smtplib.SMTPException):
    """The server kept answering 334 (more, please) after every part of the login."""


class MessageRefused(smtplib.SMTPDataError):
    """The reply after the final dot was not 250: the server read the message, then refused it."""


class Canceller:
    """Aborts a blocked socket call from any thread.

    Closing a socket from another thread does not wake a thread blocked in connect, recv or
    sendall on Linux; shutting down a dup() of it does, within a millisecond. The dup is taken
    before connect() and survives TLS wrapping, since it is the same kernel socket.
    """

    def __init__(self, resolve: Resolver = socket.getaddrinfo) -> None:
        self._resolve = resolve
        self._lock = threading.Lock()
        self._dup: socket.socket | None = None
        self.cancelled = False

    def connect(self, host: str, port: int, timeout: float, source: Any) -> socket.socket:
        """Like ``socket.create_connection``, but every socket can be shut down by cancel()."""
        error: OSError | None = None
        for family, kind, proto, _, address in self._resolve(host, port, 0, socket.SOCK_STREAM):
            sock = socket.socket(family, kind, proto)
            with self._lock:
                if self.cancelled:
                    sock.close()
                    break
                self._forget_locked()
                self._dup = sock.dup()
            try:
                sock.settimeout(timeout)
                if source:
                    sock.bind(source)
                sock.connect(address)
                return sock
            except OSError as failure:
                error = failure
                sock.close()
        if self.cancelled:
            raise ConnectionAbortedError("cancelled")
        raise error or OSError(f"no address found for {host}")

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            if self._dup is not None:
                # Not connected yet: connect() then fails at once.
                with contextlib.suppress(OSError):
                    self._dup.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        with self._lock:
            self._forget_locked()

    def _forget_locked(self) -> None:
        if self._dup is not None:
            self._dup.close()
            self._dup = None


class Utf8AuthMixin:
    """AUTH that carries UTF-8 user names and passwords; smtplib's encodes only ASCII."""

    _host: str  # smtplib's private copy of the host name, used to check certificates
    _auth_challenge_count: int  # smtplib's private LOGIN state, see auth()

    def auth(
        self: Any,
        mechanism: str,
        authobject: Callable[..., str],
        *,
        initial_response_ok: bool = True,
    ) -> tuple[int, bytes]:
        initial = authobject() if initial_response_ok else None
        if initial is not None:
            response = encode_base64(initial.encode("utf-8"), eol="")
            code, reply = self.docmd("AUTH", f"{mechanism} {response}")
        else:
            code, reply = self.docmd("AUTH", mechanism)
        # smtplib's auth_login() tells the user-name challenge from the password one by this
        # count, which smtplib's own auth() keeps; without it LOGIN sends the user name twice.
        self._auth_challenge_count = 1 if initial is not None else 0
        rounds = 0
        while code == 334:
            rounds += 1
            self._auth_challenge_count += 1
            if rounds > LOGIN_ROUNDS:
                raise LoginUnfinished(f"still asking for more after {LOGIN_ROUNDS} rounds")
            try:
                challenge = base64.b64decode(reply)
            except binascii.Error:
                challenge = b""  # PLAIN and LOGIN answer without looking at it anyway
            response = encode_base64(authobject(challenge).encode("utf-8"), eol="")
            code, reply = self.docmd(response)
        if code in (235, 503):
            return code, reply
        raise smtplib.SMTPAuthenticationError(code, reply)


class CancellableSMTP(TranscriptMixin, Utf8AuthMixin, smtplib.SMTP):
    """smtplib.SMTP whose socket comes from a Canceller."""

    def __init__(self, canceller: Canceller, timeout: float) -> None:
        self._canceller = canceller
        # An explicit local name: smtplib would otherwise call getfqdn(), a DNS lookup that
        # can block for seconds on a badly configured network.
        super().__init__(local_hostname="localhost", timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self._canceller.connect(host, port, timeout, self.source_address)


class CancellableSMTPSSL(TranscriptMixin, Utf8AuthMixin, smtplib.SMTP_SSL):
    """smtplib.SMTP_SSL whose socket comes from a Canceller.

    securing() is called once the TCP connection stands, before the TLS handshake, and
    secured() after it, before the greeting is read: a failure can then say which it was.
    check_peer(sock) is called right after the handshake, before a byte is read or written,
    and may raise to close the connection (a pinned certificate is compared there).
    """

    def __init__(
        self,
        canceller: Canceller,
        timeout: float,
        context: ssl.SSLContext,
        securing: Callable[[], None] = lambda: None,
        secured: Callable[[], None] = lambda: None,
        check_peer: Callable[[ssl.SSLSocket], None] = lambda _sock: None,
    ) -> None:
        self._canceller = canceller
        self._securing, self._secured = securing, secured
        self._check_peer = check_peer
        super().__init__(local_hostname="localhost", timeout=timeout, context=context)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = self._canceller.connect(host, port, timeout, self.source_address)
        try:
            self._securing()
            wrapped = self.context.wrap_socket(sock, server_hostname=self._host)
        except BaseException:
            sock.close()
            raise
        try:
            self._check_peer(wrapped)
        except BaseException:
            wrapped.close()
            raise
        self._secured()
        return wrapped


def address_literal(sock: socket.socket | None) -> str:
    """Our own address as an EHLO argument (RFC 5321 address literal)."""
    try:
        address = sock.getsockname()[0] if sock else ""
    except OSError:
        address = ""
    if not address:
        return "localhost"
    return f"[IPv6:{address}]" if ":" in address else f"[{address}]"

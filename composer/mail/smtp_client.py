"""The SMTP connection itself: smtplib made cancellable from any thread, with UTF-8 logins and
bounded replies."""

from __future__ import annotations

import base64
import binascii
import contextlib
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from email.base64mime import body_encode as encode_base64
from typing import Any

from composer.mail.transcript import TranscriptMixin

# The message must go at least this fast (a 128 kbit/s uplink), after a first account timeout
# of grace: a server that reads a byte now and then cannot hold a send for ever, and a 36 MB
# message (a 25 MiB attachment) still has 37 minutes.
MIN_DATA_RATE = 16_000

# A LOGIN needs two rounds (user name, password), PLAIN at most one; more is a server that
# will never be satisfied.
LOGIN_ROUNDS = 5

# How a host name becomes addresses to connect to: socket.getaddrinfo's signature, called
# as resolve(host, port, family, type).
Resolver = Callable[[str, int, int, int], Sequence[tuple[int, int, int, str, Any]]]


# A reply no SMTP server comes near (RFC 5321 allows 512 octets a line; EHLO answers run to
# some 20 lines): past any of these the server is misbehaving, or it is not an SMTP server.
MAX_REPLY_LINES = 100
MAX_REPLY_LINE = 8192  # smtplib's own line limit
MAX_REPLY_BYTES = 64 * 1024

# The commands a reply may answer, as a failure names them. Anything else sent is a line of
# a login (a user name or password in base64), which is never named.
_COMMANDS = {
    "EHLO": "after EHLO",
    "HELO": "after HELO",
    "STARTTLS": "after STARTTLS",
    "AUTH": "during the login",
    "MAIL": "after MAIL FROM",
    "RCPT": "after RCPT TO",
    "DATA": "after DATA",
    "RSET": "after RSET",
    "NOOP": "after NOOP",
    "QUIT": "after QUIT",
}
GREETING = "waiting for the greeting"


class ReplyTooSlow(TimeoutError):
    """No complete reply within the deadline, however steadily its bytes came."""

    def __init__(self, seconds: float, waiting: str) -> None:
        super().__init__(f"no complete reply within {seconds:g} seconds {waiting}")
        self.seconds = seconds
        self.waiting = waiting  # e.g. "after RCPT TO"


class DataTooSlow(TimeoutError):
    """The server took the message too slowly: nothing for a timeout, or below a rate."""

    def __init__(self, written: int, seconds: float, *, stalled: bool, rate: int) -> None:
        super().__init__(f"{written} bytes written in {seconds:.1f} seconds")
        self.written = written
        self.seconds = seconds
        self.stalled = stalled  # no progress at all for seconds (the account's timeout)
        self.rate = rate  # bytes a second the message must at least go at


class ReplyTooLong(smtplib.SMTPException):
    """A reply past MAX_REPLY_LINES lines, MAX_REPLY_BYTES bytes or a MAX_REPLY_LINE line."""

    def __init__(self, what: str, waiting: str) -> None:
        super().__init__(f"{what} {waiting}")
        self.what = what  # e.g. "more than 100 lines"
        self.waiting = waiting


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
        self._lookup_woken: threading.Event | None = None
        self.cancelled = False

    def connect(self, host: str, port: int, timeout: float, source: Any) -> socket.socket:
        """Like ``socket.create_connection``, but every socket can be shut down by cancel(),
        and the name lookup and every address tried together end within timeout.

        A name with many addresses, each of them silent, would otherwise take the timeout
        once per address.
        """
        deadline = time.monotonic() + timeout
        error: OSError | None = None
        for family, kind, proto, _, address in self._look_up(host, port, timeout, deadline):
            left = deadline - time.monotonic()
            if left <= 0:
                error = TimeoutError(f"no connection to {host} within {_seconds(timeout)}")
                break
            sock = socket.socket(family, kind, proto)
            with self._lock:
                if self.cancelled:
                    sock.close()
                    break
                self._forget_locked()
                self._dup = sock.dup()
            try:
                sock.settimeout(left)
                if source:
                    sock.bind(source)
                sock.connect(address)
                sock.settimeout(timeout)  # the TLS handshake and the replies get their own
                # Every write is a whole command or a large piece of a message: held back
                # by Nagle's algorithm, the final "." waited for the server's delayed ACK,
                # some 40 ms per message.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return sock
            except OSError as failure:
                error = failure
                sock.close()
                self.close()
        if self.cancelled:
            raise ConnectionAbortedError("cancelled")
        raise error or OSError(f"no address found for {host}")

    def _look_up(
        self, host: str, port: int, timeout: float, deadline: float
    ) -> Sequence[tuple[int, int, int, str, Any]]:
        """The addresses of host, waited for until deadline or a cancel.

        getaddrinfo() cannot be interrupted and has no timeout of its own (a stuck DNS
        server holds it for as long as the system's resolver retries), so it runs on a
        thread of its own, which is left to finish alone when the wait ends first.
        """
        outcome: list[Sequence[tuple[int, int, int, str, Any]] | Exception] = []
        woken = threading.Event()  # the lookup ended, or cancel() was called

        def look_up() -> None:
            try:
                found: Sequence[tuple[int, int, int, str, Any]] | Exception = self._resolve(
                    host, port, 0, socket.SOCK_STREAM
                )
            except Exception as failure:
                found = failure
            with self._lock:
                outcome.append(found)
            woken.set()

        with self._lock:
            if self.cancelled:
                raise ConnectionAbortedError("cancelled")
            self._lookup_woken = woken
        threading.Thread(target=look_up, name="composer-lookup", daemon=True).start()
        woken.wait(max(0.0, deadline - time.monotonic()))
        with self._lock:
            self._lookup_woken = None
            if self.cancelled:
                raise ConnectionAbortedError("cancelled")
            if not outcome:
                raise socket.gaierror(
                    socket.EAI_AGAIN, f"no answer to the name lookup within {_seconds(timeout)}"
                )
            found = outcome[0]
        if isinstance(found, Exception):
            raise found
        return found

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            if self._lookup_woken is not None:
                self._lookup_woken.set()
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


def _seconds(seconds: float) -> str:
    return "1 second" if seconds == 1 else f"{seconds:g} seconds"


class BoundedReplyMixin:
    """getreply() with a deadline for the whole reply and bounds on its size.

    smtplib's getreply() reads through a file whose every recv() gets the full timeout, so a
    server sending a byte now and then holds it for ever, and it keeps every line of an
    endless multi-line reply. This one reads the socket itself: the whole reply must come
    within ``timeout`` seconds (the socket's timeout is set to what is left before each
    recv), and past MAX_REPLY_LINES lines, MAX_REPLY_BYTES bytes or a MAX_REPLY_LINE line it
    hangs up. Signature and result are smtplib's, so other mixins may wrap it with super().
    connect() and the TLS handshake need nothing of the kind: CPython bounds each of them
    as a whole by the socket's timeout (a handshake dribbled a byte every half second ends
    at the timeout).
    """

    sock: socket.socket | None
    timeout: float
    debuglevel: int
    _reply_buffer = b""
    _reply_source: socket.socket | None = None
    _waiting = GREETING  # what the next reply answers, for a failure's sentence
    _waiting_after: tuple[str, ...] = ()  # what the replies after it answer (pipelined)

    def send(self, s: Any) -> None:
        text = bytes(s).decode("ascii", "replace") if not isinstance(s, str) else s
        # Pipelined commands (RFC 2920) come in one write, a line each, answered in order.
        verbs = (line.split(" ", 1)[0].strip().upper() for line in text.split("\r\n"))
        named = [_COMMANDS[verb] for verb in verbs if verb in _COMMANDS]
        if named:
            self._waiting, self._waiting_after = named[0], tuple(named[1:])
        super().send(s)  # type: ignore[misc]  # smtplib.SMTP's, after the other mixins

    _reply_seconds: float | None = None  # instead of timeout, for pending_reply()

    def getreply(self) -> tuple[int, bytes]:
        seconds = self._reply_seconds
        if seconds is None:
            # smtplib's default (no timeout given) is a sentinel object: no deadline then.
            timeout = self.timeout
            seconds = timeout if isinstance(timeout, (int, float)) else None
        reply = self.read_reply(seconds)
        if self._waiting_after:
            self._waiting, *rest = self._waiting_after
            self._waiting_after = tuple(rest)
        return reply

    def pending_reply(self, seconds: float) -> tuple[int, bytes] | None:
        """A reply the server already sent (or sends within seconds), or None.

        For after a write failed: a server that refuses a message in the middle of DATA
        answers, then closes, and its answer is still there to read. Read through
        getreply(), so that every mixin sees it as a reply.
        """
        self._reply_seconds = seconds
        try:
            reply: tuple[int, bytes] = self.getreply()
        except (OSError, smtplib.SMTPException):
            return None
        finally:
            self._reply_seconds = None
        return reply

    def read_reply(self: Any, seconds: float | None) -> tuple[int, bytes]:
        """One whole reply within seconds (None: no deadline), as getreply() returns it."""
        if self._reply_source is not self.sock:
            # A new socket (after STARTTLS): nothing read before it may count as its reply.
            self._reply_buffer, self._reply_source = b"", self.sock
        deadline = None if seconds is None else time.monotonic() + seconds
        lines: list[bytes] = []
        total = 0
        while True:
            line = self._reply_line(deadline, seconds)
            total += len(line)
            if self.debuglevel > 0:
                self._print_debug("reply:", repr(line))
            if len(lines) >= MAX_REPLY_LINES:
                self._refuse(f"more than {MAX_REPLY_LINES} lines")
            if total > MAX_REPLY_BYTES:
                self._refuse(f"more than {MAX_REPLY_BYTES // 1024} KiB")
            code = line[:3]
            if not (len(code) == 3 and code.isdigit()):
                # Not SMTP: smtplib's -1, with the whole line, which says more than its rest.
                lines.append(line.strip(b" \t\r\n"))
                return -1, b"\n".join(lines)
            lines.append(line[4:].strip(b" \t\r\n"))
            if line[3:4] != b"-":
                return int(code), b"\n".join(lines)

    def _reply_line(self: Any, deadline: float | None, seconds: float | None) -> bytes:
        while True:
            buffer: bytes = self._reply_buffer
            end = buffer.find(b"\n", 0, MAX_REPLY_LINE + 1)
            if end >= 0:
                self._reply_buffer = buffer[end + 1 :]
                return buffer[: end + 1]
            if len(buffer) > MAX_REPLY_LINE:
                self._refuse(f"a line over {MAX_REPLY_LINE // 1024} KiB")
            self._reply_buffer += self._receive(deadline, seconds)

    def _receive(self: Any, deadline: float | None, seconds: float | None) -> bytes:
        sock: socket.socket | None = self.sock
        if sock is None:
            raise smtplib.SMTPServerDisconnected("please run connect() first")
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                self.close()
                raise ReplyTooSlow(seconds or 0, self._waiting)
            sock.settimeout(left)
        try:
            data = sock.recv(4096)
        except TimeoutError as error:
            self.close()
            raise ReplyTooSlow(seconds or 0, self._waiting) from error
        except OSError as error:
            self.close()
            raise smtplib.SMTPServerDisconnected(
                f"Connection unexpectedly closed: {error}"
            ) from error
        finally:
            if deadline is not None and self.sock is sock:
                # Writes (and the TLS handshake) keep the account's timeout.
                sock.settimeout(self.timeout)
        if not data:
            self.close()
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return data

    def _refuse(self: Any, what: str) -> None:
        self.close()  # the rest of it is never read
        raise ReplyTooLong(what, self._waiting)


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


class CancellableSMTP(TranscriptMixin, BoundedReplyMixin, Utf8AuthMixin, smtplib.SMTP):
    """smtplib.SMTP whose socket comes from a Canceller."""

    def __init__(self, canceller: Canceller, timeout: float) -> None:
        self._canceller = canceller
        # An explicit local name: smtplib would otherwise call getfqdn(), a DNS lookup that
        # can block for seconds on a badly configured network.
        super().__init__(local_hostname="localhost", timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self._canceller.connect(host, port, timeout, self.source_address)


class CancellableSMTPSSL(TranscriptMixin, BoundedReplyMixin, Utf8AuthMixin, smtplib.SMTP_SSL):
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

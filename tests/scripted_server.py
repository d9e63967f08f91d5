"""A raw SMTP server on 127.0.0.1 that misbehaves on cue: replies dribbled a byte at a time,
endless or over-long replies, resets, a refusal in the middle of DATA, bytes that are not text.

aiosmtpd always answers well-formed lines at once; a hostile server does not. Each connection
is served on a thread of its own by a plain dialogue whose answers a test replaces, per verb,
with a line or with a behaviour (a function of the connection).
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import struct
import threading
from collections.abc import Callable, Iterator
from typing import Any

from tests.servers import HOST

# What the server does instead of an answer: send it, or call it with the connection.
Answer = bytes | str | Callable[["Connection"], None]


class HungUp(Exception):
    """The dialogue ends here (the client left, or a behaviour closed the connection)."""


class Connection:
    """One client, seen from the server; every method raises HungUp once the client is gone."""

    def __init__(self, sock: socket.socket, server: ScriptedServer) -> None:
        self.sock = sock
        self.server = server
        self._buffer = b""

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as error:
            raise HungUp from error

    def read_line(self) -> bytes:
        while b"\n" not in self._buffer:
            self._buffer += self._receive()
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line + b"\n"

    def read_message(self) -> bytes:
        """Everything up to and including the final dot."""
        while b"\r\n.\r\n" not in self._buffer:
            self._buffer += self._receive()
        message, _, self._buffer = self._buffer.partition(b"\r\n.\r\n")
        return message + b"\r\n.\r\n"

    def read_some(self, count: int) -> bytes:
        if not self._buffer:
            self._buffer = self._receive(count)
        data, self._buffer = self._buffer[:count], self._buffer[count:]
        return data

    def _receive(self, count: int = 65536) -> bytes:
        if self.server.stopping.is_set():
            raise HungUp
        try:
            data = self.sock.recv(count)
        except OSError as error:
            raise HungUp from error
        if not data:
            raise HungUp
        return data

    def client_left(self) -> bool:
        """Whether the client closed its end, even with unread bytes before the close."""
        poll = select.poll()
        poll.register(self.sock, select.POLLRDHUP)
        return any(events & (select.POLLRDHUP | select.POLLHUP) for _, events in poll.poll(0))

    def starttls(self) -> None:
        """Answer 220, then the server side of a TLS handshake."""
        self.send(b"220 2.0.0 Ready to start TLS\r\n")
        assert self.server.tls_context is not None
        try:
            self.sock = self.server.tls_context.wrap_socket(self.sock, server_side=True)
        except OSError as error:
            raise HungUp from error
        self._buffer = b""

    def close(self) -> None:
        raise HungUp

    def reset(self) -> None:
        """Close with a TCP reset instead of a goodbye."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        raise HungUp


def dribble(text: str | bytes, interval: float = 0.5) -> Callable[[Connection], None]:
    """Send the reply text one byte every interval seconds: each read gets a byte, and the
    reply takes len(text) * interval seconds to end."""
    data = _line(text)
    return lambda connection: _dribble(connection, data, interval)


def _dribble(connection: Connection, data: bytes, interval: float) -> None:
    for byte in data:
        if connection.server.stopping.wait(interval):
            raise HungUp
        connection.send(bytes([byte]))


def endless(line: bytes = b"250-" + b"x" * 60 + b"\r\n") -> Callable[[Connection], None]:
    """A multi-line reply that never ends, until the client hangs up."""

    def play(connection: Connection) -> None:
        while not connection.server.stopping.is_set():
            connection.send(line * 100)
            with connection.server.lock:
                connection.server.lines_sent += 100

    return play


def then_reset(text: str | bytes = b"") -> Callable[[Connection], None]:
    """Send text (if any), then reset the connection."""

    def play(connection: Connection) -> None:
        if text:
            connection.send(_line(text))
        connection.reset()

    return play


def cut_in_data(
    reply: str | bytes = b"", *, reset: bool = False, after: int = 4096
) -> Callable[[Connection], None]:
    """After 354: read the first bytes of the message, then say reply (if any) and close,
    or reset, with the rest of the message unread: the client's next writes fail."""

    def play(connection: Connection) -> None:
        connection.send(b"354 End data with <CR><LF>.<CR><LF>\r\n")
        connection.read_some(after)
        if reply:
            connection.send(_line(reply))
        if reset:
            connection.reset()
        connection.close()

    return play


def read_slowly(interval: float = 0.5) -> Callable[[Connection], None]:
    """After 354: read the message one byte every interval seconds."""

    def play(connection: Connection) -> None:
        connection.send(b"354 End data with <CR><LF>.<CR><LF>\r\n")
        while not connection.server.stopping.wait(interval):
            if connection.client_left():
                raise HungUp
            connection.read_some(1)

    return play


def in_turn(*answers: Answer) -> Callable[[Connection], None]:
    """Each answer once, in order, on whichever connection; the last one again after that."""
    left = list(answers)

    def play(connection: Connection) -> None:
        with connection.server.lock:
            answer = left.pop(0) if len(left) > 1 else left[0]
        if callable(answer):
            answer(connection)
        else:
            connection.send(_line(answer))

    return play


def accept_message(connection: Connection) -> None:
    """DATA's usual answer, for a script that answers DATA otherwise at other times: 354,
    then the message read to its final dot and accepted."""
    connection.send(b"354 End data with <CR><LF>.<CR><LF>\r\n")
    _read_and_accept(connection)


def _line(text: str | bytes) -> bytes:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return data if data.endswith(b"\n") else data + b"\r\n"


EHLO = "250-scripted.test\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250 SIZE 100000000"
# What a server offering PIPELINING (RFC 2920) says.
EHLO_PIPELINING = "250-scripted.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 100000000"
EHLO_STARTTLS = "250-scripted.test\r\n250-STARTTLS\r\n250-8BITMIME\r\n250 SIZE 100000000"


class ScriptedServer:
    """Speaks SMTP on 127.0.0.1 and a free port; ``answers`` replaces what it says.

    Keys: "greeting", a verb ("EHLO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "QUIT", ...;
    for AUTH the first line of the login), "message" (instead of reading the message after
    354 and answering 250). With tls_context, EHLO offers STARTTLS, and STARTTLS works; with
    implicit_tls, the whole connection is TLS (the handshake is the server's "tls" answer if
    given, a behaviour that replaces it). ``commands`` lists the verbs received,
    ``messages`` each message read to its final dot, ``lines_sent`` counts endless() lines.
    Lines are read and answered one at a time, so commands written together (PIPELINING,
    offered when EHLO answers EHLO_PIPELINING) are answered in order.
    """

    def __init__(
        self,
        answers: dict[str, Answer] | None = None,
        *,
        tls_context: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
    ) -> None:
        self.host = HOST
        self.answers = dict(answers or {})
        self.tls_context = tls_context
        self.implicit_tls = implicit_tls
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.commands: list[str] = []
        self.messages: list[bytes] = []
        self.lines_sent = 0
        self._ended = threading.Condition(self.lock)
        self._finished = 0
        self._threads: list[threading.Thread] = []
        self._live: list[Connection] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind((HOST, 0))
        self._listener.listen(8)
        self.port = int(self._listener.getsockname()[1])
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    def start(self) -> ScriptedServer:
        self._acceptor.start()
        return self

    def wait_until_finished(self, count: int = 1, timeout: float = 10) -> bool:
        """True once count connections have ended (closed by the client or by the script)."""
        with self._ended:
            return self._ended.wait_for(lambda: self._finished >= count, timeout)

    def _accept_loop(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            if self.stopping.is_set():
                sock.close()
                return
            connection = Connection(sock, self)
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            with self.lock:
                self._threads.append(thread)
                self._live.append(connection)
            thread.start()

    def _serve(self, connection: Connection) -> None:
        try:
            self._dialogue(connection)
        except HungUp:
            pass
        finally:
            with contextlib.suppress(OSError):
                connection.sock.close()
            with self._ended:
                self._finished += 1
                self._ended.notify_all()

    def _answer(self, connection: Connection, key: str, default: Answer) -> None:
        answer = self.answers.get(key, default)
        if callable(answer):
            answer(connection)
        else:
            connection.send(_line(answer))

    def _dialogue(self, connection: Connection) -> None:
        if self.implicit_tls:
            self._answer(connection, "tls", _handshake)
        self._answer(connection, "greeting", "220 scripted.test ESMTP")
        while True:
            line = connection.read_line()
            verb = line.split(b" ", 1)[0].strip().upper().decode("ascii", "replace")
            with self.lock:
                self.commands.append(verb)
            if verb == "EHLO":
                plain = self.tls_context is not None and not isinstance(
                    connection.sock, ssl.SSLSocket
                )
                self._answer(connection, "EHLO", EHLO_STARTTLS if plain else EHLO)
            elif verb == "STARTTLS":
                self._answer(connection, "STARTTLS", Connection.starttls)
            elif verb == "AUTH":
                self._answer(connection, "AUTH", "235 2.7.0 Authentication successful")
            elif verb == "DATA":
                self._answer(connection, "DATA", "354 End data with <CR><LF>.<CR><LF>")
                if "DATA" not in self.answers:
                    self._answer(connection, "message", _read_and_accept)
            elif verb == "QUIT":
                self._answer(connection, "QUIT", "221 Bye")
                return
            else:
                self._answer(connection, verb, "250 OK")

    def stop(self) -> None:
        self.stopping.set()
        # accept() is not woken by close() from another thread; a last connection wakes it.
        with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), 5):
            pass
        self._acceptor.join(10)
        self._listener.close()
        with self.lock:
            live, threads = list(self._live), list(self._threads)
        for connection in live:
            with contextlib.suppress(OSError):
                # Wakes a thread blocked in recv or send, which close() would not.
                connection.sock.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(10)


def _handshake(connection: Connection) -> None:
    assert connection.server.tls_context is not None
    try:
        connection.sock = connection.server.tls_context.wrap_socket(
            connection.sock, server_side=True
        )
    except OSError as error:
        raise HungUp from error


def _read_and_accept(connection: Connection) -> None:
    message = connection.read_message()
    with connection.server.lock:
        connection.server.messages.append(message)
    connection.send(b"250 2.0.0 Message accepted\r\n")


def dribbled_handshake(interval: float = 0.5) -> Callable[[Connection], None]:
    """The server's side of a TLS handshake, its bytes sent one every interval seconds.

    For a client that gives up first: what would follow the handshake is not encrypted.
    """

    def play(connection: Connection) -> None:
        context = connection.server.tls_context
        assert context is not None
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(incoming, outgoing, server_side=True)
        while True:
            try:
                tls.do_handshake()
            except ssl.SSLWantReadError:
                pass
            else:
                return
            pending = outgoing.read()
            if pending:
                _dribble(connection, pending, interval)
            incoming.write(connection.read_some(65536))

    return play


@contextlib.contextmanager
def scripted(answers: dict[str, Answer] | None = None, **options: Any) -> Iterator[ScriptedServer]:
    """A started ScriptedServer, stopped whatever happens."""
    server = ScriptedServer(answers, **options).start()
    try:
        yield server
    finally:
        server.stop()

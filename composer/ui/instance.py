"""One Composer per user and configuration: a later launch hands its drafts to the running one.

The running instance listens on a local socket (QLocalServer) in a directory of the user's
own (composer/instance_socket.py); what goes over it is in composer/instance_protocol.py.
Each end talks only to a process of the same user, and the running instance bounds what
its own user's launches may ask for: bytes and windows per request, requests per second.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from composer import instance_protocol
from composer.instance_protocol import (
    ProtocolError,
    acknowledged,
    decode_request,
    encode_reply,
    encode_request,
)
from composer.instance_socket import instance_name, is_own_user, peer_uid
from composer.mail.draft import Draft
from composer.rate_limit import TokenBucket

# What the application layer imports from here; instance_name is the socket module's.
__all__ = ["InstanceServer", "instance_name", "send_to_running_instance"]

log = logging.getLogger(__name__)

# How long a later launch waits for the running instance before starting its own.
CONNECT_TIMEOUT_MS = 2_000
# A client that connects and then says nothing is dropped after this long.
IDLE_TIMEOUT_MS = 10_000
# A burst as large as a file manager handing over a score of files at once, each in a launch
# of its own; then a few a second. A launch turned away opens its own window instead.
REQUEST_BURST = 20
REQUESTS_PER_SECOND = 5.0
# Each connection may hold up to MAX_REQUEST_BYTES until it is answered.
MAX_OPEN_CONNECTIONS = 16

_NOT_OURS = "refused: Composer answers only launches of its own user"
_TOO_MANY = "refused: too many requests at once; try again in a moment"


# --- the later launch ----------------------------------------------------------------------


def send_to_running_instance(
    name: str, drafts: Sequence[Draft], timeout_ms: int = CONNECT_TIMEOUT_MS
) -> bool:
    """Hand drafts to the Composer listening on name; True once it has acknowledged them.

    Blocking, with an overall deadline; meant for a launch that has no window yet. False
    when nothing listens, or it does not answer in time: the caller then starts its own.
    """
    deadline = time.monotonic() + timeout_ms / 1000

    def remaining() -> int:
        return max(0, int((deadline - time.monotonic()) * 1000))

    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(remaining()):
        return False
    try:
        # Whoever listens here gets the recipients, the text and the attachments' paths.
        if not is_own_user(int(socket.socketDescriptor())):
            log.warning(
                "A process of another user listens on %s; this launch opens its own window "
                "instead of handing its message over",
                name,
            )
            return False
        socket.write(encode_request(drafts))
        while socket.bytesToWrite() > 0:
            if not socket.waitForBytesWritten(remaining()):
                # A running instance that turned this launch away may hang up first; what
                # it said is still to be read.
                break
        reply = b""
        while b"\n" not in reply:
            if not socket.bytesAvailable() and not socket.waitForReadyRead(remaining()):
                break
            reply += socket.readAll().data()
    finally:
        socket.abort()
    return acknowledged(reply)


def _answers(name: str) -> bool:
    """True when a live server accepts connections on name (not a leftover socket file)."""
    probe = QLocalSocket()
    probe.connectToServer(name)
    alive = probe.waitForConnected(500)
    probe.abort()
    return alive


# --- the running instance ------------------------------------------------------------------


class InstanceServer(QObject):
    """Listens for later launches and passes on the drafts they send.

    Never blocks: every connection is read as its readyRead signals arrive.

    Signals:
        drafts_received(list): a later launch asked for these Drafts to be opened.
    """

    drafts_received = Signal(list)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._server = QLocalServer(self)
        # Only this user may connect (on Unix the socket file's mode; on Windows the pipe's ACL).
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._on_new_connection)
        self._requests = TokenBucket(REQUEST_BURST, REQUESTS_PER_SECOND)

    def listen(self, name: str) -> bool:
        """Start listening on name, replacing a socket a crashed instance left behind.

        False (and a warning) when another instance already listens there, or when the
        socket cannot be created.
        """
        # With socket options set, Qt listens on a temporary name and renames it into
        # place, which would silently take the name over from a live instance: ask first.
        if _answers(name):
            log.warning("Another Composer already listens on %s", name)
            return False
        QLocalServer.removeServer(name)  # a leftover socket file nobody listens on
        if self._server.listen(name):
            return True
        log.warning("Not listening for other launches on %s: %s", name, self._server.errorString())
        return False

    def is_listening(self) -> bool:
        return self._server.isListening()

    def close(self) -> None:
        """Stop listening (the socket file is removed)."""
        self._server.close()

    @Slot()
    def _on_new_connection(self) -> None:
        while self._server.hasPendingConnections():
            socket = self._server.nextPendingConnection()
            if socket is not None:
                self._converse(socket)

    def _converse(self, socket: QLocalSocket) -> None:
        refusal = self._refusal(socket)
        if refusal is not None:
            _Conversation(socket, self._answer, self, refusal=refusal)
        elif not self._requests.take():
            # Heard out, then refused: a launch that has written its request reads the
            # reason (it could not if the server hung up on it while it wrote).
            _Conversation(socket, self._turn_away, self)
        else:
            _Conversation(socket, self._answer, self)

    def _refusal(self, socket: QLocalSocket) -> bytes | None:
        """The answer that turns this connection away at once, or None to hear it out."""
        fd = int(socket.socketDescriptor())
        # Before any count: another user must not use up what this user's launches may ask.
        if not is_own_user(fd):
            try:
                who = f"uid {peer_uid(fd)}"
            except OSError:
                who = "an unknown user"
            log.warning("Refused a connection to the instance socket from %s", who)
            return encode_reply(False, _NOT_OURS)
        conversations = self.findChildren(_Conversation)
        if sum(1 for c in conversations if not c.done) >= MAX_OPEN_CONNECTIONS:
            log.warning("Refused a launch's connection: too many connections at once")
            return encode_reply(False, _TOO_MANY)
        return None

    def _turn_away(self, _line: bytes) -> bytes:
        log.warning("Refused a launch's request: too many requests at once")
        return encode_reply(False, _TOO_MANY)

    def _answer(self, line: bytes) -> bytes:
        try:
            drafts = decode_request(line)
        except ProtocolError as error:
            log.warning("Ignored a malformed request from another launch: %s", error)
            return encode_reply(False, str(error))
        self.drafts_received.emit(drafts)
        return encode_reply(True)


class _Conversation(QObject):
    """One connection: collect a line, answer it, hang up."""

    def __init__(
        self,
        socket: QLocalSocket,
        answer: Callable[[bytes], bytes],
        parent: QObject,
        *,
        refusal: bytes | None = None,
    ) -> None:
        super().__init__(parent)
        self._socket = socket
        socket.setParent(self)
        self._answer = answer
        self._buffer = bytearray()
        self._done = False
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.timeout.connect(self._on_idle)
        self._idle.start(IDLE_TIMEOUT_MS)
        socket.readyRead.connect(self._on_ready_read)
        socket.disconnected.connect(self._on_disconnected)
        if refusal is not None:
            self._hang_up(refusal)
        elif socket.bytesAvailable():
            self._on_ready_read()

    @property
    def done(self) -> bool:
        """True once answered (or dropped): only its clean-up is left."""
        return self._done

    @Slot()
    def _on_ready_read(self) -> None:
        if self._done:
            self._socket.readAll()
            return
        self._buffer += self._socket.readAll().data()
        line, newline, _ = self._buffer.partition(b"\n")
        if newline:
            self._hang_up(self._answer(bytes(line)))
        elif len(self._buffer) > instance_protocol.MAX_REQUEST_BYTES:
            log.warning(
                "Ignored a request of more than %d bytes", instance_protocol.MAX_REQUEST_BYTES
            )
            self._hang_up(encode_reply(False, "request too large"))

    def _hang_up(self, reply: bytes) -> None:
        self._done = True
        self._idle.stop()
        self._buffer.clear()
        if self._socket.state() != QLocalSocket.LocalSocketState.ConnectedState:
            self.deleteLater()  # the launch hung up without waiting for the answer
            return
        self._socket.write(reply)
        self._socket.flush()
        # Closes once the reply is written; disconnected then cleans up.
        self._socket.disconnectFromServer()

    @Slot()
    def _on_idle(self) -> None:
        log.warning("Dropped a connection from another launch that sent nothing in time")
        self._done = True
        self._socket.abort()
        self.deleteLater()

    @Slot()
    def _on_disconnected(self) -> None:
        if not self._done and self._buffer.strip():
            log.warning("Ignored an incomplete request from another launch")
        self._done = True
        self._idle.stop()
        self.deleteLater()

"""One Composer per user and configuration: a later launch hands its drafts to the running one.

The running instance listens on a local socket (QLocalServer). A later launch connects, sends
one line of JSON, waits for a one-line JSON acknowledgement, and exits:

    → {"protocol": "composer-instance/1", "drafts": [{"to": "...", "cc": "...", "bcc": "...",
       "subject": "...", "body": "...", "in_reply_to": "...", "attachments": ["/abs/path"]}]}
    ← {"ok": true}          (or {"ok": false, "error": "..."} for a request it could not read)

Every draft opens one compose window. Fields may be left out (empty); unknown keys are ignored.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from composer.mail.draft import Attachment, Draft

log = logging.getLogger(__name__)

PROTOCOL = "composer-instance/1"
# How long a later launch waits for the running instance before starting its own.
CONNECT_TIMEOUT_MS = 2_000
# A request is a command line's worth of text; anything much bigger is not from Composer.
MAX_REQUEST_BYTES = 8 * 1024 * 1024
MAX_DRAFTS = 50
# A client that connects and then says nothing is dropped after this long.
IDLE_TIMEOUT_MS = 10_000

_TEXT_FIELDS = ("to", "cc", "bcc", "subject", "body", "in_reply_to")
_OK = b'{"ok": true}\n'


class ProtocolError(ValueError):
    """A request on the instance socket that is not a valid Composer request."""


def instance_name(config_dir: Path) -> str:
    """The local socket name for this user and configuration directory.

    In $XDG_RUNTIME_DIR (private to the user) when there is one, otherwise a name that Qt
    places in the temporary directory (or a named pipe on Windows), made unique by the user.
    """
    digest = hashlib.sha256(os.fsencode(Path(config_dir).resolve())).hexdigest()[:16]
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if sys.platform != "win32" and os.path.isabs(runtime) and os.path.isdir(runtime):
        return os.path.join(runtime, f"composer-{digest}.sock")
    return f"composer-{_user()}-{digest}"


def _user() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError, ImportError):  # no name for this uid, e.g. in a container
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", user)[:32] or "user"


# --- the request ---------------------------------------------------------------------------


def encode_request(drafts: Sequence[Draft]) -> bytes:
    """One line of JSON (ASCII, so no raw line break can occur inside it)."""
    payload = {
        "protocol": PROTOCOL,
        "drafts": [
            {
                **{name: getattr(draft, name) for name in _TEXT_FIELDS},
                "attachments": [os.fspath(a.path) for a in draft.attachments],
            }
            for draft in drafts
        ],
    }
    return json.dumps(payload, ensure_ascii=True).encode("ascii") + b"\n"


def decode_request(line: bytes) -> list[Draft]:
    """The drafts in one request line; raises ProtocolError (only) when it is not one."""
    try:
        message = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ProtocolError("not JSON") from None
    if not isinstance(message, dict) or message.get("protocol") != PROTOCOL:
        raise ProtocolError(f"not a {PROTOCOL} request")
    drafts = message.get("drafts")
    if not isinstance(drafts, list) or len(drafts) > MAX_DRAFTS:
        raise ProtocolError(f"'drafts' must be a list of at most {MAX_DRAFTS}")
    return [_draft(item) for item in drafts]


def _draft(item: Any) -> Draft:
    if not isinstance(item, dict):
        raise ProtocolError("a draft must be an object")
    texts: dict[str, str] = {}
    for name in _TEXT_FIELDS:
        value = item.get(name, "")
        if not isinstance(value, str) or not _is_text(value):
            raise ProtocolError(f"'{name}' must be text")
        texts[name] = value
    paths = item.get("attachments", [])
    if not isinstance(paths, list) or not all(isinstance(p, str) and p for p in paths):
        raise ProtocolError("'attachments' must be a list of paths")
    if not all(os.path.isabs(p) for p in paths):
        raise ProtocolError("attachment paths must be absolute")
    return Draft(
        to=texts["to"],
        cc=texts["cc"],
        bcc=texts["bcc"],
        subject=texts["subject"],
        body=texts["body"],
        in_reply_to=texts["in_reply_to"],
        attachments=tuple(Attachment(Path(p)) for p in paths),
    )


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from a "\udcxx" escape
        return False
    return True


def _reply(ok: bool, error: str = "") -> bytes:
    return _OK if ok else json.dumps({"ok": False, "error": error}).encode("ascii") + b"\n"


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
        socket.write(encode_request(drafts))
        while socket.bytesToWrite() > 0:
            if not socket.waitForBytesWritten(remaining()):
                return False
        reply = b""
        while b"\n" not in reply:
            if not socket.bytesAvailable() and not socket.waitForReadyRead(remaining()):
                break
            reply += socket.readAll().data()
    finally:
        socket.abort()
    return _acknowledged(reply)


def _acknowledged(reply: bytes) -> bool:
    try:
        answer = json.loads(reply.partition(b"\n")[0].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    if isinstance(answer, dict) and answer.get("ok") is True:
        return True
    log.warning("The running Composer refused the request: %s", answer)
    return False


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
                _Conversation(socket, self._answer, self)

    def _answer(self, line: bytes) -> bytes:
        try:
            drafts = decode_request(line)
        except ProtocolError as error:
            log.warning("Ignored a malformed request from another launch: %s", error)
            return _reply(False, str(error))
        self.drafts_received.emit(drafts)
        return _reply(True)


class _Conversation(QObject):
    """One connection: collect a line, answer it, hang up."""

    def __init__(
        self, socket: QLocalSocket, answer: Callable[[bytes], bytes], parent: QObject
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
        if socket.bytesAvailable():
            self._on_ready_read()

    @Slot()
    def _on_ready_read(self) -> None:
        if self._done:
            self._socket.readAll()
            return
        self._buffer += self._socket.readAll().data()
        line, newline, _ = self._buffer.partition(b"\n")
        if newline:
            self._hang_up(self._answer(bytes(line)))
        elif len(self._buffer) > MAX_REQUEST_BYTES:
            log.warning("Ignored a request of more than %d bytes", MAX_REQUEST_BYTES)
            self._hang_up(_reply(False, "request too large"))

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

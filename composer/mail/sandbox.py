"""The embedded SMTP server behind the "Local sandbox" account: delivers into a Maildir.

It listens on 127.0.0.1, where every local user can connect, so it takes mail only after AUTH
with a secret made afresh each time it starts and held only in this process's memory: only
Composer itself can deliver. What it keeps on disk is bounded in bytes and in messages.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hmac
import logging
import mailbox
import os
import secrets
import threading
import time
from email.message import Message
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from composer.mail.ports import LOOPBACK, start_on_free_port
from composer.mail.sizes import format_size

log = logging.getLogger(__name__)

# An account may send 25 MB of attachments (about 36 MB once base64-encoded) or more if its
# limit is raised; aiosmtpd's own default refuses anything over 32 MiB. aiosmtpd holds a
# message whole in memory (about twice its size while it reads the final dot), which is
# acceptable only because nobody but Composer itself may send here.
SANDBOX_SIZE_LIMIT = 256 * 1024 * 1024
# What the Maildir may hold before the sandbox refuses more: room for a few of the largest
# messages or thousands of ordinary ones, and few enough files for any mail reader.
SANDBOX_DISK_LIMIT = 1024 * 1024 * 1024
SANDBOX_MESSAGE_LIMIT = 10_000
# The user name Composer logs in with; the password is SandboxServer.password.
SANDBOX_LOGIN = "composer"
# 452 (insufficient storage) and not 552: deleting messages makes room, and the Outbox tries
# a message refused with a 4xx code again later.
FULL_CODE = 452
_FULL_REPLY = f"{FULL_CODE} 4.3.1 The local sandbox is full"
_AUTH_REQUIRED = "530 5.7.0 Authentication required"
# Written in pieces that end at a line end, so that no CRLF is split when it becomes LF.
_WRITE_CHUNK = 1024 * 1024
# Where the header of a message Composer built ends at the latest.
_MAX_HEADER = 4 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class ConnectionLimits:
    """How many connections, and for how long each, the sandbox server keeps open."""

    # Composer opens one connection per message it sends, and sends a few at a time at most.
    most: int = 8
    # From connecting to a successful AUTH, however busy the client keeps the connection:
    # Composer logs in within milliseconds of connecting. Once logged in, aiosmtpd's own
    # 300 s between commands applies: a large message's DATA must fit in it.
    login_timeout: float = 30.0
    # AUTH commands that did not log in; smtplib tries each mechanism once per login().
    login_attempts: int = 3


def _not_login_data_notice(record: logging.LogRecord) -> bool:
    # aiosmtpd 1.4 sets its deprecated Session.login_data itself on every successful AUTH,
    # and warns about its own use of it each time: a warning nobody can act on.
    return not str(record.msg).startswith("Session.login_data is deprecated")


def maildir_usage(root: Path) -> tuple[int, int]:
    """How many message files the Maildir at root holds, and their bytes (tmp/ included)."""
    count = size = 0
    for part in ("new", "cur", "tmp"):
        with contextlib.suppress(FileNotFoundError), os.scandir(root / part) as entries:
            for entry in entries:
                with contextlib.suppress(OSError):  # read or moved meanwhile
                    if entry.is_file(follow_symlinks=False):
                        size += entry.stat(follow_symlinks=False).st_size
                        count += 1
    return count, size


class _MaildirHandler:
    """aiosmtpd handler: only a logged-in client may send; each message becomes a file."""

    def __init__(self, maildir: Path, disk_limit: int, message_limit: int) -> None:
        maildir.parent.mkdir(parents=True, exist_ok=True)
        mailbox.Maildir(maildir, create=True)  # new/, cur/ and tmp/
        self._root = maildir
        self._disk_limit = disk_limit
        self._message_limit = message_limit
        self._lock = threading.Lock()
        self._delivered: dict[str, Path] = {}
        self._refusal = ""

    async def handle_MAIL(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        if not session.authenticated:
            return _AUTH_REQUIRED
        if self._full(_declared_size(mail_options)):
            return _FULL_REPLY
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if not session.authenticated:
            return _AUTH_REQUIRED
        content: bytes = envelope.original_content or envelope.content
        trace = (
            f"Return-Path: <{envelope.mail_from}>\r\n"
            f"Delivered-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode("utf-8", "surrogateescape")
        if self._full(len(trace) + len(content)):  # the client may not have said its SIZE
            return _FULL_REPLY
        path = self._store(trace, content)
        message_id = _header(content).get("Message-ID", "")
        with self._lock:
            self._delivered[str(message_id).strip()] = path
        log.info("sandbox delivered %s to %s", message_id, path)
        return "250 Message accepted for delivery"

    def _full(self, size: int) -> bool:
        """Whether a message of size bytes would overfill the Maildir; remembers why if so."""
        count, used = maildir_usage(self._root)
        if count >= self._message_limit:
            why = f"it holds {count:,} messages, as many as it keeps"
        elif used + size > self._disk_limit:
            room = max(0, self._disk_limit - used)
            why = (
                f"its messages take {format_size(used)} of the {format_size(self._disk_limit)} "
                f"it keeps, and this one needs {format_size(size)}"
            )
            if room == 0:
                why = f"its messages take {format_size(used)}, as much as it keeps"
        else:
            return False
        log.warning("the local sandbox refused a message: %s", why)
        with self._lock:
            self._refusal = (
                f"The local sandbox is full: {why}. Delete messages in {self._root} to make room."
            )
        return True

    def _store(self, trace: bytes, content: bytes) -> Path:
        """Write the message into tmp/, then move it into new/, as Maildir delivery does."""
        name = f"{int(time.time())}.{secrets.token_hex(8)}.composer"
        temporary = self._root / "tmp" / name
        with open(temporary, "xb") as file:
            # Maildir files use the platform's line ends, as every local mail reader expects;
            # in pieces, so that the message is not copied whole once more.
            file.write(trace.replace(b"\r\n", b"\n"))
            start = 0
            while start < len(content):
                end = content.find(b"\n", start + _WRITE_CHUNK)
                end = len(content) if end < 0 else end + 1
                file.write(content[start:end].replace(b"\r\n", b"\n"))
                start = end
        path = self._root / "new" / name
        os.replace(temporary, path)
        return path

    def path_of(self, message_id: str) -> Path | None:
        with self._lock:
            return self._delivered.get(message_id.strip())

    def refusal(self) -> str:
        with self._lock:
            return self._refusal


def _header(content: bytes) -> Message:
    """The header of a message, read without copying its body (the parser would, twice)."""
    end = content.find(b"\r\n\r\n", 0, _MAX_HEADER)
    return BytesHeaderParser().parsebytes(content[: end + 2 if end >= 0 else _MAX_HEADER])


def _declared_size(mail_options: list[str]) -> int:
    """The SIZE=n a client gave with MAIL FROM (aiosmtpd has checked it is digits), or 0."""
    for option in mail_options:
        name, _, value = option.partition("=")
        if name.upper() == "SIZE" and value.isascii() and value.isdigit():
            return int(value)
    return 0


class _SecretCheck:
    """aiosmtpd authenticator: the sandbox's login and this run's password, nothing else."""

    def __init__(self, password: str) -> None:
        self._password = password.encode("ascii")

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = hmac.compare_digest(auth_data.login, SANDBOX_LOGIN.encode("ascii"))
        password = hmac.compare_digest(auth_data.password, self._password)
        if not (login and password):
            log.warning("the local sandbox refused a login (%s) from %s", mechanism, session.peer)
            return AuthResult(success=False, handled=False)  # aiosmtpd answers 535
        # No auth_data: what aiosmtpd keeps (and logs at debug level) holds no secret.
        return AuthResult(success=True)


class SandboxServer:
    """Starts on demand on 127.0.0.1 and a free port; stop() when the app quits."""

    def __init__(
        self,
        maildir: Path,
        size_limit: int = SANDBOX_SIZE_LIMIT,
        *,
        disk_limit: int = SANDBOX_DISK_LIMIT,
        message_limit: int = SANDBOX_MESSAGE_LIMIT,
        limits: ConnectionLimits | None = None,
    ) -> None:
        self.maildir = maildir
        self.limits = limits or ConnectionLimits()
        self.size_limit = size_limit
        self.disk_limit = disk_limit
        self.message_limit = message_limit
        self._lock = threading.Lock()
        self._controller: Any = None
        self._handler: _MaildirHandler | None = None
        self._password = ""

    @property
    def running(self) -> bool:
        return self._controller is not None

    @property
    def password(self) -> str:
        """What Composer logs in with (as SANDBOX_LOGIN) while the server runs; never stored."""
        with self._lock:
            return self._password

    def ensure_started(self) -> int:
        """Start the server if needed (thread-safe, may block briefly); returns its port."""
        with self._lock:
            if self._controller is not None:
                return int(self._controller.port)
            # Imported here: aiosmtpd is only needed once someone sends through the sandbox.
            from composer.mail.sandbox_guard import GuardedController

            logging.getLogger("mail.log").addFilter(_not_login_data_notice)  # added once

            handler = _MaildirHandler(self.maildir, self.disk_limit, self.message_limit)
            password = secrets.token_urlsafe(32)

            def start(port: int) -> Any:
                return start_controller(
                    GuardedController(
                        handler,
                        limits=self.limits,
                        hostname=LOOPBACK,
                        port=port,
                        server_hostname="sandbox.localhost",
                        data_size_limit=self.size_limit,
                        ready_timeout=10,
                        # AUTH in clear on loopback: nothing leaves this computer, and TLS
                        # would need a certificate of its own. The handler refuses MAIL before
                        # login (aiosmtpd's auth_required warns about exactly this setting).
                        auth_require_tls=False,
                        authenticator=_SecretCheck(password),
                    )
                )

            try:
                self._controller = start_on_free_port(start)
            except Exception as error:
                raise OSError(f"the local sandbox server could not start: {error}") from error
            self._handler, self._password = handler, password
            return int(self._controller.port)

    def delivered_path(self, message_id: str) -> Path | None:
        """Where the sandbox stored the message with this Message-ID, if it did."""
        return self._handler.path_of(message_id) if self._handler else None

    def refusal(self) -> str:
        """Why the sandbox last refused a message for want of room, in words ("" if never)."""
        return self._handler.refusal() if self._handler else ""

    def stop(self) -> None:
        with self._lock:
            if self._controller is not None:
                self._controller.stop()
                self._controller = None
                self._password = ""


def start_controller(controller: Any) -> Any:
    """Start an aiosmtpd Controller; if it fails, leave nothing behind and raise."""
    try:
        controller.start()
    except Exception:
        # A controller that failed to start still holds its event loop.
        with contextlib.suppress(Exception):
            controller.stop(no_assert=True)
        if not controller.loop.is_closed():
            controller.loop.close()
        raise
    return controller

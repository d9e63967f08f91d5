"""The embedded SMTP server behind the "Local sandbox" account: delivers into a Maildir."""

from __future__ import annotations

import contextlib
import logging
import mailbox
import threading
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from composer.mail.ports import LOOPBACK, start_on_free_port

log = logging.getLogger(__name__)

# An account may send 25 MB of attachments (about 36 MB once base64-encoded) or more if its
# limit is raised; aiosmtpd's own default refuses anything over 32 MiB.
SANDBOX_SIZE_LIMIT = 256 * 1024 * 1024


class _MaildirHandler:
    """aiosmtpd handler that stores each message as a file and remembers where."""

    def __init__(self, maildir: Path) -> None:
        maildir.parent.mkdir(parents=True, exist_ok=True)
        self._maildir = mailbox.Maildir(maildir, create=True)
        self._root = maildir
        self._lock = threading.Lock()
        self._delivered: dict[str, Path] = {}

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        content: bytes = envelope.original_content or envelope.content
        trace = (
            f"Return-Path: <{envelope.mail_from}>\r\n"
            f"Delivered-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode("utf-8", "surrogateescape")
        # Maildir files use the platform's line ends, as every local mail reader expects.
        data = (trace + content).replace(b"\r\n", b"\n")
        key = self._maildir.add(data)
        path = self._root / "new" / key
        message_id = BytesHeaderParser().parsebytes(content).get("Message-ID", "")
        with self._lock:
            self._delivered[str(message_id).strip()] = path
        log.info("sandbox delivered %s to %s", message_id, path)
        return "250 Message accepted for delivery"

    def path_of(self, message_id: str) -> Path | None:
        with self._lock:
            return self._delivered.get(message_id.strip())


class SandboxServer:
    """Starts on demand on 127.0.0.1 and a free port; stop() when the app quits."""

    def __init__(self, maildir: Path, size_limit: int = SANDBOX_SIZE_LIMIT) -> None:
        self.maildir = maildir
        self.size_limit = size_limit
        self._lock = threading.Lock()
        self._controller: Any = None
        self._handler: _MaildirHandler | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def ensure_started(self) -> int:
        """Start the server if needed (thread-safe, may block briefly); returns its port."""
        with self._lock:
            if self._controller is not None:
                return int(self._controller.port)
            # Imported here: aiosmtpd is only needed once someone sends through the sandbox.
            from aiosmtpd.controller import Controller

            handler = self._handler = _MaildirHandler(self.maildir)

            def start(port: int) -> Any:
                return start_controller(
                    Controller(
                        handler,
                        hostname=LOOPBACK,
                        port=port,
                        server_hostname="sandbox.localhost",
                        data_size_limit=self.size_limit,
                        ready_timeout=10,
                    )
                )

            try:
                self._controller = start_on_free_port(start)
            except Exception as error:
                raise OSError(f"the local sandbox server could not start: {error}") from error
            return int(self._controller.port)

    def delivered_path(self, message_id: str) -> Path | None:
        """Where the sandbox stored the message with this Message-ID, if it did."""
        return self._handler.path_of(message_id) if self._handler else None

    def stop(self) -> None:
        with self._lock:
            if self._controller is not None:
                self._controller.stop()
                self._controller = None


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

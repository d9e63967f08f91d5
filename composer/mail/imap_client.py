"""Putting a sent message in the mailbox's Sent folder: IMAP APPEND with imaplib, made safe.

The same rules as SMTP: TLS 1.2 or newer, verified or pinned (certificates.py); no password
over an unencrypted connection unless it ends on this computer; every read and write bounded
in time (the account's timeout) and the whole session by a deadline; cancel() from any thread
wakes a blocked call (the Canceller's shutdown of a dup). What the server says is bounded in
size too: imaplib keeps every untagged line, and reads a literal of any size it is told.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from composer.mail import certificate_errors
from composer.mail.accounts import Account, Security, is_loopback, is_loopback_address
from composer.mail.certificates import problem_of, unverified_context, verifying_context
from composer.mail.errors import SendError, server_reply
from composer.mail.imap_names import (
    FolderNameError,
    ListedFolder,
    encode_folder,
    parse_list,
    quoted,
    sent_folder,
)
from composer.mail.smtp_client import Canceller, Resolver

log = logging.getLogger(__name__)

# What a server may send in one session before Composer hangs up: a LIST of thousands of
# folders fits many times over.
MAX_RECEIVED = 4 * 1024 * 1024
# The message is written in pieces this large, each with the account's timeout.
_PIECE = 64 * 1024
_T = TypeVar("_T")


class CopyError(Exception):
    """Why the copy could not be made; str() is a sentence for the user."""


class _Bounded:
    """imaplib's reads counted against MAX_RECEIVED, its writes in pieces that cancel stops."""

    _canceller: Canceller
    _received = 0
    sock: socket.socket

    def readline(self) -> bytes:
        line: bytes = super().readline()  # type: ignore[misc]
        self._count(len(line))
        return line

    def read(self, size: int) -> bytes:
        self._count(size)  # before reading: a literal's size is the server's word
        data: bytes = super().read(size)  # type: ignore[misc]
        return data

    def send(self, data: Any) -> None:
        view = memoryview(data)
        for start in range(0, len(view), _PIECE):
            if self._canceller.cancelled:
                raise ConnectionAbortedError("cancelled")
            self.sock.sendall(view[start : start + _PIECE])

    def _count(self, size: int) -> None:
        self._received += size
        if self._received > MAX_RECEIVED:
            raise imaplib.IMAP4.abort(f"the server sent more than {MAX_RECEIVED // 1024} KiB")


class _Imap(_Bounded, imaplib.IMAP4):
    def __init__(
        self, canceller: Canceller, host: str, port: int, timeout: float, trusted: str = ""
    ) -> None:
        self._canceller = canceller
        self._trusted = trusted
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return self._canceller.connect(self.host, self.port, timeout or 30, None)

    def starttls(self, ssl_context: Any = None) -> Any:
        """imaplib's, with a pinned certificate compared before the first command over TLS
        (imaplib asks for the capabilities at once)."""
        assert isinstance(ssl_context, ssl.SSLContext)
        typ, data = self._simple_command("STARTTLS")
        if typ != "OK":
            raise self.error("the server refused STARTTLS")
        self.sock = ssl_context.wrap_socket(self.sock, server_hostname=self.host)
        certificate_errors.check_pinned(self.sock, self.host, self._trusted)
        # A new reader: whatever the server sent before TLS began is dropped with the old one.
        self.file = self.sock.makefile("rb")
        self._tls_established = True
        self._get_capabilities()
        return typ, data


class _ImapSSL(_Bounded, imaplib.IMAP4_SSL):
    def __init__(
        self,
        canceller: Canceller,
        host: str,
        port: int,
        timeout: float,
        context: ssl.SSLContext,
        trusted: str,
    ) -> None:
        self._canceller = canceller
        self._trusted = trusted
        super().__init__(host, port, ssl_context=context, timeout=timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        sock = self._canceller.connect(self.host, self.port, timeout or 30, None)
        try:
            wrapped: ssl.SSLSocket = self.ssl_context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        try:
            certificate_errors.check_pinned(wrapped, self.host, self._trusted)
        except BaseException:
            wrapped.close()
            raise
        return wrapped


class SentMailbox:
    """One IMAP session for an account: open(), then append() each message, then close().

    Blocking, for a worker thread; cancel() may come from any thread. Every failure is a
    CopyError saying what happened and what to do.
    """

    def __init__(
        self,
        account: Account,
        password: str | None,
        *,
        deadline: float = 0,
        resolve: Resolver = socket.getaddrinfo,
    ) -> None:
        self.account = account
        self.host = account.imap_host.strip()
        self.port = account.imap_port
        self._password = password
        self._canceller = Canceller(resolve)
        self._imap: imaplib.IMAP4 | None = None
        # The whole session's time, past which cancel() ends it (0: four timeouts).
        self._deadline = deadline or 4 * account.timeout
        self._timer: threading.Timer | None = None
        self._expired = False

    # --- the session ----------------------------------------------------------------------

    def open(self) -> None:
        """Connect, secure and log in."""
        self._timer = threading.Timer(self._deadline, self._expire)
        self._timer.daemon = True
        self._timer.start()
        self._imap = self._call(self._connect)
        self._call(self._login)

    def sent_folder(self) -> str:
        """The Sent folder's name on the wire: the one marked \\Sent, else the one chosen."""
        return self._call(self._find_sent)

    def append(self, folder: str, message: bytes, *, extra_seconds: float = 0) -> None:
        """Store message in folder (a wire name), marked \\Seen, byte for byte."""
        if self._timer is not None and extra_seconds:
            # A large message has the time its size needs at MIN_DATA_RATE, on top of the rest.
            self._timer.cancel()
            self._timer = threading.Timer(self._deadline + extra_seconds, self._expire)
            self._timer.daemon = True
            self._timer.start()
        self._call(lambda: self._append(folder, message))

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        imap, self._imap = self._imap, None
        if imap is not None:
            if not self._canceller.cancelled:
                with contextlib.suppress(Exception):
                    imap.logout()
            with contextlib.suppress(Exception):
                imap.shutdown()
        self._canceller.close()

    def cancel(self) -> None:
        self._canceller.cancel()

    def _expire(self) -> None:
        self._expired = True
        self._canceller.cancel()

    # --- the steps ------------------------------------------------------------------------

    def _connect(self) -> imaplib.IMAP4:
        account, host = self.account, self.host
        if not host:
            raise CopyError(f"the account {account.name} has no IMAP host")
        pinned = account.trusted_certificate if self._same_server() else ""
        context = unverified_context() if pinned else verifying_context()
        timeout = account.timeout
        if account.imap_security is Security.NONE and not is_loopback(host):
            raise self._insecure(host)
        imap: imaplib.IMAP4
        if account.imap_security is Security.SSL_TLS:
            return _ImapSSL(self._canceller, host, self.port, timeout, context, pinned)
        imap = _Imap(self._canceller, host, self.port, timeout, pinned)
        try:
            if account.imap_security is Security.STARTTLS:
                if "STARTTLS" not in imap.capabilities:
                    raise CopyError(
                        f"{host} does not offer STARTTLS, so Composer stopped before sending "
                        "anything (your password included). Choose SSL/TLS (usually port 993) "
                        "for the IMAP server in Accounts"
                    )
                imap.starttls(context)
            elif not is_loopback_address(imap.sock.getpeername()):
                raise self._insecure(host)
        except BaseException:
            with contextlib.suppress(Exception):
                imap.shutdown()
            raise
        return imap

    def _same_server(self) -> bool:
        """Whether the SMTP server's trusted certificate applies: the same host."""
        return self.host.lower().rstrip(".") == self.account.host.strip().lower().rstrip(".")

    def _insecure(self, host: str) -> CopyError:
        return CopyError(
            f"Composer will not send your password to {host} over an unencrypted connection. "
            "Choose SSL/TLS or STARTTLS for the IMAP server in Accounts"
        )

    def _login(self) -> None:
        imap = self._session()
        user = self.account.imap_username or self.account.username
        password = self._password
        if not user:
            raise CopyError(
                "the account has no user name for the IMAP server; enter one in Accounts"
            )
        if password is None:
            raise CopyError("no password is stored for the IMAP server; enter it in Accounts")
        try:
            if "AUTH=PLAIN" in imap.capabilities:
                # PLAIN carries UTF-8; imaplib's LOGIN only ASCII.
                imap.authenticate("PLAIN", lambda _: f"\0{user}\0{password}".encode())
            elif "LOGINDISABLED" not in imap.capabilities and (user + password).isascii():
                imap.login(user, password)
            else:
                raise CopyError(
                    f"{self.host} offers no login Composer can use (it logs in with PLAIN or "
                    "LOGIN); ask your provider"
                )
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as error:
            raise CopyError(
                f"{self.host} did not accept the user name {user} and its password (it said "
                f"“{_said(error)}”). Check the IMAP user name and password in Accounts (an "
                "empty IMAP password means the SMTP one)"
            ) from error
        # The capabilities change once logged in (SPECIAL-USE is often offered only then).
        typ, data = imap.capability()
        if typ == "OK" and data and isinstance(data[-1], bytes):
            imap.capabilities = tuple(data[-1].decode("ascii", "replace").upper().split())

    def _find_sent(self) -> str:
        imap = self._session()
        imap.untagged_responses.pop("LIST", None)
        if "SPECIAL-USE" in imap.capabilities:
            typ, data = imap._simple_command("LIST", "(SPECIAL-USE)", '""', '"*"')
        else:
            typ, data = imap._simple_command("LIST", '""', '"*"')
        typ, data = imap._untagged_response(typ, data, "LIST")
        marked = sent_folder(parse_list(data)) if typ == "OK" else None
        if marked is not None:
            return marked.wire
        chosen = self.account.sent_folder.strip()
        if not chosen:
            raise CopyError(
                f"{self.host} marks no folder as the Sent folder; choose one in Accounts "
                "(Sent copy ▸ Sent folder)"
            )
        return encode_folder(chosen)

    def _append(self, folder: str, message: bytes) -> None:
        imap = self._session()
        try:
            name = quoted(folder)
        except FolderNameError as error:
            raise CopyError(f"the folder name {folder!r} cannot be used: {error}") from error
        # Set directly: imaplib.append() rewrites every bare CR and LF as CRLF, and the copy
        # must be the bytes the SMTP server took.
        imap.literal = message  # type: ignore[assignment]
        typ, data = imap._simple_command("APPEND", name, "(\\Seen)")
        if typ != "OK":
            said = _said(data[-1] if data else b"")
            shown = _readable(folder)
            if "[TRYCREATE]" in said.upper():
                raise CopyError(
                    f"{self.host} has no folder “{shown}”; create it in your webmail or "
                    "choose another in Accounts"
                )
            raise CopyError(f"{self.host} refused the copy for “{shown}” (it said “{said}”)")

    # --- failures -------------------------------------------------------------------------

    def _session(self) -> imaplib.IMAP4:
        if self._imap is None:
            raise CopyError("the IMAP session is not open")
        return self._imap

    def _call(self, step: Callable[[], _T]) -> _T:
        try:
            return step()
        except CopyError:
            raise
        except SendError as error:  # a pinned certificate that does not match
            raise CopyError(error.message.rstrip(".")) from error
        except Exception as error:
            raise self._failure(error) from error

    def _failure(self, error: Exception) -> CopyError:
        host, port = self.host, self.port
        log.info("IMAP to %s:%s failed: %r", host, port, error)
        if self._expired:
            return CopyError(f"{host} took longer than {self._deadline:g} seconds; try again later")
        if self._canceller.cancelled:
            return CopyError("the copy was cancelled")
        if isinstance(error, socket.gaierror):
            return CopyError(f"{host} could not be found; check the IMAP host in Accounts")
        if isinstance(error, ConnectionRefusedError):
            return CopyError(
                f"{host}:{port} refused the connection; check the IMAP port and security in "
                "Accounts"
            )
        if isinstance(error, ssl.SSLCertVerificationError):
            return CopyError(
                f"the certificate of {host} is not trusted: {problem_of(error).value}. Composer "
                "stopped before sending anything"
            )
        if isinstance(error, ssl.SSLError):
            return CopyError(
                f"the secure connection to {host}:{port} failed ({error.reason or error}); "
                "check the IMAP port and security in Accounts"
            )
        if isinstance(error, TimeoutError):
            return CopyError(f"{host} did not answer within {self.account.timeout} seconds")
        if isinstance(error, imaplib.IMAP4.error):
            return CopyError(f"{host} answered in a way Composer could not use (“{_said(error)}”)")
        if isinstance(error, OSError):
            return CopyError(f"the connection to {host}:{port} failed ({error.strerror or error})")
        log.exception("copying to %s:%s failed", host, port)
        return CopyError(f"something went wrong in Composer ({type(error).__name__})")


def _said(what: object) -> str:
    """A server's words (or an error's) as one readable line, as SMTP replies are shown."""
    return server_reply(-1, what if isinstance(what, bytes | str) else str(what))


def _readable(wire: str) -> str:
    return ListedFolder(wire, frozenset()).name

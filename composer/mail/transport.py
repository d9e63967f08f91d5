"""Sending messages over SMTP with smtplib: TLS verified or pinned, each message at most once."""

from __future__ import annotations

import contextlib
import functools
import logging
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Generator, Iterable
from datetime import datetime
from email.utils import format_datetime, localtime
from typing import Any, TypeVar

from composer.mail import certificate_errors
from composer.mail.accounts import (
    Account,
    Security,
    has_unusable_character,
    is_loopback,
    is_loopback_address,
)
from composer.mail.certificates import (
    unverified_context,
    verifying_context,
)
from composer.mail.envelope_exchange import exchange_envelope
from composer.mail.errors import (
    ErrorKind,
    SendError,
    Step,
    may_have_been_sent,
    not_tried,
    server_reply,
)
from composer.mail.failures import classify
from composer.mail.mail_options import mail_options
from composer.mail.message import Sendable
from composer.mail.peer_certificate import presented_certificate
from composer.mail.progress import Progress, ProgressCallback, SendResult, Stage
from composer.mail.providers import provider_of
from composer.mail.sizes import format_size
from composer.mail.smtp_client import (
    MIN_DATA_RATE,
    BoundedReplyMixin,
    CancellableSMTP,
    CancellableSMTPSSL,
    Canceller,
    DataTooSlow,
    MessageRefused,
    Resolver,
    address_literal,
)
from composer.mail.smtp_login import TokenSource, log_in
from composer.mail.transcript import Transcript, body_written

log = logging.getLogger(__name__)

# How long a server that broke the connection during DATA may take to show why it did.
_PENDING_REPLY_WAIT = 1.0

_CANCELLED = "Sending was cancelled. Your message is unchanged."
_T = TypeVar("_T")

# What send_many() reports for each message: delivered to at least one recipient, or not.
Outcome = SendResult | SendError


class SmtpTransport:
    """Talks to one account's server; send(), send_many() and check() block, cancel() may come
    from anywhere. One transport serves one of them: after cancel() it stays cancelled.

    At most once: until the final "." of a message is written, any failure leaves the server
    without it (a server discards an unfinished DATA); after it, only the server's reply says
    what happened, and any other end (silence, a broken connection, a cancel) is
    MAY_HAVE_BEEN_SENT, never retryable.
    """

    def __init__(
        self,
        account: Account,
        password: str | None,
        *,
        progress: ProgressCallback | None = None,
        resolve: Resolver = socket.getaddrinfo,
        transcript: Transcript | None = None,
        tokens: TokenSource | None = None,
    ) -> None:
        self.account = account
        # For an account that signs in with its provider: tokens(fresh) is an access token,
        # a new one when fresh (raises SendError).
        self._tokens = tokens
        # The conversation, secrets hidden: logged at DEBUG level, kept when one is given.
        self.transcript = transcript if transcript is not None else Transcript(keep=False)
        self._password = password
        self._progress = progress or (lambda _: None)
        self._canceller = Canceller(resolve)
        # Where the exchange stands, for the sentence of a failure (worker thread only).
        self._step = Step.CONNECTING
        self._in_data = False  # between 354 and the reply to the final "."
        self._dot_written_at: datetime | None = None
        # Whose server this is (Gmail, Microsoft 365, ...), for the words of its replies.
        self._provider = provider_of(account.host, account.email)

    @property
    def host(self) -> str:
        return self.account.host.strip()

    def cancel(self) -> None:
        """Abort whatever is in progress; the blocked call fails within a moment."""
        self._canceller.cancel()

    def check(self) -> str:
        """Connect, secure, log in and disconnect; returns what worked, in words."""
        smtp = self._connect()
        try:
            self._call(smtp.quit)
        except SendError:
            pass  # the check already succeeded
        finally:
            self._close(smtp)
        how = self.account.security.label
        login = f" and logged in as {self.account.username}" if self.account.username else ""
        return f"Connected to {self.host}:{self.account.port} with {how}{login}."

    def send(
        self,
        message: Sendable,
        *,
        large_ok: bool = False,
        before_final_dot: Callable[[], None] | None = None,
    ) -> SendResult:
        """Send message; raises SendError for anything that kept it from at least one person.

        A message over LARGE_MESSAGE to a server that does not say how much it accepts is
        refused with SIZE_UNCHECKED before MAIL FROM, unless large_ok (the user said to send
        it anyway). before_final_dot() is called on this thread once the whole message is
        written, just before the final "."; if it raises, the "." is not sent.
        """
        # Before connecting: a vanished file should not cost a half-finished SMTP session.
        size = self._checked_size(message)
        smtp = self._connect()
        try:
            result = self._deliver(smtp, message, size, large_ok, before_final_dot)
        except SendError as error:
            if self._usable(smtp, error):
                _quit_quietly(smtp)  # refused before anything was sent: leave politely
            raise
        else:
            # The message was accepted before QUIT; a failing QUIT changes nothing.
            _quit_quietly(smtp)
        finally:
            # Closing without QUIT in the middle of DATA makes the server discard the message.
            self._close(smtp)
        return result

    def send_many(
        self,
        messages: Iterable[Sendable],
        *,
        before_final_dot: Callable[[int], None] | None = None,
        on_result: Callable[[int, Outcome], None],
    ) -> None:
        """Send messages over one connection and one login, in order; each is taken from
        messages only when its turn comes (after the connection is open).

        on_result(index, outcome) is called for each message as soon as its outcome is known,
        before the next is started; before_final_dot(index) as for send(). A refused message
        is followed by RSET, and the next goes on. When the connection fails, the message
        under way gets that failure and each later one a retryable NOT_TRIED (no second
        connection is made); when it cannot be opened, every message gets that error.
        """
        try:
            smtp = self._connect()
        except SendError as error:
            fail_each(messages, error, on_result)
            return
        lost: SendError | None = None
        try:
            for index, message in enumerate(messages):
                if lost is None and self._canceller.cancelled:
                    lost = SendError(ErrorKind.CANCELLED, _CANCELLED)
                if lost is not None:
                    on_result(index, self._left_out(lost))
                    continue
                hook = before_final_dot and functools.partial(before_final_dot, index)
                outcome: Outcome
                try:
                    size = self._checked_size(message)
                    outcome = self._deliver(smtp, message, size, False, hook)
                except SendError as error:
                    outcome = error
                    if not (self._usable(smtp, error) and _reset(smtp)):
                        lost = error
                on_result(index, outcome)
            if lost is None:
                _quit_quietly(smtp)
        finally:
            self._close(smtp)

    def _left_out(self, lost: SendError) -> SendError:
        if self._canceller.cancelled:
            return SendError(
                ErrorKind.CANCELLED,
                "Sending was cancelled before this message was started. It is unchanged.",
            )
        return not_tried(lost)

    def _checked_size(self, message: Sendable) -> int:
        """message's size, after checking its files and the account's own limit."""
        message.check_files()
        size = message.size()
        limit = self.account.size_limit
        if limit and size > limit:
            raise SendError(
                ErrorKind.TOO_LARGE,
                f"The message is {format_size(size)}, larger than the "
                f"{format_size(limit)} limit set for the account {self.account.name}. "
                "Remove attachments or raise the limit in Accounts.",
            )
        return size

    def _connect(self) -> smtplib.SMTP:
        """Connected, secured and logged in, the one way send(), send_many() and check() do."""
        try:
            return self._call(self._open)
        except SendError as error:
            cause = error.__cause__
            if isinstance(cause, ssl.SSLCertVerificationError) and not self._canceller.cancelled:
                raise self._untrusted(cause) from cause
            raise

    def _close(self, smtp: smtplib.SMTP) -> None:
        smtp.close()
        self._canceller.close()

    def _usable(self, smtp: smtplib.SMTP, error: SendError) -> bool:
        """Whether the session can go on after error: the server refused, the line is intact.

        smtplib closes its socket on any network failure; in the middle of DATA another
        command would become part of the message.
        """
        return (
            smtp.sock is not None
            and not self._in_data
            and not self._canceller.cancelled
            and error.smtp_code != 421  # the server is closing the session
            and error.kind is not ErrorKind.INTERNAL  # where it stopped is unknown
        )

    def _call(self, step: Callable[[], _T]) -> _T:
        try:
            return step()
        except Exception as error:
            raise self._failure(error) from error

    def _failure(self, error: Exception) -> SendError:
        host, port = self.host, self.account.port
        if self._dot_written_at is not None:
            log.warning("no reply from %s:%s after the final dot: %r", host, port, error)
            return may_have_been_sent(
                error,
                host,
                self._dot_written_at,
                cancelled=self._canceller.cancelled,
                timeout=self.account.timeout,
            )
        if self._canceller.cancelled:
            return SendError(ErrorKind.CANCELLED, _CANCELLED)
        failure = classify(error, host, port, self._step, provider=self._provider)
        if failure.kind is ErrorKind.INTERNAL:
            log.exception("sending through %s:%s failed", host, port)
        else:
            log.info("SMTP to %s:%s failed %s: %r", host, port, self._step.name, error)
        return failure

    def _set_step(self, step: Step) -> None:
        self._step = step

    def _open(self) -> smtplib.SMTP:
        account = self.account
        host, port = self.host, account.port
        self._step = Step.CONNECTING
        self._check_host()
        login_in_clear = _logs_in(account) and account.security is Security.NONE
        # A name that is plainly not this computer is refused before anything is looked up;
        # whether the password may go is decided by the address connected to, below.
        if login_in_clear and not is_loopback(host):
            raise SendError(
                ErrorKind.INSECURE,
                f"Composer will not send your password to {host} over an unencrypted "
                "connection. Choose SSL/TLS or STARTTLS for this account in Accounts.",
            )
        self._progress(Progress(Stage.CONNECTING, host))
        smtp: CancellableSMTP | CancellableSMTPSSL
        if account.security is Security.SSL_TLS:
            smtp = CancellableSMTPSSL(
                self._canceller,
                account.timeout,
                self._tls_context(),
                securing=functools.partial(self._set_step, Step.SECURING),
                secured=functools.partial(self._set_step, Step.CONNECTING),  # the greeting
                check_peer=self._check_pinned,
            )
        else:
            smtp = CancellableSMTP(self._canceller, account.timeout)
        # Connecting after construction leaves smtplib's _host empty, which starttls() and
        # SMTP_SSL need for checking the certificate's host name.
        smtp._host = host
        smtp.transcript = self.transcript
        with contextlib.ExitStack() as undo:
            # The canceller's dup keeps the kernel socket (and the server's end) open.
            undo.callback(self._canceller.close)
            undo.callback(smtp.close)
            code, reply = smtp.connect(host, port)
            if code != 220:
                raise smtplib.SMTPConnectError(code, reply)
            if login_in_clear:
                self._check_loopback(smtp)
            smtp.local_hostname = address_literal(smtp.sock)
            smtp.ehlo_or_helo_if_needed()
            if account.security is Security.STARTTLS:
                if not smtp.has_extn("starttls"):
                    raise SendError(
                        ErrorKind.STARTTLS_UNAVAILABLE,
                        f"{host} does not offer STARTTLS, so Composer stopped before sending "
                        "anything (your password included). Choose SSL/TLS (usually port 465) "
                        "in Accounts, or ask your provider.",
                    )
                self._step = Step.SECURING
                self._progress(Progress(Stage.SECURING, host))
                smtp.starttls(context=self._tls_context())
                assert isinstance(smtp.sock, ssl.SSLSocket)
                self._check_pinned(smtp.sock)  # before the EHLO that follows
                smtp.ehlo()
            if _logs_in(account):
                self._step = Step.LOGGING_IN
                self._login(smtp)
            undo.pop_all()  # connected: the caller closes it
        return smtp

    def _tls_context(self) -> ssl.SSLContext:
        # Made only for a connection that uses TLS: loading the system's authorities costs
        # tens of milliseconds, which a plain connection to a local relay need not pay.
        # A trusted certificate replaces the chain and host name checks (certificates.py).
        if self.account.trusted_certificate:
            return unverified_context()
        return verifying_context()

    def _check_pinned(self, sock: ssl.SSLSocket) -> None:
        """With a trusted certificate, refuse any other before a byte goes over TLS."""
        certificate_errors.check_pinned(sock, self.host, self.account.trusted_certificate)

    def _untrusted(self, error: ssl.SSLCertVerificationError) -> SendError:
        """The SendError for a certificate that did not verify, with what it says if it can
        be read."""
        info = certificate_errors.described(self._presented_certificate() or b"")
        log.info("certificate of %s not trusted (%s): %s", self.host, error.verify_message, info)
        return certificate_errors.untrusted(self.host, error, info)

    def _presented_certificate(self) -> bytes | None:
        account = self.account
        try:
            return presented_certificate(
                self._canceller,
                self.host,
                account.port,
                account.timeout,
                starttls=account.security is not Security.SSL_TLS,
            )
        except (OSError, smtplib.SMTPException, ValueError) as error:
            log.info("could not read the certificate of %s: %r", self.host, error)
            return None

    def _check_host(self) -> None:
        """Refuse a host no server can have, before it is looked up (settings edited by hand)."""
        host = self.account.host
        if not host.strip():
            raise SendError(
                ErrorKind.BAD_HOST,
                f"The account {self.account.name} has no SMTP host. Enter the host name "
                "of your mail server in Accounts.",
            )
        if has_unusable_character(host):
            shown = host.strip().encode("unicode_escape").decode("ascii")
            raise SendError(
                ErrorKind.BAD_HOST,
                f"The SMTP host of the account {self.account.name} ({shown}) contains a "
                "space or a control character, which no server name has, so Composer did "
                "not connect. Correct the host name in Accounts.",
            )

    def _check_loopback(self, smtp: smtplib.SMTP) -> None:
        """Refuse to log in unencrypted unless the connection really ends on this computer."""
        assert smtp.sock is not None
        peer = smtp.sock.getpeername()
        if not is_loopback_address(peer):
            reached = peer[0] if isinstance(peer, tuple) and peer else "another address"
            raise SendError(
                ErrorKind.INSECURE,
                f"Composer will not send your password to {self.host} over an unencrypted "
                f"connection: the name {self.host} resolved to {reached}, which is not this "
                "computer, so nothing was sent. Choose SSL/TLS or STARTTLS for this account "
                "in Accounts.",
            )

    def _login(self, smtp: smtplib.SMTP) -> None:
        log_in(
            smtp,
            self.account,
            self.host,
            password=self._password,
            tokens=self._tokens,
            progress=self._progress,
        )

    def _deliver(
        self,
        smtp: smtplib.SMTP,
        message: Sendable,
        size: int,
        large_ok: bool,
        before_final_dot: Callable[[], None] | None,
    ) -> SendResult:
        """One message over an open session: MAIL, RCPT..., DATA (pipelined when the server
        offers it), the message; raises SendError."""
        self._step, self._in_data, self._dot_written_at = Step.SENDING, False, None
        options = self._call(lambda: mail_options(smtp, message, size, large_ok, self.host))
        envelope = message.envelope
        self._progress(Progress(Stage.SENDING, self.host, 0, size))
        refused = self._call(
            lambda: exchange_envelope(smtp, envelope.sender, envelope.recipients, options)
        )
        code, reply = self._call(lambda: self._send_data(smtp, message, size, before_final_dot))
        sent_at = format_datetime(localtime())
        accepted = tuple(r for r in envelope.recipients if r not in refused)
        return SendResult(
            self.host,
            message.message_id,
            accepted,
            refused,
            size,
            reply=server_reply(code, reply),
            sent_at=sent_at,
        )

    def _send_data(
        self,
        smtp: smtplib.SMTP,
        message: Sendable,
        size: int,
        before_final_dot: Callable[[], None] | None,
    ) -> tuple[int, bytes]:
        """The message after DATA's 354, streamed piece by piece (dot-stuffed) so memory
        stays flat and cancel works.

        Returns the server's positive reply to the final ".". If an attached file fails
        mid-way, the connection is closed without the final ".", so the server discards what
        it got.
        """
        self._in_data = True
        sock = smtp.sock
        assert sock is not None
        try:
            line_start = self._write_body(sock, message, size)
        except OSError as error:
            raise self._answer_in_data(smtp, error) from error
        if self._canceller.cancelled:
            raise ConnectionAbortedError("cancelled")
        if before_final_dot is not None:
            before_final_dot()
        try:
            sock.sendall(b".\r\n" if line_start else b"\r\n.\r\n")
        except OSError as error:
            raise self._answer_in_data(smtp, error) from error
        body_written(smtp, size)  # written past smtp.send(), so its transcript cannot see it
        # Only now can the server hold the message: a sendall() that failed did not hand all
        # of the terminator to the kernel, and without it the server discards the message.
        self._dot_written_at = datetime.now().astimezone()
        self._step = Step.CONFIRMING
        code, reply = smtp.getreply()
        if not 200 <= code < 600:
            # Not a reply (smtplib gives -1 for a line without a code): it may have been sent.
            raise smtplib.SMTPResponseException(code, reply)
        self._in_data, self._dot_written_at = False, None
        if code >= 300:
            raise MessageRefused(code, reply)
        return code, reply

    def _answer_in_data(self, smtp: smtplib.SMTP, error: OSError) -> BaseException:
        """Why a write in the middle of DATA failed: the server's reply, if it left one.

        A server that refuses a message part-way (552, too large) answers and closes; the
        write then fails with a broken pipe, and the answer is still there to be read.
        """
        if isinstance(error, TimeoutError) or self._canceller.cancelled:
            return error
        if not isinstance(smtp, BoundedReplyMixin):
            return error
        reply = smtp.pending_reply(min(_PENDING_REPLY_WAIT, self.account.timeout))
        if reply is None or not 400 <= reply[0] < 600:
            return error
        log.info("%s answered in the middle of DATA: %r", self.host, reply)
        return smtplib.SMTPDataError(*reply)

    def _write_body(self, sock: Any, message: Sendable, size: int) -> bool:
        """Write message's bytes dot-stuffed; returns whether the last one ended a line.

        Each write has the account's timeout (the socket's), and the whole of it must go at
        MIN_DATA_RATE after a first timeout: DataTooSlow otherwise.
        """
        sent = 0
        line_start = True  # whether the last byte sent ended a line
        pieces = message.chunks()
        timeout = self.account.timeout
        started = time.monotonic()
        try:
            for piece in pieces:
                if self._canceller.cancelled:
                    raise ConnectionAbortedError("cancelled")
                if not piece:
                    continue
                elapsed = time.monotonic() - started
                if elapsed > timeout + sent / MIN_DATA_RATE:
                    raise DataTooSlow(sent, elapsed, stalled=False, rate=MIN_DATA_RATE)
                # A line may be split across pieces: its dot is doubled only where it starts.
                stuffed = piece.replace(b"\n.", b"\n..")
                if line_start and piece.startswith(b"."):
                    stuffed = b"." + stuffed
                try:
                    sock.sendall(stuffed)
                except TimeoutError as error:
                    raise DataTooSlow(sent, timeout, stalled=True, rate=MIN_DATA_RATE) from error
                line_start = piece.endswith(b"\n")
                sent += len(piece)
                self._progress(Progress(Stage.SENDING, self.host, sent, size))
        except SendError as error:
            if error.kind is not ErrorKind.FILE:
                raise
            raise SendError(
                ErrorKind.FILE, f"Composer stopped sending, so nobody got the message. {error}"
            ) from error
        finally:
            if isinstance(pieces, Generator):
                pieces.close()  # closes the file being read
        if sent != size:
            # Cannot happen unless a file changed unnoticed; never send a message of another size.
            raise SendError(
                ErrorKind.FILE,
                f"The message came out {sent} bytes long instead of {size}, so Composer stopped "
                "sending and nobody got it. Attach the files again and send again.",
            )
        return line_start


def _reset(smtp: smtplib.SMTP) -> bool:
    """RSET, so that the next message starts clean; False if the session is gone."""
    try:
        code, _ = smtp.rset()
    except (smtplib.SMTPException, OSError):
        return False
    return code == 250


def fail_each(
    messages: Iterable[Sendable], error: SendError, on_result: Callable[[int, Outcome], None]
) -> None:
    """Report error as the outcome of every message (none could be tried)."""
    for index, _ in enumerate(messages):
        on_result(index, error)


def _logs_in(account: Account) -> bool:
    return bool(account.username or account.oauth)


def _quit_quietly(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(smtplib.SMTPException, OSError):
        smtp.quit()

"""One send or connection check for one account: password, sandbox and transport together."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from email.headerregistry import Address

from composer.mail.access_tokens import AccessTokens
from composer.mail.accounts import Account
from composer.mail.addressbook import AddressBook
from composer.mail.addresses import mailbox_key
from composer.mail.draft import Draft
from composer.mail.errors import ErrorKind, SendError
from composer.mail.message import Sendable, build_message
from composer.mail.progress import ProgressCallback, SendResult
from composer.mail.request_guard import Stop
from composer.mail.sandbox import FULL_CODE, SANDBOX_LOGIN, SandboxServer
from composer.mail.secrets import KeyringUnavailable, SecretStore
from composer.mail.smtp_login import TokenSource
from composer.mail.transcript import Transcript
from composer.mail.transport import Outcome, SmtpTransport, fail_each

log = logging.getLogger(__name__)

_CANCELLED = "Sending was cancelled. Your message is unchanged."


class Delivery:
    """Blocking work meant for a worker thread; cancel() is safe from any thread."""

    def __init__(
        self,
        account: Account,
        secrets: SecretStore,
        sandbox: SandboxServer | None,
        *,
        password: str | None = None,
        progress: ProgressCallback | None = None,
        address_book: AddressBook | None = None,
        transcript: Transcript | None = None,
        access_tokens: AccessTokens | None = None,
    ) -> None:
        self.account = account
        self._access_tokens = access_tokens
        self._transcript = transcript
        self._secrets = secrets
        self._sandbox = sandbox
        self._password = password
        self._progress = progress
        self._address_book = address_book
        self._lock = threading.Lock()
        self._cancelled = False
        self._transport: SmtpTransport | None = None
        # Ends a token refresh under way when the send is cancelled.
        self._stop = Stop()

    def send(self, draft: Draft, *, large_ok: bool = False) -> SendResult:
        """Build draft into a message and send it; raises SendError.

        large_ok: send a message over 25 MB even though the server did not say how large a
        message it takes (after a SendError of kind SIZE_UNCHECKED, when the user agrees).
        """
        outgoing = build_message(draft, self.account.sender(), self.account.reply_to)
        typed = [a for parsed in draft.recipients().values() for a in parsed.valid]
        return self.send_message(outgoing, large_ok=large_ok, remember=typed)

    def send_message(
        self,
        message: Sendable,
        *,
        large_ok: bool = False,
        before_final_dot: Callable[[], None] | None = None,
        remember: Sequence[Address] = (),
    ) -> SendResult:
        """Send a built or stored message (see SmtpTransport.send); raises SendError.

        remember: the addresses as typed, with their names; those the server accepted go
        into the address book.
        """
        transport = self._transport_for_account()
        try:
            result = transport.send(message, large_ok=large_ok, before_final_dot=before_final_dot)
        except SendError as error:
            worded = self._worded(error)
            if worded is error:
                raise
            raise worded from error
        return self._delivered(result, remember)

    def send_batch(
        self,
        messages: Iterable[Sendable],
        *,
        before_final_dot: Callable[[int], None] | None = None,
        on_result: Callable[[int, Outcome], None],
        remember: Callable[[int], Sequence[Address]] | None = None,
    ) -> None:
        """Send messages over one connection (see SmtpTransport.send_many).

        remember(index) gives, for the message at index, what send_message() takes as remember.
        """
        try:
            transport = self._transport_for_account()
        except SendError as error:
            fail_each(messages, error, on_result)
            return

        def delivered(index: int, outcome: Outcome) -> None:
            if isinstance(outcome, SendResult):
                typed = remember(index) if remember else ()
                outcome = self._delivered(outcome, typed)
            else:
                outcome = self._worded(outcome)
            on_result(index, outcome)

        transport.send_many(messages, before_final_dot=before_final_dot, on_result=delivered)

    def check(self) -> str:
        """Connect, secure and log in; returns what worked, raises SendError."""
        return self._transport_for_account().check()

    def cancel(self) -> None:
        self._stop.set()
        with self._lock:
            self._cancelled = True
            transport = self._transport
        if transport is not None:
            transport.cancel()

    def _transport_for_account(self) -> SmtpTransport:
        account = self.account
        password = self._password
        if account.is_sandbox:
            account, password = self._sandbox_login(account)
        elif account.oauth:
            password = None  # it signs in with an access token instead
        elif account.username and password is None:
            password = self._stored_password()
        with self._lock:
            if self._cancelled:
                raise SendError(ErrorKind.CANCELLED, _CANCELLED)
            self._transport = SmtpTransport(
                account,
                password,
                progress=self._progress,
                transcript=self._transcript,
                tokens=self._token_source(account),
            )
            return self._transport

    def _token_source(self, account: Account) -> TokenSource | None:
        tokens = self._access_tokens
        if not account.oauth or account.is_sandbox or tokens is None:
            return None
        return lambda fresh: tokens.get(account, fresh=fresh, stop=self._stop)

    def _sandbox_login(self, account: Account) -> tuple[Account, str]:
        """The sandbox account as this run's sandbox server takes it: its port and login."""
        if self._sandbox is None:
            raise SendError(ErrorKind.SERVER_ERROR, "The local sandbox is not available.")
        try:
            port = self._sandbox.ensure_started()
        except OSError as error:
            raise SendError(ErrorKind.SERVER_ERROR, f"{error}. Try again.") from error
        # The password lives in the server's memory only: never the keyring or a file. It
        # goes in clear, which the transport allows only to a loopback address.
        return dataclasses.replace(account, port=port, username=SANDBOX_LOGIN), (
            self._sandbox.password
        )

    def _worded(self, error: SendError) -> SendError:
        """error, or for a sandbox that had no room, what to do about it."""
        if not (self.account.is_sandbox and self._sandbox and error.smtp_code == FULL_CODE):
            return error
        why = self._sandbox.refusal() or "The local sandbox is full."
        return SendError(ErrorKind.SERVER_ERROR, why, smtp_code=error.smtp_code)

    def _delivered(self, result: SendResult, typed: Iterable[Address]) -> SendResult:
        """result with where the sandbox stored it; the accepted recipients remembered."""
        if self.account.is_sandbox and self._sandbox is not None:
            stored = self._sandbox.delivered_path(result.message_id)
            result = dataclasses.replace(result, stored_at=str(stored or self._sandbox.maildir))
        self._remember_recipients(typed, result)
        return result

    def _remember_recipients(self, typed: Iterable[Address], result: SendResult) -> None:
        """Add the recipients the server accepted, names as typed, to the address book."""
        if self._address_book is None:
            return
        accepted = {mailbox_key(spec) for spec in result.accepted}
        try:
            self._address_book.record(a for a in typed if mailbox_key(a.addr_spec) in accepted)
        except Exception:
            # The message has gone; a broken address book must not report the send as failed.
            log.exception("could not record the recipients in the address book")

    def _stored_password(self) -> str | None:
        try:
            return self._secrets.get(self.account.id)
        except KeyringUnavailable as error:
            raise SendError(
                ErrorKind.KEYRING,
                f"Could not read the password of {self.account.name} from the system keyring "
                f"({error}). Enter the password again in Accounts.",
            ) from error

"""Signing in in the accounts dialog: which login each account is offered, one sign-in in
the browser at a time, and the refresh tokens held until Save puts them in the keyring."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence, Set

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QWidget

from composer.context import AppContext
from composer.mail.accounts import Account
from composer.mail.oauth import SIGN_IN_TIMEOUT, Tokens, oauth_secret_key
from composer.mail.secrets import KeyringUnavailable
from composer.send_service import SendService
from composer.sign_in import BrowserSignIn, resume_held, withdraw
from composer.ui.account_form import AccountForm
from composer.ui.account_secrets import SecretWrite
from composer.ui.sign_in_panel import NO_OFFER, LoginOffer

_WAITING = "Finish signing in in your browser…"


class AccountSignIn(QObject):
    """The sign-ins of the accounts dialog, each tied to the account it was started for.

    A refresh token signed in here is held (as a typed password is) until Save writes it to
    the keyring; the access token is remembered at once, so Test Connection works before.
    Who signed in is not known here (the address typed is only a hint to the provider, and
    the browser may sign in another account): the connection check that follows proves it.

    Signals:
        signed_in(str): the account (its id) signed in; saved with the accounts.
        check_requested(str): the account (its id) just signed in: check its connection, so
            that a sign-in of another account than its own is caught at once.
    """

    signed_in = Signal(str)
    check_requested = Signal(str)

    def __init__(
        self,
        form: AccountForm,
        context: AppContext,
        sending: SendService,
        current: Callable[[], Account | None],
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self._form = form
        self._context = context
        self._sending = sending
        self._current = current
        self._dialog = parent
        self.timeout = SIGN_IN_TIMEOUT
        self._running: BrowserSignIn | None = None
        self._waiting = ""  # what the form says while the browser is open
        self._address = ""  # the sign-in page, when no browser could be opened
        self._pending: dict[str, Tokens] = {}
        self._hint: dict[str, tuple[str, str]] = {}  # the address and provider signed in for
        self._said: dict[str, str] = {}  # the last outcome, by account, until the next try
        self._chosen: set[str] = set()  # accounts whose login the user chose in this dialog
        # Whether the keyring holds the sign-in of a saved account, as read on a worker.
        # Whether the keyring holds each saved account's sign-in: True, False, or None when
        # the keyring could not be read; absent until read (a read under way: _reading).
        self._in_keyring: dict[str, bool | None] = {}
        self._reading: set[str] = set()
        self._closed = False
        # What writes() handed to Save, for saved() to finish.
        self._stored: dict[str, Tokens] = {}
        form.sign_in.button.clicked.connect(self.start_current)
        form.sign_in.cancel_button.clicked.connect(self.cancel)
        form.login_chosen.connect(self._on_login_chosen)

    # --- what the form offers ---------------------------------------------------------------

    def offer(self, account: Account) -> LoginOffer:
        """The login choice for account: its provider's sign-in, if it has one."""
        registry = self._context.oauth()
        saved = self._context.settings.find(account.id)
        key = registry.key_for(dataclasses.replace(account, oauth="")) or (
            saved.oauth if saved is not None else ""
        )
        server = registry.server(key)
        if server is None:
            return NO_OFFER
        available = registry.client(key) is not None
        why_not = "" if available else registry.why_not(dataclasses.replace(account, oauth=key))
        return LoginOffer(key, server.name, available, why_not)

    def show(self, account: Account) -> None:
        """Show account's login in the form: as chosen, or for a new account that has not
        chosen, signing in wherever that is offered."""
        offer = self.offer(account)
        chosen = account.id in self._chosen or self._context.settings.find(account.id) is not None
        signing_in = bool(account.oauth) if chosen else offer.available
        self._form.show_login(offer, signing_in=signing_in and bool(offer.key))
        self._show_state(account)

    def _show_state(self, account: Account) -> None:
        panel = self._form.sign_in
        running = self._running
        if running is not None and running.account_id == account.id:
            panel.show_state(self._waiting, waiting=True, address=self._address)
            return
        if account.id in self._said:
            text = self._said[account.id]
        elif account.id in self._pending:
            text = "Signed in (not yet saved)"
        elif self._saved_signed_in(account):
            text = _KEYRING_STATES[self._keyring_state(account.id)]
        else:
            text = "Not signed in"
        panel.show_state(text, available=self.offer(account).available)

    def _saved_signed_in(self, account: Account) -> bool:
        saved = self._context.settings.find(account.id)
        return saved is not None and bool(saved.oauth) and saved.oauth == account.oauth

    def _is_in_keyring(self, account_id: str) -> bool:
        """False only once the keyring was read and holds no sign-in for the account."""
        return self._keyring_state(account_id) != "no"

    def _keyring_state(self, account_id: str) -> str:
        """ "reading", "yes", "no" or "unknown" (the keyring could not be read)."""
        if account_id in self._in_keyring:
            found = self._in_keyring[account_id]
            return "unknown" if found is None else "yes" if found else "no"
        if account_id not in self._reading:
            self._reading.add(account_id)
            secrets, key = self._context.secrets, oauth_secret_key(account_id)

            def job() -> object:
                try:
                    return secrets.get(key) is not None
                except KeyringUnavailable:
                    return None  # not known: sending will say what is wrong

            task = self._sending.run(job)
            task.succeeded.connect(lambda found: self._on_keyring_read(account_id, found))
        return "reading"

    def _on_keyring_read(self, account_id: str, found: object) -> None:
        if self._closed:
            return  # the dialog has gone
        self._reading.discard(account_id)
        self._in_keyring[account_id] = None if found is None else bool(found)
        self._refresh(account_id)

    def _on_login_chosen(self, _signing_in: bool) -> None:
        account = self._current()
        if account is not None:
            self._chosen.add(account.id)

    def _refresh(self, account_id: str) -> None:
        account = self._current()
        if account is not None and account.id == account_id:
            self._show_state(account)

    # --- signing in -------------------------------------------------------------------------

    def start_current(self) -> None:
        account = self._current()
        if account is not None:
            self.start(account)

    def start(self, account: Account) -> None:
        """Open the provider's sign-in page for account in the browser and wait for it."""
        running = self._running
        if running is not None:
            if running.account_id == account.id:
                return
            running.cancel()  # one browser sign-in at a time; its outcome is not waited for
            self._said[running.account_id] = "Sign-in cancelled."
            self._running = None
        offer = self.offer(account)
        registry = self._context.oauth()
        server, client = registry.server(offer.key), registry.client(offer.key)
        if server is None or client is None:
            self._said[account.id] = offer.why_not or "Signing in is not offered for this account."
            self._refresh(account.id)
            return
        self._said.pop(account.id, None)
        self._waiting = f"Starting the sign-in with {server.name}…"
        self._address = ""
        running = BrowserSignIn(self._sending, account, server, client, timeout=self.timeout)
        # Its signals arrive on the GUI thread (sign_in.py): lambdas are safe here.
        running.url_ready.connect(lambda url: self._on_url(running, url))
        running.signed_in.connect(lambda tokens: self._on_signed_in(running, tokens))
        running.failed.connect(lambda text: self._on_failed(running, text))
        self._running = running
        self._refresh(account.id)

    def cancel(self) -> None:
        """Stop waiting for the browser; a sign-in that ends later is ignored."""
        running = self._running
        if running is None:
            return
        running.cancel()
        self._running = None
        self._said[running.account_id] = "Sign-in cancelled. Not signed in."
        self._refresh(running.account_id)

    def _on_url(self, running: BrowserSignIn, url: str) -> None:
        if running is not self._running:
            return
        if QDesktopServices.openUrl(QUrl(url)):
            self._waiting = _WAITING
        else:
            self._waiting = (
                "Composer could not open a browser. Open this address in your browser to "
                "sign in, then come back here:"
            )
            self._address = url
        self._refresh(running.account_id)

    def _on_signed_in(self, running: BrowserSignIn, tokens: object) -> None:
        if running is not self._running or not isinstance(tokens, Tokens):
            return  # cancelled, or another sign-in started since
        self._running = None
        account_id = running.account_id
        # Test Connection and sends use it at once; the refresh token waits for Save.
        self._context.access_tokens.remember(account_id, tokens)
        self._pending[account_id] = tokens
        self._hint[account_id] = (running.email, running.server.name)
        self._refresh(account_id)
        self.check_requested.emit(account_id)

    def refused(self, account_id: str) -> None:
        """The mail server refused the sign-in just made for account_id: say the likely
        reason (another account chosen in the browser) and what to do."""
        if account_id not in self._pending or self.is_waiting(account_id):
            return  # saved, forgotten, or signing in again already
        email, name = self._hint.get(account_id, ("", "the provider"))
        choosing = f", choosing {email}" if email else ""
        self._said[account_id] = (
            f"The mail server refused this sign-in. Your browser may have signed in another "
            f"{name} account: sign in again{choosing}."
        )
        self._refresh(account_id)

    def _on_failed(self, running: BrowserSignIn, text: str) -> None:
        if running is not self._running:
            return
        self._running = None
        self._said[running.account_id] = text
        self._refresh(running.account_id)

    def not_signed_in(self, account: Account) -> str:
        """What to do first, when account signs in and is known not to be signed in here
        ("" otherwise: signed in, or not known until the keyring has been read)."""
        if not account.oauth or account.id in self._pending:
            return ""
        if self.is_waiting(account.id):
            return "Finish signing in in your browser first."
        if self._saved_signed_in(account) and self._is_in_keyring(account.id):
            return ""
        server = self._context.oauth().server(account.oauth)
        button = f"Sign In with {server.name}…" if server is not None else "Sign In…"
        return f"Not signed in: press {button} first, then test the connection."

    def is_waiting(self, account_id: str) -> bool:
        return self._running is not None and self._running.account_id == account_id

    # --- the dialog's end -------------------------------------------------------------------

    def forget(self, account_id: str) -> None:
        """The account was removed in the dialog: its sign-in stops and what it got goes."""
        if self._running is not None and self._running.account_id == account_id:
            self._running.cancel()
            self._running = None
        if self._pending.pop(account_id, None) is not None:
            self._context.access_tokens.forget(account_id)
        self._said.pop(account_id, None)

    def discard(self) -> None:
        """The dialog closes: a sign-in under way stops, and what was not saved is let go."""
        self._closed = True
        if self._running is not None:
            self._running.cancel()
            self._running = None
        for account_id in self._pending:
            self._context.access_tokens.forget(account_id)
        self._pending.clear()

    def withdraw(self, accounts: Sequence[Account], before: Iterable[Account]) -> None:
        """After Save: revoke and delete the sign-in of each account (as it was before)
        removed or switched to a password, in the background; a failure is told through
        the context."""
        kept = {a.id: a for a in accounts}
        gone = [
            saved
            for saved in before
            if saved.oauth and (saved.id not in kept or not kept[saved.id].oauth)
        ]
        context = self._context
        for account in gone:
            self._pending.pop(account.id, None)

            def job(account: Account = account) -> object:
                said = withdraw(context, account)
                if said:
                    context.notify(said)
                return None

            self._sending.run(job)

    def writes(self, accounts: Sequence[Account]) -> list[SecretWrite]:
        """After Save: the refresh token of each account signed in here that still signs
        in, for the keyring (saved() follows once they are written)."""
        names = {a.id: a.name for a in accounts if a.oauth}
        self._stored = {i: t for i, t in self._pending.items() if i in names}
        return [
            SecretWrite(oauth_secret_key(i), t.refresh_token, names[i], "sign-in")
            for i, t in self._stored.items()
        ]

    def signing_in(self) -> set[str]:
        """The accounts whose sign-in writes() handed to Save."""
        return set(self._stored)

    def saved(self, *, refused: Set[str] = frozenset(), kept: Set[str] = frozenset()) -> None:
        """The sign-ins are in the keyring, except those whose keys the keyring refused;
        of those, the user kept these keys for this session. What waited for a sign-in kept
        goes now, and each such account is said to be signed in; one not kept is forgotten,
        its access token too, so that nothing sends with it."""
        stored, self._stored = self._stored, {}
        self._pending.clear()
        signed_in: list[str] = []
        late: list[str] = []  # kept for this session: their held messages are due only now
        for account_id in stored:
            key = oauth_secret_key(account_id)
            if key in refused and key not in kept:
                self._context.access_tokens.forget(account_id)
                continue
            signed_in.append(account_id)
            if key in kept:
                late.append(account_id)
        if late:
            sending, outbox = self._sending, self._context.outbox
            task = sending.run(lambda: resume_held(outbox, late))
            task.succeeded.connect(lambda _result: sending.flush_due())
            task.failed.connect(lambda _error: sending.flush_due())
        elif signed_in:
            self._sending.flush_due()
        for account_id in signed_in:
            self.signed_in.emit(account_id)


_KEYRING_STATES = {
    "reading": "Checking the keyring…",
    "yes": "Signed in",
    "no": "Not signed in",
    "unknown": "Signed in before, but the system keyring cannot be read now, so Composer "
    "cannot tell whether the sign-in is still there.",
}

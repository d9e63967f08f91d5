"""Real SMTP servers on 127.0.0.1: aiosmtpd with trustme certificates, and a silent one."""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import contextlib
import dataclasses
import email.policy
import json
import random
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, Protocol

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword

from composer.mail.accounts import Account, Security
from composer.mail.ports import LOOPBACK, start_on_free_port
from composer.mail.sandbox import start_controller

HOST = LOOPBACK
USERNAME = "ann"
PASSWORD = "s3cret-pässwörd"  # non-ASCII on purpose: smtplib alone only encodes ASCII
# Instead of a reply after the final dot: keep the message and never answer (until the client
# leaves or the server stops), or keep it and close the connection without a word.
HANG = "hang"
CLOSE = "close"
# What SmtpServer(mechanisms=...) chooses from: aiosmtpd's own two, and OAuthHandler's.
MECHANISMS = frozenset({"PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER"})
OAUTH_MECHANISMS = ("OAUTHBEARER", "XOAUTH2")
OAUTH_SCOPE = "https://mail.google.com/"


async def _wait_for_the_client_to_leave() -> None:
    # aiosmtpd cancels the handler when the connection is lost, so this ends then.
    await asyncio.Event().wait()


def server_tls_context(ca: Any) -> ssl.SSLContext:
    """A server-side context with a certificate from ca for 127.0.0.1 and localhost."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST, "localhost").configure_cert(context)
    return context


class Handler:
    """aiosmtpd hooks; kept apart from SmtpServer because aiosmtpd turns any attribute of the
    handler whose name starts with ``auth_`` into an AUTH mechanism."""

    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    def _log(self, command: str) -> None:
        with self._server.lock:
            self._server.commands.append(command)

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self._log("EHLO")
        if not getattr(server, "said_ehlo", False):  # again after STARTTLS
            server.said_ehlo = True
            with self._server.lock:
                self._server.sessions += 1
        session.host_name = hostname  # aiosmtpd leaves it to this hook once there is one
        hidden = set(self._server.hide_extensions)
        size = self._server.advertise_size
        if size is not None:
            hidden.add("SIZE")
        # "250-SIZE 1000" → SIZE; the last line ("250 HELP") is never an extension here.
        lines = [line for line in responses if line[4:].split(" ")[0].upper() not in hidden]
        if size is not None:
            lines.insert(1, f"250-SIZE {size}".strip())
        if self._server.pipelining:
            lines.insert(1, "250-PIPELINING")
        return lines

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        self._log("MAIL")
        server.note_ahead("MAIL")
        with self._server.lock:
            self._server.mail_count += 1
            drop = self._server.mail_count in self._server.drop_at_mail
            refusal = self._server.mail_replies.get(self._server.mail_count)
        if drop:
            server.transport.close()
            await _wait_for_the_client_to_leave()
        if refusal:
            return refusal  # no sender: aiosmtpd answers RCPT and DATA with 503 then
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        self._log("RCPT")
        server.note_ahead("RCPT")
        if address in self._server.rcpt_replies:
            return self._server.rcpt_replies[address]
        if address in self._server.refuse:
            return "550 5.1.1 No such user"
        if self._server.rcpt_random.random() < self._server.rcpt_defer:
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        # aiosmtpd calls this once it has read the whole message, final dot included.
        self._log("DATA")
        with self._server.lock:
            self._server.messages_read += 1
            number = self._server.messages_read
        reply = self._server.data_replies.get(number, self._server.data_reply)
        if reply in (HANG, CLOSE):
            self._keep(session, envelope)
            if reply == CLOSE:
                server.transport.close()
            await _wait_for_the_client_to_leave()
        if reply:
            return reply
        self._keep(session, envelope)
        return "250 2.0.0 Message accepted"

    async def handle_RSET(self, server: Any, session: Any, envelope: Any) -> str:
        self._log("RSET")
        return "250 OK"

    def _keep(self, session: Any, envelope: Any) -> None:
        content = envelope.original_content or envelope.content
        message = BytesParser(policy=email.policy.default).parsebytes(content)
        assert isinstance(message, EmailMessage)
        with self._server.lock:
            self._server.raw.append(content)
            self._server.received.append(message)
            self._server.envelopes.append((envelope.mail_from, tuple(envelope.rcpt_tos)))
            self._server.mail_options.append(tuple(envelope.mail_options))
            self._server.helo_names.append(session.host_name)
            self._server.changed.notify_all()

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        self._log("QUIT")
        return "221 Bye"


class CramMd5OnlyHandler(Handler):
    """Offers CRAM-MD5, which never succeeds.

    Serve with ``auth_exclude_mechanism=["LOGIN", "PLAIN"]`` for a server offering only it.
    """

    async def auth_CRAM__MD5(self, server: Any, args: list[str]) -> AuthResult:
        return AuthResult(success=False, handled=False)


class EndlessLoginHandler(Handler):
    """AUTH LOGIN that asks for more after the password, again and again."""

    # Only so that a client that never gives up cannot hang the test run.
    LIMIT = 100

    async def auth_LOGIN(self, server: Any, args: list[str]) -> AuthResult:
        for _ in range(self.LIMIT):
            answer = await server.challenge_auth("Password:")
            if answer is MISSING or server._reader.at_eof():
                return AuthResult(success=False, handled=True)
            with self._server.lock:
                self._server.login_rounds += 1
        return AuthResult(success=False, handled=False)


class TokenChecker(Protocol):
    """What tells whom an access token was issued to: tests.oauth_server.OAuthServer."""

    def check_access_token(self, token: str) -> str | None: ...


@dataclasses.dataclass(frozen=True)
class SaslAttempt:
    """One AUTH with a token: what the client sent, and whether the server took it."""

    mechanism: str  # XOAUTH2 or OAUTHBEARER
    user: str  # "" when an OAUTHBEARER client named nobody
    token: str
    accepted: bool


def _pairs(text: str) -> dict[str, str]:
    """key=value fields, each ended by ^A (the final ^A already cut off)."""
    pairs = (field.partition("=") for field in text.split("\x01"))
    return {key: value for key, _, value in pairs}


def _bearer(value: str) -> str:
    scheme, _, token = value.partition(" ")
    return token if scheme.lower() == "bearer" else ""


def _parse_xoauth2(text: str) -> tuple[str, str] | None:
    """(user, token) of "user=U^Aauth=Bearer T^A^A", None if it is not that."""
    if not text.endswith("\x01\x01"):
        return None
    fields = _pairs(text[:-2])
    user, token = fields.get("user", ""), _bearer(fields.get("auth", ""))
    return (user, token) if user and token else None


def _parse_oauthbearer(text: str) -> tuple[str, str] | None:
    """(user, token) of RFC 7628's "n,a=U,^Ahost=H^Aport=P^Aauth=Bearer T^A^A"."""
    if not text.endswith("\x01\x01"):
        return None
    header, _, rest = text[:-2].partition("\x01")
    flag, _, after_flag = header.partition(",")
    authzid, comma, tail = after_flag.partition(",")
    # No channel binding ("p=..."); authzid is empty or "a=" and a saslname (RFC 5801).
    if flag not in ("n", "y") or not comma or tail or (authzid and authzid[:2] != "a="):
        return None
    user = authzid[2:].replace("=2C", ",").replace("=3D", "=")
    token = _bearer(_pairs(rest).get("auth", ""))
    return (user, token) if token else None


async def _client_response(server: Any, args: list[str]) -> bytes | None:
    """The initial response after AUTH <mechanism>, or the answer to an empty challenge if
    there was none; None when the client gave up or sent no base64 (already answered)."""
    if len(args) == 1:
        answer = await server.challenge_auth("")
        return None if answer is MISSING else bytes(answer)
    if args[1] == "=":  # RFC 4954: an empty initial response
        return b""
    try:
        return base64.b64decode(args[1], validate=True)
    except binascii.Error:
        await server.push("501 5.5.2 Can't decode base64")
        return None


class OAuthHandler(Handler):
    """AUTH XOAUTH2 and OAUTHBEARER (RFC 7628), taking a token that the SmtpServer's
    ``oauth`` server issued to the user the client names, and still valid.

    A refused token gets what Gmail and RFC 7628 §3.2.2 answer: a 334 challenge carrying a
    JSON status; the client must end the exchange (an empty line for XOAUTH2, ^A for
    OAUTHBEARER) and only then hears 535. Any other answer there gets 501.

    The tokens of tests.oauth_server are as long as Microsoft's (about 2 kB): the AUTH line
    that carries one is allowed RFC 4954's 12288 octets (_TrackedSMTP), not aiosmtpd's 512.
    """

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        return await self._token_login(server, args, "XOAUTH2")

    async def auth_OAUTHBEARER(self, server: Any, args: list[str]) -> AuthResult:
        return await self._token_login(server, args, "OAUTHBEARER")

    async def _token_login(self, server: Any, args: list[str], mechanism: str) -> AuthResult:
        payload = await _client_response(server, args)
        if payload is None:
            return AuthResult(success=False, handled=True)
        parse = _parse_xoauth2 if mechanism == "XOAUTH2" else _parse_oauthbearer
        parsed = parse(payload.decode("utf-8", "replace"))
        if parsed is None:
            await server.push(f"501 5.5.2 Malformed {mechanism} response")
            return AuthResult(success=False, handled=True)
        user, token = parsed
        if self._server._token_accepted(mechanism, user, token):
            return AuthResult(success=True, auth_data=user)
        answer = await server.challenge_auth(json.dumps(self._server._token_error(mechanism)))
        if answer is MISSING or server._reader.at_eof():
            return AuthResult(success=False, handled=True)
        if answer != (b"" if mechanism == "XOAUTH2" else b"\x01"):
            await server.push("501 5.5.2 Expected the end of the exchange after the error")
            return AuthResult(success=False, handled=True)
        return AuthResult(success=False, handled=False)  # aiosmtpd's 535 5.7.8


class _TrackedSMTP(SMTP):
    """aiosmtpd's protocol, telling its SmtpServer when a connection opens and closes."""

    def __init__(self, handler: Any, *, owner: SmtpServer, implicit_tls: bool, **kwargs: Any):
        super().__init__(handler, **kwargs)
        if owner.oauth is not None:
            # RFC 4954 §4: an AUTH line may be 12288 octets; aiosmtpd allows 512, too few
            # for an access token of real size sent with the command. Per connection:
            # aiosmtpd's own table is shared by every connection of every server.
            self.command_size_limits = collections.defaultdict(
                lambda: SMTP.command_size_limit, {"AUTH": _AUTH_LINE}
            )
        self._owner = owner
        self._greeted = False
        if implicit_tls:
            # aiosmtpd counts only STARTTLS as TLS and would never offer AUTH on port 465
            # style connections; the whole connection is encrypted here.
            self._auth_require_tls = False

    def connection_made(self, transport: Any) -> None:
        first = self._original_transport is None  # called again after STARTTLS
        super().connection_made(transport)
        if first:
            self._owner._opened(self)

    async def push(self, status: Any) -> None:
        if not self._greeted:
            self._greeted = True
            status = self._owner.greeting or status
        await super().push(status)

    def note_ahead(self, verb: str) -> None:
        """Record whether a whole line after verb's has arrived (see SmtpServer.ahead)."""
        # asyncio's StreamReader keeps what has arrived but was not read yet in _buffer.
        ahead = b"\n" in self._reader._buffer
        with self._owner.lock:
            self._owner.ahead.append((verb, ahead))

    async def smtp_DATA(self, arg: str) -> None:
        self.note_ahead("DATA")
        if not self._owner.drop_in_data:
            await super().smtp_DATA(arg)
            return
        # Take the start of the message, then hang up before the final dot: a server (or a
        # network) that fails half-way through. Nothing was delivered.
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        await self._reader.read(1)
        with self._owner.lock:
            self._owner.commands.append("DATA")
        self.transport.close()

    def connection_lost(self, error: Exception | None) -> None:
        try:
            super().connection_lost(error)
        finally:
            self._owner._closed(self)


_AUTH_LINE = 12288


class _LongAuthSMTP(_TrackedSMTP):
    """Reads lines of up to an AUTH line's length (aiosmtpd's reader stops at 1001 bytes,
    whatever the command): for the servers that take access tokens."""

    line_length_limit = _AUTH_LINE + 2


class _Controller(Controller):
    def __init__(self, owner: SmtpServer, *args: Any, **kwargs: Any) -> None:
        self._owner = owner
        super().__init__(*args, **kwargs)

    def factory(self) -> SMTP:
        implicit_tls = self.ssl_context is not None
        kind = _TrackedSMTP if self._owner.oauth is None else _LongAuthSMTP
        return kind(self.handler, owner=self._owner, implicit_tls=implicit_tls, **self.SMTP_kwargs)


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 and a free port that records what it was sent.

    ``refuse`` holds recipients answered with 550 at RCPT, ``rcpt_replies`` other answers
    to RCPT by recipient, and ``rcpt_defer`` is the fraction of the other RCPTs answered 451
    (chosen by ``rcpt_random``, seeded); ``data_reply`` replaces the answer after the final
    dot (HANG and CLOSE keep the message and do not answer), ``data_replies`` does so for
    the nth message read (counted from 1 over the server's life), ``drop_at_mail`` lists the
    MAIL commands (numbered the same way) at which the server closes the connection,
    ``mail_replies`` refusals of MAIL commands numbered so, and
    ``greeting`` the 220 greeting; ``hide_extensions`` (SIZE, 8BITMIME, ...) are not
    advertised, and ``advertise_size`` replaces the SIZE line's value; with ``pipelining``
    PIPELINING (RFC 2920) is advertised too (aiosmtpd reads a line at a time from what has
    arrived, so it serves pipelined commands in order without saying so). ``ahead`` lists,
    for each MAIL and RCPT that reached the handler and each DATA, its verb and whether a
    whole further line had already arrived when the server began to answer it. ``size_limit`` is
    aiosmtpd's data_size_limit (advertised as SIZE unless 0) and applies to connections
    made after it is set. ``commands`` lists the verbs the server got (EHLO, MAIL, RCPT,
    DATA, RSET, QUIT; not AUTH or STARTTLS). ``received`` holds each message the server
    kept (accepted, or read before a HANG or CLOSE), ``messages_read`` counts every one read
    to its final dot, and ``sessions`` the connections on which the client said EHLO (the
    server's own start-up check does not).

    With ``oauth`` (an authorization server), the handler is OAuthHandler and the server
    offers XOAUTH2 and OAUTHBEARER; ``mechanisms`` chooses what it offers of MECHANISMS
    (aiosmtpd's PLAIN and LOGIN, without oauth). ``auth_attempts`` lists the user names and
    passwords of each PLAIN or LOGIN, ``sasl_attempts`` each token login (a SaslAttempt),
    ``logins`` the mechanism of each successful AUTH; a refused token's challenge names
    ``oauth_scope``.
    """

    def __init__(
        self,
        *,
        username: str = USERNAME,
        password: str = PASSWORD,
        size_limit: int = 32 * 1024 * 1024,
        handler: type[Handler] = Handler,
        greeting: str = "",
        hide_extensions: Iterable[str] = (),
        pipelining: bool = False,
        oauth: TokenChecker | None = None,
        mechanisms: Iterable[str] | None = None,
        **smtp_options: Any,
    ) -> None:
        self.host = HOST
        self.port = 0
        self.username = username
        self.password = password
        self.received: list[EmailMessage] = []
        self.raw: list[bytes] = []
        self.envelopes: list[tuple[str, tuple[str, ...]]] = []
        self.auth_attempts: list[tuple[str, str]] = []
        self.mail_options: list[tuple[str, ...]] = []  # MAIL FROM parameters, per message
        self.helo_names: list[str] = []  # what the client called itself in EHLO, per message
        self.refuse: set[str] = set()
        self.rcpt_replies: dict[str, str] = {}
        self.data_reply = ""
        self.data_replies: dict[int, str] = {}
        self.drop_at_mail: set[int] = set()
        self.mail_replies: dict[int, str] = {}
        # Hang up in the middle of DATA, after the first bytes of the message.
        self.drop_in_data = False
        self.rcpt_defer = 0.0
        self.rcpt_random = random.Random(8)
        self.messages_read = 0
        self.mail_count = 0
        self.sessions = 0
        self.greeting = greeting
        self.hide_extensions = frozenset(name.upper() for name in hide_extensions)
        self.advertise_size: str | None = None  # advertised as "SIZE <this>" instead
        self.pipelining = pipelining
        self.ahead: list[tuple[str, bool]] = []
        self.commands: list[str] = []
        self.login_rounds = 0  # answers to EndlessLoginHandler's challenges
        self.oauth = oauth
        self.oauth_scope = OAUTH_SCOPE
        self.sasl_attempts: list[SaslAttempt] = []
        self.logins: list[str] = []
        if oauth is not None:
            handler = OAuthHandler if handler is Handler else handler
            mechanisms = OAUTH_MECHANISMS if mechanisms is None else mechanisms
        if mechanisms is not None:
            offered = {name.upper() for name in mechanisms}
            excluded = set(smtp_options.pop("auth_exclude_mechanism", ()))
            smtp_options["auth_exclude_mechanism"] = sorted(excluded | (MECHANISMS - offered))
        self._handler_class = handler
        self.lock = threading.Lock()
        self._connections: set[SMTP] = set()
        self._drained = threading.Condition(self.lock)
        self.changed = threading.Condition(self.lock)  # notified when a message is kept
        self._size_limit = size_limit
        self._options = smtp_options
        self._controller: Controller | None = None

    @property
    def size_limit(self) -> int:
        return self._size_limit

    @size_limit.setter
    def size_limit(self, value: int) -> None:
        self._size_limit = value
        if self._controller is not None:
            # aiosmtpd builds one SMTP protocol object per connection from these.
            self._controller.SMTP_kwargs["data_size_limit"] = value

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        with self.lock:
            self.auth_attempts.append((login, password))
        ok = (login, password) == (self.username, self.password)
        if ok:
            with self.lock:
                self.logins.append(mechanism)
        return AuthResult(success=ok, handled=False)

    def _token_accepted(self, mechanism: str, user: str, token: str) -> bool:
        owner = self.oauth.check_access_token(token) if self.oauth is not None else None
        # An OAUTHBEARER client may leave the user to the token (RFC 7628 §3.1).
        accepted = owner is not None and user in (owner, "")
        with self.lock:
            self.sasl_attempts.append(SaslAttempt(mechanism, user, token, accepted))
            if accepted:
                self.logins.append(mechanism)
        return accepted

    def _token_error(self, mechanism: str) -> dict[str, str]:
        """The JSON status of a refused token: Google's for XOAUTH2, RFC 7628's otherwise."""
        if mechanism == "XOAUTH2":
            return {"status": "401", "schemes": "bearer", "scope": self.oauth_scope}
        return {"status": "invalid_token", "scope": self.oauth_scope}

    def start(self, port: int = 0) -> SmtpServer:
        """Start on port, or on a free one (0); a server stopped earlier can come back on
        its old port, as a real one does after a restart."""
        try:
            if port:
                self._controller = self._start_controller(port)
            else:
                self._controller = start_on_free_port(self._start_controller)
        except Exception as error:
            raise RuntimeError(f"test SMTP server could not start: {error}") from error
        self.port = self._controller.port
        return self

    def _start_controller(self, port: int) -> Controller:
        controller = _Controller(
            self,
            self._handler_class(self),
            hostname=HOST,
            port=port,
            server_hostname="mail.test",  # otherwise aiosmtpd calls getfqdn()
            authenticator=self.authenticate,
            data_size_limit=self._size_limit,
            ready_timeout=10,
            **self._options,
        )
        return start_controller(controller)

    def wait_until(self, condition: Callable[[], bool], timeout: float = 10) -> bool:
        """True once condition() holds (checked whenever a message is kept), else False."""
        with self.lock:
            return self.changed.wait_for(condition, timeout)

    def _opened(self, connection: SMTP) -> None:
        with self.lock:
            self._connections.add(connection)

    def _closed(self, connection: SMTP) -> None:
        with self.lock:
            self._connections.discard(connection)
            self._drained.notify_all()

    def stop(self) -> None:
        """Let clients finish disconnecting, close what is left, stop the event loop."""
        controller, self._controller = self._controller, None
        if controller is None:
            return
        # Stopping the loop with a connection still open leaks its socket (a ResourceWarning,
        # an error under filterwarnings=error), even when the client already closed its end.
        with self.lock:
            self._drained.wait_for(lambda: not self._connections, timeout=5)
        asyncio.run_coroutine_threadsafe(self._abort(controller), controller.loop).result(5)
        controller.stop()

    async def _abort(self, controller: Controller) -> None:
        """Stop accepting, then cut every connection still open: also one accepted just now
        (a client connecting as the test ends), which its protocol only learns of a loop
        iteration or two later, since asyncio accepts in a task of its own."""
        # Not Server.close(): in Python 3.11 an accept still under way then fails its
        # assertion that the server is open, and leaks the socket it accepted.
        if controller.server is not None:
            for listener in controller.server.sockets:
                controller.loop.remove_reader(listener.fileno())
        for _ in range(3):
            await asyncio.sleep(0)
        with self.lock:
            connections = list(self._connections)
        for connection in connections:
            for transport in (connection.transport, connection._original_transport):
                if transport is not None:
                    transport.abort()
        # Let the transports' connection_lost callbacks run and close their sockets.
        for _ in range(3):
            await asyncio.sleep(0)


class SilentServer:
    """Accepts TCP connections on 127.0.0.1, reads what comes and never writes a byte.

    With hang_up, it closes each connection as soon as it has accepted it instead (a TLS
    handshake cut off, on an implicit-TLS port).
    """

    def __init__(self, *, hang_up: bool = False) -> None:
        self.host = HOST
        self._hang_up = hang_up
        self._hung_up = 0
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind((HOST, 0))
        self._listener.listen(8)
        self.port = int(self._listener.getsockname()[1])
        self._connections: list[socket.socket] = []
        self._readers: list[threading.Thread] = []
        self._closed_by_client = 0
        self._condition = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    @property
    def accepted(self) -> int:
        with self._condition:
            return len(self._connections) + self._hung_up

    def wait_for_connection(self, count: int = 1, timeout: float = 5) -> bool:
        """True once count connections were accepted, False if timeout passed first."""
        with self._condition:
            return self._condition.wait_for(lambda: self.accepted >= count, timeout)

    def wait_for_close(self, count: int = 1, timeout: float = 5) -> bool:
        """True once clients closed count connections, False if timeout passed first."""
        with self._condition:
            return self._condition.wait_for(lambda: self._closed_by_client >= count, timeout)

    def _read_until_closed(self, connection: socket.socket) -> None:
        try:
            while connection.recv(65536):
                pass
        except OSError:
            pass  # reset by the client, which closed it as well
        with self._condition:
            if not self._stopping:
                self._closed_by_client += 1
                self._condition.notify_all()

    def start(self) -> SilentServer:
        self._thread.start()
        return self

    def _accept_loop(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with self._condition:
                if self._stopping:
                    connection.close()
                    return
                if self._hang_up:
                    connection.close()
                    self._hung_up += 1
                    self._condition.notify_all()
                    continue
                self._connections.append(connection)
                reader = threading.Thread(
                    target=self._read_until_closed, args=(connection,), daemon=True
                )
                self._readers.append(reader)
                reader.start()
                self._condition.notify_all()

    def stop(self) -> None:
        with self._condition:
            self._stopping = True
        # accept() is not woken by close() from another thread; a last connection wakes it.
        with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), 5):
            pass
        self._thread.join(10)
        self._listener.close()
        with self._condition:
            connections, self._connections = self._connections, []
            readers, self._readers = self._readers, []
        for connection in connections:
            # Wakes its reader, which close() from this thread would not.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for reader in readers:
            reader.join(10)
        for connection in connections:
            connection.close()


@contextlib.contextmanager
def running(server: SmtpServer) -> Iterator[SmtpServer]:
    """Start server, yield it, and stop it whatever happens."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


def starttls_server(tls_context: ssl.SSLContext, **options: Any) -> SmtpServer:
    """STARTTLS and AUTH required, AUTH only after STARTTLS."""
    return SmtpServer(
        tls_context=tls_context,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        **options,
    )


def implicit_tls_server(ssl_context: ssl.SSLContext, **options: Any) -> SmtpServer:
    """TLS from the first byte (port 465 style), AUTH required."""
    return SmtpServer(ssl_context=ssl_context, auth_required=True, auth_require_tls=True, **options)


def plaintext_server(**options: Any) -> SmtpServer:
    """No TLS at all; AUTH offered over plaintext."""
    return SmtpServer(auth_required=False, auth_require_tls=False, **options)


def account_for(server: Any, security: Security, **changes: Any) -> Account:
    """An account that sends through server as its user, with security as given."""
    account = Account(
        name="Test",
        display_name="Ann Lee",
        email="ann@example.org",
        host=server.host,
        port=server.port,
        security=security,
        username=getattr(server, "username", USERNAME),
        timeout=10,
    )
    return dataclasses.replace(account, **changes)

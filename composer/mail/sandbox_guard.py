"""What the sandbox server lets a connection hold before it logs in: few sockets, little time.

Every local user can connect to 127.0.0.1, and each connection the server keeps open costs
Composer a file descriptor: left unbounded, another user could take them all and leave Composer
unable to save a draft. So connections from another user are refused at once (where the system
says who is connecting), at most a handful are open together, and a connection that has not
logged in soon, or has failed to several times, is closed.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from composer.mail.loopback_peer import peer_uid
from composer.mail.sandbox import ConnectionLimits

log = logging.getLogger(__name__)

_NOT_YOURS = b"421 4.7.0 The local sandbox takes mail only from Composer\r\n"
_TOO_MANY = b"421 4.7.0 Too many connections to the local sandbox, try again later\r\n"
_TOO_SLOW = "421 4.4.2 No login in time, closing the connection"
_TOO_MANY_LOGINS = "421 4.7.0 Too many failed logins, closing the connection"


class _Gate:
    """Counts the connections that were let in; used on the server's event loop only."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.open = 0

    def refusal(self, transport: asyncio.BaseTransport) -> bytes | None:
        """The reply for a connection that may not stay, or None to let it in."""
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        uid = peer_uid(peer, local) if peer and local else None
        if uid is not None and uid != os.geteuid():
            log.info("the local sandbox refused a connection from uid %d", uid)
            return _NOT_YOURS
        if self.open >= self.limits.most:
            log.warning("the local sandbox refused a connection: %d are open", self.open)
            return _TOO_MANY
        return None


class GuardedSMTP(SMTP):
    """aiosmtpd's SMTP, with a connection admitted by a _Gate and a deadline to log in by."""

    def __init__(self, handler: Any, *, gate: _Gate, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._gate = gate
        self._admitted: bool | None = None  # None until the connection is made
        self._login_timer: asyncio.TimerHandle | None = None
        self._failed_logins = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._admitted is None:  # not the second call that follows STARTTLS
            refusal = self._gate.refusal(transport)
            self._admitted = refusal is None
            if refusal is not None:
                # Before aiosmtpd sets up anything of its own, so that nothing waits on it.
                assert isinstance(transport, asyncio.WriteTransport)
                transport.write(refusal)
                transport.close()
                return
            self._gate.open += 1
            self._login_timer = self.loop.call_later(
                self._gate.limits.login_timeout, self._on_login_timeout
            )
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if not self._admitted:
            return  # refused: aiosmtpd never saw the connection
        self._admitted = False
        self._gate.open -= 1
        self._cancel_login_timer()
        super().connection_lost(error)

    async def smtp_AUTH(self, arg: str) -> None:  # noqa: N802
        await super().smtp_AUTH(arg)
        if self.session is not None and self.session.authenticated:
            self._cancel_login_timer()
            return
        self._failed_logins += 1
        if self._failed_logins >= self._gate.limits.login_attempts and self.transport:
            log.warning("the local sandbox hung up after %d failed logins", self._failed_logins)
            await self.push(_TOO_MANY_LOGINS)
            self.transport.close()

    def _on_login_timeout(self) -> None:
        self._login_timer = None
        if self.transport is None or (self.session is not None and self.session.authenticated):
            return
        log.info("the local sandbox closed a connection that did not log in in time")
        assert isinstance(self.transport, asyncio.WriteTransport)
        self.transport.write(_TOO_SLOW.encode("ascii") + b"\r\n")
        self.transport.close()

    def _cancel_login_timer(self) -> None:
        if self._login_timer is not None:
            self._login_timer.cancel()
            self._login_timer = None


class GuardedController(Controller):
    """aiosmtpd's Controller whose connections are GuardedSMTP, sharing one _Gate."""

    def __init__(self, handler: Any, *, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._gate = _Gate(limits)

    def factory(self) -> GuardedSMTP:
        return GuardedSMTP(self.handler, gate=self._gate, **self.SMTP_kwargs)

"""Connecting ends within the account's timeout as a whole: the name lookup and every address
it gave share one deadline, and a cancel ends a lookup that hangs."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import pytest

from composer.mail.accounts import Security
from composer.mail.errors import ErrorKind, SendError
from composer.mail.smtp_client import Canceller
from composer.mail.transport import SmtpTransport
from tests.servers import HOST, PASSWORD, account_for

TIMEOUT = 1.0
# Far below the several timeouts that trying each address in full would take.
ABOUT_ONE_TIMEOUT = TIMEOUT + 0.8

Address = tuple[int, int, int, str, tuple[str, int]]


@contextlib.contextmanager
def silent_addresses(count: int) -> Iterator[list[Address]]:
    """Addresses on 127.0.0.1 where a connection never completes, as a server behind a
    firewall that drops packets: listeners whose (one-place) backlog is already full, so
    the system leaves every further handshake unanswered."""
    with contextlib.ExitStack() as stack:
        addresses: list[Address] = []
        for _ in range(count):
            listener = stack.enter_context(socket.socket())
            listener.bind((HOST, 0))
            listener.listen(0)
            # Takes the one place in the backlog, and is never accepted.
            stack.enter_context(socket.create_connection(listener.getsockname(), 5))
            address = listener.getsockname()
            addresses.append((socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", address))
        yield addresses


class SlowResolver:
    """A name lookup that takes `seconds` (a DNS server that answers late, or not at all),
    then gives `addresses`; released at the end of the test so that no thread stays."""

    def __init__(self, seconds: float, addresses: list[Address]) -> None:
        self.seconds = seconds
        self.addresses = addresses
        self.called = threading.Event()
        self.released = threading.Event()

    def __call__(self, host: str, port: int, family: int, kind: int) -> list[Address]:
        self.called.set()
        self.released.wait(self.seconds)
        return self.addresses


@pytest.fixture
def slow_resolver() -> Iterator[SlowResolver]:
    resolver = SlowResolver(0, [])
    yield resolver
    resolver.released.set()


def ends_after(work: Callable[[], object]) -> tuple[BaseException | None, float]:
    """Call work(); what it raised, and how long it took."""
    started = time.monotonic()
    try:
        work()
    except BaseException as error:  # any outcome is what is measured
        return error, time.monotonic() - started
    return None, time.monotonic() - started


def test_the_silent_listeners_really_leave_a_connection_hanging() -> None:
    """The tests below are only worth something if one such address takes a whole timeout."""
    with silent_addresses(1) as [(_, _, _, _, address)], socket.socket() as probe:
        probe.settimeout(0.3)
        with pytest.raises(TimeoutError):
            probe.connect(address)


def test_several_silent_addresses_take_one_timeout_together() -> None:
    with silent_addresses(4) as addresses:
        canceller = Canceller(lambda *_: addresses)

        error, took = ends_after(lambda: canceller.connect("mail.test", 25, TIMEOUT, None))

    assert isinstance(error, TimeoutError)
    assert TIMEOUT - 0.1 <= took < ABOUT_ONE_TIMEOUT


def test_a_slow_lookup_leaves_the_addresses_only_what_is_left(
    slow_resolver: SlowResolver,
) -> None:
    with silent_addresses(3) as addresses:
        slow_resolver.seconds, slow_resolver.addresses = TIMEOUT / 2, addresses
        canceller = Canceller(slow_resolver)

        error, took = ends_after(lambda: canceller.connect("mail.test", 25, TIMEOUT, None))

    assert isinstance(error, TimeoutError)
    assert took < ABOUT_ONE_TIMEOUT


def test_a_lookup_that_hangs_is_given_up_at_the_account_timeout(
    slow_resolver: SlowResolver,
) -> None:
    slow_resolver.seconds = 30
    nowhere = SimpleNamespace(host="mail.example.test", port=25)
    account = account_for(nowhere, Security.STARTTLS, timeout=1)
    transport = SmtpTransport(account, PASSWORD, resolve=slow_resolver)

    error, took = ends_after(transport.check)

    assert isinstance(error, SendError)
    assert error.kind is ErrorKind.UNREACHABLE
    assert "mail.example.test" in error.message
    assert "no answer to the name lookup within 1 second" in error.message
    assert took < ABOUT_ONE_TIMEOUT


def test_cancel_ends_a_lookup_that_hangs_at_once(slow_resolver: SlowResolver) -> None:
    slow_resolver.seconds = 30
    canceller = Canceller(slow_resolver)
    outcome: list[tuple[BaseException | None, float]] = []
    worker = threading.Thread(
        target=lambda: outcome.append(ends_after(lambda: canceller.connect("m.test", 25, 30, None)))
    )
    worker.start()
    assert slow_resolver.called.wait(5)

    cancelled_at = time.monotonic()
    canceller.cancel()
    worker.join(5)

    [(error, _)] = outcome
    assert isinstance(error, ConnectionAbortedError)
    assert time.monotonic() - cancelled_at < 0.5


def test_a_connection_sends_each_write_at_once() -> None:
    # Without TCP_NODELAY the final "." of each message waited for the server's delayed ACK
    # (about 40 ms a message: 20 messages a second from the Outbox).
    with socket.create_server((HOST, 0)) as listener:
        canceller = Canceller()
        sock = canceller.connect(HOST, listener.getsockname()[1], 5, None)
        try:
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        finally:
            sock.close()
            canceller.close()

"""The sandbox holds few connections, briefly, and none for another local user."""

from __future__ import annotations

import base64
import os
import smtplib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from composer.mail.accounts import sandbox_account
from composer.mail.delivery import Delivery
from composer.mail.draft import Draft
from composer.mail.errors import SendError
from composer.mail.loopback_peer import peer_uid
from composer.mail.sandbox import SANDBOX_LOGIN, ConnectionLimits, SandboxServer
from composer.mail.secrets import SecretStore
from tests.other_user import OTHER_UID, needs_root, other_user_process, wait_for_line

DRAFT = Draft(to="bob@example.net", subject="Into the sandbox", body="Hello.\n")
HELD = 200

# As the other user: open argv[2] connections to the sandbox on port argv[1], read what each
# is told first, say how many were greeted and how many refused, and hold them all open.
OTHER_USERS_HOARD = r"""
import socket, sys, time
port, count = int(sys.argv[1]), int(sys.argv[2])
held, said = [], {}
for _ in range(count):
    connection = socket.create_connection(("127.0.0.1", port), timeout=20)
    held.append(connection)
    first = connection.recv(1024)[:3].decode() or "closed"
    said[first] = said.get(first, 0) + 1
print("holding", sorted(said.items()), flush=True)
time.sleep(120)  # until killed
"""


@pytest.fixture
def guarded_sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    """A sandbox that keeps at most 3 connections, each 0.3 s before it logs in."""
    limits = ConnectionLimits(most=3, login_timeout=0.3)
    server = SandboxServer(tmp_path / "Maildir", limits=limits)
    try:
        yield server
    finally:
        server.stop()


def greeted(port: int) -> socket.socket:
    """A raw connection to the sandbox and the first line it was told, which must be 220."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=30)
    assert connection.recv(1024).startswith(b"220 "), "not let in"
    return connection


def until_closed(connection: socket.socket) -> bytes:
    """Everything the server says until it hangs up (30 s at most)."""
    said = b""
    while chunk := connection.recv(4096):
        said += chunk
    return said


def send(sandbox: SandboxServer) -> Path:
    return Path(Delivery(sandbox_account(), SecretStore(), sandbox).send(DRAFT).stored_at)


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


# --- how many --------------------------------------------------------------------------------


def test_connections_past_the_limit_are_refused_at_once(guarded_sandbox: SandboxServer) -> None:
    port = guarded_sandbox.ensure_started()
    held = [greeted(port) for _ in range(3)]

    with socket.create_connection(("127.0.0.1", port), timeout=30) as fourth:
        assert until_closed(fourth) == (
            b"421 4.7.0 Too many connections to the local sandbox, try again later\r\n"
        )

    # QUIT: the server has let go of the connection by the time it hangs up.
    held[0].sendall(b"QUIT\r\n")
    assert until_closed(held[0]).startswith(b"221 ")
    held.append(greeted(port))  # room for one again
    for connection in held:
        connection.close()


def test_composer_sends_beside_connections_below_the_limit(guarded_sandbox: SandboxServer) -> None:
    port = guarded_sandbox.ensure_started()
    held = [greeted(port) for _ in range(2)]

    assert send(guarded_sandbox).is_file()

    held.append(greeted(port))
    with pytest.raises(SendError) as refused:
        send(guarded_sandbox)  # all three taken
    assert refused.value.retryable
    for connection in held:
        connection.close()


# --- how long --------------------------------------------------------------------------------


def test_a_connection_that_does_not_log_in_is_closed(guarded_sandbox: SandboxServer) -> None:
    with greeted(guarded_sandbox.ensure_started()) as connection:
        connection.sendall(b"EHLO localhost\r\n")  # busy, but never logging in

        said = until_closed(connection)

    assert said.startswith(b"250-")
    assert said.endswith(b"421 4.4.2 No login in time, closing the connection\r\n")


def test_a_logged_in_connection_is_not_closed_by_the_login_deadline(
    guarded_sandbox: SandboxServer,
) -> None:
    with smtplib.SMTP("127.0.0.1", guarded_sandbox.ensure_started(), timeout=30) as smtp:
        smtp.login(SANDBOX_LOGIN, guarded_sandbox.password)
        # Waiting is the only way to see that something does not happen; past the deadline.
        time.sleep(1.0)

        assert smtp.noop()[0] == 250


def test_the_third_failed_login_hangs_up(sandbox: SandboxServer) -> None:
    guess = base64.b64encode(b"\0composer\0guessed").decode("ascii")
    with smtplib.SMTP("127.0.0.1", sandbox.ensure_started(), timeout=30) as smtp:
        smtp.ehlo()
        assert smtp.docmd("AUTH", f"PLAIN {guess}")[0] == 535
        assert smtp.docmd("AUTH", f"PLAIN {guess}")[0] == 535
        assert smtp.docmd("AUTH", f"PLAIN {guess}")[0] == 535

        assert smtp.getreply() == (421, b"4.7.0 Too many failed logins, closing the connection")
        with pytest.raises(smtplib.SMTPServerDisconnected):
            smtp.noop()


def test_a_peer_is_known_as_the_user_it_runs_as() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        accepted, peer = server.accept()
        with client, accepted:
            uid = peer_uid(peer, accepted.getsockname())

    assert uid == (os.geteuid() if Path("/proc/net/tcp").exists() else None)


# --- another user ----------------------------------------------------------------------------


@needs_root
def test_another_user_cannot_take_composers_descriptors(sandbox: SandboxServer) -> None:
    port = sandbox.ensure_started()
    before = open_descriptors()

    with other_user_process(OTHER_USERS_HOARD, str(port), str(HELD)) as hoarder:
        wait_for_line(hoarder, f"holding [('421', {HELD})]")

        assert open_descriptors() <= before + 5
        assert send(sandbox).is_file()  # and Composer itself still sends


@needs_root
def test_the_other_user_is_who_the_sandbox_sees() -> None:
    code = r"""
import socket, sys, time
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as connection:
    time.sleep(120)  # until killed
"""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with other_user_process(code, str(port)):
            accepted, peer = server.accept()
            with accepted:
                assert peer_uid(peer, accepted.getsockname()) == OTHER_UID

"""The instance socket against other local users and floods: who may talk, and how much."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from composer.instance_protocol import MAX_DRAFTS, encode_request
from composer.instance_socket import socket_file_name
from composer.mail.draft import Draft
from composer.paths import Paths
from composer.session import Session
from composer.ui import instance
from composer.ui.instance import InstanceServer, send_to_running_instance
from tests.integration.test_instance import Client, composer_env, instance_name
from tests.other_user import needs_root, other_user_process, shared_directory, wait_for_line

# As the other user: listen on argv[1] (making its directory, open to all, if missing), print
# how many bytes each connection brought, and acknowledge any request as Composer would, so
# that the launch that sent it would open no window.
SQUATTER = r"""
import os, socket, sys
path = sys.argv[1]
if not os.path.isdir(os.path.dirname(path)):
    os.mkdir(os.path.dirname(path))
    os.chmod(os.path.dirname(path), 0o777)
server = socket.socket(socket.AF_UNIX)
server.bind(path)
os.chmod(path, 0o777)
server.listen(16)
print("ready", flush=True)
while True:
    connection, _ = server.accept()
    connection.settimeout(10)
    data = b""
    try:
        while b"\n" not in data and (chunk := connection.recv(65536)):
            data += chunk
        if data:
            connection.sendall(b'{"ok": true}\n')
    except OSError:
        pass
    print("received", len(data), flush=True)
    connection.close()
"""

# As the other user: send argv[2] as a request line to the socket argv[1], print the answer.
FOREIGN_LAUNCH = r"""
import socket, sys
client = socket.socket(socket.AF_UNIX)
client.settimeout(20)
try:
    client.connect(sys.argv[1])
except OSError as error:
    print("cannot connect", error.errno, flush=True)
    sys.exit(0)
try:
    client.sendall(sys.argv[2].encode("ascii") + b"\n")
except OSError:
    pass  # the server may hang up first: what it said is still there to read
reply = b""
while b"\n" not in reply:
    chunk = client.recv(4096)
    if not chunk:
        break
    reply += chunk
print("reply", reply.decode("ascii", "replace").strip(), flush=True)
"""

PRIVATE = Draft(to="ann@example.org", subject="Private", body="For Ann only")


@pytest.fixture
def owner(qtbot: QtBot, config_dir: Path) -> Session:
    owner = Session(Paths.under(config_dir))
    owner.window_opened.connect(qtbot.addWidget)
    return owner


@pytest.fixture
def make_server(owner: Session) -> Iterator[Callable[[str], InstanceServer]]:
    """Starts an InstanceServer on a name, opening windows through owner; closed at teardown."""
    servers: list[InstanceServer] = []

    def make(name: str) -> InstanceServer:
        server = InstanceServer()
        servers.append(server)
        server.drafts_received.connect(owner.open_drafts)
        assert server.listen(name)
        return server

    yield make
    for server in servers:
        server.close()


def ask(qtbot: QtBot, name: str, request: bytes) -> dict[str, object]:
    client = Client(qtbot, name)
    try:
        client.send(request)
        client.wait_hung_up()
        answer = json.loads(client.received)
    finally:
        client.close()
    assert isinstance(answer, dict)
    return answer


# --- bounds on what this user's launches may ask -----------------------------------------------


def test_more_windows_than_a_request_may_open_are_refused(
    make_server: Callable[[str], InstanceServer],
    owner: Session,
    config_dir: Path,
    qtbot: QtBot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    name = instance_name(config_dir)
    make_server(name)

    with caplog.at_level(logging.WARNING, logger="composer.ui.instance"):
        answer = ask(qtbot, name, encode_request([Draft()] * (MAX_DRAFTS + 1)))

    assert answer == {"ok": False, "error": f"'drafts' must be a list of at most {MAX_DRAFTS}"}
    assert owner.windows() == []
    assert "Ignored a malformed request" in caplog.text
    assert ask(qtbot, name, encode_request([Draft()] * MAX_DRAFTS)) == {"ok": True}
    qtbot.waitUntil(lambda: len(owner.windows()) == MAX_DRAFTS)


def test_requests_faster_than_allowed_are_refused(
    make_server: Callable[[str], InstanceServer],
    owner: Session,
    config_dir: Path,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(instance, "REQUEST_BURST", 3)
    monkeypatch.setattr(instance, "REQUESTS_PER_SECOND", 0.001)  # none back during the test
    name = instance_name(config_dir)
    make_server(name)
    request = encode_request([Draft(subject="Again")])

    with caplog.at_level(logging.WARNING, logger="composer.ui.instance"):
        answers = [ask(qtbot, name, request) for _ in range(5)]

    assert answers[:3] == [{"ok": True}] * 3
    assert answers[3:] == [{"ok": False, "error": instance._TOO_MANY}] * 2
    assert len(owner.windows()) == 3
    assert "too many requests at once" in caplog.text


def test_connections_beyond_the_limit_are_refused_at_once(
    make_server: Callable[[str], InstanceServer],
    owner: Session,
    config_dir: Path,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(instance, "MAX_OPEN_CONNECTIONS", 2)
    name = instance_name(config_dir)
    server = make_server(name)
    silent = [Client(qtbot, name) for _ in range(2)]
    qtbot.waitUntil(lambda: len(server.findChildren(instance._Conversation)) == 2)

    try:
        third = Client(qtbot, name)
        third.wait_hung_up()
        assert json.loads(third.received) == {"ok": False, "error": instance._TOO_MANY}
        # The two that hold their connections are still heard out.
        silent[0].send(encode_request([Draft(subject="Slow but fine")]))
        silent[0].wait_hung_up()
        assert json.loads(silent[0].received) == {"ok": True}
    finally:
        for client in silent:
            client.close()
    assert [w.form.subject.text() for w in owner.windows()] == ["Slow but fine"]


def test_a_launch_the_running_instance_turns_away_opens_its_own_window(
    make_server: Callable[[str], InstanceServer],
    launch_child: Launch,
    config_dir: Path,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(instance, "REQUEST_BURST", 1)
    monkeypatch.setattr(instance, "REQUESTS_PER_SECOND", 0.001)
    name = instance_name(config_dir)
    make_server(name)
    assert ask(qtbot, name, encode_request([Draft()])) == {"ok": True}  # the one allowed

    process = launch_child("--config-dir", str(config_dir), "--subject", "Kept")

    # The running instance (in this process) must answer while the launch waits.
    qtbot.waitUntil(lambda: process.poll() is not None, timeout=60_000)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "opened Kept" in out
    assert "too many requests" in err


Launch = Callable[..., "subprocess.Popen[str]"]


@pytest.fixture
def launch_child(tmp_path: Path) -> Iterator[Launch]:
    """Starts tests.integration.launch_child ARGS… (env= to replace the environment); any
    still running at teardown is killed."""
    processes: list[subprocess.Popen[str]] = []

    def start(*arguments: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.launch_child", *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env or composer_env(),
            cwd=tmp_path,
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def test_a_socket_left_by_a_crash_does_not_stop_start_up(
    launch_child: Launch, config_dir: Path
) -> None:
    name = instance_name(config_dir)
    crashed = socket.socket(socket.AF_UNIX)
    crashed.bind(name)  # a socket file nobody listens on: what a crash leaves
    crashed.close()

    launch = launch_child("--config-dir", str(config_dir), "--subject", "Fresh")
    out, err = launch.communicate(timeout=60)

    assert launch.returncode == 0, err
    assert "opened Fresh" in out
    assert "WARNING" not in err  # it took the name over and listened there
    assert not os.path.exists(name)  # and removed its socket when it ended


# --- another local user ------------------------------------------------------------------------


@needs_root
def test_a_socket_directory_another_user_made_first_is_not_used(
    launch_child: Launch, config_dir: Path
) -> None:
    with shared_directory() as shared:
        squatted = shared / f"composer-{os.getuid()}" / socket_file_name(config_dir)
        with other_user_process(SQUATTER, str(squatted)) as squatter:
            wait_for_line(squatter, "ready")
            env = composer_env()
            env.pop("XDG_RUNTIME_DIR", None)
            env["TMPDIR"] = str(shared)

            launch = launch_child("--config-dir", str(config_dir), "--subject", "Private", env=env)
            out, err = launch.communicate(timeout=60)

            squatter.kill()
            heard, _ = squatter.communicate(timeout=30)

    assert launch.returncode == 0, err
    assert "opened Private" in out  # Composer started, and showed the message itself
    assert "belongs to another user (uid 65534)" in err
    assert "received" not in heard  # the other user's socket was never even tried


@needs_root
def test_a_launch_never_hands_its_message_to_another_users_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with shared_directory() as shared:
        name = str(shared / "theirs" / "composer.sock")
        with other_user_process(SQUATTER, name) as squatter:
            wait_for_line(squatter, "ready")

            with caplog.at_level(logging.WARNING, logger="composer.ui.instance"):
                handed_over = send_to_running_instance(name, [PRIVATE])

            # The squatter saw a connection close with nothing on it.
            wait_for_line(squatter, "received 0")

    assert not handed_over
    assert "A process of another user listens on" in caplog.text


@needs_root
def test_the_running_instance_refuses_another_users_launch(
    make_server: Callable[[str], InstanceServer],
    owner: Session,
    qtbot: QtBot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with shared_directory() as shared:
        # Reachable by anyone, so that only the peer check stands in the other user's way.
        reachable = shared / "open"
        reachable.mkdir(mode=0o755)
        name = str(reachable / "composer.sock")
        make_server(name)
        os.chmod(name, 0o777)  # noqa: S103 (open to all on purpose)
        request = encode_request([Draft(subject="From another user")]).decode("ascii").strip()

        with (
            caplog.at_level(logging.WARNING, logger="composer.ui.instance"),
            other_user_process(FOREIGN_LAUNCH, name, request) as foreign,
        ):
            qtbot.waitUntil(lambda: foreign.poll() is not None, timeout=30_000)
            out, err = foreign.communicate(timeout=30)

    assert foreign.returncode == 0, err
    assert out.startswith("reply "), out
    assert json.loads(out.removeprefix("reply ")) == {"ok": False, "error": instance._NOT_OURS}
    assert owner.windows() == []
    assert "Refused a connection to the instance socket from uid 65534" in caplog.text


@needs_root
def test_another_user_cannot_reach_the_real_instance_socket(
    make_server: Callable[[str], InstanceServer],
    owner: Session,
    config_dir: Path,
    qtbot: QtBot,
) -> None:
    name = instance_name(config_dir)
    make_server(name)
    request = encode_request([Draft(subject="From another user")]).decode("ascii").strip()

    with other_user_process(FOREIGN_LAUNCH, name, request) as foreign:
        qtbot.waitUntil(lambda: foreign.poll() is not None, timeout=30_000)
        out, err = foreign.communicate(timeout=30)

    assert foreign.returncode == 0, err
    assert out.strip() == "cannot connect 13", out  # EACCES: the directory is ours alone
    assert owner.windows() == []

"""One running Composer per configuration: later launches open their message in it."""

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
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from pytestqt.qtbot import QtBot

import composer
from composer import instance_protocol
from composer.instance_protocol import encode_request
from composer.mail.draft import Attachment, Draft
from composer.paths import Paths
from composer.session import Session
from composer.ui import instance
from composer.ui.instance import InstanceServer, send_to_running_instance
from composer.ui.instance import instance_name as maybe_instance_name

Launch = Callable[..., "subprocess.Popen[str]"]

# --- fixtures --------------------------------------------------------------------------------


def instance_name(config_dir: Path) -> str:
    """The socket for config_dir; there is always a private place for it in these tests."""
    name = maybe_instance_name(config_dir)
    assert name is not None
    return name


@pytest.fixture
def owner(qtbot: QtBot, config_dir: Path) -> Session:
    """The running instance's owner of windows; qtbot closes them at teardown."""
    owner = Session(Paths.under(config_dir))
    owner.window_opened.connect(qtbot.addWidget)
    return owner


@pytest.fixture
def server(owner: Session, config_dir: Path) -> Iterator[InstanceServer]:
    """The running instance's server for config_dir, opening windows through owner."""
    server = InstanceServer()
    server.drafts_received.connect(owner.open_drafts)
    assert server.listen(instance_name(config_dir))
    yield server
    server.close()


def composer_env() -> dict[str, str]:
    """The environment for a real `python -m composer`, running this source tree."""
    return dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        PYTHONPATH=str(Path(composer.__file__).resolve().parent.parent),
    )


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Launch]:
    """Starts `python -m composer ARGS…`; any launch still running at teardown is killed."""
    processes: list[subprocess.Popen[str]] = []

    def start(*arguments: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "composer", *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=composer_env(),
            cwd=tmp_path,
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


class Client:
    """A non-blocking client in the test process (the server shares its event loop)."""

    def __init__(self, qtbot: QtBot, name: str) -> None:
        self.qtbot = qtbot
        self.socket = QLocalSocket()
        self.received = b""
        self.socket.readyRead.connect(self._on_ready_read)
        self.socket.connectToServer(name)
        qtbot.waitUntil(lambda: self.socket.state() == QLocalSocket.LocalSocketState.ConnectedState)

    def _on_ready_read(self) -> None:
        self.received += self.socket.readAll().data()

    def send(self, data: bytes) -> None:
        self.socket.write(data)
        self.socket.flush()

    def wait_hung_up(self) -> None:
        self.qtbot.waitUntil(
            lambda: self.socket.state() == QLocalSocket.LocalSocketState.UnconnectedState
        )

    def close(self) -> None:
        self.socket.abort()


@pytest.fixture
def client(qtbot: QtBot, server: InstanceServer, config_dir: Path) -> Iterator[Client]:
    client = Client(qtbot, instance_name(config_dir))
    yield client
    client.close()


# --- the running instance --------------------------------------------------------------------


def test_a_second_launch_opens_its_link_in_the_running_instance(
    owner: Session,
    server: InstanceServer,
    launch: Launch,
    config_dir: Path,
    qtbot: QtBot,
) -> None:
    first = owner.open_window()

    process = launch("--config-dir", str(config_dir), "mailto:ann@example.org?subject=Hi%20there")

    qtbot.waitUntil(lambda: len(owner.windows()) == 2, timeout=30_000)
    # Ending at all shows it handed over: a launch that became a Composer runs until closed.
    qtbot.waitUntil(lambda: process.poll() is not None, timeout=10_000)
    assert process.returncode == 0, process.communicate()[1]
    second = owner.windows()[1]
    assert second is not first
    assert second.isVisible()
    assert second.form.to.text() == "ann@example.org"
    assert second.form.subject.text() == "Hi there"
    assert first.form.to.text() == ""


def test_a_second_launch_with_options_sends_absolute_attachment_paths(
    owner: Session,
    server: InstanceServer,
    launch: Launch,
    config_dir: Path,
    tmp_path: Path,
    qtbot: QtBot,
) -> None:
    (tmp_path / "notes.txt").write_text("notes")

    process = launch(
        "--config-dir", str(config_dir), "--to", "bob@example.net", "--attach", "notes.txt"
    )

    with qtbot.waitSignal(owner.window_opened, timeout=30_000) as opened:
        pass
    qtbot.waitUntil(lambda: process.poll() is not None, timeout=10_000)
    assert process.returncode == 0, process.communicate()[1]
    window = opened.args[0]
    assert window.form.to.text() == "bob@example.net"
    assert window.draft().attachments == (Attachment(tmp_path / "notes.txt"),)


def test_a_second_launch_without_arguments_opens_an_empty_window(
    owner: Session,
    server: InstanceServer,
    launch: Launch,
    config_dir: Path,
    qtbot: QtBot,
) -> None:
    first = owner.open_window(Draft(to="ann@example.org"))

    process = launch("--config-dir", str(config_dir))

    qtbot.waitUntil(lambda: len(owner.windows()) == 2, timeout=30_000)
    qtbot.waitUntil(lambda: process.poll() is not None, timeout=10_000)
    assert process.returncode == 0, process.communicate()[1]
    second = owner.windows()[1]
    assert second.isVisible()
    assert (second.form.to.text(), second.form.subject.text(), second.form.body.toPlainText()) == (
        "",
        "",
        "",
    )
    assert first.form.to.text() == "ann@example.org"


def test_the_real_program_answers_later_launches(
    launch: Launch, tmp_path: Path, qtbot: QtBot
) -> None:
    config = tmp_path / "real"
    name = instance_name(config)
    running = launch("--config-dir", str(config))

    qtbot.waitUntil(lambda: _listening(name) or running.poll() is not None, timeout=30_000)

    assert running.poll() is None, running.communicate()[1]
    assert send_to_running_instance(name, [Draft(to="ann@example.org")])
    assert send_to_running_instance(name, [Draft()])
    running.terminate()
    running.wait(timeout=30)
    # Killed, it could not remove its socket; that is what the next launch cleans up.
    QLocalServer.removeServer(name)


def _listening(name: str) -> bool:
    probe = QLocalSocket()
    probe.connectToServer(name)
    connected = probe.waitForConnected(100)
    probe.abort()
    return connected


@pytest.mark.parametrize(
    "garbage",
    [
        b"hello\n",
        b"\xff\xfe\xfd\x00\n",
        b"{}\n",
        b'{"protocol": "composer-instance/1", "drafts": [{"to": ["x"]}]}\n',
        b"[" * 50_000 + b"\n",
    ],
)
def test_garbage_on_the_socket_is_ignored_with_a_warning(
    garbage: bytes,
    client: Client,
    owner: Session,
    config_dir: Path,
    qtbot: QtBot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="composer.ui.instance"):
        client.send(garbage)
        client.wait_hung_up()

    assert owner.windows() == []
    assert json.loads(client.received)["ok"] is False
    assert "Ignored a malformed request" in caplog.text
    # And the server still serves the next launch.
    good = Client(qtbot, instance_name(config_dir))
    good.send(encode_request([Draft(subject="After the garbage")]))
    good.wait_hung_up()
    assert json.loads(good.received) == {"ok": True}
    assert [w.form.subject.text() for w in owner.windows()] == ["After the garbage"]


def test_a_request_in_pieces_is_put_together(client: Client, owner: Session, qtbot: QtBot) -> None:
    line = encode_request([Draft(to="ann@example.org", body="x" * 100_000)])

    for start in range(0, len(line), 4096):
        client.send(line[start : start + 4096])
    client.wait_hung_up()

    assert json.loads(client.received) == {"ok": True}
    assert owner.windows()[0].form.to.text() == "ann@example.org"


def test_a_launch_that_hangs_up_at_once_still_gets_its_window(
    client: Client, owner: Session, qtbot: QtBot
) -> None:
    client.send(encode_request([Draft(subject="Fire and forget")]))
    client.close()

    qtbot.waitUntil(lambda: len(owner.windows()) == 1)
    assert owner.windows()[0].form.subject.text() == "Fire and forget"


def test_an_incomplete_request_is_ignored(
    client: Client,
    server: InstanceServer,
    owner: Session,
    qtbot: QtBot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="composer.ui.instance"):
        client.send(b'{"protocol": "composer-instance/1", "drafts": [')
        qtbot.waitUntil(lambda: server.findChildren(QLocalSocket) != [])
        client.close()
        qtbot.waitUntil(lambda: "incomplete request" in caplog.text)

    assert owner.windows() == []


def test_an_oversized_request_is_refused(
    client: Client,
    owner: Session,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(instance_protocol, "MAX_REQUEST_BYTES", 1000)

    with caplog.at_level(logging.WARNING, logger="composer.ui.instance"):
        client.send(b"x" * 5000)
        client.wait_hung_up()

    assert json.loads(client.received)["ok"] is False
    assert "more than 1000 bytes" in caplog.text
    assert owner.windows() == []


def test_a_silent_client_is_dropped(
    owner: Session,
    server: InstanceServer,
    config_dir: Path,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(instance, "IDLE_TIMEOUT_MS", 50)

    with caplog.at_level(logging.WARNING, logger="composer.ui.instance"):
        silent = Client(qtbot, instance_name(config_dir))
        silent.wait_hung_up()

    assert "sent nothing in time" in caplog.text
    assert owner.windows() == []


# --- finding (or not) the running instance -----------------------------------------------------


def test_nothing_listening_means_start_our_own_without_waiting(tmp_path: Path) -> None:
    # Given a ten-minute deadline, a call that waited for one instead of seeing at once that
    # nothing listens would outlast the (hang-guarding) timeout of this run.
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from composer.mail.draft import Draft\n"
        "from composer.ui.instance import instance_name, send_to_running_instance\n"
        "name = instance_name(Path(sys.argv[1]))\n"
        "assert name is not None\n"
        "found = name is not None and send_to_running_instance(name, [Draft()], 600_000)\n"
        "print(found)\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        env=composer_env(),
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_an_instance_that_never_answers_is_given_up_on(tmp_path: Path) -> None:
    name = instance_name(tmp_path)
    mute = QLocalServer()
    assert mute.listen(name)
    try:
        # The connection is accepted by the kernel, but nothing reads it: the event loop
        # of this process does not run during the (blocking) call.
        assert not send_to_running_instance(name, [Draft()], timeout_ms=300)
    finally:
        mute.close()


def test_a_stale_socket_file_is_replaced(tmp_path: Path, owner: Session, qtbot: QtBot) -> None:
    if sys.platform == "win32":
        pytest.skip("named pipes leave no file behind")
    name = path = instance_name(tmp_path)
    crashed = socket.socket(socket.AF_UNIX)
    crashed.bind(path)  # a socket file nobody listens on: what a crash leaves
    crashed.close()
    server = InstanceServer()
    try:
        assert server.listen(name)
        server.drafts_received.connect(owner.open_drafts)
        client = Client(qtbot, name)
        client.send(encode_request([Draft(subject="Found")]))
        client.wait_hung_up()
        assert [w.form.subject.text() for w in owner.windows()] == ["Found"]
    finally:
        server.close()
    assert not os.path.exists(path)


def test_a_live_instance_is_not_displaced(server: InstanceServer, config_dir: Path) -> None:
    intruder = InstanceServer()
    try:
        assert not intruder.listen(instance_name(config_dir))
    finally:
        intruder.close()
    assert server.is_listening()

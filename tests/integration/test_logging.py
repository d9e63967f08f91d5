"""The log at work: --debug and the Debug Log setting record the SMTP conversation, never a
password or a message; Help ▸ Show Log shows the file's end; a broken log stops nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import QDialog, QMenu, QPlainTextEdit, QPushButton
from pytestqt.qtbot import QtBot

from composer import __version__, logs
from composer.command_line import parse_arguments
from composer.logs import LOG_BYTES, start_logging, stop_logging
from composer.mail.accounts import Security
from composer.mail.delivery import Delivery
from composer.mail.draft import Draft
from composer.mail.secrets import SecretStore
from composer.mail.transcript import Transcript
from composer.paths import Paths
from composer.session import Session
from composer.ui.log_view import LogDialog, read_log_tail
from tests.integration.test_transcript import BODY, SUBJECT, secret_forms
from tests.servers import (
    PASSWORD,
    SmtpServer,
    account_for,
    running,
    server_tls_context,
    starttls_server,
)
from tests.windows import MakeWindow, configure, fill, send

SELF_TEST_BODY = "Sent by composer --self-test."


@pytest.fixture
def log_file(config_dir: Path) -> Iterator[Path]:
    """Where the running Composer would log, for windows over config_dir; closed after."""
    path = config_dir / "composer.log"
    yield path
    stop_logging()


def run_composer(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [sys.executable, "-m", "composer", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
        check=False,
    )


def assert_conversation_without_secrets(text: str) -> None:
    lowered = text.lower()
    assert " c: ehlo " in lowered
    assert " c: auth plain <hidden>" in lowered
    assert " c: quit" in lowered
    assert [secret for secret in (*secret_forms(), BODY.strip()) if secret in text] == []


def test_debug_is_a_command_line_option() -> None:
    assert parse_arguments(["--debug"]).debug is True
    assert parse_arguments([]).debug is False


def test_debug_logs_the_conversation_of_a_run(tmp_path: Path) -> None:
    config = tmp_path / "state"

    result = run_composer("--self-test", "--debug", "--config-dir", str(config), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    text = (config / "composer.log").read_text()
    assert " DEBUG composer.smtp: 127.0.0.1:" in text
    assert " c: ehlo " in text.lower()
    assert "<message body, " in text
    assert SELF_TEST_BODY not in text
    assert "Composer self-test" not in text  # the subject is the message's, not the log's
    assert (config / "composer.log").stat().st_mode & 0o777 == 0o600


def test_without_debug_the_log_keeps_no_conversation(tmp_path: Path) -> None:
    config = tmp_path / "state"

    result = run_composer("--self-test", "--config-dir", str(config), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    text = (config / "composer.log").read_text()
    assert f"Composer {__version__} started" in text
    assert "composer.smtp" not in text


def test_a_log_that_cannot_be_written_does_not_stop_composer(tmp_path: Path) -> None:
    config = tmp_path / "state"
    (config / "composer.log").mkdir(parents=True)  # unwritable as a file, even for root

    result = run_composer("--self-test", "--debug", "--config-dir", str(config), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "self-test passed" in result.stdout
    assert "no log file" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_under_the_log_does_not_stop_composer(tmp_path: Path) -> None:
    config = tmp_path / "state"
    config.mkdir()
    (config / "composer.log").symlink_to("/dev/full")

    result = run_composer("--self-test", "--debug", "--config-dir", str(config), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stderr.count("could not write the log file") == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("mechanisms", [(), ("PLAIN",)], ids=["plain", "login"])
def test_no_password_or_message_reaches_the_log_or_the_transcript(
    tmp_path: Path, tls_ca: object, mechanisms: tuple[str, ...]
) -> None:
    path = tmp_path / "composer.log"
    server = starttls_server(server_tls_context(tls_ca), auth_exclude_mechanism=list(mechanisms))
    transcript = Transcript()
    with running(server):
        account = account_for(server, Security.STARTTLS)
        start_logging(path, debug=True)
        try:
            delivery = Delivery(
                account, SecretStore(), None, password=PASSWORD, transcript=transcript
            )
            delivery.send(Draft(to="bob@example.org", subject=SUBJECT, body=BODY))
        finally:
            stop_logging()
    assert server.received[0]["Subject"] == SUBJECT

    for text in (path.read_text(), transcript.text()):
        lowered = text.lower()
        assert "ehlo " in lowered
        assert "quit" in lowered
        assert ("auth login" if mechanisms else "auth plain <hidden>") in lowered
        assert [s for s in (*secret_forms(), BODY.strip(), SUBJECT) if s in text] == []


def test_the_debug_log_setting_records_the_conversation(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, log_file: Path, smtp_server: SmtpServer
) -> None:
    configure(config_dir, account_for(smtp_server, Security.STARTTLS), password=PASSWORD)
    start_logging(log_file)
    window = make_window()
    action = window.findChild(QAction, "actionDebugLog")
    assert action.isCheckable()
    assert not action.isChecked()

    fill(window, to="bob@example.org", subject=SUBJECT, body="Before")
    assert send(qtbot, window) is True
    assert "composer.smtp" not in log_file.read_text()

    action.trigger()
    fill(window, to="bob@example.org", subject=SUBJECT, body=BODY)
    assert send(qtbot, window) is True

    # The message has gone once the server said 250; QUIT follows on the worker thread.
    qtbot.waitUntil(lambda: " c: quit" in log_file.read_text().lower())
    assert_conversation_without_secrets(log_file.read_text())
    window.close()  # writes the settings
    qtbot.waitUntil(lambda: json.loads((config_dir / "settings.json").read_text())["debug_log"])
    stop_logging()

    # The next run starts with the setting on.
    start_logging(log_file)
    again = make_window()
    assert again.findChild(QAction, "actionDebugLog").isChecked()
    fill(again, to="bob@example.org", subject=SUBJECT, body="Third")
    assert send(qtbot, again) is True
    assert log_file.read_text().lower().count(" c: auth plain <hidden>") == 2


def test_debug_from_the_command_line_shows_in_the_menu(
    qtbot: QtBot, make_window: MakeWindow, log_file: Path
) -> None:
    start_logging(log_file, debug=True)

    action = make_window().findChild(QAction, "actionDebugLog")

    assert action.isChecked()
    assert not action.isEnabled()
    assert "--debug" in action.toolTip()


def open_log(qtbot: QtBot, make_window: MakeWindow) -> LogDialog:
    window = make_window()
    window.findChild(QAction, "actionShowLog").trigger()
    qtbot.waitUntil(lambda: window.findChild(QDialog, "logDialog") is not None, timeout=10_000)
    dialog = window.findChild(QDialog, "logDialog")
    assert isinstance(dialog, LogDialog)
    return dialog


def test_show_log_shows_the_end_of_the_log(
    qtbot: QtBot, make_window: MakeWindow, log_file: Path
) -> None:
    lines = [f"line {n} {'.' * 200}" for n in range(8000)]  # 1.6 MB: past what is shown
    log_file.write_text("\n".join(lines) + "\n<img src='file:///dev/zero'> 554 last\n")

    dialog = open_log(qtbot, make_window)

    view = dialog.findChild(QPlainTextEdit, "logView")
    assert view.isReadOnly()
    text = view.toPlainText()
    # As written, never read as HTML.
    assert text.rstrip().endswith("<img src='file:///dev/zero'> 554 last")
    assert "are not shown" in text.splitlines()[0]
    assert text.splitlines()[1].startswith("line ")  # from a line's start
    assert "line 0 " not in text
    assert len(text.encode()) <= LOG_BYTES + 200
    dialog.reject()


def test_show_log_says_when_there_is_no_log_yet(
    qtbot: QtBot, make_window: MakeWindow, log_file: Path
) -> None:
    dialog = open_log(qtbot, make_window)

    assert "Nothing has been logged yet" in dialog.view.toPlainText()
    dialog.reject()


def test_a_pipe_in_place_of_the_log_is_not_read(tmp_path: Path) -> None:
    pipe = tmp_path / "composer.log"
    os.mkfifo(pipe)

    assert "not a regular file" in read_log_tail(pipe)  # would block for ever if opened


class _UrlCatcher(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.opened: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(url)


def test_open_log_folder_opens_the_data_directory(
    qtbot: QtBot, make_window: MakeWindow, config_dir: Path, log_file: Path
) -> None:
    log_file.write_text("a line\n")
    catcher = _UrlCatcher()
    QDesktopServices.setUrlHandler("file", catcher, "open")
    try:
        dialog = open_log(qtbot, make_window)
        dialog.findChild(QPushButton, "openLogFolder").click()
    finally:
        QDesktopServices.unsetUrlHandler("file")

    assert [url.toLocalFile() for url in catcher.opened] == [str(config_dir)]
    dialog.reject()


def test_every_window_shows_the_debug_log_setting_that_holds(
    qtbot: QtBot, config_dir: Path, log_file: Path
) -> None:
    start_logging(log_file)
    owner = Session(Paths.under(config_dir))
    owner.window_opened.connect(qtbot.addWidget)
    first, second = owner.open_window(), owner.open_window()

    first.findChild(QAction, "actionDebugLog").trigger()
    second.menuBar().findChild(QMenu, "settingsMenu").aboutToShow.emit()

    assert second.findChild(QAction, "actionDebugLog").isChecked()
    assert logs.is_debug()

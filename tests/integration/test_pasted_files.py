"""HTML pasted into a compose window that names files on this computer: the window never waits
on them, the status bar says which were taken and which were left out, and what is sent is
exactly what the body shows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, Qt, QTimer, QUrl
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from composer.mail.accounts import Security
from tests.pipes import WatchedPipe
from tests.servers import PASSWORD, SmtpServer, account_for
from tests.unit.ui.test_linked_images import PIPE_DELAY, LoopWatch
from tests.windows import MakeWindow, configure, fill, send


@pytest.fixture
def pipe(tmp_path: Path) -> Iterator[WatchedPipe]:
    with WatchedPipe(tmp_path / "pipe", delay=PIPE_DELAY) as watched:
        yield watched


def img(path: Path | str) -> str:
    return f'<img src="{QUrl.fromLocalFile(str(path)).toString()}">'


def test_paste_names_the_files_taken_and_left_out_and_sends_what_is_shown(
    qtbot: QtBot,
    make_window: MakeWindow,
    config_dir: Path,
    smtp_server: SmtpServer,
    pipe: WatchedPipe,
    tmp_path: Path,
) -> None:
    configure(config_dir, account_for(smtp_server, Security.STARTTLS), password=PASSWORD)
    window = make_window()
    fill(window, to="bob@example.org", subject="Pasted", body="")
    photo = tmp_path / "photo.png"
    picture = QImage(12, 8, QImage.Format.Format_RGB32)
    picture.fill(Qt.GlobalColor.blue)
    assert picture.save(str(photo))
    mime = QMimeData()
    mime.setHtml(f"<p>Look: {img(photo)} {img(pipe.path)} {img('/dev/zero')}</p>")
    watch = LoopWatch()

    QTimer.singleShot(20, lambda: window.form.body.insertFromMimeData(mime))
    qtbot.waitUntil(lambda: "Left out" in window.statusBar().currentMessage(), timeout=10_000)

    assert watch.stop() < 1.0
    assert pipe.stop() == 0
    status = window.statusBar().currentMessage()
    assert status.startswith("Pasted 1 image from a file on this computer: photo.png. ")
    assert "pipe is a named pipe, not a file; zero is a device, not a file." in status
    assert send(qtbot, window) is True
    [message] = smtp_server.received
    parts = [p for p in message.walk() if p.get_content_maintype() == "image"]
    assert [p.get_content() for p in parts] == [photo.read_bytes()]

"""Driving Composer's windows in tests: fixtures (made available to every test by
tests/conftest.py) and helpers that type, send and compare."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragMoveEvent, QKeyEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

import composer.context
from composer.app import create_main_window
from composer.mail import accounts
from composer.mail.accounts import Account, AccountSettings, AccountStore
from composer.mail.secrets import SecretStore
from composer.paths import resources_dir
from composer.ui.compose_window import ComposeWindow
from composer.ui.icons import icon_folder, use_icon_folder

MakeWindow = Callable[[], ComposeWindow]


class FakeClock:
    """The time Composer sees: moves only when a test moves it, so nothing waits for real."""

    def __init__(self) -> None:
        self.now = datetime.now().astimezone().replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(autouse=True)
def send_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Send goes at once unless a test sets an undo-send delay: the 5-second default would
    make every test that sends wait for it."""
    monkeypatch.setattr(accounts, "DEFAULT_UNDO_SEND_SECONDS", 0)


@dataclasses.dataclass(frozen=True)
class Asked:
    """A question Composer asked: what the user would have read, and how Qt would show it."""

    title: str
    text: str
    text_format: Qt.TextFormat
    default: QMessageBox.StandardButton


def answer_boxes(
    monkeypatch: pytest.MonkeyPatch, choose: Callable[[str], QMessageBox.StandardButton]
) -> list[Asked]:
    """Answer every QMessageBox shown modally with choose(title); returns what was asked.

    QMessageBox's static helpers (question, warning, ...) guess the text's format and read
    HTML in a server reply or a file name as rich text: Composer must not use them."""
    asked: list[Asked] = []

    def exec_(box: QMessageBox) -> int:
        title = box.windowTitle()
        default = box.standardButton(box.defaultButton())
        asked.append(Asked(title, box.text(), box.textFormat(), default))
        button = box.button(choose(title))
        if button is not None:  # an answer the box does not offer: closed, as with Escape
            button.click()
        return box.result()

    def refuse(name: str) -> Callable[..., QMessageBox.StandardButton]:
        def static(*_args: object) -> QMessageBox.StandardButton:
            message = f"QMessageBox.{name} guesses the text format; ask with plain text instead"
            raise AssertionError(message)

        return static

    monkeypatch.setattr(QMessageBox, "exec", exec_)
    for name in ("question", "information", "warning", "critical"):
        monkeypatch.setattr(QMessageBox, name, refuse(name))
    return asked


@pytest.fixture(autouse=True)
def unsaved_messages_discarded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A window closed at a test's end with something typed would ask whether to keep it,
    and the modal question would wait for ever: it is answered Discard. Tests about the
    question use answer_questions, which replaces this; any other question is Cancelled."""
    buttons = QMessageBox.StandardButton
    answer_boxes(monkeypatch, lambda title: buttons.Discard if "draft" in title else buttons.Cancel)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The clock of every session started after this: the Outbox's backoff and send-later
    times follow it, not the wall clock."""
    fake = FakeClock()
    monkeypatch.setattr(composer.context, "local_now", fake)
    return fake


DragEvent = TypeVar("DragEvent", bound=QDragMoveEvent)


@pytest.fixture(autouse=True)
def own_icons() -> Iterator[None]:
    """Composer's icon folder, as the session hands it in at start-up, for widgets built alone."""
    previous = icon_folder()
    use_icon_folder(resources_dir() / "icons")
    yield
    use_icon_folder(previous)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """The directory given to create_main_window: every file Composer writes goes here."""
    directory = tmp_path / "config"
    directory.mkdir()
    return directory


@pytest.fixture
def make_window(qtbot: QtBot, config_dir: Path) -> Iterator[MakeWindow]:
    """Builds (and at teardown closes) compose windows over config_dir, as the app does."""
    windows: list[ComposeWindow] = []

    def make() -> ComposeWindow:
        window = create_main_window(config_dir)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()


AnswerQuestions = Callable[[QMessageBox.StandardButton], list[str]]


@pytest.fixture
def answer_questions(monkeypatch: pytest.MonkeyPatch) -> AnswerQuestions:
    """Answer every question with the given button; returns the titles asked."""

    def answer_with(answer: QMessageBox.StandardButton) -> list[str]:
        titles: list[str] = []

        def choose(title: str) -> QMessageBox.StandardButton:
            titles.append(title)
            return answer

        answer_boxes(monkeypatch, choose)
        return titles

    return answer_with


def configure(config_dir: Path, *accounts: Account, password: str | None = None) -> None:
    """Store accounts in config_dir's settings file and password in the (test) keyring."""
    AccountStore(config_dir / "settings.json").save(
        AccountSettings(tuple(accounts), default_id=accounts[0].id)
    )
    if password is not None:
        for account in accounts:
            SecretStore().set(account.id, password)


def fill(
    window: ComposeWindow,
    *,
    to: str = "",
    cc: str = "",
    bcc: str = "",
    subject: str = "",
    body: str = "",
) -> None:
    """Type a message into the window's fields."""
    window.form.to.setText(to)
    window.form.cc.setText(cc)
    window.form.bcc.setText(bcc)
    window.form.subject.setText(subject)
    window.form.body.setPlainText(body)


def type_text(widget: QWidget, text: str) -> None:
    """Type text key by key, as a keyboard would (QTest.keyClicks only handles ASCII)."""
    for char in text:
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            event = QKeyEvent(kind, Qt.Key.Key_unknown, Qt.KeyboardModifier.NoModifier, char)
            QApplication.sendEvent(widget, event)


def drag_event(
    kind: type[DragEvent],
    position: QPoint | QPointF,
    data: QMimeData,
    buttons: Qt.MouseButton = Qt.MouseButton.LeftButton,
) -> DragEvent:
    """A drag-enter or drag-move event carrying data, on any supported PySide6.

    6.12 takes a QPointF and deprecates the QPoint form; earlier versions take only a QPoint.
    """
    args = (data, buttons, Qt.KeyboardModifier.NoModifier)
    try:
        return kind(QPointF(position), Qt.DropAction.CopyAction, *args)  # type: ignore[arg-type]
    except TypeError:
        return kind(QPointF(position).toPoint(), Qt.DropAction.CopyAction, *args)


def send(qtbot: QtBot, window: ComposeWindow, timeout: int = 20_000) -> bool:
    """Trigger actionSend and wait for the outcome; returns send_finished's argument."""
    with qtbot.waitSignal(window.send_finished, timeout=timeout) as blocker:
        window.action_send.trigger()
    return bool(blocker.args[0])


def snapshot(window: ComposeWindow) -> tuple[str, ...]:
    """Everything the user typed, to prove a failure changed nothing."""
    return (
        window.form.from_account.currentText(),
        window.form.to.text(),
        window.form.cc.text(),
        window.form.bcc.text(),
        window.form.subject.text(),
        window.form.body.toPlainText(),
    )

"""after_first_frame runs after the window's first paint; import_soon imports, in order, and
goes on past a module that cannot be imported."""

from __future__ import annotations

import logging
import sys

import pytest
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from composer.warm_up import after_first_frame, after_first_paint, import_soon


class _Painted(QObject):
    def __init__(self, window: QWidget, events: list[str]) -> None:
        super().__init__(window)
        self._window, self._events = window, events

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window and event.type() == QEvent.Type.Paint:
            self._events.append("paint")
        return False


def test_work_after_the_first_frame_runs_once_the_window_is_painted(qtbot: QtBot) -> None:
    events: list[str] = []
    window = QWidget()
    qtbot.addWidget(window)
    window.installEventFilter(_Painted(window, events))
    window.show()

    after_first_frame(window, lambda: events.append("work"))

    qtbot.waitUntil(lambda: "work" in events)
    assert events.index("paint") < events.index("work")
    assert events.count("work") == 1


def test_modules_are_imported_in_order_then_the_callback(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ("json.tool", "this_module_does_not_exist_anywhere", "xml.dom.minidom")
    for name in names:
        monkeypatch.delitem(sys.modules, name, raising=False)
    owner = QObject()
    done: list[list[str]] = []

    import_soon(owner, names, then=lambda: done.append([n for n in names if n in sys.modules]))

    assert "json.tool" not in sys.modules  # not before the delay
    qtbot.waitUntil(lambda: bool(done), timeout=5000)
    assert done == [["json.tool", "xml.dom.minidom"]]


def test_a_module_that_cannot_be_imported_is_logged(
    qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    owner = QObject()
    done: list[bool] = []

    with caplog.at_level(logging.ERROR, logger="composer.warm_up"):
        import_soon(owner, ("this_module_does_not_exist_anywhere",), then=lambda: done.append(True))
        qtbot.waitUntil(lambda: bool(done), timeout=5000)

    assert "this_module_does_not_exist_anywhere" in caplog.text


def test_with_everything_imported_already_the_callback_comes_at_once(qtbot: QtBot) -> None:
    done: list[bool] = []

    import_soon(QObject(), ("json", "logging"), then=lambda: done.append(True))

    assert done == [True]


def test_work_after_the_first_paint_waits_for_a_window_shown_later(qtbot: QtBot) -> None:
    events: list[str] = []
    owner, window = QObject(), QWidget()
    qtbot.addWidget(window)
    window.installEventFilter(_Painted(window, events))
    after_first_paint(owner, window, lambda: events.append("work"))
    qtbot.wait(50)
    assert events == []  # not shown: nothing painted, nothing done
    window.show()
    qtbot.waitUntil(lambda: "work" in events)
    assert events.index("paint") < events.index("work")
    window.update()
    qtbot.wait(50)
    assert events.count("work") == 1


def test_work_after_the_first_paint_of_a_window_that_went_runs_anyway(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    import composer.warm_up as warm_up

    monkeypatch.setattr(warm_up, "FIRST_PAINT_TIMEOUT_MS", 100)
    events: list[str] = []
    owner, window = QObject(), QWidget()
    after_first_paint(owner, window, lambda: events.append("work"))
    window.deleteLater()  # closed before it was ever painted
    qtbot.waitUntil(lambda: events == ["work"], timeout=5000)

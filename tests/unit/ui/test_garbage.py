"""Garbage is collected on the GUI thread only, generation by generation, as gc would."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QCoreApplication, QObject
from pytestqt.qtbot import QtBot

import composer
from composer.ui.garbage import GuiThreadCollector, collect_on_gui_thread

Collections = list[tuple[int, threading.Thread]]


class Cycle:
    """Garbage only the cyclic collector can free: it refers to itself, and holds a QObject."""

    def __init__(self) -> None:
        self.qobject = QObject()
        self.me = self


@pytest.fixture
def collections() -> Iterator[Collections]:
    """Each collection from now on: its generation and the thread it ran on.

    The collector's state (on or off, thresholds) is put back afterwards.
    """
    seen: Collections = []

    def record(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            seen.append((info["generation"], threading.current_thread()))

    enabled, thresholds = gc.isenabled(), gc.get_threshold()
    gc.collect()
    gc.callbacks.append(record)
    yield seen
    gc.callbacks.remove(record)
    gc.set_threshold(*thresholds)
    if enabled:
        gc.enable()
    else:
        gc.disable()


@pytest.fixture
def owner(qapp: QCoreApplication) -> Iterator[QObject]:
    """A parent for collectors, deleted (with their timers) at teardown."""
    parent = QObject()
    yield parent
    shiboken6.delete(parent)


def make_garbage() -> tuple[weakref.ref[Cycle], QObject]:
    cycle = Cycle()
    return weakref.ref(cycle), cycle.qobject


def test_a_collector_turns_automatic_collection_off(
    collections: Collections, owner: QObject
) -> None:
    gc.enable()

    GuiThreadCollector(owner)

    assert not gc.isenabled()


def test_check_collects_a_cycle_holding_a_qobject(collections: Collections, owner: QObject) -> None:
    collector = GuiThreadCollector(owner)
    gc.set_threshold(1, 1_000_000, 1_000_000)
    alive, qobject = make_garbage()
    del qobject  # only the cycle holds it now

    collector.check()

    assert alive() is None
    assert [generation for generation, _ in collections] == [0]


def test_check_leaves_garbage_while_no_threshold_is_passed(
    collections: Collections, owner: QObject
) -> None:
    collector = GuiThreadCollector(owner)
    gc.set_threshold(1_000_000, 1_000_000, 1_000_000)
    alive, _ = make_garbage()

    collector.check()

    assert alive() is not None
    assert collections == []
    gc.collect()
    assert alive() is None


@pytest.mark.parametrize("generation", [1, 2])
def test_check_collects_the_oldest_generation_past_its_threshold(
    collections: Collections, owner: QObject, generation: int
) -> None:
    collector = GuiThreadCollector(owner)
    # Collecting a generation counts one for the next older one, whose threshold is 0 here.
    gc.set_threshold(1, 0, 0 if generation == 2 else 1_000_000)
    gc.collect(generation - 1)
    make_garbage()
    collections.clear()

    collector.check()

    assert [g for g, _ in collections] == [generation]


class WatchedCollector(GuiThreadCollector):
    """A collector that notes the thread of each of its checks."""

    def __init__(self, parent: QObject) -> None:
        self.threads: list[threading.Thread] = []
        super().__init__(parent)

    def check(self) -> None:
        self.threads.append(threading.current_thread())
        super().check()


def test_the_collector_collects_from_its_timer_on_the_gui_thread(
    qtbot: QtBot, collections: Collections, owner: QObject
) -> None:
    collector = WatchedCollector(owner)
    gc.set_threshold(1, 1_000_000, 1_000_000)
    alive, qobject = make_garbage()
    del qobject

    # Another test's application may have its own collector: this one must have run too.
    qtbot.waitUntil(lambda: bool(collector.threads) and alive() is None, timeout=10_000)

    assert set(collector.threads) == {threading.main_thread()}
    assert all(thread is threading.main_thread() for _, thread in collections)


def test_one_collector_per_application(collections: Collections, qapp: QCoreApplication) -> None:
    collect_on_gui_thread()
    collect_on_gui_thread()

    assert len(qapp.findChildren(GuiThreadCollector)) == 1


def test_without_an_application_nothing_is_installed() -> None:
    code = (
        "import gc\n"
        "from composer.ui.garbage import collect_on_gui_thread\n"
        "collect_on_gui_thread()\n"
        "print(gc.isenabled())\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PYTHONPATH": str(Path(composer.__file__).resolve().parents[1])},
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"

"""Killed while typing: a real Composer (typing_child.py) gets SIGKILL, the next start has it all.

The child reports every autosave as it is taken and once it is on disk; the parent kills it
at a chosen point and then starts Composer itself on the same config dir. Each draft must come
back field for field as the last save reported on disk, or as one taken after it (a write the
kill did not interrupt), never older and never broken.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from composer.app import create_main_window
from composer.ui.compose_window import ComposeWindow
from tests.integration.test_nothing_lost import session_of
from tests.integration.typing_child import describe

ROOT = Path(__file__).resolve().parents[2]
Event = dict[str, Any]
Condition = Callable[[dict[str, Event]], bool]


@dataclass
class Run:
    """What one killed child reported: every event, in order, and the last save on disk."""

    events: list[Event] = field(default_factory=list)

    def saved(self) -> dict[str, Event]:
        last: dict[str, Event] = {}
        for event in self.events:
            if event["event"] == "saved":
                last[event["key"]] = event
        return last

    def acceptable(self, key: str) -> list[dict[str, Any]]:
        """The drafts key may come back as: the last one on disk, or one taken after it."""
        index = max(
            i for i, e in enumerate(self.events) if e.get("key") == key and e["event"] == "saved"
        )
        later = [e for e in self.events[index:] if e.get("key") == key]
        return [e["draft"] for e in later]


def run_and_kill(config_dir: Path, attachment: Path, windows: int, when: Condition) -> Run:
    """Start the typing child and SIGKILL it once when(last saves by key) holds."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.typing_child",
            str(config_dir),
            str(windows),
            str(attachment),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=ROOT,
    )
    run = Run()
    assert child.stdout is not None
    try:
        read_until(child.stdout, run, when)
        child.send_signal(signal.SIGKILL)
        run.events.extend(json.loads(line) for line in child.stdout)
    finally:
        child.kill()
        child.wait(10)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    return run


def read_until(stdout: IO[str], run: Run, when: Condition) -> None:
    for line in stdout:
        event = json.loads(line)
        assert event["event"] != "done", "the typing ended before the point to kill it at"
        run.events.append(event)
        if event["event"] == "saved" and when(run.saved()):
            return
    raise AssertionError("the typing child ended without being killed")


def has(name: str, count: int = 1) -> Condition:
    """Every one of count windows has a save on disk in which name is filled in."""

    def holds(saved: dict[str, Event]) -> bool:
        return len(saved) >= count and all(e["draft"][name] for e in saved.values())

    return holds


def bold(saved: dict[str, Event]) -> bool:
    return bool(saved) and all("<b>" in e["draft"]["html"] for e in saved.values())


def restart(qtbot: QtBot, config_dir: Path) -> list[ComposeWindow]:
    """Start Composer on config_dir as the next launch does; every compose window it opened."""
    before = set(QApplication.topLevelWidgets())
    returned = create_main_window(config_dir)
    windows = [
        w
        for w in QApplication.topLevelWidgets()
        if w not in before and isinstance(w, ComposeWindow)
    ]
    for window in windows:
        qtbot.addWidget(window)
    assert returned in windows
    return windows


def assert_restored(window: ComposeWindow, run: Run) -> dict[str, Any]:
    key = session_of(window).keeper(window).key
    restored = describe(window.draft())
    assert restored in run.acceptable(key)
    assert "not sent when Composer last closed" in window.statusBar().currentMessage()
    return restored


@pytest.fixture
def attachment(tmp_path: Path) -> Path:
    path = tmp_path / "Plan für Zoë.txt"
    path.write_bytes("The plan, in full: ✓\n".encode() * 50)
    return path


def test_killed_while_typing_the_draft_comes_back_field_for_field(
    qtbot: QtBot, config_dir: Path, attachment: Path
) -> None:
    run = run_and_kill(config_dir, attachment, 1, bold)
    [window] = restart(qtbot, config_dir)
    restored = assert_restored(window, run)
    assert "<b>" in restored["html"]
    assert restored["cc"]
    assert restored["subject"]
    assert restored["attachments"] == [[attachment.name, describe_file(attachment)]]


def test_killed_twice_at_different_points_the_latest_draft_comes_back(
    qtbot: QtBot, config_dir: Path, attachment: Path
) -> None:
    first = run_and_kill(config_dir, attachment, 1, has("cc"))
    second = run_and_kill(config_dir, attachment, 1, bold)
    assert first.saved().keys() == second.saved().keys()  # the same draft, typed on
    [window] = restart(qtbot, config_dir)
    restored = assert_restored(window, second)
    assert restored["to"].count("zoe1@example.org") == 2  # typed once in each run
    assert "<b>" in restored["html"]


def test_killed_with_two_windows_open_both_come_back(
    qtbot: QtBot, config_dir: Path, attachment: Path
) -> None:
    run = run_and_kill(config_dir, attachment, 2, has("attachments", count=2))
    windows = restart(qtbot, config_dir)
    assert len(windows) == 2
    assert {w.objectName() for w in windows} == {"composerWindow"}
    assert all(w.isWindow() for w in windows)
    restored = [assert_restored(w, run) for w in windows]
    assert sorted(r["to"].split("@")[0][-1] for r in restored) == ["1", "2"]


def describe_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()

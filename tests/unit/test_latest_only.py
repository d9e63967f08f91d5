"""Status lines that replace each other: the first at once, then at most one an interval."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from composer.latest_only import LatestOnly

INTERVAL_MS = 200


def make() -> tuple[LatestOnly[str], list[str]]:
    passed: list[str] = []
    return LatestOnly(INTERVAL_MS, passed.append), passed


def test_the_first_goes_at_once_and_the_latest_of_the_rest_after_the_interval(
    qtbot: QtBot,
) -> None:
    lines, passed = make()
    for number in range(1, 6):
        lines.put(f"No. {number}")
    assert passed == ["No. 1"]  # at once, without the event loop

    qtbot.waitUntil(lambda: len(passed) == 2, timeout=5_000)
    assert passed == ["No. 1", "No. 5"]
    qtbot.wait(3 * INTERVAL_MS)
    assert passed == ["No. 1", "No. 5"]  # nothing is passed twice


def test_after_a_quiet_interval_the_next_goes_at_once_again(qtbot: QtBot) -> None:
    lines, passed = make()
    lines.put("first")
    qtbot.wait(2 * INTERVAL_MS)
    lines.put("second")
    assert passed == ["first", "second"]


def test_flush_passes_what_is_held_before_what_comes_after_it(qtbot: QtBot) -> None:
    lines, passed = make()
    lines.put("No. 1")
    lines.put("No. 2")
    lines.flush()
    passed.append("a warning")
    qtbot.wait(2 * INTERVAL_MS)
    assert passed == ["No. 1", "No. 2", "a warning"]


def test_a_value_dropped_for_something_newer_is_never_passed(qtbot: QtBot) -> None:
    lines, passed = make()
    lines.put("No. 1")
    lines.put("No. 2")
    lines.drop()
    qtbot.wait(2 * INTERVAL_MS)
    assert passed == ["No. 1"]

"""The log file: bounded, private, and harmless when it cannot be written."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from composer import logs
from composer.logs import LOG_BACKUPS, LOG_BYTES, set_debug, start_logging, stop_logging

log = logging.getLogger("composer.test")


@pytest.fixture(autouse=True)
def _no_log_left_open() -> Iterator[None]:
    yield
    stop_logging()


def test_the_log_rotates_within_its_bound(tmp_path: Path) -> None:
    path = tmp_path / "composer.log"
    assert start_logging(path)
    line = "x" * 1000

    for number in range(6 * 1024):  # about 6 MiB in all, well past the bound
        log.info("%d %s", number, line)
    stop_logging()

    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["composer.log", *(f"composer.log.{n}" for n in range(1, LOG_BACKUPS + 1))]
    for kept in tmp_path.iterdir():
        assert kept.stat().st_size <= LOG_BYTES
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert f"{6 * 1024 - 1} " in path.read_text()  # the newest line is in the current file


def test_the_newest_backup_ends_where_the_current_log_begins(tmp_path: Path) -> None:
    path = tmp_path / "composer.log"
    assert start_logging(path)
    line = "x" * 1000

    for number in range(3 * 1024):
        log.info("line %d %s", number, line)
    stop_logging()

    def numbers(kept: Path) -> list[int]:
        return [int(text.split(" line ")[1].split()[0]) for text in kept.read_text().splitlines()]

    newest, older = numbers(tmp_path / "composer.log.1"), numbers(tmp_path / "composer.log.2")
    current = numbers(path)
    assert older[-1] + 1 == newest[0]
    assert newest[-1] + 1 == current[0]
    assert current[-1] == 3 * 1024 - 1


def test_the_log_is_private_even_when_it_was_not(tmp_path: Path) -> None:
    path = tmp_path / "composer.log"
    path.write_text("an older line\n")
    path.chmod(0o644)

    assert start_logging(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("an older line\n")


def test_info_is_kept_and_debug_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "composer.log"
    start_logging(path)

    log.debug("quiet detail")
    log.info("plain fact")
    set_debug(True)
    log.debug("asked-for detail")
    set_debug(False)
    log.debug("quiet again")

    text = path.read_text()
    assert "plain fact" in text
    assert "asked-for detail" in text
    assert "quiet detail" not in text
    assert "quiet again" not in text


def test_debug_from_the_command_line_outlasts_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "composer.log"
    start_logging(path, debug=True)

    set_debug(False)
    log.debug("still wanted")

    assert logs.debug_forced()
    assert "still wanted" in path.read_text()


def test_the_setting_changes_nothing_without_a_log_file() -> None:
    set_debug(True)

    assert not logs.is_debug()
    assert logging.getLogger("composer").level == logging.NOTSET


def test_a_log_that_cannot_be_opened_leaves_the_program_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "composer.log"
    path.mkdir()  # not writable as a file, even for root

    assert start_logging(path) is False
    log.warning("goes nowhere, harmlessly")

    assert "no log file" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory")
def test_a_read_only_data_directory_leaves_the_program_running(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        assert start_logging(tmp_path / "composer.log") is False
        log.warning("goes nowhere, harmlessly")
    finally:
        tmp_path.chmod(0o700)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_is_said_once_and_never_raises(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "composer.log"
    path.symlink_to("/dev/full")
    assert start_logging(path)

    for number in range(100):
        log.warning("line %d", number)

    error = capsys.readouterr().err
    assert error.count("could not write the log file") == 1
    assert "Traceback" not in error

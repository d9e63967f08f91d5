"""Commit marks: synced lines in a log of the process's own, read back only once nobody holds it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from composer.mail.commit_log import _MAX_LOG, CommitLog, Mark, left_marks, remove_logs


def crashed(log: CommitLog) -> None:
    """The process that wrote log is gone: the system closes its file, the log stays."""
    assert log._fd is not None
    with log._lock:
        # Not while this process's own background sync still uses the file: its lock on the
        # log would outlast the close until that sync returns.
        log._wait_idle()
        os.close(log._fd)
        log._fd = log._path = None


def logs_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("commits-"))


def test_marks_left_by_a_composer_that_stopped_are_read_back(tmp_path: Path) -> None:
    log = CommitLog(tmp_path)
    log.mark("k1", 1, "smtp.example.org", "2026-12-02T10:00:00+00:00")
    log.mark("k2", 3, "smtp.example.org\r\nX: y", "then")
    crashed(log)
    left = left_marks(tmp_path)
    assert left.by_key == {
        "k1": [Mark("k1", 1, "smtp.example.org", "2026-12-02T10:00:00+00:00")],
        "k2": [Mark("k2", 3, "smtp.example.org\r\nX: y", "then")],
    }
    assert [p.name for p in left.logs] == logs_in(tmp_path)
    assert not left.unread
    remove_logs(left.logs)
    assert logs_in(tmp_path) == []


def test_one_log_per_process_until_it_is_closed(tmp_path: Path) -> None:
    log = CommitLog(tmp_path)
    log.mark("k1", 1, "h", "t")
    log.mark("k2", 1, "h", "t")
    assert len(logs_in(tmp_path)) == 1
    log.close()
    assert logs_in(tmp_path) == []
    log.mark("k3", 1, "h", "t")  # the next batch starts a new one
    assert len(logs_in(tmp_path)) == 1
    log.close()


@pytest.mark.skipif(sys.platform == "win32", reason="logs are held with POSIX advisory locks")
def test_a_log_its_composer_still_holds_is_left_alone(tmp_path: Path) -> None:
    log = CommitLog(tmp_path)
    log.mark("k1", 1, "h", "t")
    held = left_marks(tmp_path)
    assert (held.by_key, held.logs, held.unread) == ({}, [], False)
    log.mark("k2", 1, "h", "t")  # still its own to write to
    crashed(log)
    assert sorted(left_marks(tmp_path).by_key) == ["k1", "k2"]


def test_a_line_cut_short_and_lines_that_are_not_marks_do_not_count(tmp_path: Path) -> None:
    log = CommitLog(tmp_path)
    log.mark("k1", 2, "h", "t")
    crashed(log)
    [path] = left_marks(tmp_path).logs
    with path.open("ab") as stream:
        stream.write(b'not json\n["k2", "two", "h", "t"]\n[1, 2]\n{"k": 1}\n["k3", 1, "h", "t"')
    assert left_marks(tmp_path).by_key == {"k1": [Mark("k1", 2, "h", "t")]}


def test_a_mark_after_a_line_a_full_disk_cut_short_still_counts(tmp_path: Path) -> None:
    log = CommitLog(tmp_path)
    log.mark("k1", 1, "h", "t")
    assert log._path is not None
    with log._path.open("ab") as stream:
        stream.write(b'\n["k2", 1, "smtp.ex')  # the disk filled up mid-line: no dot went
    log.mark("k3", 1, "h", "t")  # space again: this one's dot goes
    crashed(log)
    assert left_marks(tmp_path).by_key == {
        "k1": [Mark("k1", 1, "h", "t")],
        "k3": [Mark("k3", 1, "h", "t")],
    }


def test_a_log_that_cannot_be_read_is_kept_and_said(tmp_path: Path) -> None:
    log = CommitLog(tmp_path)
    log.mark("k1", 1, "h", "t")
    assert log._path is not None
    path = log._path
    crashed(log)
    os.truncate(path, _MAX_LOG + 1)
    left = left_marks(tmp_path)
    assert (left.by_key, left.logs, left.unread) == ({}, [], True)
    assert path.exists()


def test_files_that_only_look_like_logs_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "commits-folder.log").mkdir()
    (tmp_path / "other.log").write_bytes(b'["k1", 1, "h", "t"]\n')
    for folder in (tmp_path, tmp_path / "missing"):
        left = left_marks(folder)
        assert (left.by_key, left.logs, left.unread) == ({}, [], False)


# Marks written ahead, synced in the background


def test_a_mark_written_ahead_is_on_disk_once_waited_for(tmp_path: Path) -> None:
    log = CommitLog(tmp_path)
    log.mark_ahead("k1", 1, "h", "t")
    assert log.wait_ahead("k1", 1)
    assert not log.wait_ahead("k1", 1)  # waited for once; the next wait is a new mark's
    log.mark("k2", 1, "h", "t")
    crashed(log)
    assert left_marks(tmp_path).by_key == {
        "k1": [Mark("k1", 1, "h", "t")],
        "k2": [Mark("k2", 1, "h", "t")],
    }


def test_a_mark_not_written_ahead_is_not_waited_for(tmp_path: Path) -> None:
    log = CommitLog(tmp_path)
    log.mark_ahead("k1", 1, "h", "t")
    assert not log.wait_ahead("k1", 2)  # another attempt's
    assert not log.wait_ahead("k2", 1)
    assert log.wait_ahead("k1", 1)


def test_many_marks_ahead_in_a_row_are_all_synced(tmp_path: Path) -> None:
    log = CommitLog(tmp_path)
    for number in range(50):
        log.mark_ahead(f"k{number}", 1, "h", "t")
    assert all(log.wait_ahead(f"k{number}", 1) for number in reversed(range(50)))
    crashed(log)
    assert len(left_marks(tmp_path).by_key) == 50


def test_a_mark_ahead_that_is_dropped_stays_in_the_log(tmp_path: Path) -> None:
    log = CommitLog(tmp_path)
    log.mark_ahead("k1", 1, "h", "t")
    assert log.forget_ahead("k1", 1)
    assert not log.forget_ahead("k1", 1)
    assert not log.wait_ahead("k1", 1)
    crashed(log)
    assert left_marks(tmp_path).by_key == {"k1": [Mark("k1", 1, "h", "t")]}


def test_a_failed_background_sync_fails_the_wait_for_its_marks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import composer.mail.commit_log as commit_log

    real_sync = commit_log._sync

    def failing(_fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(commit_log, "_sync", failing)
    log = CommitLog(tmp_path)
    log.mark_ahead("k1", 1, "h", "t")
    with pytest.raises(OSError, match="Input/output"):
        log.wait_ahead("k1", 1)
    monkeypatch.setattr(commit_log, "_sync", real_sync)
    log.mark_ahead("k2", 1, "h", "t")
    assert log.wait_ahead("k2", 1)  # a later sync that works counts for later marks
    log.mark("k3", 1, "h", "t")


def test_closing_with_a_mark_ahead_not_waited_for_removes_the_log(tmp_path: Path) -> None:
    log = CommitLog(tmp_path)
    log.mark_ahead("k1", 1, "h", "t")
    log.close()
    assert logs_in(tmp_path) == []
    assert not log.wait_ahead("k1", 1)
    log.mark_ahead("k2", 1, "h", "t")  # a new log, and the background sync still works
    assert log.wait_ahead("k2", 1)
    assert len(logs_in(tmp_path)) == 1

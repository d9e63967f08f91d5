"""MessageFolder: keys, atomic writes, state beside each message, and sweeping leftovers."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest

from composer.mail.store import (
    MessageFolder,
    StoreError,
    composer_headers,
    new_key,
    split_composer_headers,
)


def test_keys_sort_by_creation(tmp_path: Path) -> None:
    folder = MessageFolder(tmp_path / "Drafts")
    keys = [new_key() for _ in range(50)]
    for key in reversed(keys):
        folder.write(key, [b"x"])
    assert folder.keys() == keys


def test_new_folder_is_private_and_message_round_trips(tmp_path: Path) -> None:
    folder = MessageFolder(tmp_path / "Outbox")
    key = new_key()
    assert folder.write(key, [b"Subject: a\r\n", b"\r\nbody\r\n"]) == 20
    assert folder.read(key) == b"Subject: a\r\n\r\nbody\r\n"
    assert (folder.path.stat().st_mode & 0o777) == 0o700
    assert (folder.file(key).stat().st_mode & 0o777) == 0o600


def test_missing_message_is_a_store_error(tmp_path: Path) -> None:
    folder = MessageFolder(tmp_path)
    with pytest.raises(StoreError, match="no longer"):
        folder.read(new_key())


@pytest.mark.parametrize("key", ["", "../x", "a/b", "A", "x.eml", "a" * 41])
def test_keys_that_could_leave_the_folder_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="not a message key"):
        MessageFolder(tmp_path).file(key)


def test_state_lives_beside_the_message_and_goes_with_it(tmp_path: Path) -> None:
    folder = MessageFolder(tmp_path)
    key = new_key()
    folder.write(key, [b"m"])
    folder.write_state(key, {"attempts": 2, "error": "451 später"})
    assert folder.read_state(key) == {"attempts": 2, "error": "451 später"}
    folder.delete(key)
    assert folder.keys() == []
    assert folder.read_state(key) is None
    folder.delete(key)  # already gone: nothing happens


def test_unreadable_state_reads_as_none(tmp_path: Path) -> None:
    folder = MessageFolder(tmp_path)
    key = new_key()
    folder.write(key, [b"m"])
    (tmp_path / f"{key}.json").write_text("{not json")
    assert folder.read_state(key) is None


def test_failed_write_keeps_the_old_message(tmp_path: Path) -> None:
    folder = MessageFolder(tmp_path)
    key = new_key()
    folder.write(key, [b"old"])

    def pieces() -> object:
        yield b"new, half"
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        folder.write(key, pieces())  # type: ignore[arg-type]
    assert folder.read(key) == b"old"
    assert os.listdir(tmp_path) == [f"{key}.eml"]


def test_sweep_removes_temporary_files_and_orphaned_state(tmp_path: Path) -> None:
    folder = MessageFolder(tmp_path)
    key = new_key()
    folder.write(key, [b"m"])
    (tmp_path / f".{key}.eml.abc.tmp").write_bytes(b"half")
    (tmp_path / f"{new_key()}.json").write_text("{}")
    kept = tmp_path / "notes.txt"
    kept.write_text("not ours")
    removed = folder.sweep()
    assert len(removed) == 2
    assert sorted(os.listdir(tmp_path)) == sorted([f"{key}.eml", "notes.txt"])


def test_composer_headers_round_trip_and_stop_at_the_message() -> None:
    head = composer_headers({"Account": "a1", "Envelope-To": '["b@x"]'})
    stream = io.BytesIO(head + b"X-Other: 1\r\nSubject: hi\r\n\r\nbody")
    values, offset = split_composer_headers(stream)
    assert values == {"Account": "a1", "Envelope-To": '["b@x"]'}
    assert stream.read() == b"X-Other: 1\r\nSubject: hi\r\n\r\nbody"
    assert offset == len(head)


@pytest.mark.parametrize("value", ["a\r\nBcc: evil@x", "a\nb", "naïve", "a\x00"])
def test_composer_headers_refuse_values_that_could_start_a_header(value: str) -> None:
    with pytest.raises(ValueError, match="printable ASCII"):
        composer_headers({"Name": value})


# A state written over in place (the Outbox's begin)


def test_a_state_written_over_in_place_keeps_its_file_and_reads_back(tmp_path: Path) -> None:
    folder = MessageFolder(tmp_path / "Outbox")
    key = new_key()
    folder.write(key, [b"x"])
    folder.write_state(key, {"state": "waiting", "note": "a long note " * 20})
    state_file = folder.path / f"{key}.json"
    before = state_file.stat()
    folder.overwrite_state(key, {"state": "sending", "attempts": 1})
    after = state_file.stat()
    assert (after.st_ino, after.st_size) == (before.st_ino, before.st_size)  # padded
    assert folder.read_state(key) == {"state": "sending", "attempts": 1}
    assert [p.name for p in folder.path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_state_longer_than_the_old_one_is_written_whole(tmp_path: Path) -> None:
    folder = MessageFolder(tmp_path)
    key = new_key()
    folder.write_state(key, {"a": 1})
    folder.overwrite_state(key, {"a": 1, "note": "grown " * 50})
    assert folder.read_state(key) == {"a": 1, "note": "grown " * 50}


def test_overwriting_a_missing_state_makes_one(tmp_path: Path) -> None:
    folder = MessageFolder(tmp_path / "Outbox")
    key = new_key()
    folder.overwrite_state(key, {"state": "sending"})
    assert folder.read_state(key) == {"state": "sending"}


@pytest.mark.skipif(not hasattr(os, "link"), reason="needs hard links")
def test_a_state_file_with_a_second_name_is_replaced_not_written_through(
    tmp_path: Path,
) -> None:
    folder = MessageFolder(tmp_path / "Outbox")
    key = new_key()
    folder.write_state(key, {"state": "waiting"})
    other = tmp_path / "elsewhere.json"
    os.link(folder.path / f"{key}.json", other)
    folder.overwrite_state(key, {"state": "sending"})
    assert folder.read_state(key) == {"state": "sending"}
    assert other.read_text("utf-8").strip().startswith("{")
    assert '"waiting"' in other.read_text("utf-8")  # the other name saw nothing


def test_a_state_larger_than_a_page_is_written_all_or_nothing(tmp_path: Path) -> None:
    folder = MessageFolder(tmp_path)
    key = new_key()
    folder.write_state(key, {"a": 1})
    before = (folder.path / f"{key}.json").stat().st_ino
    big = {"note": "x" * 5000}
    folder.overwrite_state(key, big)
    assert folder.read_state(key) == big
    assert (folder.path / f"{key}.json").stat().st_ino != before  # a new file, renamed


def test_messages_written_without_a_sync_are_synced_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import composer.mail.files as files

    folder = MessageFolder(tmp_path / "Sent")
    keys = [new_key() for _ in range(3)]
    for key in keys:
        folder.write(key, [b"Subject: a\r\n\r\nbody\r\n"], durable=False)
    folder.sync_written(keys)  # syncfs where there is one
    monkeypatch.setattr(files, "_syncfs", lambda _folder: False)
    folder.sync_written(keys)  # each file, then the folder
    assert [folder.read(key) for key in keys] == [b"Subject: a\r\n\r\nbody\r\n"] * 3
    with pytest.raises(FileNotFoundError):
        folder.sync_written([new_key()])  # a record that is not there is an error


@pytest.mark.skipif(sys.platform == "win32", reason="emulates Windows on POSIX")
def test_the_fallback_sync_works_where_only_a_writable_file_can_be_flushed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows (the fallback's main user) flushes with FlushFileBuffers, which needs a handle
    open for writing: os.fsync of a read-only descriptor fails there (EBADF)."""
    import errno
    import fcntl

    import composer.mail.files as files

    folder = MessageFolder(tmp_path / "Sent")
    key = new_key()
    folder.write(key, [b"Subject: a\r\n\r\nbody\r\n"], durable=False)
    real_fsync = os.fsync

    def windows_fsync(fd: int) -> None:
        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY:
            raise OSError(errno.EBADF, "Bad file descriptor")
        real_fsync(fd)

    monkeypatch.setattr(files, "_syncfs", lambda _folder: False)
    monkeypatch.setattr(files, "sync_folder", lambda _folder: None)  # a no-op on Windows
    monkeypatch.setattr(os, "fsync", windows_fsync)
    folder.sync_written([key])  # was: OSError, so every batch's messages "may have been sent"

"""Writing files all or nothing, and naming the copy of a damaged one."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from composer.mail.files import atomic_writer, broken_copy_path, write_atomically

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")


class Interrupted(Exception):
    """What the code inside a with-block raises to give up half-way."""


def write_then_fail(path: Path, data: bytes, error: type[BaseException]) -> None:
    with atomic_writer(path) as stream:
        stream.write(data)
        raise error


def test_the_bytes_become_the_file_only_when_the_block_ends(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(b"old")

    with atomic_writer(path) as stream:
        stream.write(b"new ")
        stream.flush()
        # Readers meanwhile see the whole old file, and the new bytes sit beside it.
        assert path.read_bytes() == b"old"
        (temporary,) = (p for p in tmp_path.iterdir() if p != path)
        assert temporary.name.startswith(".settings.json.")
        stream.write(b"content")

    assert path.read_bytes() == b"new content"
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]


@pytest.mark.parametrize("error", [Interrupted, KeyboardInterrupt])
def test_a_failing_block_leaves_the_old_file_and_no_temporary_file(
    tmp_path: Path, error: type[BaseException]
) -> None:
    path = tmp_path / "message.eml"
    path.write_bytes(b"the old message")

    with pytest.raises(error):
        write_then_fail(path, b"half of a new mess", error)

    assert path.read_bytes() == b"the old message"
    assert [p.name for p in tmp_path.iterdir()] == ["message.eml"]


def test_a_failing_block_creates_no_file(tmp_path: Path) -> None:
    with pytest.raises(Interrupted):
        write_then_fail(tmp_path / "new.eml", b"x" * 100_000, Interrupted)

    assert list(tmp_path.iterdir()) == []


def test_the_stream_takes_bytes_only(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_bytes(b"kept")

    with pytest.raises(TypeError), atomic_writer(path) as stream:
        stream.write("text")  # type: ignore[arg-type]

    assert path.read_bytes() == b"kept"
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_an_empty_block_makes_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_bytes(b"something")

    with atomic_writer(path):
        pass

    assert path.read_bytes() == b""


def test_a_missing_folder_is_an_error_and_nothing_is_made(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError), atomic_writer(tmp_path / "gone" / "file"):
        pytest.fail("the block must not run")

    assert list(tmp_path.iterdir()) == []


@posix_only
def test_a_replaced_file_keeps_its_permissions(tmp_path: Path) -> None:
    path = tmp_path / "shared.eml"
    path.write_bytes(b"old")
    path.chmod(0o644)

    with atomic_writer(path) as stream:
        stream.write(b"new")

    assert stat.S_IMODE(path.stat().st_mode) == 0o644


@posix_only
def test_a_new_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "private.eml"

    with atomic_writer(path) as stream:
        stream.write(b"new")

    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_write_atomically_makes_folders_and_writes_utf8_as_given(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "settings.json"

    write_atomically(path, "Grüße ✓\nline two\r\n")
    write_atomically(path, "zweite Fassung ✓\n")

    assert path.read_bytes() == "zweite Fassung ✓\n".encode()
    assert os.listdir(path.parent) == ["settings.json"]


def test_write_atomically_refuses_text_that_is_not_utf8_and_keeps_the_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "settings.json"
    write_atomically(path, "good\n")

    with pytest.raises(UnicodeEncodeError):
        write_atomically(path, "bad \udcff\n")

    assert path.read_text(encoding="utf-8") == "good\n"
    assert os.listdir(tmp_path) == ["settings.json"]


def test_a_broken_copy_gets_a_free_name_beside_the_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{broken")

    names = []
    for _ in range(3):
        backup = broken_copy_path(path)
        assert backup.parent == tmp_path
        assert backup.name.startswith("settings.json.broken-")
        assert not backup.exists()
        backup.write_text("taken")
        names.append(backup.name)

    assert len(set(names)) == 3
    assert path.read_text() == "{broken"

"""Files that pasted HTML names: only regular files of bounded size are read, never a pipe."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from composer.mail import files
from composer.mail.linked_files import (
    MAX_IMAGE_BYTES,
    LinkedFile,
    linked_images_note,
    local_path,
    read_linked_file,
)

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="named pipes and /dev")


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("file:///home/ann/a.png", Path("/home/ann/a.png")),
        ("FILE://localhost/tmp/b%20c.png", Path("/tmp/b c.png")),
        ("file:///dev/zero?x#y", Path("/dev/zero")),
        ("/tmp/pipe", Path("/tmp/pipe")),
        ("photo.png", Path("photo.png")),
        ("  /tmp/a.png ", Path("/tmp/a.png")),
        ("file://server/share/a.png", None),
        ("https://example.org/a.png", None),
        ("data:image/png;base64,AAAA", None),
        ("cid:123@example.org", None),
        ("//example.org/a.png", None),
        ("", None),
    ],
)
def test_local_path_names_files_on_this_computer_only(src: str, expected: Path | None) -> None:
    assert local_path(src) == expected


def test_a_small_regular_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\nrest")

    assert read_linked_file(path) == LinkedFile(path, b"\x89PNG\r\n\x1a\nrest")


@pytest.fixture
def pipe(tmp_path: Path) -> Path:
    """A named pipe that nobody writes to: a blocking open of it would wait for ever."""
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


@posix_only
def test_a_named_pipe_is_not_opened(pipe: Path) -> None:
    assert read_linked_file(pipe).problem == "is a named pipe, not a file"


@posix_only
def test_a_pipe_put_in_place_after_the_check_does_not_block(
    pipe: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is swapped for a pipe between the check and the open: the open still returns
    at once (O_NONBLOCK), and what was opened is checked again before anything is read."""
    regular = os.stat(__file__)
    real_stat = os.stat
    monkeypatch.setattr(
        files.os, "stat", lambda p, *a, **k: regular if p == pipe else real_stat(p, *a, **k)
    )

    assert read_linked_file(pipe).problem == "is a named pipe, not a file"


@posix_only
def test_devices_are_not_read() -> None:
    assert read_linked_file(Path("/dev/zero")).problem == "is a device, not a file"


@posix_only
def test_a_socket_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(path))
        assert read_linked_file(path).problem == "is a socket, not a file"


def test_folders_missing_files_and_relative_paths_are_not_read(tmp_path: Path) -> None:
    assert read_linked_file(tmp_path).problem == "is a folder, not a file"
    assert read_linked_file(tmp_path / "gone.png").problem == "does not exist"
    assert read_linked_file(tmp_path / "gone" / "a.png").problem == "does not exist"
    assert read_linked_file(Path("a.png")).problem == "does not say which folder it is in"


def test_a_file_over_the_limit_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    with path.open("wb") as stream:
        stream.truncate(MAX_IMAGE_BYTES + 1)  # sparse: no disk used

    assert read_linked_file(path).problem == "is larger than 10.5 MB"
    assert read_linked_file(path, limit=MAX_IMAGE_BYTES + 1).data is not None


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads anything")
def test_an_unreadable_file_is_said_so(tmp_path: Path) -> None:
    path = tmp_path / "secret.png"
    path.write_bytes(b"x")
    path.chmod(0)

    assert read_linked_file(path).problem == "cannot be read: you do not have permission"


def test_the_note_names_the_files_shown_and_those_left_out() -> None:
    shown = [LinkedFile(Path("/p/a.png"), b"1"), LinkedFile(Path("/p/b\n.png"), b"2")]
    left_out = [
        LinkedFile(Path("/dev/zero"), problem="is a device, not a file"),
        LinkedFile(Path("/p/big.png"), problem="is larger than 10.5 MB"),
    ]

    note = linked_images_note(shown, left_out)

    assert note == (
        "Pasted 2 images from files on this computer: a.png, b_.png. Left out 2 images that "
        "the pasted text took from this computer: zero is a device, not a file; big.png is "
        "larger than 10.5 MB. Attach a large image instead, with Attach Files."
    )
    assert linked_images_note(shown[:1], []) == (
        "Pasted 1 image from a file on this computer: a.png."
    )
    assert linked_images_note([], left_out[:1]) == (
        "Left out 1 image that the pasted text took from this computer: zero is a device, "
        "not a file."
    )

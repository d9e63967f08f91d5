"""Where the instance socket lives and who is at its other end, without Qt."""

from __future__ import annotations

import logging
import os
import socket
import stat
from pathlib import Path

import pytest

from composer import instance_socket
from composer.instance_socket import (
    UnsafeDirectory,
    check_private,
    instance_name,
    is_own_user,
    peer_uid,
    private_directory,
    socket_file_name,
)
from tests.other_user import OTHER_GID, OTHER_UID, needs_root


@pytest.fixture
def no_runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No XDG_RUNTIME_DIR, and a temporary directory of the test's own; returns the latter."""
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setenv("TMPDIR", str(temporary))
    monkeypatch.setattr("tempfile.tempdir", None)  # gettempdir() caches what it found
    return temporary


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


# --- the directory ---------------------------------------------------------------------------


def test_a_new_directory_is_made_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        made = private_directory(tmp_path / "run")
    finally:
        os.umask(old)

    assert made == tmp_path / "run"
    assert mode(made) == 0o700


def test_an_existing_private_directory_of_ours_is_used(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir(mode=0o700)

    assert private_directory(tmp_path / "run") == tmp_path / "run"


@pytest.mark.parametrize("loose", [0o755, 0o750, 0o705, 0o770, 0o777, 0o1777])
def test_a_directory_others_may_use_is_refused(loose: int, tmp_path: Path) -> None:
    directory = tmp_path / "run"
    directory.mkdir()
    directory.chmod(loose)

    with pytest.raises(UnsafeDirectory, match="not 0700"):
        private_directory(directory)

    assert mode(directory) == loose  # refused, not quietly changed


def test_a_symbolic_link_is_refused_even_to_a_private_directory(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir(mode=0o700)
    (tmp_path / "run").symlink_to(target)

    with pytest.raises(UnsafeDirectory, match="symbolic link"):
        private_directory(tmp_path / "run")


def test_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "run").write_text("")

    with pytest.raises(UnsafeDirectory, match="not a directory"):
        private_directory(tmp_path / "run")


def test_a_directory_of_another_uid_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "run").mkdir(mode=0o700)
    monkeypatch.setattr(os, "getuid", lambda: os.lstat(tmp_path).st_uid + 1)

    with pytest.raises(UnsafeDirectory, match="belongs to another user"):
        check_private(tmp_path / "run")


@needs_root
def test_a_directory_another_user_made_first_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "run"
    directory.mkdir(mode=0o700)
    os.chown(directory, OTHER_UID, OTHER_GID)

    with pytest.raises(UnsafeDirectory, match=f"uid {OTHER_UID}"):
        private_directory(directory)


# --- the socket's path -----------------------------------------------------------------------


def test_the_name_depends_on_the_resolved_config_dir(no_runtime_dir: Path, tmp_path: Path) -> None:
    one, other = tmp_path / "one", tmp_path / "other"
    one.mkdir()
    (tmp_path / "link").symlink_to(one)

    name = instance_name(one)

    assert name == instance_name(tmp_path / "other" / ".." / "one")
    assert name == instance_name(tmp_path / "link")
    assert name != instance_name(other)
    assert name == str(no_runtime_dir / f"composer-{os.getuid()}" / socket_file_name(one))


def test_without_a_runtime_dir_the_socket_is_in_a_private_directory(
    no_runtime_dir: Path, tmp_path: Path
) -> None:
    name = instance_name(tmp_path)

    assert name is not None
    assert Path(name).parent == no_runtime_dir / f"composer-{os.getuid()}"
    assert mode(Path(name).parent) == 0o700
    assert len(os.fsencode(name)) <= instance_socket.MAX_SOCKET_PATH


def test_a_private_runtime_dir_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))

    name = instance_name(tmp_path / "config")

    assert name is not None
    assert Path(name).parent == runtime / "composer"
    assert mode(runtime / "composer") == 0o700


@pytest.mark.parametrize("runtime", ["relative/run", "/no/such/runtime/dir", ""])
def test_a_runtime_dir_that_is_not_an_absolute_folder_is_not_used(
    runtime: str, no_runtime_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", runtime)

    name = instance_name(tmp_path)

    assert name is not None
    assert Path(name).parent == no_runtime_dir / f"composer-{os.getuid()}"


def test_a_runtime_dir_others_may_use_is_not_used(
    no_runtime_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o777)
    runtime.chmod(0o777)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))

    with caplog.at_level(logging.WARNING, logger="composer.instance_socket"):
        name = instance_name(tmp_path)

    assert name is not None
    assert Path(name).parent == no_runtime_dir / f"composer-{os.getuid()}"
    assert not (runtime / "composer").exists()
    assert "Not using XDG_RUNTIME_DIR" in caplog.text


def test_a_taken_directory_means_no_socket_and_a_warning(
    no_runtime_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    taken = no_runtime_dir / f"composer-{os.getuid()}"
    taken.mkdir()
    taken.chmod(0o777)  # as another user would leave it for us

    with caplog.at_level(logging.WARNING, logger="composer.instance_socket"):
        name = instance_name(tmp_path)

    assert name is None
    assert str(taken) in caplog.text
    assert "in a Composer of their own" in caplog.text


def test_a_path_too_long_for_a_socket_is_not_used(
    no_runtime_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(instance_socket, "MAX_SOCKET_PATH", 10)

    assert instance_name(tmp_path) is None


# --- the other end ---------------------------------------------------------------------------


def test_the_peer_of_a_socket_pair_is_this_user() -> None:
    one, other = socket.socketpair(socket.AF_UNIX)
    with one, other:
        assert peer_uid(one.fileno()) == os.getuid()
        assert is_own_user(one.fileno())
        one.sendall(b"still open")  # asking did not close the caller's descriptor
        assert other.recv(100) == b"still open"


def test_a_descriptor_that_is_no_socket_is_not_our_user(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with open(tmp_path / "file", "wb") as file, caplog.at_level(logging.WARNING):
        assert not is_own_user(file.fileno())

    assert "Could not tell who is at the other end" in caplog.text

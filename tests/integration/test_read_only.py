"""A data folder Composer may read but not write: it starts with everything in it, and every
save fails with the reason in words while what was typed or chosen stays in memory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from composer.mail.accounts import Account, AccountSettings, AccountStore

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")

ROOT = Path(__file__).resolve().parents[2]
# The user root becomes to be stopped by permissions (Debian's "nobody").
OTHER_UID = 65534
# Whether this process may become the other user (a container may forbid it). The child
# imports what it needs first, as root: the interpreter may live where only root can read.
_CAN_RUN = """
import os, sys
import tests.integration.read_only_child
uid = int(sys.argv[1])
os.setgroups([])
os.setresgid(uid, uid, uid)
os.setresuid(uid, uid, uid)
"""
HOME = Account(id="home", name="Home", email="ann@example.org", host="smtp.example.org")


@pytest.fixture
def read_only_dir() -> Iterator[Path]:
    """A folder with settings in it, readable by everyone, writable by nobody but root.

    Made outside pytest's temporary folders, which only their owner may enter."""
    directory = Path(tempfile.mkdtemp(prefix="composer-read-only-"))
    try:
        AccountStore(directory / "settings.json").save(AccountSettings((HOME,)))
        (directory / "settings.json").chmod(0o644)
        for name in ("Drafts", "Outbox", "Sent"):
            (directory / name).mkdir()
        for path in (directory, *directory.iterdir()):
            path.chmod(0o555 if path.is_dir() else 0o444)
        yield directory
    finally:
        for path in (directory, *directory.iterdir()):
            path.chmod(0o755)
        shutil.rmtree(directory)


def run(arguments: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": os.environ.get("PATH", ""), "HOME": "/"},
        check=False,
    )


def run_child(directory: Path) -> dict[str, object]:
    arguments = ["-m", "tests.integration.read_only_child", str(directory)]
    if os.geteuid() == 0:
        arguments.append(str(OTHER_UID))
        probe = run(["-c", _CAN_RUN, str(OTHER_UID)])
        if probe.returncode != 0:
            pytest.skip(f"user {OTHER_UID} cannot run this Python and Composer: {probe.stderr}")
    done = run(arguments)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_a_read_only_data_folder_starts_and_says_why_each_save_fails(
    read_only_dir: Path,
) -> None:
    said = run_child(read_only_dir)

    read_only = "the folder is read-only for you (permission denied)"
    assert said["draft"] == read_only
    assert said["accounts"] == read_only
    assert said["outbox"] == read_only
    [told] = said["told"]  # type: ignore[misc]
    assert f"Could not save settings in {read_only_dir / 'settings.json'}: {read_only}" in told
    # Nothing chosen is lost while Composer runs.
    assert said["accounts_in_memory"] == ["home"]
    assert said["last_used_in_memory"] == "home"
    # The address book cannot be made there: said at start, not a crash.
    assert any("address book" in w for w in said["warnings"])  # type: ignore[attr-defined]
    assert sorted(os.listdir(read_only_dir)) == ["Drafts", "Outbox", "Sent", "settings.json"]

"""Another local user for the two-user cases: a process running as uid 65534 ("nobody").

Only root can start a process as another user, so these tests run where the suite runs as
root (in CI) and are skipped elsewhere. The other user's code is a short stdlib-only script:
it cannot read this checkout, and it should not need to.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

OTHER_UID = 65534
OTHER_GID = 65534
# The other user cannot always run our interpreter (a pyenv build under /root, say): the
# system's Python has what these scripts need.
PYTHON = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin") or sys.executable

needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="running a process as another user (uid 65534) needs root; "
    "run the suite as root to include the two-user cases",
)


def start_as_other_user(code: str, *arguments: str) -> subprocess.Popen[str]:
    """Start `python -I -c code arguments…` as OTHER_UID, with no groups of ours."""
    # user=/group= switch in the child after fork without running Python there, which a
    # preexec_fn would do (unsafe in a process with threads, as Qt's and aiosmtpd's).
    return subprocess.Popen(
        [PYTHON, "-I", "-c", code, *arguments],
        user=OTHER_UID,
        group=OTHER_GID,
        extra_groups=[],
        cwd="/",
        env={"PATH": os.defpath, "LANG": "C.UTF-8"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@contextlib.contextmanager
def other_user_process(code: str, *arguments: str) -> Iterator[subprocess.Popen[str]]:
    """start_as_other_user(), killed at the end if it is still running, and reaped."""
    process = start_as_other_user(code, *arguments)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def run_as_other_user(code: str, *arguments: str, timeout: float = 60) -> tuple[int, str, str]:
    """Run code as OTHER_UID to its end; its exit status, stdout and stderr."""
    with other_user_process(code, *arguments) as process:
        out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def wait_for_line(process: subprocess.Popen[str], expected: str) -> None:
    """Read process's stdout up to a line that is expected; fail with its stderr if it ends."""
    assert process.stdout is not None
    line = process.stdout.readline()
    if line.strip() != expected:
        process.kill()
        _, err = process.communicate(timeout=30)
        pytest.fail(f"the other user's process said {line!r}, not {expected!r}: {err}")


@contextlib.contextmanager
def shared_directory() -> Iterator[Path]:
    """A fresh directory both users may write in, sticky like /tmp; removed afterwards.

    pytest's own tmp_path is private to the user running the tests (mode 0700).
    """
    path = Path(tempfile.mkdtemp(prefix="composer-shared-", dir="/tmp"))
    try:
        path.chmod(0o1777)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)

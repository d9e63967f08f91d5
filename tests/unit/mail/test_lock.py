"""Locks between Composer processes: bounded waits, and who is alone on a directory."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from composer.mail.lock import LockTimeout, Presence, exclusive

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="advisory locks are POSIX")

# Holds path's presence lock (shared) until stdin closes, as a running Composer does.
_HOLDER = """
import sys
from pathlib import Path
from composer.mail.lock import Presence
presence = Presence(Path(sys.argv[1]))
print(presence.join(), flush=True)
sys.stdin.read()
"""


def test_an_exclusive_lock_held_elsewhere_times_out_with_the_file_named(tmp_path: Path) -> None:
    path = tmp_path / "settings.lock"
    with exclusive(path):
        started = time.monotonic()
        with pytest.raises(LockTimeout) as raised, exclusive(path, timeout=0.2):
            pass
        assert time.monotonic() - started < 2
    assert str(path) in str(raised.value)
    with exclusive(path, timeout=0.2):
        pass  # free again once the first block ended


def test_a_timeout_of_one_second_is_said_in_the_singular(tmp_path: Path) -> None:
    path = tmp_path / "settings.lock"
    with exclusive(path), pytest.raises(LockTimeout) as raised, exclusive(path, timeout=1):
        pass
    assert str(raised.value).endswith("locked for more than 1 second")


def test_exclusive_orders_threads_of_one_process(tmp_path: Path) -> None:
    path = tmp_path / "settings.lock"
    inside: list[int] = []
    overlaps: list[int] = []

    def work(number: int) -> None:
        for _ in range(20):
            with exclusive(path):
                inside.append(number)
                if len(inside) > 1:
                    overlaps.append(number)
                time.sleep(0.001)
                inside.remove(number)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []


def test_a_process_is_alone_until_another_holds_the_presence_lock(tmp_path: Path) -> None:
    path = tmp_path / ".composer-running.lock"
    first, second = Presence(path), Presence(path)
    assert first.join()
    assert second.join()  # the same process: still alone
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[3])},
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "False"  # we hold it
        third = Presence(path)
        assert not third.join()
        third.leave()
    finally:
        holder.communicate("", timeout=30)
    later = Presence(path)
    assert later.join()  # the other process ended: its lock went with it
    for presence in (first, second, later):
        presence.leave()

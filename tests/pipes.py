"""A named pipe that tells whether anything opened it: how a test sees Qt load ``<img src>``.

Qt reads an image of rich text on the GUI thread, and a pipe nobody writes to would block it
there for ever, holding the GIL, so no thread of the test process could notice. A child process
opens the pipe for writing whenever a reader is waiting (an open with O_NONBLOCK succeeds only
then): the reader gets an empty file at once, and the child counts the opens.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import TracebackType

_WATCHER = """
import os, sys, time
print("ready", flush=True)
time.sleep(float(sys.argv[2]))
while True:
    try:
        fd = os.open(sys.argv[1], os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        time.sleep(0.01)
        continue
    os.close(fd)
    print("opened", flush=True)
    time.sleep(0.01)
"""


class WatchedPipe:
    """A FIFO at path, watched while the ``with`` block runs; ``opens`` counts the readers.

    With a delay, a reader waits that many seconds (from the start of the block) before it
    is let go: long enough for a test to see that the event loop stood still.
    """

    def __init__(self, path: Path, delay: float = 0.0) -> None:
        self.path = path
        self.delay = delay
        self.opens = 0
        self._child: subprocess.Popen[str] | None = None

    def __enter__(self) -> WatchedPipe:
        os.mkfifo(self.path)
        self._child = subprocess.Popen(
            [sys.executable, "-c", _WATCHER, str(self.path), str(self.delay)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._child.stdout is not None
        assert self._child.stdout.readline() == "ready\n"
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> int:
        """Stop watching; how many times the pipe was opened for reading."""
        if self._child is not None:
            self._child.terminate()
            output, _ = self._child.communicate(timeout=10)
            self.opens = output.count("opened")
            self._child = None
        return self.opens

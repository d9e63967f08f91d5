"""The log file's handler: private to its owner, rotated, and never raising."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import stat
import sys
from pathlib import Path

from composer.logs import LOG_BACKUPS, LOG_BYTES


class PrivateRotatingFileHandler(logging.FileHandler):
    """A log file that only its owner can read, rotated before it would reach LOG_BYTES
    (LOG_BACKUPS older ones kept, composer.log.1 the newest), and that never raises.

    A full disk or a read-only directory must not stop Composer or fill stderr with a
    traceback per line: the first failure is said once on stderr, later ones are dropped.

    The rotation is done here, not by logging.handlers.RotatingFileHandler: importing
    logging.handlers brings socket, pickle and queue, some 10 ms of every launch before its
    window is shown.
    """

    def __init__(self, path: Path) -> None:
        self._failed = False
        super().__init__(path, encoding="utf-8")

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self._would_fill(record):
                self._rotate()
            super().emit(record)
        except Exception:
            self.handleError(record)

    def _would_fill(self, record: logging.LogRecord) -> bool:
        if self.stream is None:
            self.stream = self._open()
        info = os.fstat(self.stream.fileno())
        if not stat.S_ISREG(info.st_mode):
            return False  # a pipe or a device the user linked there is never rotated
        # Every line is flushed as it is written, so the size on disk is all of the file.
        line = (self.format(record) + self.terminator).encode("utf-8", "backslashreplace")
        return info.st_size > 0 and info.st_size + len(line) >= LOG_BYTES

    def _rotate(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None
        for number in range(LOG_BACKUPS - 1, 0, -1):
            older = f"{self.baseFilename}.{number}"
            if os.path.exists(older):
                os.replace(older, f"{self.baseFilename}.{number + 1}")
        os.replace(self.baseFilename, f"{self.baseFilename}.1")
        self.stream = self._open()

    def _open(self) -> io.TextIOWrapper:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(self.baseFilename, flags, 0o600)
        try:
            info = os.fstat(fd)
            # A file made by an older Composer (or a copy) may be readable by others; a
            # device or pipe the user linked there is left as it is.
            if stat.S_ISREG(info.st_mode) and info.st_mode & 0o077:
                os.fchmod(fd, 0o600)
            return os.fdopen(fd, "a", encoding=self.encoding, errors="backslashreplace")
        except BaseException:
            os.close(fd)
            raise

    def flush(self) -> None:
        try:
            super().flush()
        except (OSError, ValueError) as error:
            self._say_once(error)

    def close(self) -> None:
        # Lines still buffered that a full disk cannot take are dropped; the file is closed.
        try:
            super().close()
        except (OSError, ValueError) as error:
            self._say_once(error)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        self._say_once(sys.exc_info()[1])

    def _say_once(self, error: BaseException | None) -> None:
        if self._failed:
            return
        self._failed = True
        with contextlib.suppress(Exception):
            sys.stderr.write(
                f"composer: could not write the log file {self.baseFilename} ({error}); "
                "going on without it.\n"
            )

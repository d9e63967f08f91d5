"""Composer's log file: in the data directory, private, bounded in size, more detail on request.

Set up once by the running Composer (``composer.app``); windows made by tests and the
launch that only hands a message to a running Composer write no file. INFO and above are
kept; at DEBUG level (``--debug`` for one run, or the Debug Log setting) the SMTP
conversation is too, secrets and messages hidden (``composer.mail.transcript``).
"""

from __future__ import annotations

import contextlib
import io
import logging
import logging.handlers
import os
import stat
import sys
from pathlib import Path

from composer import __version__

LOG_BYTES = 1024 * 1024
LOG_BACKUPS = 3
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_LOGGER = "composer"


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A RotatingFileHandler whose files only their owner can read, and that never raises.

    A full disk or a read-only directory must not stop Composer or fill stderr with a
    traceback per line: the first failure is said once on stderr, later ones are dropped.
    """

    def __init__(self, path: Path) -> None:
        self._failed = False
        super().__init__(path, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8")

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


class _LogState:
    handler: PrivateRotatingFileHandler | None = None
    forced = False  # --debug: DEBUG for this run, whatever the setting says


_state = _LogState()


def start_logging(path: Path, *, debug: bool = False) -> bool:
    """Log to path (rotated at LOG_BYTES, LOG_BACKUPS kept); False if it cannot be opened.

    debug: DEBUG level for this run (``--debug``), which the setting cannot turn off.
    """
    stop_logging()
    _state.forced = debug
    logger = logging.getLogger(_LOGGER)
    logger.setLevel(logging.DEBUG if debug else logging.INFO)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handler = PrivateRotatingFileHandler(path)
    except OSError as error:
        with contextlib.suppress(Exception):
            sys.stderr.write(f"composer: no log file: {path} cannot be written ({error}).\n")
        return False
    handler.setFormatter(logging.Formatter(_FORMAT))
    logger.addHandler(handler)
    _state.handler = handler
    logger.info("Composer %s started; logging to %s", __version__, path)
    return True


def set_debug(enabled: bool) -> None:
    """The Debug Log setting: DEBUG level when on (or given --debug), INFO when off.

    Changes nothing while no log file is being written (windows made by tests).
    """
    if _state.handler is not None:
        debug = enabled or _state.forced
        logging.getLogger(_LOGGER).setLevel(logging.DEBUG if debug else logging.INFO)


def debug_forced() -> bool:
    """Whether this run was started with --debug."""
    return _state.forced


def is_debug() -> bool:
    return _state.handler is not None and logging.getLogger(_LOGGER).isEnabledFor(logging.DEBUG)


def stop_logging() -> None:
    """Close the log file and forget the level (the program's end, tests)."""
    handler, _state.handler, _state.forced = _state.handler, None, False
    logger = logging.getLogger(_LOGGER)
    if handler is not None:
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(logging.NOTSET)

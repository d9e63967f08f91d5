"""Composer's log file: in the data directory, private, bounded in size, more detail on request.

Set up once by the running Composer (``composer.app``); windows made by tests and the
launch that only hands a message to a running Composer write no file. INFO and above are
kept; at DEBUG level (``--debug`` for one run, or the Debug Log setting) the SMTP
conversation is too, secrets and messages hidden (``composer.mail.transcript``).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from composer import __version__

if TYPE_CHECKING:
    from composer.log_file import PrivateRotatingFileHandler

LOG_BYTES = 1024 * 1024
LOG_BACKUPS = 3
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_LOGGER = "composer"


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
    # Here: logging.handlers (and the socket and pickle modules it brings) only for the
    # running Composer, not for every window a test or script makes.
    from composer.log_file import PrivateRotatingFileHandler

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

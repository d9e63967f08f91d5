"""Files Composer owns: written atomically, and set aside rather than lost when damaged."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path


def broken_copy_path(path: Path) -> Path:
    """A free name beside path for keeping a damaged file: ``name.broken-<time>[-N]``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = path.with_name(f"{path.name}.broken-{stamp}")
    counter = 1
    while backup.exists():
        counter += 1
        backup = path.with_name(f"{path.name}.broken-{stamp}-{counter}")
    return backup


def write_atomically(path: Path, text: str) -> None:
    """Write text to path via a temporary file, fsync and rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise

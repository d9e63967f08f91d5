"""Help ▸ Show Log: the end of Composer's log file, and a way to its folder."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QWidget

from composer.ui.text_view import TextViewDialog

# What is shown at most: the file rotates at 1 MiB, so this is all of the current one.
TAIL_BYTES = 1024 * 1024


def read_log_tail(path: Path, limit: int = TAIL_BYTES) -> str:
    """The last limit bytes of the log, from a line's start, or a sentence why there are none.

    Opened without blocking and read only if it is a regular file: a pipe or device put in
    its place cannot hold the reader.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return f"Nothing has been logged yet: there is no {path}."
    except OSError as error:
        return f"The log {path} cannot be read: {error.strerror or error}."
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            return f"{path} is not a regular file, so Composer does not read it."
        start = max(0, info.st_size - limit)
        file.seek(start)
        data = file.read(limit)
    if start:
        # Begin at a whole line; say that earlier lines were left out.
        data = data[data.find(b"\n") + 1 :]
        head = f"(the first {start:,} bytes of {path} are not shown)\n"
    else:
        head = ""
    if not data:
        return f"The log {path} is empty."
    return head + data.decode("utf-8", "replace")


class LogDialog(TextViewDialog):
    """The log's text (read elsewhere, off the GUI thread) with Open Log Folder."""

    def __init__(self, path: Path, text: str, parent: QWidget | None = None) -> None:
        super().__init__("logDialog", f"Composer Log — {path.name}", "logView", text, parent)
        self._folder = path.parent
        self.add_button("openLogFolder", "Open Log &Folder").clicked.connect(self.open_folder)
        self.scroll_to_end()  # the latest lines are what one looks for

    def open_folder(self) -> bool:
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._folder)))

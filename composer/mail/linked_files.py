"""Files on this computer that HTML from elsewhere points at, and reading them only when safe.

A web page can put ``<img src="file:///dev/zero">`` on the clipboard. Only a regular file of
bounded size is read, and a pipe, a device or a socket is never opened in a way that can wait.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from composer.mail.attached_files import printable
from composer.mail.sizes import format_size

# Larger image files are attached rather than shown inline (and never read from a paste).
MAX_IMAGE_BYTES = 10 * 1024 * 1024
# Read in pieces, so that a file that grows while it is read costs no more than the limit.
_PIECE = 1024 * 1024
_LARGER = "is larger than"
_KINDS = (
    (stat.S_ISDIR, "is a folder, not a file"),
    (stat.S_ISFIFO, "is a named pipe, not a file"),
    (stat.S_ISSOCK, "is a socket, not a file"),
    (stat.S_ISCHR, "is a device, not a file"),
    (stat.S_ISBLK, "is a device, not a file"),
)


@dataclass(frozen=True)
class LinkedFile:
    """What reading one linked file gave: its bytes, or why it was left alone (``problem``,
    words that follow the file's name: "is a named pipe, not a file")."""

    path: Path
    data: bytes | None = None
    problem: str = ""

    @property
    def name(self) -> str:
        """The file's name as it can be shown (no control characters)."""
        return printable(self.path.name or str(self.path))


def local_path(src: str) -> Path | None:
    """The file on this computer that an ``<img src>`` names (a file: URL or a path), else None.

    URLs of other kinds (http, data, cid) and file: URLs naming another host are not local.
    """
    parts = urlsplit(src.strip())
    if parts.scheme.lower() == "file":
        if parts.netloc.lower() not in ("", "localhost"):
            return None
    elif parts.scheme or parts.netloc:
        return None
    path = unquote(parts.path, errors="surrogateescape")
    return Path(path) if path else None


def read_linked_file(path: Path, limit: int = MAX_IMAGE_BYTES) -> LinkedFile:
    """path's bytes if it is a regular file of at most limit bytes, else why not; never raises.

    Never blocks on a pipe: opened with O_NONBLOCK (a FIFO put in the file's place after the
    check opens at once) and checked again, on what was opened, before a byte is read.
    """
    if not path.is_absolute():
        return LinkedFile(path, problem="does not say which folder it is in")
    try:
        problem = _problem(os.stat(path), limit)
        if problem:
            return LinkedFile(path, problem=problem)
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
        try:
            problem = _problem(os.fstat(fd), limit)
            data = b"" if problem else _read_at_most(fd, limit + 1)
        finally:
            os.close(fd)
    except (OSError, ValueError) as error:
        return LinkedFile(path, problem=_error_words(error))
    if not problem and len(data) > limit:  # it grew since it was checked
        problem = f"{_LARGER} {format_size(limit)}"
    return LinkedFile(path, problem=problem) if problem else LinkedFile(path, data)


def linked_images_note(files: list[LinkedFile], left_out: list[LinkedFile]) -> str:
    """The status bar's sentence on images a paste took from files, and on those left out."""
    sentences = []
    if files:
        names = ", ".join(f.name for f in files)
        if len(files) == 1:
            sentences.append(f"Pasted 1 image from a file on this computer: {names}.")
        else:
            sentences.append(f"Pasted {len(files)} images from files on this computer: {names}.")
    if left_out:
        reasons = "; ".join(f"{f.name} {f.problem}" for f in left_out)
        noun = "image" if len(left_out) == 1 else "images"
        sentences.append(
            f"Left out {len(left_out)} {noun} that the pasted text took from this computer: "
            f"{reasons}."
        )
        if any(f.problem.startswith(_LARGER) for f in left_out):
            sentences.append("Attach a large image instead, with Attach Files.")
    return " ".join(sentences)


def _problem(found: os.stat_result, limit: int) -> str:
    for is_kind, words in _KINDS:
        if is_kind(found.st_mode):
            return words
    if not stat.S_ISREG(found.st_mode):
        return "is not a regular file"
    if found.st_size > limit:
        return f"{_LARGER} {format_size(limit)}"
    return ""


def _read_at_most(fd: int, size: int) -> bytes:
    pieces: list[bytes] = []
    left = size
    while left > 0:
        piece = os.read(fd, min(left, _PIECE))
        if not piece:
            break
        pieces.append(piece)
        left -= len(piece)
    return b"".join(pieces)


def _error_words(error: OSError | ValueError) -> str:
    if isinstance(error, (FileNotFoundError, NotADirectoryError)):
        return "does not exist"
    if isinstance(error, PermissionError):
        return "cannot be read: you do not have permission"
    if isinstance(error, OSError) and error.strerror:
        return f"could not be read ({error.strerror})"
    return "could not be read"

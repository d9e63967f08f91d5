"""Files on this computer that HTML from elsewhere points at, and reading them only when safe.

A web page can put ``<img src="file:///dev/zero">`` on the clipboard. Only a regular file of
bounded size is read, and a pipe, a device or a socket is never opened in a way that can wait.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from composer.mail.attached_files import printable
from composer.mail.files import LARGER_THAN, FileRefused, read_regular_file

# Larger image files are attached rather than shown inline (and never read from a paste).
MAX_IMAGE_BYTES = 10 * 1024 * 1024


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

    Never blocks on a pipe (see files.read_regular_file).
    """
    if not path.is_absolute():
        return LinkedFile(path, problem="does not say which folder it is in")
    try:
        return LinkedFile(path, read_regular_file(path, limit))
    except FileRefused as refused:
        return LinkedFile(path, problem=str(refused))
    except (OSError, ValueError) as error:
        return LinkedFile(path, problem=_error_words(error))


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
        if any(f.problem.startswith(LARGER_THAN) for f in left_out):
            sentences.append("Attach a large image instead, with Attach Files.")
    return " ".join(sentences)


def _error_words(error: OSError | ValueError) -> str:
    if isinstance(error, (FileNotFoundError, NotADirectoryError)):
        return "does not exist"
    if isinstance(error, PermissionError):
        return "cannot be read: you do not have permission"
    if isinstance(error, OSError) and error.strerror:
        return f"could not be read ({error.strerror})"
    return "could not be read"

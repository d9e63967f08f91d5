"""An attached file as a draft remembers it: where it was, its size, and the copy kept of it."""

from __future__ import annotations

import base64
import contextlib
import itertools
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from composer.mail.draft import Attachment
from composer.mail.text import LINE_BREAKS, is_utf8

# Why no copy is in the draft: the file alone is over the limit, the draft had no room left,
# or the file could not be read when the draft was saved.
LARGE, NO_ROOM, UNREADABLE = "large", "no-room", "unreadable"
_WHY = {
    LARGE: "it was too large to keep a copy of",
    NO_ROOM: "the draft had no room left to keep a copy of it",
    UNREADABLE: "it could not be read when the draft was saved, so no copy was kept",
}
# Longest name, in UTF-8 bytes, given to a restored copy (file systems allow 255).
_MAX_NAME = 200


@dataclass
class AttachedFile:
    """One attachment of a draft: its file as found at save time, and the copy if one is kept."""

    attachment: Attachment
    size: int | None = None
    mtime_ns: int | None = None
    # The file's bytes, when they go into the draft.
    data: bytes | None = None
    not_copied: str = ""
    copy_cid: str | None = None

    def record(self) -> dict[str, Any]:
        """What the draft's X-Composer-Attachment header holds (JSON-able, ASCII once dumped)."""
        encoded = base64.b64encode(os.fsencode(self.attachment.path)).decode("ascii")
        return {
            # In pieces, so that the header line can be folded between them.
            "path": [encoded[i : i + 60] for i in range(0, len(encoded), 60)],
            "filename": self.attachment.filename,
            "content_type": self.attachment.content_type,
            "size": self.size,
            "mtime_ns": self.mtime_ns,
            "copy": self.copy_cid,
            "not_copied": self.not_copied or None,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> AttachedFile:
        """The file a record names; raises ValueError (or TypeError) for one that is damaged."""
        pieces = record["path"]
        if not isinstance(pieces, list) or not all(isinstance(p, str) for p in pieces):
            raise ValueError("not a recorded path")
        raw = base64.b64decode("".join(pieces).encode("ascii"), validate=True)
        attachment = Attachment(
            Path(os.fsdecode(raw)), _text(record, "filename"), _text(record, "content_type")
        )
        copy = record.get("copy")
        return cls(
            attachment,
            size=_number(record, "size"),
            mtime_ns=_number(record, "mtime_ns"),
            not_copied=str(record.get("not_copied") or ""),
            copy_cid=copy if isinstance(copy, str) else None,
        )

    def exists(self) -> bool:
        """True when the file is still a regular file."""
        try:
            return stat.S_ISREG(os.stat(self.attachment.path).st_mode)
        except (OSError, ValueError):
            return False

    def unchanged(self) -> bool:
        """True when the file is still a regular file of the recorded size."""
        try:
            found = os.stat(self.attachment.path)
        except (OSError, ValueError):
            return False
        return stat.S_ISREG(found.st_mode) and self.size in (None, found.st_size)

    def lost_sentence(self, *, damaged: bool = False, reason: str = "") -> str:
        """Why the attachment is not in the loaded draft, for someone who is not an expert."""
        exists = self.exists()
        gone = "changed" if exists else "was moved or deleted"
        if damaged:
            why = "the copy kept in the draft is damaged"
        elif reason:
            why = f"its copy could not be restored: {reason}"
        else:
            why = _WHY.get(self.not_copied, "no copy was kept")
        name, path = printable(self.attachment.name), printable(str(self.attachment.path))
        return (
            f"{name} {gone} since the draft was saved (it {'is' if exists else 'was'} {path}), "
            f"and {why}. Attach it again."
        )

    def changed_sentence(self) -> str:
        """Said when the file changed since the save and the draft's copy is used instead."""
        return (
            f"{printable(self.attachment.name)} changed since the draft was saved "
            f"({printable(str(self.attachment.path))}); the draft keeps the version it was saved "
            "with. Attach the file again to send the new version."
        )


def read_for_copy(attachment: Attachment, limit: int, room: int) -> AttachedFile:
    """attachment's file with its bytes when it is at most limit and fits in room; never raises."""
    try:
        # Non-blocking, so that a named pipe attached by mistake does not hang the save.
        fd = os.open(attachment.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (OSError, ValueError):
        return _uncopied(attachment, UNREADABLE)
    try:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode):
            return AttachedFile(attachment, not_copied=UNREADABLE)
        size, mtime_ns = found.st_size, found.st_mtime_ns
        if size > limit:
            return AttachedFile(attachment, size, mtime_ns, not_copied=LARGE)
        if size > room:
            return AttachedFile(attachment, size, mtime_ns, not_copied=NO_ROOM)
        with os.fdopen(fd, "rb", closefd=False) as stream:
            # As much as fstat said (asking for the limit would allocate all of it first),
            # and, if it grew meanwhile, the rest up to the limit.
            data = stream.read(size + 1)
            if len(data) > size:
                data += stream.read(min(limit, room) + 1 - len(data))
    except OSError:
        return _uncopied(attachment, UNREADABLE)
    finally:
        os.close(fd)
    if len(data) > min(limit, room):  # grew while being read
        return AttachedFile(attachment, len(data), mtime_ns, not_copied=LARGE)
    # os.urandom, as secrets.token_hex uses, without the secrets module (hmac) at start.
    cid = f"attachment.{os.urandom(8).hex()}@composer.draft"
    return AttachedFile(attachment, len(data), mtime_ns, data, copy_cid=cid)


def _uncopied(attachment: Attachment, why: str) -> AttachedFile:
    try:
        found = os.stat(attachment.path)
    except (OSError, ValueError):
        return AttachedFile(attachment, not_copied=why)
    return AttachedFile(attachment, found.st_size, found.st_mtime_ns, not_copied=why)


def restore_copy(files_dir: Path, name: str, data: bytes) -> Path:
    """A file in files_dir (made private) holding data, named after name; raises OSError.

    A file there with the same name and bytes is reused, so loading a draft twice does not
    make a second copy.
    """
    _private_folder(files_dir.parent)
    _private_folder(files_dir)
    safe = safe_file_name(name)
    stem, dot, extension = safe.rpartition(".")
    if not stem:
        stem, dot, extension = safe, "", ""
    for number in itertools.count(1):
        candidate = files_dir / (safe if number == 1 else f"{stem} ({number}){dot}{extension}")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(candidate, flags, 0o600)
        except FileExistsError:
            if _holds(candidate, data):
                return candidate
            continue
        try:
            with os.fdopen(fd, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
        except BaseException:
            with contextlib.suppress(OSError):
                candidate.unlink()
            raise
        return candidate
    raise AssertionError("unreachable")


def safe_file_name(name: str) -> str:
    """name as a plain file name: no folders, no leading dot, no control characters."""
    name = printable(name)
    name = "".join("_" if c in "/\\:" else c for c in name).lstrip(". ").rstrip()
    while len(name.encode("utf-8")) > _MAX_NAME:
        stem, dot, extension = name.rpartition(".")
        name = f"{stem[:-1]}{dot}{extension}" if stem and len(extension) < 20 else name[:-1]
    return name or "attachment"


def printable(text: str) -> str:
    """text with control characters replaced, and undecodable bytes (from file names) too."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return "".join("_" if ord(c) < 32 or c in LINE_BREAKS or c == "\x7f" else c for c in text)


def _private_folder(path: Path) -> None:
    if not path.is_dir():
        # The Drafts folder itself may not exist yet (nothing was saved in it before).
        path.mkdir(mode=0o700, parents=True, exist_ok=True)


def _holds(path: Path, data: bytes) -> bool:
    try:
        found = os.lstat(path)
        return (
            stat.S_ISREG(found.st_mode) and found.st_size == len(data) and path.read_bytes() == data
        )
    except OSError:
        return False


def _text(record: dict[str, Any], key: str) -> str:
    value = record.get(key, "")
    # Lone surrogates (JSON "\udcxx" escapes) are no text a file name or type can be sent as.
    if not isinstance(value, str) or not is_utf8(value):
        raise ValueError(f"{key} is not text")
    return value


def _number(record: dict[str, Any], key: str) -> int | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{key} is not a number")
    return value

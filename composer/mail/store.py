"""Folders of .eml files (Drafts, Outbox, Sent): each file written all or nothing.

A stored message is a standard RFC 5322 message. Composer's own facts about it that no
standard header holds go in ``X-Composer-*`` header lines before the message itself; they are
never sent (``split_composer_headers`` gives the offset where the message starts).
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from composer.mail.files import (
    FileRefused,
    atomic_writer,
    open_regular_file,
    set_aside,
    sync_files,
    sync_folder,
)

# Keys name files: time-ordered, so sorting keys sorts by creation.
_KEY = re.compile(r"[0-9a-z]{1,40}(-[0-9a-z]{1,16})?")
_PREFIX = b"X-Composer-"
# A write of at most this many bytes at the start of a file lands in one page of the page
# cache, so it is never cut short by Composer's own end (see overwrite_state).
_ONE_PAGE = 4096
# A line of Composer's own headers is short; a longer one is not ours.
_MAX_HEADER_LINE = 8192
_MAX_HEADERS = 200


class StoreError(Exception):
    """A stored file is missing or is not one Composer wrote; str() says which, in words."""


def new_key() -> str:
    """A fresh, unique file key that sorts after every key made before it."""
    # os.urandom, as secrets.token_hex uses, without the secrets module (hmac, hashlib) at start.
    return f"{time.time_ns():016x}-{os.urandom(4).hex()}"


# One pattern for the whole value: a flush of many messages writes eleven values for each.
_PRINTABLE_ASCII = re.compile(r"[ -~]*")


def composer_headers(values: Mapping[str, str]) -> bytes:
    """``X-Composer-<name>: <value>`` lines (CRLF) for values, in order.

    Values must be printable ASCII on one line: callers encode anything else (JSON with
    ensure_ascii, base64) so that no value can ever start a header of its own.
    """
    lines = []
    for name, value in values.items():
        if not re.fullmatch(r"[A-Za-z0-9-]+", name):
            raise ValueError(f"not a header name: {name!r}")
        if not _PRINTABLE_ASCII.fullmatch(value):
            raise ValueError(f"X-Composer-{name} must be printable ASCII on one line")
        lines.append(f"X-Composer-{name}: {value}\r\n".encode("ascii"))
    return b"".join(lines)


def split_composer_headers(stream: BinaryIO) -> tuple[dict[str, str], int]:
    """Read the leading X-Composer-* lines of stream; returns them by name and the offset of
    the first byte after them (where the message itself starts). Leaves stream there."""
    values: dict[str, str] = {}
    offset = stream.tell()
    for _ in range(_MAX_HEADERS):
        line = stream.readline(_MAX_HEADER_LINE)
        if not line.startswith(_PREFIX) or not line.endswith(b"\r\n"):
            break
        name, colon, value = line[len(_PREFIX) : -2].partition(b":")
        if not colon:
            break
        values[name.decode("ascii", "replace")] = value.strip().decode("ascii", "replace")
        offset += len(line)
    stream.seek(offset)
    return values, offset


class MessageFolder:
    """One folder of stored messages, ``<key>.eml``, each with an optional ``<key>.json``
    holding state that changes more often than the message (so the message is written once).

    Safe to use from worker threads; every write is atomic (see files.atomic_writer), so a
    crash at any instant leaves the old file or the new one. A new folder is private (0700).
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def file(self, key: str) -> Path:
        """The .eml file of key (which may not exist)."""
        return self.path / f"{_checked(key)}.eml"

    def keys(self) -> list[str]:
        """Keys of the stored messages, oldest first."""
        try:
            names = os.listdir(self.path)
        except (FileNotFoundError, NotADirectoryError):
            return []
        keys = (name[:-4] for name in names if name.endswith(".eml"))
        return sorted(key for key in keys if _KEY.fullmatch(key))

    def write(self, key: str, pieces: Iterable[bytes], *, durable: bool = True) -> int:
        """Store the bytes of pieces as key's message, all or nothing; returns the byte count.

        Not durable: see atomic_writer; sync_written() makes such writes durable later."""
        self._ensure_folder()
        written = 0
        with atomic_writer(self.file(key), durable=durable) as stream:
            for piece in pieces:
                stream.write(piece)
                written += len(piece)
        return written

    def read(self, key: str) -> bytes:
        try:
            return self.file(key).read_bytes()
        except FileNotFoundError:
            raise StoreError(f"The message {key} is no longer in {self.path}.") from None

    def open(self, key: str) -> BinaryIO:
        """key's message to read; raises StoreError when it is gone or is not a file (a pipe
        put there would hold the reading thread for ever: it is refused unread)."""
        path = self.file(key)
        try:
            return open_regular_file(path)
        except FileNotFoundError:
            raise StoreError(f"The message {key} is no longer in {self.path}.") from None
        except FileRefused as refused:
            raise StoreError(f"{path} {refused}.") from None

    def exists(self, key: str) -> bool:
        return self.file(key).exists()

    def write_state(self, key: str, state: Mapping[str, Any], *, durable: bool = True) -> None:
        """Store key's state (JSON-able values), all or nothing; durable as atomic_writer."""
        self._ensure_folder()
        with atomic_writer(self._state_file(key), durable=durable) as stream:
            stream.write(_state_text(state))

    def overwrite_state(self, key: str, state: Mapping[str, Any]) -> None:
        """Store key's state over its state file, in place and not synced: one write to a file
        that is there already, where write_state makes a new file and renames it (each a
        change to the folder, a journal entry of the file system: about 0.2 ms here, more
        than the rest of a small message's send).

        Only for a state that recovery can do without, as write_state(durable=False) is: a
        crash of Composer alone leaves the old state or the new one, as the bytes go in one
        write within one page; a power cut may leave either, or a state that cannot be read,
        which recovery treats as unknown. The text is padded with spaces (which JSON allows)
        to the old length, so nothing of the old state is left behind it. Where there is no
        regular state file to write over, or the text is longer than a page, it is
        write_state(durable=False).
        """
        text = _state_text(state)
        flags = os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(self._state_file(key), flags | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            self.write_state(key, state, durable=False)
            return
        try:
            found = os.fstat(fd)
            data = text.ljust(found.st_size, b" ")
            # A second name for the file (a hard link) would see the write as well.
            fits = len(data) <= _ONE_PAGE
            if stat.S_ISREG(found.st_mode) and found.st_nlink == 1 and fits:  # noqa: SIM102
                # Only a whole write is one; after a short one, the atomic rewrite below.
                if os.write(fd, data) == len(data):
                    return
        finally:
            os.close(fd)
        self.write_state(key, state, durable=False)

    def sync_written(self, keys: Iterable[str]) -> None:
        """Make messages written with durable=False durable, with their names: one sync of
        the file system where it can be had (Linux), else each file and then the folder.
        Raises OSError."""
        sync_files(self.path, [self.file(key) for key in keys])

    def read_state(self, key: str) -> dict[str, Any] | None:
        """key's state; None when there is none or it cannot be read as Composer wrote it."""
        path = self._state_file(key)
        if not path.is_file():
            return None  # missing, or a folder or a pipe in its place (never opened)
        import json  # here: an empty folder is opened at start without it

        try:
            loaded = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return loaded if isinstance(loaded, dict) else None

    def delete(self, key: str, *, durable: bool = True) -> None:
        """Remove key's message and state; nothing happens if they are gone already.

        Not durable: the folder is not synced, so a power cut may bring them back."""
        removed = False
        for path in (self.file(key), self._state_file(key)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed = True
        if removed and durable:
            with contextlib.suppress(OSError):  # the files themselves are gone
                sync_folder(self.path)

    def set_aside_if_not_folder(self) -> str:
        """When a file (anything but a folder) stands where the folder should be, move it
        aside so that a new folder can be made; returns a sentence saying so, or ""."""
        if not os.path.lexists(self.path) or self.path.is_dir():
            return ""
        try:
            kept = set_aside(self.path)
        except OSError as error:
            return (
                f"{self.path} should be a folder but is a file, and Composer could not move it "
                f"aside ({error.strerror or error}); nothing can be kept there until it is "
                "moved or renamed."
            )
        return (
            f"{self.path} should be a folder but was a file; it was moved to {kept}, and "
            "Composer makes a new folder there."
        )

    def is_message_file(self, key: str) -> bool:
        """True when key's .eml is a regular file (not a folder or a device in its place)."""
        return self.file(key).is_file()

    def state_is_damaged(self, key: str) -> bool:
        """True when key's state file is there but is not what write_state writes."""
        path = self._state_file(key)
        return os.path.lexists(path) and self.read_state(key) is None

    def set_aside(self, key: str, *, state_only: bool = False) -> list[Path]:
        """Move key's message and state (or only its state) to ``.broken-<time>`` names
        beside them, never deleting them; returns where they went."""
        paths = [self._state_file(key)] if state_only else [self.file(key), self._state_file(key)]
        return [set_aside(path) for path in paths if os.path.lexists(path)]

    def tidy(self) -> list[str]:
        """At start-up, before anything is written: move a file standing where the folder
        should be aside, and sweep; returns a sentence for what was moved."""
        said = [s for s in [self.set_aside_if_not_folder()] if s]
        self.sweep()
        return said

    def sweep(self) -> list[Path]:
        """Remove what interrupted writes left behind (temporary files, state without a
        message); returns what was removed. Call before any write of this run starts."""
        removed: list[Path] = []
        try:
            entries = list(os.scandir(self.path))
        except (FileNotFoundError, NotADirectoryError):
            return removed
        messages = {e.name[:-4] for e in entries if e.name.endswith(".eml")}
        for entry in entries:
            stray = entry.name.startswith(".") and entry.name.endswith(".tmp")
            orphan = entry.name.endswith(".json") and entry.name[:-5] not in messages
            if (stray or orphan) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
        return removed

    def _state_file(self, key: str) -> Path:
        return self.path / f"{_checked(key)}.json"

    def _ensure_folder(self) -> None:
        if not self.path.is_dir():
            self.path.mkdir(parents=True, exist_ok=True, mode=0o700)


def _state_text(state: Mapping[str, Any]) -> bytes:
    import json

    return json.dumps(dict(state), ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")


def _checked(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise ValueError(f"not a message key: {key!r}")
    return key

"""Attachment bodies, read and base64-encoded only while a message is written out."""

from __future__ import annotations

import binascii
import io
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from composer.mail.errors import ErrorKind, SendError
from composer.mail.sizes import BASE64_LINE_INPUT, BASE64_LINE_LENGTH, base64_wire_size

# Read and encode this much at a time: a multiple of 57, so every piece but the last ends on a
# full 76-character line. Encoding one piece takes about half a millisecond, and the GIL is
# released between pieces; one call over a whole 25 MB file would hold it for ~0.2 s.
PIECE_INPUT = 1024 * BASE64_LINE_INPUT

_AGAIN = "Your message is unchanged: attach the file again or remove it."


@dataclass(frozen=True)
class StreamedBody:
    """A part's body that stands in the built message as one placeholder line.

    It comes from a file (``path``; ``size`` and ``mtime_ns`` are what the file was when the
    message was built) or from memory (``data``, for images pasted into the body).
    """

    placeholder: bytes
    name: str
    size: int
    path: Path | None = None
    data: bytes = field(default=b"", repr=False)
    mtime_ns: int = 0

    @classmethod
    def from_file(cls, placeholder: bytes, path: Path, name: str) -> StreamedBody:
        """Check that path is a readable file, without reading it; raises SendError(FILE)."""
        with _open_regular(path, name) as file:
            info = os.fstat(file.fileno())
        return cls(placeholder, name, info.st_size, path, mtime_ns=info.st_mtime_ns)

    @classmethod
    def from_bytes(cls, placeholder: bytes, data: bytes, name: str) -> StreamedBody:
        return cls(placeholder, name, len(data), data=data)

    def check(self) -> None:
        """Raise SendError(FILE) if the file is gone, unreadable or changed since it was built."""
        if self.path is None:
            return
        with self._open() as file:
            info = os.fstat(file.fileno())
        if (info.st_size, info.st_mtime_ns) != (self.size, self.mtime_ns):
            raise self._changed()

    @property
    def wire_size(self) -> int:
        """The encoded body's length on the wire."""
        return base64_wire_size(self.size)

    @property
    def line_count(self) -> int:
        return -(-self.size // BASE64_LINE_INPUT)

    def pieces(self) -> Iterator[bytes]:
        """The body as base64 lines ending in CRLF, a bounded piece at a time."""
        if self.path is None:
            view = memoryview(self.data)
            for start in range(0, self.size, PIECE_INPUT):
                yield encode_lines(view[start : start + PIECE_INPUT])
                time.sleep(0)  # let the GUI thread have the GIL
            return
        with self._open() as file:
            opened = os.fstat(file.fileno())
            if (opened.st_size, opened.st_mtime_ns) != (self.size, self.mtime_ns):
                raise self._changed()
            remaining = self.size
            while remaining:
                piece = self._read(file, min(PIECE_INPUT, remaining))
                remaining -= len(piece)
                yield encode_lines(piece)
                time.sleep(0)
            end = os.fstat(file.fileno())
            if self._read(file, 1, exact=False) or end.st_mtime_ns != opened.st_mtime_ns:
                raise self._changed()

    def first_and_last_lines(self) -> tuple[bytes, bytes]:
        """The first and the last base64 line (CRLF included), reading only those bytes."""
        if not self.size:
            return b"", b""
        if self.path is None:
            tail = (self.line_count - 1) * BASE64_LINE_INPUT
            return encode_lines(self.data[:BASE64_LINE_INPUT]), encode_lines(self.data[tail:])
        with self._open() as file:
            if os.fstat(file.fileno()).st_size != self.size:
                raise self._changed()
            first = self._read(file, min(BASE64_LINE_INPUT, self.size))
            file.seek((self.line_count - 1) * BASE64_LINE_INPUT)
            last = self._read(file, self.size - file.tell())
        return encode_lines(first), encode_lines(last)

    def _open(self) -> io.BufferedReader:
        assert self.path is not None
        return _open_regular(self.path, self.name)

    def _read(self, file: io.BufferedReader, size: int, *, exact: bool = True) -> bytes:
        assert self.path is not None
        try:
            data = file.read(size)
        except OSError as error:
            raise _file_error(self.name, self.path, _reason(error)) from error
        # A regular file gives fewer bytes than asked for only at its end.
        if exact and len(data) != size:
            raise self._changed()
        return data

    def _changed(self) -> SendError:
        return SendError(
            ErrorKind.FILE,
            f"The attached file {self.name} changed on disk while Composer was using it "
            f"({self.path}). {_AGAIN}",
        )


def encode_lines(data: bytes | memoryview) -> bytes:
    """data as base64 in 76-character lines, each ending in CRLF (b"" for no data)."""
    encoded = binascii.b2a_base64(data, newline=False)
    lines = [
        encoded[i : i + BASE64_LINE_LENGTH] for i in range(0, len(encoded), BASE64_LINE_LENGTH)
    ]
    lines.append(b"")
    return b"\r\n".join(lines) if len(lines) > 1 else b""


def _open_regular(path: Path, name: str) -> io.BufferedReader:
    """path opened for reading; raises SendError(FILE) unless it is a readable regular file."""
    try:
        # Non-blocking, so that a named pipe put where the file was cannot hang the open.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_BINARY", 0))
    except OSError as error:
        raise _file_error(name, path, _reason(error)) from error
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise _file_error(name, path, f"it is {kind}")
    return os.fdopen(fd, "rb")


def _file_error(name: str, path: Path, reason: str) -> SendError:
    return SendError(
        ErrorKind.FILE, f"The attached file {name} cannot be read: {reason} ({path}). {_AGAIN}"
    )


def _reason(error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return "it no longer exists"
    if isinstance(error, PermissionError):
        return "permission denied"
    return (error.strerror or str(error)).lower()

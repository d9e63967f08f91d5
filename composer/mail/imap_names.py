"""IMAP folder names: modified UTF-7 (RFC 3501 5.1.3), quoting, and LIST replies read."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

# A LIST reply: (attributes) delimiter name; the name is quoted, an atom, or a literal that
# imaplib hands over separately.
_LIST = re.compile(rb'\((?P<flags>[^)]*)\)\s+(?P<delimiter>"(?:[^"\\]|\\.)*"|NIL)\s+(?P<name>.*)')
_LITERAL = re.compile(rb"\{\d+\+?\}$")


class FolderNameError(ValueError):
    """A folder name that cannot be read (not valid modified UTF-7)."""


def encode_folder(name: str) -> str:
    """name in modified UTF-7, as IMAP folder names go over the wire (ASCII)."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append(
                "&" + base64.b64encode(raw).decode("ascii").rstrip("=").replace("/", ",") + "-"
            )
            pending.clear()

    for char in name:
        if " " <= char <= "~":
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def decode_folder(wire: str) -> str:
    """A folder name as the server wrote it, in modified UTF-7, as text."""
    out: list[str] = []
    index = 0
    while index < len(wire):
        char = wire[index]
        if char != "&":
            out.append(char)
            index += 1
            continue
        end = wire.find("-", index)
        if end < 0:
            raise FolderNameError(f"unterminated shift in folder name {wire!r}")
        chunk = wire[index + 1 : end]
        if not chunk:
            out.append("&")
        else:
            padded = chunk.replace(",", "/") + "=" * (-len(chunk) % 4)
            try:
                out.append(base64.b64decode(padded, validate=True).decode("utf-16-be"))
            except (binascii.Error, UnicodeDecodeError) as error:
                raise FolderNameError(f"folder name {wire!r} is not modified UTF-7") from error
        index = end + 1
    return "".join(out)


def quoted(wire: str) -> str:
    """An ASCII folder name as an IMAP quoted string."""
    if any(c in wire for c in "\r\n\0") or not wire.isascii():
        raise FolderNameError("a folder name on the wire is ASCII on one line")
    return '"' + wire.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class ListedFolder:
    """One LIST reply: the name as the server wrote it, and its attributes (lowercase)."""

    wire: str
    attributes: frozenset[str]

    @property
    def name(self) -> str:
        """The name as people read it (the wire name if it is not valid modified UTF-7)."""
        try:
            return decode_folder(self.wire)
        except FolderNameError:
            return self.wire


def parse_list(data: list[bytes | tuple[bytes, bytes] | None]) -> list[ListedFolder]:
    """LIST replies as imaplib returns them; lines that cannot be read are skipped."""
    found: list[ListedFolder] = []
    for item in data:
        if item is None:
            continue
        literal: bytes | None = None
        line = item
        if isinstance(item, tuple):
            line, literal = item[0], item[1]
        assert isinstance(line, bytes)
        match = _LIST.match(line.strip())
        if match is None:
            continue
        raw = match["name"].strip()
        if literal is not None and _LITERAL.search(raw):
            name = literal
        elif raw.startswith(b'"') and raw.endswith(b'"') and len(raw) >= 2:
            name = re.sub(rb"\\(.)", rb"\1", raw[1:-1])
        else:
            name = raw
        attributes = frozenset(a.lower() for a in match["flags"].decode("ascii", "replace").split())
        found.append(ListedFolder(name.decode("utf-8", "replace"), attributes))
    return found


def sent_folder(folders: list[ListedFolder]) -> ListedFolder | None:
    """The folder marked \\Sent (RFC 6154), if the server marks one."""
    return next((f for f in folders if "\\sent" in f.attributes), None)

"""The Drafts folder: drafts saved as .eml files, which windows had them open, and clean-up."""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import stat
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

from composer.mail.draft import Draft
from composer.mail.files import broken_copy_path
from composer.mail.store import MessageFolder, StoreError

if TYPE_CHECKING:
    from datetime import datetime
    from email.headerregistry import Address
    from email.message import Message

    # The draft file's format (most of the email package) is loaded at the first draft
    # written or read, not to open a window.
    from composer.mail.draft_file import LoadedDraft

# Copies of attached files restored from drafts live here, one folder per draft key.
FILES = ".files"
# The header block of a draft is read in pieces this large, up to _MAX_HEADER bytes.
_PIECE = 64 * 1024
_MAX_HEADER = 4 * 1024 * 1024


class DraftSummary(NamedTuple):
    """What the Drafts list shows of one draft, read from its headers only."""

    key: str
    subject: str
    to: str
    saved_at: datetime | None
    size: int
    window_open: bool


class DraftStore:
    """Drafts in one MessageFolder; every method may be called from a worker thread."""

    def __init__(self, folder: MessageFolder) -> None:
        self.folder = folder

    def save(
        self, key: str, draft: Draft, *, sender: Address | None, message_id: str, saved_at: datetime
    ) -> None:
        """Store draft as key's .eml, all or nothing."""
        from composer.mail.draft_file import draft_pieces

        pieces = draft_pieces(draft, sender=sender, message_id=message_id, saved_at=saved_at)
        self.folder.write(key, pieces)

    def files_dir(self, key: str) -> Path:
        """Where copies of key's attached files are restored."""
        return self.folder.path / FILES / self.folder.file(key).stem

    def load(self, key: str) -> LoadedDraft:
        """key's draft; raises StoreError when it is gone, DraftFileError when it is damaged
        (the file is then moved aside, and the error says where it was kept)."""
        from composer.mail.draft_file import DraftFileError, decode_draft

        data = self.folder.read(key)
        try:
            return decode_draft(data, files_dir=self.files_dir(key))
        except DraftFileError as error:
            kept = self._set_aside(key)
            raise DraftFileError(f"{error} It was kept as {kept}.") from error

    def summaries(self) -> list[DraftSummary]:
        """Every draft, oldest first, from its headers (attachments are not read)."""
        result = []
        for key in self.folder.keys():  # noqa: SIM118 - a folder, not a dict
            try:
                with self.folder.open(key) as stream:
                    size = os.fstat(stream.fileno()).st_size
                    parsed = _headers(stream)
            except (OSError, StoreError):
                continue  # deleted meanwhile
            result.append(
                DraftSummary(
                    key,
                    _typed(parsed, "Subject"),
                    _typed(parsed, "To"),
                    _date(parsed),
                    size,
                    self._window_open(key),
                )
            )
        return result

    def set_window_open(self, key: str, open: bool) -> None:
        """Record whether key's draft is open in a window (kept beside it, not in it)."""
        state = self.folder.read_state(key) or {}
        if open:
            state["window"] = "open"
        else:
            state.pop("window", None)
        self.folder.write_state(key, state)

    def open_in_windows(self) -> list[str]:
        """Keys of drafts whose window was open (after a crash: the ones to reopen)."""
        keys = self.folder.keys()
        return [key for key in keys if self._window_open(key)]

    def delete(self, key: str) -> None:
        """Remove key's draft, its state and its restored copies; nothing outside the folder."""
        self.folder.delete(key)
        self._remove_files_dir(self.folder.file(key).stem)

    def recover(self) -> list[str]:
        """Clean up at start-up, before any save; returns sentences for drafts set aside."""
        said = self.folder.tidy()
        keys = set(self.folder.keys())
        for key in sorted(keys):
            try:
                parsed = self._draft_headers(key)
            except OSError as error:
                said.append(f"A draft in {self.folder.path} could not be read ({error}).")
                continue
            if parsed is None or str(parsed.get("X-Composer-Draft", "")).strip() != "1":
                try:
                    kept = self._set_aside(key)
                except OSError as error:
                    said.append(f"A draft was damaged and could not be moved aside ({error}).")
                    continue
                keys.discard(key)
                said.append(f"A draft was damaged and could not be opened; it was kept as {kept}.")
            elif self.folder.state_is_damaged(key):
                said.append(self._set_state_aside(key, parsed))
        files = self.folder.path / FILES
        if _is_real_dir(files):
            for entry in os.scandir(files):
                if entry.name not in keys:
                    self._remove_files_dir(entry.name)
        return said

    def _draft_headers(self, key: str) -> Message | None:
        """key's header block; None when what stands there is not a file (a folder, say)."""
        if not self.folder.is_message_file(key):
            return None
        try:
            with self.folder.open(key) as stream:
                return _headers(stream)
        except StoreError:
            return None

    def _set_state_aside(self, key: str, headers: Message) -> str:
        subject = _typed(headers, "Subject") or "(no subject)"
        try:
            [kept] = self.folder.set_aside(key, state_only=True)
        except (OSError, ValueError) as error:
            return f"What Composer noted about the draft “{subject}” could not be read ({error})."
        return (
            f"What Composer noted about the draft “{subject}” could not be read; that note was "
            f"kept as {kept}. The draft itself is whole, in Folders ▸ Drafts."
        )

    def _window_open(self, key: str) -> bool:
        return (self.folder.read_state(key) or {}).get("window") == "open"

    def _set_aside(self, key: str) -> Path:
        source = self.folder.file(key)
        kept = broken_copy_path(source)
        os.replace(source, kept)
        return kept

    def _remove_files_dir(self, name: str) -> None:
        files = self.folder.path / FILES
        if not _is_real_dir(files) or name in ("", ".", "..") or "/" in name or os.sep in name:
            return  # a .files that is a link leads outside the folder: leave it alone
        target = files / name
        try:
            found = os.lstat(target)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(found.st_mode):
            # rmtree does not follow links inside (and refuses a link at the top).
            shutil.rmtree(target, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                target.unlink()  # a link or a stray file: only the entry itself goes


def _is_real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _header_block(stream: BinaryIO) -> bytes:
    """The bytes up to the first empty line (or all, if shorter)."""
    data = b""
    while len(data) < _MAX_HEADER:
        piece = stream.read(_PIECE)
        if not piece:
            break
        data += piece
        for end in (b"\r\n\r\n", b"\n\n"):
            if end in data:
                return data[: data.index(end) + len(end)]
    return data


def _headers(stream: BinaryIO) -> Message:
    # The email package's parser is loaded at the first draft listed, not to open a window.
    from email.parser import BytesHeaderParser
    from email.policy import default

    return BytesHeaderParser(policy=default).parsebytes(_header_block(stream))


def _typed(headers: Message, name: str) -> str:
    """A field as typed; from the standard header for a draft that has no typed copy."""
    typed = headers.get(f"X-Composer-Typed-{name}")
    if typed is not None:
        encoded = "".join(str(typed).split()).encode("ascii", "replace")
        with contextlib.suppress(ValueError):
            return base64.b64decode(encoded, validate=True).decode("utf-8", "surrogatepass")
    return str(headers.get(name, ""))


def _date(headers: Message) -> datetime | None:
    try:
        from email.utils import parsedate_to_datetime

        return parsedate_to_datetime(str(headers.get("Date", "")))
    except (TypeError, ValueError, IndexError):
        return None

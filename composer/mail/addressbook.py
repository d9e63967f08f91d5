"""Every address Composer has sent to, kept in SQLite and searched in memory."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from composer.mail.addresses import mailbox_key, new_address
from composer.mail.files import broken_copy_path

if TYPE_CHECKING:
    import sqlite3
    from email.headerregistry import Address

log = logging.getLogger(__name__)

# 2: entries keyed by addresses.mailbox_key; 1 keyed them by the whole address case-folded.
SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS addresses (
    key TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    username TEXT NOT NULL,
    domain TEXT NOT NULL,
    use_count INTEGER NOT NULL,
    last_used REAL NOT NULL
)
"""
# Counted in SQL rather than written from memory, so that two books on one file (two
# processes, say) add up instead of overwriting each other. The same rules as _updated():
# right-hand sides see the row as it was before the update.
_RECORD = """
INSERT INTO addresses (key, display_name, username, domain, use_count, last_used)
VALUES (?, ?, ?, ?, 1, ?)
ON CONFLICT (key) DO UPDATE SET
    use_count = use_count + 1,
    last_used = max(last_used, excluded.last_used),
    display_name = CASE
        WHEN display_name = '' THEN excluded.display_name
        WHEN excluded.display_name = '' THEN display_name
        WHEN excluded.last_used >= last_used THEN excluded.display_name
        ELSE display_name END,
    username = CASE WHEN excluded.last_used >= last_used THEN excluded.username ELSE username END,
    domain = CASE WHEN excluded.last_used >= last_used THEN excluded.domain ELSE domain END
"""
_READ = "SELECT key, display_name, username, domain, use_count, last_used FROM addresses"
# Moving a row to its new key: two old rows for one new key add up (cannot happen from
# schema 1, whose keys were coarser, but costs nothing to allow).
_REKEY = """
INSERT INTO addresses (key, display_name, username, domain, use_count, last_used)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET
    use_count = use_count + excluded.use_count,
    last_used = max(last_used, excluded.last_used)
"""
# Where a word starts: a letter or digit that does not follow another one.
_WORD_START = re.compile(r"(?<![^\W_])[^\W_]")
# How long to wait for another process's write lock before giving up on one write.
_BUSY_TIMEOUT = 5.0
# SQLite's primary result codes for a damaged file, SQLITE_CORRUPT and SQLITE_NOTADB
# (extended codes keep them in the low byte); by number, as sqlite3 is imported at the load.
_DAMAGED = {11, 26}


def fold(text: str) -> str:
    """Text as search compares it: NFC-normalised and case-folded (``Straße`` ~ ``STRASSE``)."""
    import unicodedata  # here: first used on the loader's thread, not before the first frame

    return unicodedata.normalize("NFC", text).casefold()


def address_key(address: Address) -> str:
    """One entry per mailbox: the domain's case does not matter, the local part's does."""
    return mailbox_key(address.addr_spec)


class _Entry:
    __slots__ = ("address", "count", "haystack", "last_used", "spec")

    def __init__(self, address: Address, count: int, last_used: float) -> None:
        self.address = address
        self.count = count
        self.last_used = last_used
        name = fold(address.display_name)
        self.spec = fold(address.addr_spec)
        # Everything a search may match the start of (the address, and the name from each
        # word on), each after a NUL: "does any start with q" becomes one substring test in C.
        tails = [name[m.start() :] for m in _WORD_START.finditer(name)]
        self.haystack = "\0" + "\0".join([self.spec, *tails])


class AddressBook:
    """Remembers recipients; record() from any thread, search() from the GUI thread.

    Once the book is loaded (load_once(), which the running Composer calls off the GUI
    thread), search() only reads the in-memory index, so it never waits for the disk:
    record() updates the index under a short lock, then writes through to SQLite under
    another.
    """

    def __init__(self, path: Path, report: Callable[[str], None] | None = None) -> None:
        self.path = path
        # Tells the user (from any thread) that addresses could not be saved: once, until a
        # save works again, not at every message sent.
        self._report = report or (lambda text: None)
        self._failing = False
        self._entries: dict[str, _Entry] = {}
        self._index_lock = threading.Lock()
        # Held while using the one SQLite connection, which every thread shares.
        self._db_lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._loaded = False

    def load(self) -> list[str]:
        """Open the database and read it into memory; returns what the user should be told.

        A missing or empty file starts an empty book; a damaged one is moved aside and a fresh
        one started. If the file cannot be opened at all, addresses are kept for this session.
        """
        with self._db_lock:
            return self._load()

    def load_once(self) -> list[str]:
        """load(), unless the book is loaded already (or is being loaded: then once that is
        done); returns what the user should be told."""
        with self._db_lock:
            return [] if self._loaded else self._load()

    def record(self, addresses: Iterable[Address], when: float | None = None) -> None:
        """Count one more use of each address; never raises for a storage problem."""
        import sqlite3

        when = time.time() if when is None else when
        with self._db_lock:
            if not self._loaded:
                for warning in self._load():
                    log.warning("%s", warning)
            unique = _once_each(addresses)
            with self._index_lock:
                for key, address in unique.items():
                    self._entries[key] = self._updated(self._entries.get(key), address, when)
            rows = [(key, a.display_name, a.username, a.domain, when) for key, a in unique.items()]
            if rows and self._db is not None:
                try:
                    with self._db:
                        self._db.executemany(_RECORD, rows)
                except sqlite3.Error as error:
                    log.warning("could not save addresses to %s: %s", self.path, error)
                    if not self._failing:
                        self._failing = True
                        self._report(
                            f"Composer could not save addresses in the address book "
                            f"{self.path} ({error}). They are suggested until Composer quits, "
                            "and it tries again with the next message sent."
                        )
                else:
                    self._failing = False

    def search(self, text: str, limit: int = 10) -> list[Address]:
        """Addresses whose address, or a word of whose name, starts with text.

        Most used first, then most recently used.
        """
        folded = fold(text.strip()).replace("\0", "")
        if not folded or limit <= 0:
            return []
        if not self._loaded:
            # Loaded off the GUI thread once the first window is up; a search before that
            # waits for it, or loads the book itself.
            for warning in self.load_once():
                log.warning("%s", warning)
        needle = "\0" + folded
        with self._index_lock:
            found = [e for e in self._entries.values() if needle in e.haystack]
        import heapq  # here: a window opens without it (the warm-up brings it)

        best = heapq.nsmallest(limit, found, key=lambda e: (-e.count, -e.last_used, e.spec))
        return [entry.address for entry in best]

    def close(self) -> None:
        """Close the database; later record() calls reopen it."""
        with self._db_lock:
            if self._db is not None:
                self._db.close()
            self._db = None
            self._loaded = False

    # --- storage ------------------------------------------------------------------------------

    @staticmethod
    def _updated(old: _Entry | None, address: Address, when: float) -> _Entry:
        if old is None:
            return _Entry(address, 1, when)
        # The spelling and name used last win; an empty name does not erase a known one.
        latest, other = (address, old.address) if when >= old.last_used else (old.address, address)
        name = latest.display_name or other.display_name
        merged = new_address(name, latest.username, latest.domain)
        return _Entry(merged, old.count + 1, max(old.last_used, when))

    def _load(self) -> list[str]:
        import sqlite3

        if self._db is not None:
            self._db.close()
            self._db = None
        if self.path.is_dir():
            return self._set_aside("a folder stands where the file should be")
        if self.path.exists() and not self.path.is_file():
            # SQLite gives a named pipe or a device only "disk I/O error", for ever.
            return self._set_aside("a named pipe or a device stands where the file should be")
        try:
            self._db, entries = self._open()
        except sqlite3.Error as error:
            if (getattr(error, "sqlite_errorcode", 0) & 0xFF) not in _DAMAGED:
                return self._unavailable(str(error))
            return self._set_aside(f"it is damaged ({error})")
        except _Damaged as error:
            return self._set_aside(f"it is damaged ({error})")
        except _NewerSchema as error:
            return self._set_aside(f"it was written by a newer Composer (version {error})")
        except OSError as error:
            return self._unavailable(str(error))
        self._replace_entries(entries)
        return []

    def _replace_entries(self, entries: dict[str, _Entry]) -> None:
        with self._index_lock:
            self._entries = entries
        self._loaded = True

    def _open(self) -> tuple[sqlite3.Connection, dict[str, _Entry]]:
        import sqlite3

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            # Who someone writes to is private: readable by its owner only, like settings.json.
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT, check_same_thread=False)
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise _NewerSchema(version)
            problems = [row[0] for row in db.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise _Damaged("; ".join(problems[:3]))
            with db:
                db.execute(_SCHEMA)
                if version == 1:
                    _rekey(db)
                if version != SCHEMA_VERSION:
                    # Only then: setting it writes (and syncs) the file, at every start else.
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            entries = {}
            skipped = 0
            for row in db.execute(_READ):
                entry = _entry_from_row(row)
                if entry is None:
                    skipped += 1
                else:
                    entries[row[0]] = entry
            if skipped:
                log.warning("skipped %d unreadable address(es) in %s", skipped, self.path)
        except BaseException:
            db.close()
            raise
        return db, entries

    def _set_aside(self, why: str) -> list[str]:
        import sqlite3

        backup = broken_copy_path(self.path)
        try:
            os.replace(self.path, backup)
            for suffix in ("-journal", "-wal", "-shm"):
                companion = self.path.with_name(self.path.name + suffix)
                if companion.exists():
                    with contextlib.suppress(OSError):
                        os.replace(companion, backup.with_name(backup.name + suffix))
            self._db, entries = self._open()
        except (OSError, sqlite3.Error) as error:
            return self._unavailable(f"{why}; it could not be replaced: {error}")
        self._replace_entries(entries)
        log.warning("address book %s set aside: %s", self.path, why)
        return [
            f"The address book {self.path} was damaged: {why}. It was moved to {backup} and "
            "Composer started a new one; addresses you sent to before will not be suggested."
        ]

    def _unavailable(self, why: str) -> list[str]:
        # Keep working in memory for this session; load() may be tried again.
        self._replace_entries({})
        log.warning("address book %s unavailable: %s", self.path, why)
        return [
            f"The address book {self.path} could not be opened ({why}). Addresses you send to "
            "now are suggested until Composer quits but not saved."
        ]


class _NewerSchema(Exception):
    pass


class _Damaged(Exception):
    pass


def _once_each(addresses: Iterable[Address]) -> dict[str, Address]:
    """One address per mailbox (a message to Ann in To and Cc is one use), named if any is."""
    unique: dict[str, Address] = {}
    for address in addresses:
        if not address.username or not address.domain:
            continue
        key = address_key(address)
        if key not in unique or not unique[key].display_name:
            unique[key] = address
    return unique


def _rekey(db: sqlite3.Connection) -> None:
    """Give each readable row of a schema 1 book its address_key; unreadable rows stay put."""
    for row in db.execute(_READ).fetchall():
        entry = _entry_from_row(row)
        if entry is None or row[0] == address_key(entry.address):
            continue
        db.execute("DELETE FROM addresses WHERE key = ?", (row[0],))
        db.execute(_REKEY, (address_key(entry.address), *row[1:]))


def _entry_from_row(row: tuple[object, ...]) -> _Entry | None:
    # With email's header parser (see new_address), on the thread that loads the book.
    from email.errors import HeaderParseError

    try:
        _key, name, username, domain, count, last_used = row
        if not (isinstance(name, str) and isinstance(username, str) and isinstance(domain, str)):
            return None
        if not (isinstance(count, int) and isinstance(last_used, int | float)):
            return None
        address = new_address(name, username, domain)
        return _Entry(address, count, float(last_used))
    except (ValueError, TypeError, HeaderParseError, IndexError):
        return None

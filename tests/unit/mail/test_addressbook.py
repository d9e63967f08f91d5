"""The address book: what it suggests, in which order, and what survives a restart or damage."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import sys
import threading
import time
from collections.abc import Iterator
from email.headerregistry import Address
from pathlib import Path

import pytest

from composer.mail import addressbook as addressbook_module
from composer.mail.addressbook import SCHEMA_VERSION, AddressBook

ANN = Address("Ann Lee", "ann", "example.org")
ANDY = Address("Andy Ng", "andy", "example.net")
BOB = Address("Lee, Bob", "bob", "example.org")
JOERG = Address("Jörg Straße", "joerg", "example.de")
ANNA = Address("", "anna.k", "example.com")
YUKI = Address("Yuki Tanaka-Smith", "yuki", "example.jp")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "addressbook.sqlite3"


@pytest.fixture
def open_book(path: Path) -> Iterator[type[AddressBook]]:
    """AddressBook, closing every instance made through it at teardown."""
    books: list[AddressBook] = []

    class ClosingBook(AddressBook):
        def __init__(self, book_path: Path = path) -> None:
            super().__init__(book_path)
            books.append(self)

    yield ClosingBook
    for book in books:
        book.close()


@pytest.fixture
def book(open_book: type[AddressBook]) -> AddressBook:
    """A loaded book: Ann used 3 times, Bob twice, Andy, Jörg, anna.k and Yuki once each.

    Among those used once, the later ones were used more recently.
    """
    book = open_book()
    assert book.load() == []
    for when, addresses in enumerate(
        [[ANN, BOB], [ANN], [ANN, BOB], [ANDY], [JOERG], [ANNA], [YUKI]], start=1
    ):
        book.record(addresses, when=1000.0 + when)
    return book


def specs(addresses: list[Address]) -> list[str]:
    return [a.addr_spec for a in addresses]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Start of the address or of any word of the name; most used, then most recent first.
        ("an", ["ann@example.org", "anna.k@example.com", "andy@example.net"]),
        ("AN", ["ann@example.org", "anna.k@example.com", "andy@example.net"]),
        ("ann", ["ann@example.org", "anna.k@example.com"]),
        ("lee", ["ann@example.org", "bob@example.org"]),
        ("ann l", ["ann@example.org"]),
        ("bob", ["bob@example.org"]),
        ("bob@example.org", ["bob@example.org"]),
        ("  ng ", ["andy@example.net"]),
        # Hyphenated names: each part is a word, and the whole can be typed.
        ("smith", ["yuki@example.jp"]),
        ("tanaka-s", ["yuki@example.jp"]),
        # Unicode: case folding (ß is ss), and composed or decomposed accents alike.
        ("STRASSE", ["joerg@example.de"]),
        ("JÖ", ["joerg@example.de"]),
        ("jo\u0308rg", ["joerg@example.de"]),
        # Not the middle of a word, not the domain, nothing for nothing.
        ("ee", []),
        ("nn", []),
        ("example", []),
        ("", []),
        ("   ", []),
    ],
)
def test_search_matches_and_orders(book: AddressBook, text: str, expected: list[str]) -> None:
    assert specs(book.search(text)) == expected


def test_search_limit(book: AddressBook) -> None:
    assert specs(book.search("a", limit=2)) == ["ann@example.org", "anna.k@example.com"]
    assert book.search("a", limit=0) == []


def test_recent_wins_among_equally_used(open_book: type[AddressBook]) -> None:
    book = open_book()
    book.load()
    book.record([ANDY], when=300.0)
    book.record([ANN], when=100.0)
    book.record([ANNA], when=200.0)

    assert specs(book.search("an")) == ["andy@example.net", "anna.k@example.com", "ann@example.org"]

    book.record([ANN], when=400.0)
    assert specs(book.search("an"))[0] == "ann@example.org"


def test_latest_non_empty_name_is_kept(open_book: type[AddressBook]) -> None:
    book = open_book()
    book.load()
    book.record([Address("", "ann", "example.org")], when=1.0)
    book.record([Address("Ann", "ann", "example.org")], when=2.0)
    book.record([Address("Ann Lee", "ann", "Example.org")], when=3.0)
    book.record([Address("", "ann", "example.org")], when=4.0)
    # Recorded late but sent earlier: does not replace the newer name or spelling.
    book.record([Address("Old Name", "ann", "EXAMPLE.ORG")], when=0.5)
    book.close()
    reloaded = open_book()
    reloaded.load()

    for each in (book, reloaded):
        assert each.search("ann") == [Address("Ann Lee", "ann", "example.org")]
        assert each.search("old") == []


def test_one_entry_per_mailbox_whatever_the_case_of_the_domain(
    open_book: type[AddressBook],
) -> None:
    book = open_book()
    book.load()
    book.record([Address("", "Ann", "Example.ORG")], when=1.0)
    book.record([Address("Ann Lee", "Ann", "example.org")], when=2.0)
    # Another local part: another mailbox, as far as anyone but its server can tell.
    book.record([Address("", "ann", "example.org")], when=3.0)

    assert book.search("ann") == [
        Address("Ann Lee", "Ann", "example.org"),
        Address("", "ann", "example.org"),
    ]


def test_a_book_from_schema_1_is_keyed_again(open_book: type[AddressBook], path: Path) -> None:
    # Schema 1 keyed "Ann@Example.ORG" as "ann@example.org", folding the local part too.
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE addresses (key TEXT PRIMARY KEY, display_name TEXT NOT NULL, "
            "username TEXT NOT NULL, domain TEXT NOT NULL, use_count INTEGER NOT NULL, "
            "last_used REAL NOT NULL)"
        )
        db.execute(
            "INSERT INTO addresses VALUES (?, ?, ?, ?, ?, ?)",
            ("ann@example.org", "Ann Lee", "Ann", "Example.ORG", 3, 5.0),
        )
        db.execute("PRAGMA user_version = 1")
    db.close()
    book = open_book()

    assert book.load() == []
    book.record([Address("", "Ann", "example.org")], when=6.0)
    book.close()

    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT key, use_count FROM addresses").fetchall()
        version = db.execute("PRAGMA user_version").fetchone()[0]
    db.close()
    assert rows == [("Ann@example.org", 4)]
    assert version == SCHEMA_VERSION


def test_an_address_twice_in_one_message_is_one_use(open_book: type[AddressBook]) -> None:
    book = open_book()
    book.load()
    book.record([ANDY, ANDY, ANDY], when=3.0)
    book.record([ANN, Address("", "ann", "example.org")], when=1.0)
    book.record([Address("", "ann", "example.org")], when=2.0)

    # Ann, used twice and named once, before Andy, used once though more recently.
    assert book.search("an") == [ANN, ANDY]


def test_remembered_across_instances(
    book: AddressBook, open_book: type[AddressBook], path: Path
) -> None:
    book.close()

    again = open_book()
    assert again.load() == []

    assert specs(again.search("an")) == [
        "ann@example.org",
        "anna.k@example.com",
        "andy@example.net",
    ]
    assert again.search("lee")[1] == BOB
    assert path.is_file()


def test_opening_a_book_writes_nothing_to_it(
    book: AddressBook, open_book: type[AddressBook], path: Path
) -> None:
    book.close()
    before = path.read_bytes()
    stamp = path.stat().st_mtime_ns

    again = open_book()
    assert again.load() == []
    again.close()

    # A write at every start would be a sync on the GUI thread, where Composer loads it.
    assert path.stat().st_mtime_ns == stamp
    assert path.read_bytes() == before


def test_two_books_on_one_file_add_up(open_book: type[AddressBook]) -> None:
    # Two windows with their own context, or two Composer processes.
    first, second = open_book(), open_book()
    first.load()
    second.load()
    first.record([ANN], when=1.0)
    second.record([ANDY], when=2.0)
    second.record([ANN], when=3.0)
    first.record([ANN], when=4.0)
    first.close()
    second.close()

    third = open_book()
    third.load()
    third.record([ANDY, ANDY], when=5.0)

    # Ann 3 uses, Andy 2: neither book's writes overwrote the other's.
    assert third.search("an") == [ANN, ANDY]


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_only_its_owner_can_read_the_file(open_book: type[AddressBook], path: Path) -> None:
    book = open_book()
    book.load()
    book.record([ANN])

    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_search_before_the_load_loads_the_book_first(open_book: type[AddressBook]) -> None:
    first = open_book()
    first.record([ANN])
    first.close()

    # The running Composer loads the book off the GUI thread; a search may come first.
    assert specs(open_book().search("ann")) == ["ann@example.org"]


def test_a_search_during_a_load_waits_for_it(open_book: type[AddressBook]) -> None:
    first = open_book()
    first.record([ANN])
    first.close()
    book = open_book()
    opening = threading.Event()
    go_on = threading.Event()
    real_open = book._open

    def slow_open() -> object:
        opening.set()
        assert go_on.wait(10)
        return real_open()

    book._open = slow_open  # type: ignore[method-assign]
    loader = threading.Thread(target=book.load_once)
    loader.start()
    assert opening.wait(10)
    found: list[list[Address]] = []
    searcher = threading.Thread(target=lambda: found.append(book.search("ann")))
    searcher.start()
    searcher.join(0.2)
    assert searcher.is_alive()  # waiting for the load, not answering from an empty index
    go_on.set()
    loader.join(10)
    searcher.join(10)

    assert [specs(f) for f in found] == [["ann@example.org"]]


def test_load_once_loads_only_once(open_book: type[AddressBook], path: Path) -> None:
    book = open_book()
    assert book.load_once() == []
    book.record([ANN])
    other = open_book()
    other.record([BOB])

    assert book.load_once() == []
    assert specs(book.search("bob")) == []  # not read again: what this one knew stays
    assert specs(book.search("ann")) == ["ann@example.org"]


def test_damaged_result_codes_are_sqlites() -> None:
    # Held by number in the module, which imports sqlite3 only once it opens a book.
    assert {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB} == addressbook_module._DAMAGED


def test_record_before_load_keeps_what_was_stored(
    book: AddressBook, open_book: type[AddressBook]
) -> None:
    book.close()
    writer = open_book()  # never loaded explicitly
    writer.record([ANDY], when=2000.0)
    writer.record([ANDY], when=2001.0)
    writer.close()

    reader = open_book()
    reader.load()
    # Andy now has 3 uses against Ann's 3, and is more recent; Ann's 3 were not lost.
    assert specs(reader.search("an"))[:2] == ["andy@example.net", "ann@example.org"]


def test_missing_file_and_folder_start_an_empty_book(
    open_book: type[AddressBook], path: Path
) -> None:
    book = open_book()

    assert book.load() == []
    assert book.search("a") == []
    assert path.is_file()


def test_empty_file_is_an_empty_book(open_book: type[AddressBook], path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.touch()
    book = open_book()

    assert book.load() == []
    book.record([ANN])
    assert book.search("ann") == [ANN]
    assert not list(path.parent.glob("*.broken-*"))


def _assert_set_aside(warnings: list[str], path: Path, original: bytes, why: str) -> None:
    [warning] = warnings
    [backup] = path.parent.glob("addressbook.sqlite3.broken-*")
    assert backup.read_bytes() == original
    assert str(backup) in warning
    assert str(path) in warning
    assert why in warning


def test_file_that_is_not_a_database_is_set_aside(open_book: type[AddressBook], path: Path) -> None:
    path.parent.mkdir(parents=True)
    original = b"this is not SQLite at all\n" * 200
    path.write_bytes(original)
    book = open_book()

    warnings = book.load()

    _assert_set_aside(warnings, path, original, "damaged")
    book.record([ANN])
    book.close()
    again = open_book()
    assert again.load() == []
    assert again.search("ann") == [ANN]


def test_database_with_damaged_pages_is_set_aside(open_book: type[AddressBook], path: Path) -> None:
    book = open_book()
    book.load()
    for number in range(300):
        book.record([Address(f"Person {number}", f"p{number}", "example.org")])
    book.close()
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    assert len(data) > 3 * page_size
    data[page_size + 8 : 3 * page_size] = b"\xa5" * (2 * page_size - 8)  # pages 2 and 3
    path.write_bytes(bytes(data))

    again = open_book()
    warnings = again.load()

    _assert_set_aside(warnings, path, bytes(data), "damaged")
    assert again.search("person") == []


def test_database_from_a_newer_composer_is_set_aside(
    open_book: type[AddressBook], path: Path
) -> None:
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    original = path.read_bytes()

    warnings = open_book().load()

    _assert_set_aside(warnings, path, original, "newer Composer")


def test_unopenable_file_keeps_addresses_for_the_session(
    open_book: type[AddressBook], path: Path
) -> None:
    path.parent.write_text("a file where the folder should be")
    book = open_book()

    [warning] = book.load()

    assert "could not be opened" in warning
    assert path.parent.is_file()
    book.record([ANN])
    assert book.search("ann") == [ANN]


def test_a_folder_where_the_file_should_be_is_set_aside(
    open_book: type[AddressBook], path: Path
) -> None:
    path.mkdir(parents=True)
    book = open_book()

    [warning] = book.load()

    [kept] = path.parent.glob("addressbook.sqlite3.broken-*")
    assert kept.is_dir()
    assert str(kept) in warning
    book.record([ANN])
    assert open_book().load() == []


def test_a_failed_write_is_logged_not_raised(
    open_book: type[AddressBook],
    path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(addressbook_module, "_BUSY_TIMEOUT", 0.05)
    book = open_book()
    book.load()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        book.record([ANN])
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    assert "could not save addresses" in caplog.text
    assert book.search("ann") == [ANN]


@pytest.mark.skipif(sys.platform == "win32", reason="needs RLIMIT_FSIZE (POSIX)")
def test_a_full_disk_is_told_once_and_the_next_write_tries_again(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import resource  # POSIX only

    told: list[str] = []
    book = AddressBook(path, told.append)
    try:
        book.load()
        book.record([ANN])
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        # No file may grow now: SQLite's journal cannot be written, as on a full disk.
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, hard))
        try:
            book.record([BOB])
            book.record([BOB])
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
            signal.signal(signal.SIGXFSZ, previous)
        assert len(told) == 1
        assert str(path) in told[0]
        assert "suggested until Composer quits" in told[0]
        assert book.search("bob") == [BOB]  # kept in memory
        book.record([BOB])
    finally:
        book.close()
    again = AddressBook(path)
    try:
        again.load()
        assert again.search("bob") == [BOB]
    finally:
        again.close()


def test_search_answers_from_memory_while_a_write_waits_for_the_disk(
    open_book: type[AddressBook], path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Far longer than the joins below, so that a search waiting for the write would show.
    monkeypatch.setattr(addressbook_module, "_BUSY_TIMEOUT", 120.0)
    book = open_book()
    book.load()
    # Another process holds the file: record() waits in SQLite for up to _BUSY_TIMEOUT.
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    writer = threading.Thread(target=book.record, args=([ANN],), daemon=True)
    found: list[Address] = []

    def search_until_found() -> None:
        while not found:
            found.extend(book.search("ann"))
            time.sleep(0.001)

    searcher = threading.Thread(target=search_until_found, daemon=True)
    writer.start()
    searcher.start()
    try:
        searcher.join(30)  # only guards against a hang
        searched_while_blocked = not searcher.is_alive() and writer.is_alive()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    writer.join(30)

    assert searched_while_blocked, "search() waited for the write to reach the disk"
    assert found == [ANN]
    assert not writer.is_alive()
    book.close()
    again = open_book()
    again.load()
    assert again.search("ann") == [ANN]


def test_concurrent_record_and_search(open_book: type[AddressBook]) -> None:
    book = open_book()
    book.load()
    people = [Address(f"User {n}", f"user{n}", "example.org") for n in range(5)]
    errors: list[BaseException] = []

    def send_many(offset: int) -> None:
        # user<n> is used 4 * (n + 1) times in all, split across both threads.
        try:
            for n, person in enumerate(people):
                for _ in range(2 * (n + 1)):
                    book.record([person, Address("", "shared", "example.org")])
        except BaseException as error:
            errors.append(error)

    writers = [threading.Thread(target=send_many, args=(i,), daemon=True) for i in range(2)]
    for writer in writers:
        writer.start()
    searches = 0
    while any(w.is_alive() for w in writers) or searches == 0:
        found = book.search("user")
        assert len(found) <= 5
        assert all(a.addr_spec.startswith("user") for a in found)
        searches += 1
    for writer in writers:
        writer.join(30)

    assert errors == []
    expected = [f"user{n}@example.org" for n in reversed(range(5))]
    assert specs(book.search("user")) == expected
    book.close()
    again = open_book()
    again.load()
    assert specs(again.search("user")) == expected
    assert specs(again.search("s")) == ["shared@example.org"]

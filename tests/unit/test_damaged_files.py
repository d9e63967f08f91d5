"""Every file Composer keeps, truncated or replaced by garbage: Composer starts, keeps every
good item, moves the bad file aside (``<name>.broken-<time>``, never deleted) and says where."""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from composer.context import AppContext
from composer.mail.accounts import (
    SETTINGS_SIZE_LIMIT,
    Account,
    AccountSettings,
    AccountStore,
    sandbox_account,
)
from composer.mail.draft import Draft
from composer.mail.message import build_message
from composer.mail.progress import SendResult
from composer.paths import Paths

NOW = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
HOME = Account(id="home", name="Home", email="ann@example.org", host="smtp.example.org")
NOISE = bytes(range(256))[::-1] * 8
GARBAGE = {
    "empty": b"",
    "noise": NOISE,
    "invalid UTF-8": b"X-Composer-Format: \xff\xfe\r\n\r\n\xc3(",
    "truncated": b"X-Composer-Fo",
}


def start(directory: Path) -> AppContext:
    return AppContext(Paths.under(directory), clock=lambda: NOW)


def message(subject: str) -> object:
    return build_message(Draft(to="bob@example.net", subject=subject), sandbox_account().sender())


def fill(directory: Path) -> dict[str, list[str]]:
    """Two of each: drafts, Outbox entries and Sent records; returns their keys."""
    AccountStore(directory / "settings.json").save(AccountSettings((HOME,)))
    context = start(directory)
    keys: dict[str, list[str]] = {"drafts": [], "outbox": [], "sent": []}
    try:
        for number in (1, 2):
            key = f"000000000000000{number}-draft"
            context.drafts.save(
                key,
                Draft(subject=f"Draft {number}"),
                sender=None,
                message_id="<d@composer.invalid>",
                saved_at=NOW,
            )
            context.drafts.set_window_open(key, True)
            keys["drafts"].append(key)
            keys["outbox"].append(context.outbox.add(message(f"Queued {number}"), "home").key)  # type: ignore[arg-type]
            sent = context.outbox.add(message(f"Sent {number}"), "home")  # type: ignore[arg-type]
            stored = context.outbox.begin(sent.key)
            result = SendResult("smtp.example.org", stored.message_id, ("bob@example.net",))
            keys["sent"].append(context.outbox.delivered(sent.key, result))
    finally:
        context.close()
    return keys


def broken(folder: Path, name: str) -> list[Path]:
    return sorted(folder.glob(f"{name}.broken-*"))


def warned_about(context: AppContext, kept: Path) -> bool:
    return any(str(kept) in warning for warning in context.load_warnings)


def damage(path: Path, data: bytes | None) -> None:
    """Replace path with data, or (None) with a folder."""
    if path.is_dir():
        path.rmdir()
    else:
        path.unlink()
    if data is None:
        path.mkdir()
    else:
        path.write_bytes(data)


DAMAGE = [*GARBAGE.items(), ("a folder", None)]


@pytest.mark.parametrize(("what", "data"), DAMAGE, ids=[d[0] for d in DAMAGE])
def test_a_damaged_outbox_entry_is_set_aside_and_the_others_stay_queued(
    tmp_path: Path, what: str, data: bytes | None
) -> None:
    keys = fill(tmp_path)
    bad, good = keys["outbox"]
    damage(tmp_path / "Outbox" / f"{bad}.eml", data)

    context = start(tmp_path)
    try:
        assert [e.key for e in context.outbox.entries()] == [good]
        [kept] = broken(tmp_path / "Outbox", f"{bad}.eml")
        assert warned_about(context, kept)
        # Its state went with it, so that nothing of it is swept away later either.
        assert broken(tmp_path / "Outbox", f"{bad}.json")
        assert data is None or kept.read_bytes() == data
    finally:
        context.close()


@pytest.mark.parametrize(("what", "data"), DAMAGE, ids=[d[0] for d in DAMAGE])
def test_a_damaged_outbox_state_is_kept_aside_before_a_fresh_one_is_written(
    tmp_path: Path, what: str, data: bytes | None
) -> None:
    keys = fill(tmp_path)
    bad, _ = keys["outbox"]
    damage(tmp_path / "Outbox" / f"{bad}.json", data)

    context = start(tmp_path)
    try:
        assert len(context.outbox.entries()) == 2
        [kept] = broken(tmp_path / "Outbox", f"{bad}.json")
        assert warned_about(context, kept)
        assert data is None or kept.read_bytes() == data
    finally:
        context.close()


@pytest.mark.parametrize(("what", "data"), DAMAGE, ids=[d[0] for d in DAMAGE])
def test_a_damaged_sent_record_is_set_aside_and_the_others_are_listed(
    tmp_path: Path, what: str, data: bytes | None
) -> None:
    keys = fill(tmp_path)
    bad, good = keys["sent"]
    damage(tmp_path / "Sent" / f"{bad}.eml", data)

    context = start(tmp_path)
    try:
        # Not listed from the start, and set aside once the check has run (the session runs
        # it once its first window is shown).
        assert [s.key for s in context.sent.summaries()] == [good]
        assert not broken(tmp_path / "Sent", f"{bad}.eml")
        warned = checked_sent(context)
        [kept] = broken(tmp_path / "Sent", f"{bad}.eml")
        assert any(str(kept) in warning for warning in warned)
        assert [s.key for s in context.sent.summaries()] == [good]
        assert data is None or kept.read_bytes() == data
    finally:
        context.close()


def checked_sent(context: AppContext) -> list[str]:
    """What checking the Sent records said, once done."""
    warned: list[str] = []
    thread = context.check_sent(warned.append)
    assert thread is not None
    thread.join(10)
    assert not thread.is_alive()
    return warned


def test_the_sent_records_are_checked_once_and_told_in_one_warning(tmp_path: Path) -> None:
    keys = fill(tmp_path)
    for key in keys["sent"]:
        damage(tmp_path / "Sent" / f"{key}.eml", NOISE)

    context = start(tmp_path)
    try:
        [warning] = checked_sent(context)  # one box in the window, not one a record
        for key in keys["sent"]:
            [kept] = broken(tmp_path / "Sent", f"{key}.eml")
            assert str(kept) in warning
        assert context.check_sent() is None
    finally:
        context.close()


def test_a_draft_stored_as_a_folder_is_set_aside(tmp_path: Path) -> None:
    keys = fill(tmp_path)
    bad, good = keys["drafts"]
    damage(tmp_path / "Drafts" / f"{bad}.eml", None)

    context = start(tmp_path)
    try:
        assert [s.key for s in context.drafts.summaries()] == [good]
        [kept] = broken(tmp_path / "Drafts", f"{bad}.eml")
        assert warned_about(context, kept)
    finally:
        context.close()


@pytest.mark.parametrize(
    ("what", "data"),
    [*GARBAGE.items(), ("a string", b'"open"'), ("a folder", None)],
    ids=[*GARBAGE, "a string", "a folder"],
)
def test_a_damaged_draft_state_is_set_aside_and_the_draft_kept(
    tmp_path: Path, what: str, data: bytes | None
) -> None:
    keys = fill(tmp_path)
    bad, good = keys["drafts"]
    damage(tmp_path / "Drafts" / f"{bad}.json", data)

    context = start(tmp_path)
    try:
        assert [s.key for s in context.drafts.summaries()] == [bad, good]
        assert context.drafts.load(bad).draft.subject == "Draft 1"
        [kept] = broken(tmp_path / "Drafts", f"{bad}.json")
        assert warned_about(context, kept)
        assert "Draft 1" in " ".join(context.load_warnings)
        assert context.drafts.open_in_windows() == [good]
    finally:
        context.close()


FOLDERS = ["Drafts", "Outbox", "Sent"]


@pytest.mark.parametrize("name", FOLDERS)
def test_a_file_where_a_folder_should_be_is_set_aside_and_composer_starts(
    tmp_path: Path, name: str
) -> None:
    (tmp_path / name).write_bytes(NOISE)

    context = start(tmp_path)
    try:
        [kept] = broken(tmp_path, name)
        assert kept.read_bytes() == NOISE
        assert warned_about(context, kept)
        context.drafts.save(
            "0000000000000009-new",
            Draft(),
            sender=None,
            message_id="<d@composer.invalid>",
            saved_at=NOW,
        )
        context.outbox.add(message("After"), "sandbox")  # type: ignore[arg-type]
        assert context.drafts.folder.keys() == ["0000000000000009-new"]
    finally:
        context.close()


def in_place_of_the_address_book(path: Path, what: str) -> None:
    if what == "a folder":
        path.mkdir()
        (path / "inside").write_text("kept")
    else:
        os.mkfifo(path)  # SQLite only says "disk I/O error" on it


@pytest.mark.parametrize(
    "what",
    [
        "a folder",
        pytest.param(
            "a named pipe",
            marks=pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX"),
        ),
    ],
)
def test_what_stands_where_the_address_book_should_be_is_set_aside(
    tmp_path: Path, what: str
) -> None:
    in_place_of_the_address_book(tmp_path / "addressbook.sqlite3", what)

    context = start(tmp_path)
    try:
        warned: list[str] = []
        # As the session does once its first window is up.
        context.load_address_book(warned.append).join(10)
        [kept] = broken(tmp_path, "addressbook.sqlite3")
        if what == "a folder":
            assert (kept / "inside").read_text() == "kept"
        else:
            assert stat.S_ISFIFO(kept.lstat().st_mode)
        assert any(str(kept) in warning for warning in warned)
        context.address_book.record([sandbox_account().sender()])
        context.address_book.close()
        assert start_search(tmp_path, "me@") == ["me@sandbox.localhost"]
    finally:
        context.close()


def start_search(directory: Path, text: str) -> list[str]:
    context = start(directory)
    try:
        return [a.addr_spec for a in context.address_book.search(text)]
    finally:
        context.close()


SETTINGS: list[tuple[str, bytes | None, Callable[[AppContext], bool]]] = [
    ("empty", b"", lambda c: c.settings.accounts == ()),
    ("truncated", b'{"version": 2, "accounts": [{"id": "home", "na', lambda c: True),
    ("noise", NOISE, lambda c: True),
    ("invalid UTF-8", b'{"version": 2, "accounts": [], "x": "\xff"}', lambda c: True),
    ("accounts as a string", b'{"version": 2, "accounts": "home"}', lambda c: True),
    ("a folder", None, lambda c: True),
]


@pytest.mark.parametrize(("what", "data", "_"), SETTINGS, ids=[s[0] for s in SETTINGS])
def test_a_damaged_settings_file_is_set_aside_and_composer_starts_with_the_rest(
    tmp_path: Path, what: str, data: bytes | None, _: object
) -> None:
    keys = fill(tmp_path)
    damage(tmp_path / "settings.json", data)

    context = start(tmp_path)
    try:
        [kept] = broken(tmp_path, "settings.json")
        assert warned_about(context, kept)
        assert [a.id for a in context.accounts()] == ["sandbox"]
        # Everything else is still there.
        assert [e.key for e in context.outbox.entries()] == keys["outbox"]
        assert [s.key for s in context.drafts.summaries()] == keys["drafts"]
    finally:
        context.close()


def test_an_account_with_a_port_that_is_no_number_is_left_out_and_the_file_kept(
    tmp_path: Path,
) -> None:
    text = (
        '{"version": 2, "accounts": [{"id": "bad", "name": "Bad", "email": "b@example.org",'
        ' "host": "h", "port": "abc"}, {"id": "home", "name": "Home",'
        ' "email": "ann@example.org", "host": "smtp.example.org"}]}'
    )
    (tmp_path / "settings.json").write_text(text)

    context = start(tmp_path)
    try:
        assert [a.id for a in context.accounts()] == ["home"]
        [kept] = broken(tmp_path, "settings.json")
        assert kept.read_text() == text
        assert warned_about(context, kept)
    finally:
        context.close()


def test_nothing_is_ever_deleted_when_setting_aside(tmp_path: Path) -> None:
    keys = fill(tmp_path)
    for folder, key in (("Outbox", keys["outbox"][0]), ("Sent", keys["sent"][0])):
        damage(tmp_path / folder / f"{key}.eml", NOISE)
    before = sum(1 for _ in tmp_path.rglob("*"))

    context = start(tmp_path)
    try:
        checked_sent(context)
    finally:
        context.close()

    assert sum(1 for _ in tmp_path.rglob("*")) == before
    assert os.listdir(tmp_path / "Outbox")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
@pytest.mark.parametrize("folder", ["Drafts", "Outbox", "Sent"])
def test_a_named_pipe_in_place_of_a_message_is_set_aside_without_being_opened(
    tmp_path: Path, folder: str
) -> None:
    fill(tmp_path)
    pipe = tmp_path / folder / "0000000000000009-pipe.eml"
    os.mkfifo(pipe)  # opening it to read would wait for a writer for ever

    context = start(tmp_path)
    try:
        if folder == "Sent":
            # Listed before its check has run: the pipe is left out, never waited on.
            listing = threading.Thread(target=context.sent.summaries, daemon=True)
            listing.start()
            listing.join(10)
            assert not listing.is_alive()
        warned = [*context.load_warnings, *(checked_sent(context) if folder == "Sent" else [])]
        [kept] = broken(tmp_path / folder, pipe.name)
        assert any(str(kept) in warning for warning in warned)
    finally:
        context.close()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
@pytest.mark.parametrize("folder", ["drafts", "outbox"])
def test_a_named_pipe_in_place_of_a_state_file_is_set_aside_without_being_opened(
    tmp_path: Path, folder: str
) -> None:
    keys = fill(tmp_path)
    key = keys[folder][0]
    state = tmp_path / folder.capitalize() / f"{key}.json"
    state.unlink()
    os.mkfifo(state)

    context = start(tmp_path)
    try:
        [kept] = broken(state.parent, state.name)
        assert warned_about(context, kept)
    finally:
        context.close()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_in_place_of_the_settings_file_is_set_aside_without_being_opened(
    tmp_path: Path,
) -> None:
    keys = fill(tmp_path)
    settings = tmp_path / "settings.json"
    settings.unlink()
    os.mkfifo(settings)  # opening it to read would wait for a writer for ever

    context = start(tmp_path)
    try:
        [kept] = broken(tmp_path, "settings.json")
        assert stat.S_ISFIFO(kept.lstat().st_mode)
        assert warned_about(context, kept)
        assert any("is a named pipe, not a file" in w for w in context.load_warnings)
        assert [a.id for a in context.accounts()] == ["sandbox"]
        assert [e.key for e in context.outbox.entries()] == keys["outbox"]
    finally:
        context.close()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_in_place_of_the_settings_file_is_not_read_when_merging(
    tmp_path: Path,
) -> None:
    os.mkfifo(tmp_path / "settings.json")

    assert AccountStore(tmp_path / "settings.json").read() is None


def test_a_settings_file_far_larger_than_settings_is_set_aside(tmp_path: Path) -> None:
    fill(tmp_path)
    text = json.dumps({"version": 2, "accounts": [HOME.to_json()], "x": "x" * SETTINGS_SIZE_LIMIT})
    (tmp_path / "settings.json").write_text(text)

    context = start(tmp_path)
    try:
        [kept] = broken(tmp_path, "settings.json")
        assert kept.read_text() == text
        assert warned_about(context, kept)
        assert any("is larger than 4.2 MB" in w for w in context.load_warnings)
    finally:
        context.close()

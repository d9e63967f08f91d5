"""DraftStore: saving and loading drafts, the Drafts list, open windows, delete and recovery."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from pathlib import Path

import pytest

from composer.mail.draft import Attachment, Draft
from composer.mail.draft_file import DraftFileError
from composer.mail.drafts import DraftStore
from composer.mail.store import MessageFolder, StoreError, new_key

SENDER = Address("Ann Lee", "ann", "example.org")
SAVED_AT = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> DraftStore:
    return DraftStore(MessageFolder(tmp_path / "Drafts"))


def save(store: DraftStore, draft: Draft, key: str | None = None, **changes: object) -> str:
    key = key or new_key()
    values: dict[str, object] = {
        "sender": SENDER,
        "message_id": f"<{key}@example.org>",
        "saved_at": SAVED_AT,
    }
    values.update(changes)
    store.save(key, draft, **values)  # type: ignore[arg-type]
    return key


def test_a_saved_draft_loads(store: DraftStore) -> None:
    draft = Draft("acc", to="bob@, Bob <bob@example.net>", subject=" Hi ", body="Hello\n")
    key = save(store, draft)
    loaded = store.load(key)
    assert loaded.draft == draft
    assert loaded.message_id == f"<{key}@example.org>"
    assert loaded.saved_at == SAVED_AT


def test_saving_again_replaces_the_draft(store: DraftStore) -> None:
    key = save(store, Draft(body="first"))
    save(store, Draft(body="second"), key)
    assert store.load(key).draft.body == "second"
    assert store.folder.keys() == [key]


def test_windows_save_at_once(store: DraftStore) -> None:
    keys = [new_key() for _ in range(8)]
    threads = [
        threading.Thread(target=save, args=(store, Draft(body=key * 1000), key)) for key in keys
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [store.load(key).draft.body for key in keys] == [key * 1000 for key in keys]


def test_copies_are_restored_under_the_drafts_files(store: DraftStore, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"notes")
    key = save(store, Draft(body="x", attachments=(Attachment(path),)))
    path.unlink()
    (restored,) = store.load(key).draft.attachments
    assert restored.path == store.folder.path / ".files" / key / "notes.txt"
    assert restored.path.read_bytes() == b"notes"


def test_a_damaged_draft_is_set_aside_and_said_where(store: DraftStore) -> None:
    key = save(store, Draft(body="x"))
    good = store.folder.read(key)
    store.folder.write(key, [good[: len(good) // 2]])
    with pytest.raises(DraftFileError, match="kept as") as caught:
        store.load(key)
    kept = Path(str(caught.value).rpartition("kept as ")[2].rstrip("."))
    assert kept.read_bytes() == good[: len(good) // 2]
    assert kept.parent == store.folder.path
    assert store.folder.keys() == []
    with pytest.raises(StoreError):
        store.load(key)


def test_summaries_come_from_the_headers_oldest_first(store: DraftStore) -> None:
    first = save(store, Draft(to="bob@, Bob <bob@example.net>", subject="  Ünï  ", body="b" * 900))
    second = save(store, Draft(subject="Two"), saved_at=SAVED_AT + timedelta(hours=1))
    store.set_window_open(second, True)
    summaries = store.summaries()
    assert [s.key for s in summaries] == [first, second]
    assert summaries[0].subject == "  Ünï  "
    assert summaries[0].to == "bob@, Bob <bob@example.net>"
    assert summaries[0].saved_at == SAVED_AT
    assert summaries[0].size == store.folder.file(first).stat().st_size
    assert [s.window_open for s in summaries] == [False, True]
    assert summaries[1].to == ""
    assert summaries[1].saved_at == SAVED_AT + timedelta(hours=1)


def test_summaries_survive_a_file_that_is_not_a_draft(store: DraftStore) -> None:
    key = new_key()
    store.folder.write(key, [b"\xff\xd8\xff garbage"])
    (summary,) = store.summaries()
    assert (summary.key, summary.subject, summary.saved_at) == (key, "", None)


def test_open_windows_are_remembered_beside_the_draft(store: DraftStore) -> None:
    one, two, three = (save(store, Draft(body=str(i))) for i in range(3))
    before = store.folder.read(two)
    store.set_window_open(one, True)
    store.set_window_open(two, True)
    store.set_window_open(three, True)
    store.set_window_open(three, False)
    assert store.open_in_windows() == [one, two]
    assert store.folder.read(two) == before  # not in the .eml
    store.delete(one)
    assert store.open_in_windows() == [two]


def test_a_window_open_for_a_draft_never_saved_is_not_reopened(store: DraftStore) -> None:
    store.set_window_open(new_key(), True)
    assert store.open_in_windows() == []


def test_delete_removes_the_draft_its_state_and_copies(store: DraftStore, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"a")
    key = save(store, Draft(body="x", attachments=(Attachment(path),)))
    other = save(store, Draft(body="y", attachments=(Attachment(path),)))
    path.unlink()
    store.load(key)
    store.load(other)
    store.set_window_open(key, True)
    store.delete(key)
    assert store.folder.keys() == [other]
    assert store.folder.read_state(key) is None
    assert not (store.folder.path / ".files" / key).exists()
    assert (store.folder.path / ".files" / other / "a.txt").read_bytes() == b"a"


def test_delete_does_not_follow_links_out_of_the_folder(store: DraftStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "keep").mkdir(parents=True)
    (outside / "keep" / "precious.txt").write_bytes(b"mine")
    key = save(store, Draft(body="x"))
    files = store.folder.path / ".files"
    files.mkdir()
    (files / key).symlink_to(outside / "keep")
    store.delete(key)
    assert (outside / "keep" / "precious.txt").read_bytes() == b"mine"
    assert not (files / key).is_symlink()  # the link itself, inside the folder, is gone

    key = save(store, Draft(body="y"))
    (files / key).mkdir()
    (files / key / "link").symlink_to(outside / "keep")
    store.delete(key)
    assert (outside / "keep" / "precious.txt").read_bytes() == b"mine"
    assert not (files / key).exists()


def test_delete_leaves_a_linked_files_folder_alone(store: DraftStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    key = save(store, Draft(body="x"))
    (outside / key).mkdir(parents=True)
    (outside / key / "precious.txt").write_bytes(b"mine")
    (store.folder.path / ".files").symlink_to(outside)
    store.delete(key)
    store.recover()
    assert (outside / key / "precious.txt").read_bytes() == b"mine"
    assert store.folder.keys() == []


def test_recover_sweeps_leftovers_and_copies_of_deleted_drafts(
    store: DraftStore, tmp_path: Path
) -> None:
    kept = save(store, Draft(body="x"))
    files = store.folder.path / ".files"
    for key in (kept, new_key()):
        (files / key).mkdir(parents=True)
        (files / key / "copy.txt").write_bytes(b"c")
    leftover = store.folder.path / f".{kept}.eml.abc.tmp"
    leftover.write_bytes(b"half")
    assert store.recover() == []
    assert not leftover.exists()
    assert [p.name for p in files.iterdir()] == [kept]
    assert store.load(kept).draft.body == "x"


def test_recover_sets_aside_what_is_not_a_draft(store: DraftStore) -> None:
    good = save(store, Draft(body="x"))
    bad = new_key()
    store.folder.write(bad, [b""])
    (said,) = store.recover()
    assert "damaged" in said
    assert store.folder.keys() == [good]
    kept = Path(said.rpartition("kept as ")[2].rstrip("."))
    assert kept.exists()
    assert kept.name.startswith(f"{bad}.eml.broken-")

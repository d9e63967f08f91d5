"""AppContext: accounts, the Delivery for one, and settings saved off the caller's thread."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from composer.context import AppContext
from composer.mail.accounts import Account, AccountSettings, AccountStore
from composer.mail.lock import exclusive
from composer.paths import Paths

HOME = Account(id="home", name="Home", email="ann@example.org", host="smtp.example.org")
WORK = Account(id="work", name="Work", email="ann@work.example", host="smtp.work.example")


def saved(directory: Path, *accounts: Account, default: str = "", last: str = "") -> None:
    AccountStore(directory / "settings.json").save(
        AccountSettings(accounts, default_id=default, last_used_id=last)
    )


@pytest.fixture
def context(tmp_path: Path) -> Iterator[AppContext]:
    saved(tmp_path, HOME, WORK, default="home")
    made = AppContext(Paths.under(tmp_path))
    yield made
    made.close()


def test_without_accounts_the_sandbox_is_offered(tmp_path: Path) -> None:
    context = AppContext(Paths.under(tmp_path))
    try:
        assert [a.id for a in context.accounts()] == ["sandbox"]
        assert context.preferred_account_id() == "sandbox"
    finally:
        context.close()


@pytest.mark.parametrize(
    ("default", "last", "preferred"),
    [("", "", "home"), ("work", "", "work"), ("home", "work", "work"), ("work", "gone", "work")],
)
def test_the_preferred_account_is_the_last_used_then_the_default_then_the_first(
    tmp_path: Path, default: str, last: str, preferred: str
) -> None:
    saved(tmp_path, HOME, WORK, default=default, last=last)
    context = AppContext(Paths.under(tmp_path))
    try:
        assert context.preferred_account_id() == preferred
    finally:
        context.close()


def test_the_delivery_is_for_the_account_asked_for(context: AppContext) -> None:
    delivery = context.delivery(WORK, password="typed")

    assert delivery.account is WORK


def test_the_last_used_account_is_saved_on_another_thread(
    context: AppContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writers: list[threading.Thread] = []
    real_save = AccountStore.save

    def save(store: AccountStore, settings: AccountSettings) -> None:
        writers.append(threading.current_thread())
        real_save(store, settings)

    monkeypatch.setattr(AccountStore, "save", save)
    for account_id in ("work", "home", "work"):
        context.remember_last_used(account_id)
    assert context.settings.last_used_id == "work"  # at once, in memory

    context.close()  # waits for what is pending

    data = json.loads((tmp_path / "settings.json").read_text(encoding="utf-8"))
    assert data["last_used_account"] == "work"
    assert writers
    assert threading.current_thread() not in writers


def test_a_failed_background_save_is_reported(tmp_path: Path) -> None:
    saved(tmp_path, HOME, WORK)
    told: list[str] = []
    context = AppContext(Paths.under(tmp_path), notify=told.append)
    # A directory where the file must go: replacing it fails whatever the permissions.
    (tmp_path / "settings.json").unlink()
    (tmp_path / "settings.json").mkdir()

    context.remember_last_used("work")
    context.close()

    assert len(told) == 1
    assert told[0].startswith(f"Could not save settings in {tmp_path / 'settings.json'}: ")
    assert "a folder stands where a file should be" in told[0]
    assert context.settings.last_used_id == "work"  # kept in memory


def test_a_failed_background_save_is_tried_again_at_the_next_change(tmp_path: Path) -> None:
    saved(tmp_path, HOME, WORK)
    context = AppContext(Paths.under(tmp_path), notify=lambda text: None)
    (tmp_path / "settings.json").unlink()
    (tmp_path / "settings.json").mkdir()
    context.remember_last_used("work")
    context.writer.flush()
    (tmp_path / "settings.json").rmdir()  # space again

    context.set_undo_send_seconds(10)
    context.close()

    data = json.loads((tmp_path / "settings.json").read_text())
    assert (data["last_used_account"], data["undo_send_seconds"]) == ("work", 10)
    assert [a["id"] for a in data["accounts"]] == ["home", "work"]


def test_choosing_the_same_account_again_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved(tmp_path, HOME, WORK, last="work")
    context = AppContext(Paths.under(tmp_path))
    writes: list[AccountSettings] = []
    monkeypatch.setattr(AccountStore, "save", lambda _store, settings: writes.append(settings))

    context.remember_last_used("work")
    context.close()

    assert writes == []


def test_start_up_problems_are_kept_for_the_first_window(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text("{ not json", encoding="utf-8")

    context = AppContext(Paths.under(tmp_path))
    try:
        [warning] = context.load_warnings
        assert "damaged" in warning
    finally:
        context.close()


def test_choosing_an_account_never_waits_for_a_write_under_way(
    context: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    writing, release = threading.Event(), threading.Event()
    timed_out: list[bool] = []
    real_save = AccountStore.save

    def slow_save(store: AccountStore, settings: AccountSettings) -> None:
        writing.set()
        timed_out.append(not release.wait(10))
        real_save(store, settings)

    monkeypatch.setattr(AccountStore, "save", slow_save)
    context.remember_last_used("work")
    assert writing.wait(10)

    context.remember_last_used("home")  # while the first write is held up
    release.set()
    context.close()

    assert timed_out
    assert not any(timed_out)
    assert context.settings.last_used_id == "home"


def test_saved_accounts_keep_a_change_made_while_they_waited_to_be_written(
    context: AppContext, tmp_path: Path
) -> None:
    with exclusive(context.paths.settings_lock):  # another writer, for now
        written = context.save_settings(
            lambda current: dataclasses.replace(current, accounts=(WORK,), default_id="work")
        )
        context.set_undo_send_seconds(30)
        assert not written.done()

    written.result(timeout=10)
    assert context.writer.flush(10)
    data = json.loads((tmp_path / "settings.json").read_text(encoding="utf-8"))
    assert [a["id"] for a in data["accounts"]] == ["work"]
    assert data["undo_send_seconds"] == 30
    assert context.settings.undo_send_seconds == 30
    assert [a.id for a in context.accounts()] == ["work"]


def test_settings_that_cannot_be_saved_end_with_the_reason(
    context: AppContext, tmp_path: Path
) -> None:
    (tmp_path / "settings.json").unlink()
    (tmp_path / "settings.json").mkdir()  # a folder where the file must go

    written = context.save_settings(lambda current: dataclasses.replace(current, accounts=()))

    with pytest.raises(IsADirectoryError):
        written.result(timeout=10)
    assert [a.id for a in context.accounts()] == ["home", "work"]

"""Several compose windows over one AppContext, owned by ComposerApplication."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from composer.app import create_main_window
from composer.mail.accounts import Account, AccountSettings
from composer.mail.draft import Draft
from composer.paths import Paths
from composer.ui.application import ComposerApplication
from tests.ui.conftest import configure


def make_owner(qtbot: QtBot, config_dir: Path) -> ComposerApplication:
    """An owner over config_dir whose windows qtbot closes at teardown."""
    owner = ComposerApplication(Paths.under(config_dir))
    owner.window_opened.connect(qtbot.addWidget)
    return owner


@pytest.fixture
def owner(qtbot: QtBot, config_dir: Path) -> ComposerApplication:
    """The one-per-process owner of compose windows, over config_dir."""
    return make_owner(qtbot, config_dir)


def new_window_action(window: object) -> QAction:
    action = window.findChild(QAction, "actionNewWindow")  # type: ignore[attr-defined]
    assert isinstance(action, QAction)
    return action


def test_open_window_shows_a_filled_window(owner: ComposerApplication, qtbot: QtBot) -> None:
    window = owner.open_window(Draft(to="ann@example.org", subject="Hi"))
    qtbot.waitExposed(window)

    assert window.isVisible()
    assert (window.to.text(), window.subject.text()) == ("ann@example.org", "Hi")
    assert owner.windows() == [window]


def test_new_window_is_built_but_not_shown(owner: ComposerApplication) -> None:
    window = owner.new_window()

    assert not window.isVisible()
    assert window.objectName() == "composerWindow"
    assert owner.windows() == [window]


def test_windows_share_one_context(owner: ComposerApplication, config_dir: Path) -> None:
    first = owner.open_window()
    account = Account(id="work", name="Work", email="ann@example.org", host="smtp.example.org")
    owner.context.update_settings(AccountSettings((account,), default_id="work"))

    second = owner.open_window()

    assert second.from_account.currentData() == "work"
    assert first is not second
    # One settings file, written once through the shared context.
    assert (config_dir / "settings.json").is_file()


def test_new_window_action_opens_another_window_with_the_same_account(
    qtbot: QtBot, config_dir: Path
) -> None:
    configure(
        config_dir,
        Account(id="home", name="Home", email="ann@example.org", host="smtp.example.org"),
        Account(id="work", name="Work", email="ann@work.example", host="smtp.work.example"),
    )
    owner = make_owner(qtbot, config_dir)
    first = owner.open_window(Draft(account_id="work", to="bob@example.net"))

    with qtbot.waitSignal(owner.window_opened) as opened:
        new_window_action(first).trigger()

    second = opened.args[0]
    assert owner.windows() == [first, second]
    assert second.isVisible()
    assert second.from_account.currentData() == "work"
    assert second.to.text() == ""
    assert first.to.text() == "bob@example.net"


def test_closing_a_window_forgets_it_and_keeps_the_others(
    owner: ComposerApplication, qtbot: QtBot
) -> None:
    first, second, third = (owner.open_window() for _ in range(3))

    second.close()

    qtbot.waitUntil(lambda: owner.windows() == [first, third])
    assert first.isVisible()
    assert third.isVisible()


def test_start_up_warnings_are_shown_by_the_first_window_only(
    config_dir: Path, qtbot: QtBot
) -> None:
    (config_dir / "settings.json").write_text("{ this is not JSON")
    owner = make_owner(qtbot, config_dir)

    first = owner.open_window()
    second = owner.open_window()

    assert first.findChild(QMessageBox, "startupWarning") is not None
    assert second.findChild(QMessageBox, "startupWarning") is None


def test_create_main_window_opens_more_windows_that_outlive_it(
    qtbot: QtBot, config_dir: Path
) -> None:
    first = create_main_window(config_dir)
    qtbot.addWidget(first)
    owner = first.findChild(ComposerApplication)
    assert isinstance(owner, ComposerApplication)
    owner.window_opened.connect(qtbot.addWidget)
    first.show()

    with qtbot.waitSignal(owner.window_opened) as opened:
        new_window_action(first).trigger()
    second = opened.args[0]
    first.close()

    # The owner (and with it the second window) now hangs on the second window.
    qtbot.waitUntil(lambda: owner.parent() is second)
    assert owner.windows() == [second]
    assert second.isVisible()
    second.close()

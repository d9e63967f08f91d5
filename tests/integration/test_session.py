"""Several compose windows over one AppContext, owned by Session."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from composer.app import create_main_window
from composer.mail.accounts import Account, AccountSettings, AccountStore, Security
from composer.mail.draft import Draft
from composer.mail.outbox import EntryState, OutboxEntry
from composer.paths import Paths
from composer.session import Session
from composer.ui.compose_window import ComposeWindow
from tests.servers import PASSWORD, SilentServer, SmtpServer, account_for
from tests.windows import configure, fill


def make_owner(qtbot: QtBot, config_dir: Path) -> Session:
    """An owner over config_dir whose windows qtbot closes at teardown."""
    owner = Session(Paths.under(config_dir))
    owner.window_opened.connect(qtbot.addWidget)
    return owner


@pytest.fixture
def owner(qtbot: QtBot, config_dir: Path) -> Session:
    """The one-per-process owner of compose windows, over config_dir."""
    return make_owner(qtbot, config_dir)


def new_window_action(window: object) -> QAction:
    action = window.findChild(QAction, "actionNewWindow")  # type: ignore[attr-defined]
    assert isinstance(action, QAction)
    return action


def test_open_window_shows_a_filled_window(owner: Session, qtbot: QtBot) -> None:
    window = owner.open_window(Draft(to="ann@example.org", subject="Hi"))
    qtbot.waitExposed(window)

    assert window.isVisible()
    assert (window.form.to.text(), window.form.subject.text()) == ("ann@example.org", "Hi")
    assert owner.windows() == [window]


def test_new_window_is_built_but_not_shown(owner: Session) -> None:
    window = owner.new_window()

    assert not window.isVisible()
    assert window.objectName() == "composerWindow"
    assert owner.windows() == [window]


def test_windows_share_one_context(owner: Session, config_dir: Path) -> None:
    first = owner.open_window()
    account = Account(id="work", name="Work", email="ann@example.org", host="smtp.example.org")
    owner.context.update_settings(AccountSettings((account,), default_id="work"))

    second = owner.open_window()

    assert second.form.from_account.currentData() == "work"
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
    assert second.form.from_account.currentData() == "work"
    assert second.form.to.text() == ""
    assert first.form.to.text() == "bob@example.net"


def test_closing_a_window_forgets_it_and_keeps_the_others(owner: Session, qtbot: QtBot) -> None:
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
    session = session_of(first)
    session.window_opened.connect(qtbot.addWidget)
    first.show()

    with qtbot.waitSignal(session.window_opened) as opened:
        new_window_action(first).trigger()
    second = opened.args[0]
    first.close()

    assert session.windows() == [second]
    assert second.isVisible()
    with qtbot.waitSignal(session.ended):
        second.close()


def session_of(window: ComposeWindow) -> Session:
    app = QApplication.instance()
    assert app is not None
    [session] = [s for s in app.findChildren(Session) if window in s.windows()]
    return session


def test_a_window_closed_while_sending_lets_the_message_go_and_the_others_hear(
    owner: Session, qtbot: QtBot, config_dir: Path
) -> None:
    sender, other = owner.open_window(), owner.open_window()
    fill(sender, to="bob@example.org", subject="Off it goes", body="Hi")

    sender.action_send.trigger()
    assert sender.is_sending()
    sender.close()

    assert owner.windows() == [other]
    qtbot.waitUntil(lambda: "Off it goes" in other.statusBar().currentMessage(), timeout=20_000)
    assert "Sent to 1 recipient" in other.statusBar().currentMessage()
    [delivered] = (config_dir / "sandbox" / "Maildir" / "new").iterdir()
    assert b"Subject: Off it goes" in delivered.read_bytes()


def test_a_message_that_fails_for_now_after_its_window_closed_waits_in_the_outbox(
    qtbot: QtBot, config_dir: Path, silent_server: SilentServer
) -> None:
    configure(config_dir, account_for(silent_server, Security.NONE, username="", timeout=1))
    owner = make_owner(qtbot, config_dir)
    window = owner.open_window()
    fill(window, to="bob@example.org", cc="carl@example.org", subject="Keep me", body="Typed")
    window.action_send.trigger()
    qtbot.waitUntil(lambda: silent_server.accepted >= 1, timeout=10_000)

    window.close()  # returns while the send still waits for the server
    assert owner.windows() == []

    with qtbot.waitSignal(owner.sending.finished, timeout=20_000) as finished:
        pass
    entry = finished.args[1]
    assert isinstance(entry, OutboxEntry)
    assert entry.state is EntryState.WAITING
    assert entry.subject == "Keep me"
    assert "timed out" in entry.last_error
    told = owner.open_window()
    assert "Outbox" in told.statusBar().currentMessage()
    assert "Keep me" in told.statusBar().currentMessage()


def test_a_message_refused_for_good_after_its_window_closed_comes_back(
    qtbot: QtBot, config_dir: Path, smtp_server: SmtpServer
) -> None:
    configure(config_dir, account_for(smtp_server, Security.STARTTLS), password=PASSWORD)
    smtp_server.rcpt_replies["bob@example.org"] = "550 5.1.1 No such user"
    owner = make_owner(qtbot, config_dir)
    window = owner.open_window()
    fill(window, to="bob@example.org", cc="", subject="Keep me", body="Typed")
    window.action_send.trigger()
    window.close()

    with qtbot.waitSignal(owner.sending.finished, timeout=20_000) as finished:
        pass
    entry = finished.args[1]
    assert isinstance(entry, OutboxEntry)
    assert entry.state is EntryState.HELD  # kept, with its reason, never retried
    owner.sending.flush_due()
    assert smtp_server.commands.count("DATA") == 0
    assert "550" in entry.last_error


def test_an_older_send_that_ends_never_clears_a_newer_one(
    owner: Session, qtbot: QtBot, config_dir: Path, silent_server: SilentServer
) -> None:
    sandbox = owner.open_window()
    fill(sandbox, to="bob@example.org", subject="First", body="1")
    slow = account_for(silent_server, Security.NONE, id="slow", username="", timeout=30)

    def send_again(_ok: bool) -> None:
        # Straight away, while the first send's thread is still winding down.
        owner.context.update_settings(AccountSettings((slow,), default_id="slow"))
        sandbox.form.set_accounts(owner.context.accounts(), "slow")
        fill(sandbox, to="carl@example.org", subject="Second", body="2")
        sandbox.action_send.trigger()

    sandbox.send_finished.connect(send_again)
    with qtbot.waitSignal(sandbox.send_finished, timeout=20_000):
        sandbox.action_send.trigger()
    sandbox.send_finished.disconnect(send_again)
    qtbot.waitUntil(lambda: silent_server.accepted >= 1, timeout=10_000)
    qtbot.waitUntil(lambda: len(owner.sending._tasks) == 1)

    assert sandbox.is_sending()
    assert sandbox.action_cancel.isEnabled()
    with qtbot.waitSignal(sandbox.send_finished, timeout=10_000):
        sandbox.action_cancel.trigger()
    assert "cancelled" in sandbox.statusBar().currentMessage()


def test_a_late_problem_shows_in_the_windows_open_now_not_in_the_next(
    qtbot: QtBot, config_dir: Path
) -> None:
    configure(
        config_dir,
        Account(id="home", name="Home", email="ann@example.org", host="smtp.example.org"),
        Account(id="work", name="Work", email="ann@work.example", host="smtp.work.example"),
    )
    owner = make_owner(qtbot, config_dir)
    window = owner.open_window()
    # The settings file cannot be replaced any more: a directory now stands in its place.
    (config_dir / "settings.json").unlink()
    (config_dir / "settings.json").mkdir()

    window.form.from_account.setCurrentIndex(1)  # remembered, and saved in the background

    qtbot.waitUntil(lambda: "Could not save settings" in window.statusBar().currentMessage())
    later = owner.open_window()
    assert "Could not save settings" not in later.statusBar().currentMessage()
    assert later.findChild(QMessageBox, "startupWarning") is None


def test_choosing_an_account_saves_it_off_the_gui_thread(qtbot: QtBot, config_dir: Path) -> None:
    configure(
        config_dir,
        Account(id="home", name="Home", email="ann@example.org", host="smtp.example.org"),
        Account(id="work", name="Work", email="ann@work.example", host="smtp.work.example"),
    )
    owner = make_owner(qtbot, config_dir)
    window = owner.open_window()
    writers: list[str] = []
    real_save = AccountStore.save

    def save(store: AccountStore, settings: AccountSettings) -> None:
        writers.append(threading.current_thread().name)
        real_save(store, settings)

    AccountStore.save = save  # type: ignore[method-assign]
    try:
        window.form.from_account.setCurrentIndex(1)
        path = config_dir / "settings.json"
        qtbot.waitUntil(lambda: '"last_used_account": "work"' in path.read_text(), timeout=5000)
    finally:
        AccountStore.save = real_save  # type: ignore[method-assign]
    assert writers
    assert threading.main_thread().name not in writers


def test_the_program_quits_once_a_send_from_its_closed_last_window_is_done(
    qapp: QApplication, qtbot: QtBot, config_dir: Path
) -> None:
    from composer.app import main

    def write_send_and_close() -> None:
        [window] = [
            w for w in qapp.topLevelWidgets() if isinstance(w, ComposeWindow) and w not in before
        ]
        fill(window, to="bob@example.org", subject="Last words", body="Bye")
        window.action_send.trigger()
        window.close()

    before = set(qapp.topLevelWidgets())
    QTimer.singleShot(200, write_send_and_close)
    # Quitting on the last window's close would drop the message; a hang would time out.
    QTimer.singleShot(60_000, qapp.quit)
    try:
        status = main(["--config-dir", str(config_dir)])
    finally:
        qapp.setQuitOnLastWindowClosed(True)

    assert status == 0
    [delivered] = (config_dir / "sandbox" / "Maildir" / "new").iterdir()
    assert b"Subject: Last words" in delivered.read_bytes()


def test_a_message_some_refused_after_its_window_closed_comes_back_for_them(
    qtbot: QtBot, config_dir: Path, smtp_server: SmtpServer
) -> None:
    configure(config_dir, account_for(smtp_server, Security.STARTTLS), password=PASSWORD)
    smtp_server.refuse.add("nobody@example.org")
    owner = make_owner(qtbot, config_dir)
    window = owner.open_window()
    fill(window, to="bob@example.org, nobody@example.org", subject="Partly", body="Hi")
    window.action_send.trigger()
    window.close()

    with qtbot.waitSignal(owner.window_opened, timeout=20_000) as opened:
        pass
    again = opened.args[0]
    assert again.form.subject.text() == "Partly"
    assert "nobody@example.org" in again.statusBar().currentMessage()


def test_a_damaged_outbox_entry_is_named_in_the_first_windows_warning(
    config_dir: Path, qtbot: QtBot
) -> None:
    outbox = config_dir / "Outbox"
    outbox.mkdir()
    (outbox / "0000000000000001-abcd.eml").write_bytes(b"\x00\xffnot a queued message")

    window = create_main_window(config_dir)
    qtbot.addWidget(window)
    window.show()

    [kept] = outbox.glob("0000000000000001-abcd.eml.broken-*")
    box = window.findChild(QMessageBox, "startupWarning")
    assert isinstance(box, QMessageBox)
    assert str(kept) in box.text()
    assert "nothing was sent from it" in box.text()


def damage_address_book(config_dir: Path) -> Path:
    book = config_dir / "addressbook.sqlite3"
    book.mkdir()  # a folder where the file should be
    return book


def damage_sent_record(config_dir: Path) -> Path:
    (config_dir / "Sent").mkdir()
    record = config_dir / "Sent" / "0000000000000001-abcd.eml"
    record.write_bytes(b"\x00\xffnot a Sent record")
    return record


@pytest.mark.parametrize(
    ("damage", "said", "made_anew"),
    [
        (damage_address_book, "started a new one", True),
        (damage_sent_record, "in Sent was damaged", False),
    ],
    ids=["address book", "Sent record"],
)
def test_a_damaged_file_read_after_the_first_frame_is_named_in_a_warning(
    config_dir: Path, qtbot: QtBot, damage: Callable[[Path], Path], said: str, made_anew: bool
) -> None:
    path = damage(config_dir)
    before = (path.lstat().st_ino, path.lstat().st_ctime_ns)

    window = create_main_window(config_dir)
    qtbot.addWidget(window)
    # Not moved aside while the window is built (that would change its ctime).
    assert (path.lstat().st_ino, path.lstat().st_ctime_ns) == before
    window.show()

    def warned() -> None:
        box = window.findChild(QMessageBox, "startupWarning")
        assert isinstance(box, QMessageBox)
        [kept] = path.parent.glob(f"{path.name}.broken-*")
        assert str(kept) in box.text()
        assert said in box.text()

    qtbot.waitUntil(warned, timeout=10_000)
    assert path.is_file() == made_anew


def test_a_status_line_held_back_is_shown_before_the_message_that_came_after_it(
    config_dir: Path, qtbot: QtBot
) -> None:
    from composer.mail.progress import SendResult

    window = create_main_window(config_dir)
    qtbot.addWidget(window)
    window.show()
    session = session_of(window)
    shown: list[str] = []
    window.statusBar().messageChanged.connect(lambda text: text and shown.append(text))

    # Two sent without a window watching, the second held back; then a message.
    for subject in ("One", "Two"):
        sent = SendResult("smtp.example.org", "<m@example.org>", ("bob@example.org",))
        session.sending.finished.emit(None, sent, subject)
    session.bridge.post("Could not save settings.")
    qtbot.wait(300)  # longer than a held line waits

    assert [text.split(":")[0] for text in shown] == [
        "“One”",
        "“Two”",
        "Could not save settings.",
    ]


def test_a_session_that_ends_during_the_start_up_imports_starts_no_more_work(
    qtbot: QtBot, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functools
    import importlib
    import sys

    import composer.session
    import composer.warm_up as warm_up
    from composer.send_service import SendService

    # An account that keeps copies in its mailbox: the end of the imports looks for owed ones.
    account = Account(
        id="w",
        name="W",
        email="ann@example.org",
        host="127.0.0.1",
        port=1,
        security=Security.NONE,
        imap_host="127.0.0.1",
        imap_port=1,
        imap_security=Security.NONE,
        copy_to_sent=True,
    )
    configure(config_dir, account)
    # This process has imported sending's modules long ago: the warm-up gets two of its own.
    modules = ("json.tool", "xml.dom.minidom")
    for name in modules:
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(
        composer.session, "import_soon", functools.partial(warm_up.import_soon, modules=modules)
    )
    session = Session(Paths.under(config_dir))
    window = session.new_window()
    ended: list[bool] = []
    session.ended.connect(lambda: ended.append(True))
    started_after_the_end: list[bool] = []
    real_copy_owed = SendService.copy_owed

    def copy_owed(service: SendService, account_id: str = "") -> None:
        # What this call starts: a copy cancelled at the end may still be finishing.
        before = set(service._tasks)
        real_copy_owed(service, account_id)
        started_after_the_end.append(bool(ended and set(service._tasks) - before))

    monkeypatch.setattr(SendService, "copy_owed", copy_owed)
    real_import = importlib.import_module

    def import_module(name: str, package: str | None = None) -> object:
        if name == modules[0]:
            # The user closes the window while this import runs: the last step is due already.
            QTimer.singleShot(0, window.close)
        return real_import(name, package)

    monkeypatch.setattr(warm_up.importlib, "import_module", import_module)

    qtbot.waitUntil(lambda: bool(ended), timeout=10_000)
    qtbot.wait(500)
    assert True not in started_after_the_end

"""The compose window's actions, menus and main toolbar."""

from __future__ import annotations

from typing import NamedTuple

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QToolBar

from composer.mail.accounts import UNDO_SEND_CHOICES
from composer.ui.icons import icon
from composer.ui.qt_values import (
    TOOL_BUTTON_TEXT_BESIDE_ICON,
    keys,
    set_enum_property,
    set_shortcut,
)

Shortcut = str | QKeySequence.StandardKey


# A NamedTuple, not a dataclass: Python 3.11 compiles each method a dataclass generates at
# start-up, and with this many fields this was the dearest class there.
class ComposeActions(NamedTuple):
    """Every action of one compose window; objectNames are part of the published contract."""

    send: QAction
    send_later: QAction
    undo_send: QAction
    cancel: QAction
    save_draft: QAction
    drafts: QAction
    outbox: QAction
    sent: QAction
    new: QAction
    new_window: QAction
    restore: QAction
    attach: QAction
    plain_text: QAction
    show_source: QAction
    save_eml: QAction
    accounts: QAction
    debug_log: QAction
    show_log: QAction
    about: QAction
    close: QAction
    quit: QAction
    # Settings ▸ Undo Send Delay, one checkable action per choice; data() is the seconds.
    undo_delays: tuple[QAction, ...] = ()


def make_action(
    parent: QMainWindow, name: str, text: str, theme: str, fallback: str, shortcut: Shortcut = ""
) -> QAction:
    """An action with an objectName, a theme icon (or Composer's own) and a shortcut."""
    action = QAction(icon(theme, fallback), text, parent)
    action.setObjectName(name)
    if shortcut:
        set_shortcut(action, shortcut)
    return action


def _undo_delay(window: QMainWindow, seconds: int) -> QAction:
    text = f"{seconds} Seconds" if seconds else "Off (Send at Once)"
    action = QAction(text, window)
    action.setObjectName(f"actionUndoDelay{seconds}")
    action.setCheckable(True)
    action.setData(seconds)
    return action


def build_actions(window: QMainWindow) -> ComposeActions:
    """Create the actions; the window connects them."""
    standard = QKeySequence.StandardKey
    actions = ComposeActions(
        send=make_action(window, "actionSend", "&Send", "mail-send", "send", "Ctrl+Return"),
        send_later=make_action(
            window, "actionSendLater", "Send &Later…", "appointment-new", "", "Ctrl+Shift+Return"
        ),
        undo_send=make_action(window, "actionUndoSend", "&Undo Send", "edit-undo", ""),
        cancel=make_action(window, "actionCancelSend", "&Cancel Sending", "process-stop", "cancel"),
        save_draft=make_action(
            window, "actionSaveDraft", "Save &Draft", "document-save", "", standard.Save
        ),
        drafts=make_action(window, "actionDrafts", "&Drafts", "folder", "", "Ctrl+Shift+D"),
        outbox=make_action(window, "actionOutbox", "&Outbox", "mail-queue", "", "Ctrl+Shift+O"),
        sent=make_action(window, "actionSent", "S&ent Messages", "mail-folder-sent", ""),
        new=make_action(window, "actionNew", "&New Message", "document-new", "new", standard.New),
        new_window=make_action(
            window, "actionNewWindow", "New &Window", "window-new", "new", "Ctrl+Shift+N"
        ),
        restore=make_action(
            window, "actionRestorePrevious", "&Restore Previous Message", "edit-undo", ""
        ),
        attach=make_action(
            window, "actionAttach", "&Attach Files…", "mail-attachment", "attach", "Ctrl+Shift+A"
        ),
        plain_text=make_action(window, "actionPlainText", "&Plain Text Only", "", ""),
        show_source=make_action(
            window, "actionShowSource", "Show Message &Source", "text-x-generic", ""
        ),
        save_eml=make_action(
            window, "actionSaveEml", "Save as .&eml…", "document-save-as", "", standard.SaveAs
        ),
        accounts=make_action(
            window, "actionAccounts", "SMTP &Accounts…", "system-users", "accounts"
        ),
        debug_log=make_action(window, "actionDebugLog", "&Debug Log (SMTP Conversations)", "", ""),
        show_log=make_action(window, "actionShowLog", "Show &Log", "text-x-log", ""),
        about=make_action(window, "actionAbout", "&About Composer", "help-about", "composer"),
        close=make_action(
            window, "actionClose", "&Close Window", "window-close", "", standard.Close
        ),
        quit=make_action(window, "actionQuit", "&Quit", "application-exit", "", standard.Quit),
        undo_delays=tuple(_undo_delay(window, seconds) for seconds in UNDO_SEND_CHOICES),
    )
    actions.send.setShortcuts([keys("Ctrl+Return"), keys("Ctrl+Enter")])
    actions.send_later.setShortcuts([keys("Ctrl+Shift+Return"), keys("Ctrl+Shift+Enter")])
    actions.cancel.setEnabled(False)
    actions.undo_send.setEnabled(False)
    actions.restore.setEnabled(False)
    actions.plain_text.setCheckable(True)
    actions.debug_log.setCheckable(True)
    actions.debug_log.setStatusTip(
        "Keep each SMTP conversation in the log, passwords and messages hidden"
    )
    actions.about.setMenuRole(QAction.MenuRole.AboutRole)
    actions.quit.setMenuRole(QAction.MenuRole.QuitRole)
    return actions


def build_menus(window: QMainWindow, actions: ComposeActions) -> QToolBar:
    """Menus and the main toolbar; returns the toolbar."""
    menu = window.menuBar().addMenu("&Message")
    for action in (actions.new, actions.new_window, actions.restore):
        menu.addAction(action)
    menu.addSeparator()
    for action in (actions.send, actions.send_later, actions.undo_send, actions.cancel):
        menu.addAction(action)
    menu.addAction(actions.attach)
    menu.addSeparator()
    for action in (actions.save_draft, actions.show_source, actions.save_eml):
        menu.addAction(action)
    menu.addSeparator()
    menu.addAction(actions.close)
    menu.addAction(actions.quit)
    folders = window.menuBar().addMenu("&Folders")
    for action in (actions.drafts, actions.outbox, actions.sent):
        folders.addAction(action)
    window.menuBar().addMenu("F&ormat").addAction(actions.plain_text)
    settings = window.menuBar().addMenu("&Settings")
    settings.setObjectName("settingsMenu")
    settings.addAction(actions.accounts)
    delays = settings.addMenu("&Undo Send Delay")
    group = QActionGroup(window)
    for action in actions.undo_delays:
        group.addAction(action)
        delays.addAction(action)
    settings.addAction(actions.debug_log)
    help_menu = window.menuBar().addMenu("&Help")
    help_menu.addAction(actions.show_log)
    help_menu.addAction(actions.about)

    toolbar = window.addToolBar("Compose")
    toolbar.setObjectName("composeToolBar")
    toolbar.setMovable(False)
    set_enum_property(toolbar, "toolButtonStyle", TOOL_BUTTON_TEXT_BESIDE_ICON)
    for action in (actions.send, actions.cancel, actions.attach, actions.new):
        toolbar.addAction(action)
    toolbar.addSeparator()
    toolbar.addAction(actions.accounts)
    return toolbar

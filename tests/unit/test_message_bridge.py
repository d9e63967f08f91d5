"""The message bridge: posted from any thread, shown on the GUI thread."""

from __future__ import annotations

import threading

from pytestqt.qtbot import QtBot

from composer.message_bridge import Level, Message, MessageBridge


def test_a_post_from_a_worker_thread_is_shown_on_the_gui_thread(qtbot: QtBot) -> None:
    bridge = MessageBridge()
    shown: list[tuple[Message, threading.Thread]] = []
    bridge.shown.connect(lambda message: shown.append((message, threading.current_thread())))

    worker = threading.Thread(target=lambda: bridge.post("Could not save settings."))
    with qtbot.waitSignal(bridge.shown, timeout=5000):
        worker.start()
    worker.join()

    assert shown == [(Message("Could not save settings."), threading.main_thread())]


def test_messages_keep_their_order_and_level(qtbot: QtBot) -> None:
    bridge = MessageBridge()
    shown: list[Message] = []
    bridge.shown.connect(shown.append)

    bridge.post("first")
    bridge.post("second", Level.WARNING)
    qtbot.waitUntil(lambda: len(shown) == 2)

    assert shown == [Message("first"), Message("second", Level.WARNING)]

"""Composer flushing COUNT small queued messages from its Outbox, in a fresh process.

Run as ``python -m tests.benchmarks.bench_outbox PORT FOLDER``. The compose window is shown
and its start-up flush (of an empty Outbox, after the imports that follow the first frame) is
over before COUNT messages are put in the Outbox as Send puts them there (built by
build_message, added by Outbox.add); each is also written to FOLDER as an .eml for the smtplib
peer. Then SendService.flush_due() is called,
with time.monotonic() taken just before, and the process waits until the Outbox is empty.
Prints one JSON line: that start, and whether every message left.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.bench_send import bench_account

COUNT = 200
TIMEOUT_MS = 120_000


def main() -> None:
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from composer.app import create_main_window
    from composer.mail.draft import Draft
    from composer.mail.message import build_message
    from composer.session import Session

    port, folder = int(sys.argv[1]), Path(sys.argv[2])
    app = QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory(prefix="composer-bench-") as config_dir:
        account = bench_account(port, Path(config_dir))
        window = create_main_window(Path(config_dir))
        window.show()
        QTest.qWaitForWindowExposed(window)
        # The start-up flush, of nothing, comes after the imports that follow the first frame.
        QTest.qWait(1000)
        session = window._sending.parent()
        assert isinstance(session, Session)
        sending, outbox = session.sending, session.context.outbox
        for number in range(COUNT):
            draft = Draft(
                account_id=account.id, to=f"r{number}@example.org", subject=f"No. {number}"
            )
            message = build_message(draft, account.sender(), account.reply_to)
            with (folder / f"{number:03}.eml").open("wb") as eml:
                message.write_to(eml)
            outbox.add(message, account.id)
        loop = QEventLoop()
        sending.idle.connect(loop.quit)
        QTimer.singleShot(TIMEOUT_MS, loop.quit)
        start = time.monotonic()
        sending.flush_due()
        loop.exec()
        left = len(sending.entries())
        window.close()
        app.processEvents()
    print(json.dumps({"start": start, "left": left}), flush=True)


if __name__ == "__main__":
    main()

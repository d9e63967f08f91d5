"""One send from a real ComposeWindow in a fresh process: GUI stall and peak memory growth.

Run as ``python -m tests.benchmarks.bench_send PORT FILE``; prints one JSON line. Before the
send, the same 5 ms timer runs for IDLE_MS on the shown, idle window: that is the floor the
stall is measured against. Before that, the draft's autosave of the attached file is written
and waited for, so that it does not run beside the send. The send's start is
time.monotonic() just before Send is triggered; the parent matches it with the sink's stamp
of its 250.
"""

from __future__ import annotations

import faulthandler
import gc
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from tests.benchmarks.bench_memory import peak_kib, reset_peak, rss_kib

if TYPE_CHECKING:
    from composer.mail.accounts import Account
    from composer.ui.compose_window import ComposeWindow

TICK_MS = 5
STALL_MS = 50  # a tick this late makes faulthandler dump every thread's stack
TIMEOUT_MS = 180_000
IDLE_MS = 1500


@dataclass(frozen=True)
class SendRun:
    """What one send measured; times in milliseconds, memory in MiB."""

    ok: bool
    idle_worst_gap: float  # the same timer on the same window, before the send
    idle_p99_gap: float
    sent_at: float  # time.monotonic() just before Send was triggered
    worst_gap: float
    p99_gap: float
    worst_at: float  # when the worst gap ended, counted from the trigger
    trigger: float  # how long action_send.trigger() itself kept the GUI thread
    duration: float
    peak_growth: float  # VmHWM after the send minus VmRSS just before it
    sampled_growth: float  # the largest VmRSS seen at a tick, minus the same
    stall_stacks: str = ""  # faulthandler's dumps, taken STALL_MS into each long gap
    exit_problem: str = ""  # how the process ended, when it failed after measuring


def run_send(port: int, attachment: Path) -> SendRun:
    """Send attachment to the sink on port from a fresh process; raises if nothing was measured."""
    command = [sys.executable, "-m", "tests.benchmarks.bench_send", str(port), str(attachment)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_MS / 1000 + 60)
    lines = done.stdout.splitlines()
    if not lines or not lines[-1].startswith("{"):
        raise RuntimeError(f"bench_send failed ({done.returncode}):\n{done.stderr}")
    run = SendRun(**json.loads(lines[-1]))
    if done.returncode == 0:
        return run
    # E.g. PySide6 6.12.0 aborting at exit ("Fatal Python error: bool_dealloc"): measured
    # already, so report it next to the numbers rather than lose them.
    fatal = [line for line in done.stderr.splitlines() if line.startswith("Fatal Python error")]
    problem = ":".join(fatal[0].split(":")[:2]) if fatal else f"exit status {done.returncode}"
    return SendRun(**{**run.__dict__, "exit_problem": problem})


def bench_account(port: int, config_dir: Path) -> Account:
    """Save, in config_dir, the one account every bench send uses, and return it."""
    from composer.mail.accounts import Account, AccountSettings, AccountStore, Security

    # Plain SMTP, no login, and no size limit of the account's own: 100 MiB must go out.
    account = Account(
        name="Bench",
        email="ann@example.org",
        host="127.0.0.1",
        port=port,
        security=Security.NONE,
        timeout=60,
        size_limit=0,
    )
    # No undo-send delay (5 s by default): the send is timed from Send to the server's 250.
    settings = AccountSettings((account,), default_id=account.id, undo_send_seconds=0)
    AccountStore(config_dir / "settings.json").save(settings)
    return account


def _open_window(port: int, attachment: Path, config_dir: Path) -> ComposeWindow:
    from PySide6.QtTest import QTest

    from composer.app import create_main_window

    bench_account(port, config_dir)
    window = create_main_window(config_dir)
    window.show()
    QTest.qWaitForWindowExposed(window)
    window.form.to.setText("bob@example.net")
    window.form.subject.setText("Benchmark")
    window.form.body.setPlainText("A large file.")
    window.attach_files([attachment])
    QTest.qWait(300)  # let whatever the window does after attaching settle first
    _write_the_autosave(window)
    return window


def _write_the_autosave(window: ComposeWindow) -> None:
    """Write now the draft the autosave would write SAVE_DELAY_MS after the attaching, and
    wait for it: otherwise it comes due about when Send is pressed, and some sends measured
    the draft's copy of a file up to COPY_LIMIT (read and written on the writer thread) on
    top of the send."""
    from composer.session import Session

    session = window._sending.parent()  # as bench_outbox finds it
    if not isinstance(session, Session):
        raise RuntimeError("no Composer session")
    session.keeper(window).save_soon_now()
    if not session.context.writer.flush(timeout=60):
        raise RuntimeError("the draft was not written in 60 s")


def _idle_gaps() -> list[float]:
    """Gaps of the 5 ms timer while the window only waits, in milliseconds; each tick does
    what a tick during the send does (read RSS, re-arm faulthandler)."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    ticks: list[float] = []
    with open(os.devnull, "w") as nowhere:

        def tick() -> None:
            ticks.append(time.perf_counter())
            rss_kib()
            faulthandler.dump_traceback_later(STALL_MS / 1000, file=nowhere)

        loop = QEventLoop()
        timer = QTimer(timerType=Qt.TimerType.PreciseTimer, interval=TICK_MS)
        timer.timeout.connect(tick)
        QTimer.singleShot(IDLE_MS, loop.quit)
        timer.start()
        tick()
        loop.exec()
        timer.stop()
        faulthandler.cancel_dump_traceback_later()
    return [(b - a) * 1000 for a, b in itertools.pairwise(ticks)]


def _p99(gaps: list[float]) -> float:
    return statistics.quantiles(gaps, n=100, method="inclusive")[98] if len(gaps) > 1 else gaps[0]


def _send(window: ComposeWindow, stacks: TextIO) -> SendRun:
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    ticks: list[float] = []
    rss: list[int] = []
    outcome: list[bool] = []

    def tick() -> None:
        ticks.append(time.perf_counter())
        rss.append(rss_kib())
        # Re-armed at every tick, so it fires only when the GUI thread is STALL_MS late; it
        # dumps from a C thread of its own, so a thread holding the GIL cannot delay it.
        faulthandler.dump_traceback_later(STALL_MS / 1000, file=stacks)

    loop = QEventLoop()
    timer = QTimer(timerType=Qt.TimerType.PreciseTimer, interval=TICK_MS)
    timer.timeout.connect(tick)

    def finished(ok: bool) -> None:
        outcome.append(ok)
        loop.quit()

    window.send_finished.connect(finished)
    idle = _idle_gaps()
    QTimer.singleShot(TIMEOUT_MS, loop.quit)
    gc.collect()
    reset_peak()
    before = rss_kib()
    timer.start()
    tick()  # the first gap includes the trigger's own work
    sent_at = time.monotonic()
    window.action_send.trigger()
    triggered = time.perf_counter()
    loop.exec()
    ticks.append(time.perf_counter())
    faulthandler.cancel_dump_traceback_later()
    timer.stop()
    peak = peak_kib()
    stacks.seek(0)

    gaps = [(b - a) * 1000 for a, b in itertools.pairwise(ticks)]
    worst = max(range(len(gaps)), key=gaps.__getitem__)
    return SendRun(
        ok=outcome == [True],
        idle_worst_gap=max(idle),
        idle_p99_gap=_p99(idle),
        sent_at=sent_at,
        worst_gap=gaps[worst],
        p99_gap=_p99(gaps),
        worst_at=(ticks[worst + 1] - ticks[0]) * 1000,
        trigger=(triggered - ticks[0]) * 1000,
        duration=(ticks[-1] - ticks[0]) * 1000,
        peak_growth=(peak - before) / 1024,
        sampled_growth=(max([before, *rss]) - before) / 1024,
        stall_stacks=stacks.read(),
    )


def main() -> None:
    from PySide6.QtWidgets import QApplication

    port, attachment = int(sys.argv[1]), Path(sys.argv[2])
    app = QApplication(sys.argv[:1])
    with (
        tempfile.TemporaryDirectory(prefix="composer-bench-") as config_dir,
        tempfile.TemporaryFile("w+") as stacks,
    ):
        window = _open_window(port, attachment, Path(config_dir))
        run = _send(window, stacks)
        window.close()
        app.processEvents()
    print(json.dumps(run.__dict__), flush=True)


if __name__ == "__main__":
    main()

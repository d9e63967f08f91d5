"""Start-up time: process start to the first painted frame, bare PySide6 versus Composer.

What is counted: from just before the parent starts ``python -c PROBE`` (interpreter start,
imports, QApplication, building and showing the window) until the first paint of the
top-level window has been flushed to the offscreen backing store. The child stamps that
moment with time.perf_counter_ns(), which on Linux is CLOCK_MONOTONIC and so shared with the
parent. Process exit is not counted. Every run uses a fresh process and, for Composer, a
fresh empty config directory; the OS file cache and Python's bytecode cache are warm, as on
any launch after the first. (This environment sets PYTHONDONTWRITEBYTECODE, which would make
every launch compile Composer's ~40 modules from source; the probes get a bytecode cache of
their own in a temporary PYTHONPYCACHEPREFIX instead, so nothing is written into the tree.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

RUNS = 10

# The same filter and event loop for every variant; only the window differs. The filter on
# the application costs a Python call per event, in every variant alike.
_PROBE = """
import sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QLineEdit, QMainWindow, QVBoxLayout, QWidget
class FirstPaint(QObject):
    seen = False
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint and not self.seen:
            if isinstance(watched, QWidget) and watched.isWindow():
                self.seen = True
                QTimer.singleShot(0, report)  # runs once the whole frame is painted and flushed
        return False
def report():
    print(time.perf_counter_ns(), flush=True)
    QApplication.quit()
app = QApplication(sys.argv[:1])
app.installEventFilter(FirstPaint(app))
{window}
"""

_BARE = """
window = QMainWindow()
fields = QWidget()
layout = QVBoxLayout(fields)
for _ in range(4):
    layout.addWidget(QLineEdit())
window.setCentralWidget(fields)
window.show()
app.exec()
"""

_COMPOSER = """
from composer.app import create_main_window
window = create_main_window(sys.argv[1])
window.show()
app.exec()
"""

# The whole launch of the `composer` command (single-instance check, icon, socket server).
_COMPOSER_MAIN = """
from composer.app import main
main(["--config-dir", sys.argv[1]])
"""

VARIANTS = {
    "bare PySide6": _BARE,
    "create_main_window": _COMPOSER,
    "composer main()": _COMPOSER_MAIN,
}


def _launch(window_code: str, env: dict[str, str]) -> float:
    """Milliseconds from starting the process to its first painted frame."""
    with tempfile.TemporaryDirectory(prefix="composer-bench-") as config_dir:
        command = [sys.executable, "-c", _PROBE.replace("{window}", window_code), config_dir]
        start = time.perf_counter_ns()
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    if not done.stdout.strip():  # a later failure, at exit say, does not spoil the stamp
        raise RuntimeError(f"start-up probe failed ({done.returncode}):\n{done.stderr}")
    return (int(done.stdout.split()[-1]) - start) / 1e6


def measure_startup(runs: int = RUNS) -> dict[str, list[float]]:
    """Milliseconds per run for each variant; runs interleave so drift hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="composer-bench-pyc-") as bytecode:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = bytecode
        for code in VARIANTS.values():
            _launch(code, env)  # fills the file and bytecode caches; not counted
        for _ in range(runs):
            for name, code in VARIANTS.items():
                times[name].append(_launch(code, env))
    return times

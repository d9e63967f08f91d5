"""``make bench``: measure start-up, GUI stall while sending and memory; report, never gate.

Exits 0 when every benchmark ran, whether or not it met its goal; 1 if one could not run.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

from PySide6 import __version__ as pyside_version

from tests.benchmarks.bench_report import Row, print_table
from tests.benchmarks.bench_send import STALL_MS, SendRun, run_send
from tests.benchmarks.bench_server import sink_server
from tests.benchmarks.bench_startup import RUNS, measure_startup

MIB = 1024 * 1024
STALL_LIMIT_MS = STALL_MS
STALL_MIB = 25
STALL_RUNS = 3
MEMORY_MIB = (5, 25, 50)
MEMORY_SLACK_MIB = 5  # the "small constant" the flat-memory goal allows
STARTUP_RATIO = 1.3
# Large enough for 50 MiB in base64 (about 70 MB); aiosmtpd's default, 32 MiB, is not.
SERVER_LIMIT = 128 * MIB


def _attachment(folder: Path, mib: int) -> Path:
    """A file of mib MiB of random bytes (base64 cannot shrink it), written in 1 MiB pieces."""
    path = folder / f"random-{mib}MiB.bin"
    with path.open("wb") as file:
        for _ in range(mib):
            file.write(os.urandom(MIB))
    return path


def startup_rows() -> list[Row]:
    """Start-up medians of both Composer launches against the bare window."""
    times = measure_startup()
    bare = statistics.median(times["bare PySide6"])
    rows = [Row("start-up, bare PySide6 window", _times(times["bare PySide6"]))]
    for name in ("create_main_window", "composer main()"):
        ratio = statistics.median(times[name]) / bare
        measured = f"{_times(times[name])}, {ratio:.2f}× bare"
        rows.append(
            Row(f"start-up, {name}", measured, f"≤ {STARTUP_RATIO}× bare", ratio <= STARTUP_RATIO)
        )
    return rows


def _times(values: list[float]) -> str:
    return f"median {statistics.median(values):.0f} ms (min {min(values):.0f}, {len(values)} runs)"


def stall_rows(port: int, folder: Path) -> list[Row]:
    """The GUI thread's longest gap while a 25 MiB attachment goes out, run by run."""
    attachment = _attachment(folder, STALL_MIB)
    rows = []
    for number in range(1, STALL_RUNS + 1):
        run = run_send(port, attachment)
        measured = (
            f"worst gap {run.worst_gap:.0f} ms (at {run.worst_at:.0f} ms; trigger() "
            f"{run.trigger:.0f} ms), p99 {run.p99_gap:.0f} ms, send {run.duration / 1000:.1f} s"
        )
        met = run.ok and run.worst_gap <= STALL_LIMIT_MS
        name = f"GUI stall, {STALL_MIB} MiB send #{number}"
        goal = f"worst ≤ {STALL_LIMIT_MS} ms"
        rows.append(Row(name, measured + _problems(run), goal, met, _stacks(run)))
    return rows


def _stacks(run: SendRun) -> str:
    if not run.stall_stacks:
        return ""
    return f"every thread when the GUI thread was {STALL_MS} ms late:\n{run.stall_stacks}"


def _problems(run: SendRun) -> str:
    """What went wrong besides the numbers, for the measured column."""
    problems = [] if run.ok else ["SEND FAILED"]
    if run.exit_problem:
        problems.append(f"then {run.exit_problem}")
    return "".join(f"; {problem}" for problem in problems)


def memory_rows(port: int, folder: Path) -> list[Row]:
    """Peak memory growth per attachment size, and whether it stays flat."""
    growth: dict[int, float] = {}
    rows = []
    for mib in MEMORY_MIB:
        attachment = _attachment(folder, mib)
        run = run_send(port, attachment)
        attachment.unlink()
        growth[mib] = run.peak_growth
        measured = f"peak RSS +{run.peak_growth:.1f} MiB (sampled +{run.sampled_growth:.1f})"
        name = f"memory, {mib} MiB send"
        rows.append(Row(name, measured + _problems(run), details=_stacks(run)))
    small, large = growth[MEMORY_MIB[0]], growth[MEMORY_MIB[-1]]
    allowed = 1.5 * small + MEMORY_SLACK_MIB
    goal = f"{MEMORY_MIB[-1]} MiB < 1.5× {MEMORY_MIB[0]} MiB + {MEMORY_SLACK_MIB} MiB"
    measured = f"+{large:.1f} vs +{small:.1f} MiB (allowed +{allowed:.1f})"
    rows.append(Row("memory stays flat", measured, goal, large < allowed))
    return rows


def _attempt(name: str, rows: list[Row], measure: Callable[[], list[Row]]) -> bool:
    print(f"running: {name}…", file=sys.stderr, flush=True)
    try:
        rows.extend(measure())
    except Exception as error:
        traceback.print_exc()
        rows.append(Row(name, f"ERROR: {error}".splitlines()[0], verdict=False))
        return False
    return True


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # inherited by every child process
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"Python {platform.python_version()}, PySide6 {pyside_version}, {os.cpu_count()} CPUs, "
        f"load average {load}; start-up {RUNS} runs each, stall {STALL_RUNS} runs\n"
    )
    rows: list[Row] = []
    ok = _attempt("start-up", rows, startup_rows)
    with tempfile.TemporaryDirectory(prefix="composer-bench-") as scratch:
        folder = Path(scratch)
        with sink_server(SERVER_LIMIT) as port:
            ok &= _attempt("GUI stall", rows, lambda: stall_rows(port, folder))
            ok &= _attempt("memory", rows, lambda: memory_rows(port, folder))
    print_table(rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

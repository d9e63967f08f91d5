"""``make bench``: Composer side by side with its peers, in one run; report, never gate.

Exits 0 when every benchmark ran, whether or not it met its goal; 1 if one could not run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

from tests.benchmarks.bench_environment import header
from tests.benchmarks.bench_outbox_rows import outbox_rows
from tests.benchmarks.bench_report import Row, publish
from tests.benchmarks.bench_send_rows import send_rows
from tests.benchmarks.bench_server import sink_server
from tests.benchmarks.bench_startup_rows import import_notes, startup_rows


def _attempt(name: str, rows: list[Row], measure: Callable[[], list[Row]]) -> bool:
    print(f"running: {name}…", file=sys.stderr, flush=True)
    try:
        rows.extend(measure())
    except Exception as error:
        traceback.print_exc()
        rows.append(Row(name, f"ERROR: {error}".splitlines()[0], verdict=False))
        return False
    return True


def _warm_bytecode() -> None:
    """Compile Composer's modules before anything is timed, as on any launch after the first.

    This environment sets PYTHONDONTWRITEBYTECODE, which would make each child (the Outbox
    flush, a send) compile Composer's modules from source inside its timed part, while the
    peers' smtplib comes compiled with Python. The bytecode goes where a user's first run
    puts it, the tree's ``__pycache__`` folders (ignored by git).
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    here = Path(__file__).resolve().parents[2]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(here / "composer"), str(here / "tests")],
        check=True,
    )


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # inherited by every child process
    _warm_bytecode()
    rows: list[Row] = []
    notes: list[str] = []
    top = header()  # before the runs: the load average is the machine's, not ours
    ok = _attempt("start-up", rows, startup_rows)

    def imports() -> list[Row]:
        notes.extend(import_notes())
        return []

    ok &= _attempt("import costs", rows, imports)
    with tempfile.TemporaryDirectory(prefix="composer-bench-") as scratch:
        folder = Path(scratch)
        with sink_server(folder) as (port, sink):
            ok &= _attempt("sends", rows, lambda: send_rows(port, sink, folder))
            ok &= _attempt("outbox", rows, lambda: outbox_rows(port, sink, folder))
    publish(top, rows, notes)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

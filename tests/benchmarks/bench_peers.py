"""The peers Composer's sends are measured against: a plain smtplib script, and msmtp.

Each runs as a process of its own and sends the same .eml file to the same sink as Composer.
A send's time runs from its start, on time.monotonic() (CLOCK_MONOTONIC, shared by every
process on Linux), to the moment the sink wrote its 250: for msmtp, start is taken by this
process just before it starts msmtp (so msmtp's whole life counts, start-up included); for
the smtplib script, by the script itself once its imports are done, before it reads the file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.benchmarks.bench_server import HOST

_SCRIPT = Path(__file__).with_name("peer_smtplib.py")
_TIME = "/usr/bin/time"  # GNU time (Debian package time)
SENDER = "ann@example.org"
RECIPIENT = "bob@example.net"


@dataclass(frozen=True)
class PeerRun:
    """When one peer started sending, and its memory: peak above idle and in all, in KiB."""

    start: float
    peak_growth_kib: int
    peak_kib: int


def smtplib_send(port: int, files: list[Path]) -> PeerRun:
    """Send files over one connection with the plain smtplib script."""
    command = [sys.executable, str(_SCRIPT), str(port), *map(str, files)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"smtplib peer failed ({done.returncode}):\n{done.stderr}")
    report = json.loads(done.stdout.splitlines()[-1])
    peak, idle = int(report["peak_kib"]), int(report["rss_kib"])
    return PeerRun(float(report["start"]), peak - idle, peak)


def check_peers() -> None:
    """Raise, saying what to install, when msmtp or GNU time is missing."""
    missing = [p for p in ("msmtp", _TIME) if shutil.which(p) is None]
    if missing:
        names = " ".join("time" if p == _TIME else p for p in missing)
        raise RuntimeError(f"{', '.join(missing)} not found: as root, apt-get install {names}")


def msmtp_version() -> str:
    """msmtp's version line, or why there is none."""
    if shutil.which("msmtp") is None:
        return "msmtp not installed"
    done = subprocess.run(["msmtp", "--version"], capture_output=True, text=True, check=False)
    return done.stdout.splitlines()[0] if done.stdout else "msmtp (version unknown)"


def msmtp_send(port: int, file: Path, idle_kib: int = 0) -> PeerRun:
    """Send file with msmtp: no configuration file, no TLS, no login.

    Its peak is what GNU time's %M reports (wait4's ru_maxrss). Not this process's own
    wait4(): Linux counts the memory of the process that forked into the child's peak (at
    exec it keeps the old address space's high-water mark), and this process is far larger
    than msmtp; GNU time is not. idle_kib (the peak of a tiny send) is subtracted for the
    growth.
    """
    command = [
        _TIME,
        "--format=%M",
        "msmtp",
        "--file=/dev/null",  # nothing from a system or user msmtprc
        f"--host={HOST}",
        f"--port={port}",
        f"--from={SENDER}",
        "--auth=off",
        "--tls=off",
        "--",
        RECIPIENT,
    ]
    with file.open("rb") as stdin:
        start = time.monotonic()
        done = subprocess.run(command, stdin=stdin, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"msmtp failed ({done.returncode}): {done.stderr}")
    peak = int(done.stderr.split()[-1])  # KiB
    return PeerRun(start, peak - idle_kib, peak)

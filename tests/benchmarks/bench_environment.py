"""What the numbers were measured on: machine, versions, date, server."""

from __future__ import annotations

import datetime
import os
import platform

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import qVersion

from tests.benchmarks.bench_peers import msmtp_version
from tests.benchmarks.bench_server import NAME as SERVER_NAME


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _distribution() -> str:
    try:
        return platform.freedesktop_os_release().get("PRETTY_NAME", platform.platform())
    except OSError:
        return platform.platform()


def header() -> list[str]:
    """Lines saying when, on what and with what the table was measured."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"date: {now}",
        f"machine: {_cpu_model()}, {os.cpu_count()} cores, {_distribution()}, "
        f"Linux {platform.release()}; load average before the run {load}",
        f"Python {platform.python_version()}, PySide6 {pyside_version}, Qt {qVersion()}",
        f"peers: {msmtp_version()}; smtplib of Python {platform.python_version()}",
        f"SMTP server for every send row: {SERVER_NAME}, in a process of its own",
    ]

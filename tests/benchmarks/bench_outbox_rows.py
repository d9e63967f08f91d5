"""The Outbox row: COUNT queued messages flushed by Composer against smtplib sending them all
over one connection, both to the same sink, throughput from start to the last 250."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

from tests.benchmarks.bench_outbox import COUNT
from tests.benchmarks.bench_peers import smtplib_send
from tests.benchmarks.bench_report import Row
from tests.benchmarks.bench_server import Delivery, SinkLog

RUNS = 3
RATIO = 0.8


def _composer_flush(port: int, folder: Path) -> float:
    command = [sys.executable, "-m", "tests.benchmarks.bench_outbox", str(port), str(folder)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    lines = done.stdout.splitlines()
    if not lines or not lines[-1].startswith("{"):
        raise RuntimeError(f"bench_outbox failed ({done.returncode}):\n{done.stderr}")
    report = json.loads(lines[-1])
    if report["left"]:
        raise RuntimeError(f"Composer's Outbox kept {report['left']} of {COUNT} messages")
    return float(report["start"])


def _throughput(start: float, deliveries: list[Delivery], who: str) -> float:
    if len(deliveries) != COUNT:
        raise RuntimeError(f"{who}: the sink took {len(deliveries)} messages, not {COUNT}")
    connections = len({d.connected for d in deliveries})
    if connections != 1:
        raise RuntimeError(f"{who}: {COUNT} messages over {connections} connections, not 1")
    return COUNT / (deliveries[-1].end - start)


def outbox_rows(port: int, sink: SinkLog, folder: Path) -> list[Row]:
    """Messages a second, Composer's Outbox against the smtplib script, run by run."""
    composer, plain = [], []
    for number in range(RUNS):
        emls = folder / f"outbox-{number}"
        emls.mkdir()
        sink.new_deliveries()
        start = _composer_flush(port, emls)
        composer.append(_throughput(start, sink.new_deliveries(), "Composer"))
        files = sorted(emls.glob("*.eml"))
        run = smtplib_send(port, files)
        plain.append(_throughput(run.start, sink.new_deliveries(), "smtplib"))
    ratio = statistics.median(composer) / statistics.median(plain)
    return [
        Row(
            f"{COUNT} queued small messages flushed from the Outbox",
            f"{statistics.median(composer):.0f} messages/s, {ratio:.2f}× smtplib (runs: "
            + ", ".join(f"{c:.0f}" for c in composer)
            + ")",
            f"≥ {RATIO}× smtplib's throughput",
            ratio >= RATIO,
            peer=f"smtplib, {COUNT} messages over one connection: "
            f"{statistics.median(plain):.0f} messages/s",
        )
    ]

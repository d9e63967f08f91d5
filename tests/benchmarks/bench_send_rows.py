"""The send rows: Composer, the smtplib script and msmtp sending one message to one sink.

Per size, each run sends the message once from each sender, in turn, so that drift in the
machine's load hits all three alike; the rows give medians. A send's time is from its start
(Composer: just before Send is triggered; the peers: see bench_peers) to the sink's stamp of
its 250. Memory is each process's peak above its own idle resident size.
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from tests.benchmarks.bench_message import write_eml
from tests.benchmarks.bench_peers import PeerRun, check_peers, msmtp_send, smtplib_send
from tests.benchmarks.bench_report import Row
from tests.benchmarks.bench_send import STALL_MS, SendRun, run_send
from tests.benchmarks.bench_server import Delivery, SinkLog

MIB = 1024 * 1024
MB = 1_000_000
SIZES_MIB = (1, 5, 25, 100)
RUNS = {1: 3, 5: 3, 25: 3, 100: 2}
STALL_MIB = 25
STALL_STRETCH_MS = 15
SENDERS = ("Composer", "smtplib", "msmtp")
LINEAR_SLACK = 1.3  # time per MB at the largest size may be this much that at STALL_MIB's
MEMORY_SLACK_MIB = 5


@dataclass
class Sends:
    """One sender's runs at one size: seconds, MiB above idle, the sink's deliveries."""

    seconds: list[float] = field(default_factory=list)
    growth_mib: list[float] = field(default_factory=list)
    peak_mib: list[float] = field(default_factory=list)  # the whole process's; peers only
    before_connect: list[float] = field(default_factory=list)  # start to connection, s
    in_data: list[float] = field(default_factory=list)  # 354 to 250, s
    sizes: list[int] = field(default_factory=list)

    def add(self, start: float, delivery: Delivery, growth_mib: float) -> None:
        self.seconds.append(delivery.end - start)
        self.growth_mib.append(growth_mib)
        self.before_connect.append(delivery.connected - start)
        self.in_data.append(delivery.end - delivery.data)
        self.sizes.append(delivery.size)

    def time(self) -> float:
        return statistics.median(self.seconds)

    def memory(self) -> float:
        return statistics.median(self.growth_mib)

    def peak(self) -> float:
        return statistics.median(self.peak_mib)


@dataclass
class SizeRuns:
    """Everything measured at one size."""

    mib: int
    wire: int  # bytes of the .eml
    sends: dict[str, Sends] = field(default_factory=lambda: {s: Sends() for s in SENDERS})
    composer: list[SendRun] = field(default_factory=list)

    def stall(self) -> float:
        return statistics.median(run.worst_gap for run in self.composer)


def _attachment(folder: Path, mib: int) -> Path:
    """A file of mib MiB of random bytes (base64 cannot shrink it), written in 1 MiB pieces."""
    path = folder / f"random-{mib}MiB.bin"
    with path.open("wb") as file:
        for _ in range(mib):
            file.write(os.urandom(MIB))
    return path


def _one(sink: SinkLog, who: str) -> Delivery:
    deliveries = sink.new_deliveries()
    if len(deliveries) != 1:
        raise RuntimeError(f"{who}: the sink took {len(deliveries)} messages, not 1")
    return deliveries[0]


def _msmtp_idle_kib(port: int, folder: Path, sink: SinkLog) -> int:
    """msmtp's peak when the message is tiny: the floor its growth is counted from."""
    tiny = folder / "tiny.eml"
    tiny.write_bytes(b"From: ann@example.org\r\nTo: bob@example.net\r\nSubject: x\r\n\r\nx\r\n")
    peaks = []
    for _ in range(3):
        peaks.append(msmtp_send(port, tiny).peak_kib)
        _one(sink, "msmtp")
    return int(statistics.median(peaks))


def _add(sends: Sends, peer: PeerRun, delivery: Delivery) -> None:
    sends.add(peer.start, delivery, peer.peak_growth_kib / 1024)
    sends.peak_mib.append(peer.peak_kib / 1024)


def measure_sizes(port: int, sink: SinkLog, folder: Path) -> list[SizeRuns]:
    """Every sender at every size, interleaved run by run."""
    check_peers()
    sink.new_deliveries()
    msmtp_idle = _msmtp_idle_kib(port, folder, sink)
    measured = []
    for mib in SIZES_MIB:
        attachment = _attachment(folder, mib)
        eml = folder / f"message-{mib}MiB.eml"
        runs = SizeRuns(mib, write_eml(attachment, eml))
        for _ in range(RUNS[mib]):
            run = run_send(port, attachment)
            if not run.ok:
                raise RuntimeError(f"Composer's send of {mib} MiB failed")
            runs.composer.append(run)
            runs.sends["Composer"].add(run.sent_at, _one(sink, "Composer"), run.peak_growth)
            _add(runs.sends["smtplib"], smtplib_send(port, [eml]), _one(sink, "smtplib"))
            _add(runs.sends["msmtp"], msmtp_send(port, eml, msmtp_idle), _one(sink, "msmtp"))
        attachment.unlink()
        eml.unlink()
        measured.append(runs)
    return measured


def _stall_row(runs: SizeRuns) -> Row:
    idle = max(run.idle_worst_gap for run in runs.composer)
    idle_p99 = max(run.idle_p99_gap for run in runs.composer)
    worst = [run.worst_gap for run in runs.composer]
    p99 = max(run.p99_gap for run in runs.composer)
    stacks = "\n".join(run.stall_stacks for run in runs.composer if run.stall_stacks)
    return Row(
        f"worst GUI stall while {runs.mib} MiB go out",
        f"worst {statistics.median(worst):.0f} ms (runs: "
        + ", ".join(f"{w:.0f}" for w in worst)
        + f"), p99 ≤ {p99:.0f} ms",
        f"≤ {STALL_MS} ms (stretch: ≤ {STALL_STRETCH_MS} ms)",
        max(worst) <= STALL_MS,
        details=f"every thread when the GUI thread was {STALL_MS} ms late:\n{stacks}"
        if stacks
        else "",
        peer=f"idle event loop, same window and process: worst {idle:.0f} ms, p99 {idle_p99:.0f}",
    )


def _time_row(runs: SizeRuns) -> Row:
    sends = runs.sends
    composer, msmtp, plain = sends["Composer"], sends["msmtp"], sends["smtplib"]
    ratio = composer.time() / msmtp.time()
    return Row(
        f"send time, {runs.mib} MiB attachment ({runs.wire / MB:.1f} MB), Send to the 250",
        f"{composer.time():.2f} s, {ratio:.2f}× msmtp, {composer.time() / plain.time():.2f}× "
        f"smtplib (before connecting {statistics.median(composer.before_connect):.2f} s, "
        f"DATA {statistics.median(composer.in_data):.2f} s)",
        "≤ 1.0× msmtp",
        ratio <= 1.0,
        peer=f"msmtp {msmtp.time():.2f} s (DATA {statistics.median(msmtp.in_data):.2f} s); "
        f"smtplib {plain.time():.2f} s (DATA {statistics.median(plain.in_data):.2f} s)",
    )


def _memory_row(runs: SizeRuns) -> Row:
    sends = runs.sends
    composer, plain = sends["Composer"].memory(), sends["smtplib"].memory()
    wire_mib = runs.wire / MIB
    return Row(
        f"peak memory above idle during that send ({wire_mib:.1f} MiB on the wire)",
        f"{composer:+.1f} MiB, {composer / wire_mib:.2f}× the wire size",
        "≤ 0.5× the wire size, and below smtplib",
        composer <= 0.5 * wire_mib and composer < plain,
        peer=f"msmtp {sends['msmtp'].memory():+.1f} MiB ({sends['msmtp'].peak():.1f} MiB in all); "
        f"smtplib {plain:+.1f} MiB",
    )


def _size_row(runs: SizeRuns) -> Row:
    def who(name: str) -> str:
        s = runs.sends[name]
        return f"{name} {s.time():.2f} s, {s.memory():+.1f} MiB"

    composer = runs.sends["Composer"]
    return Row(
        f"cost at {runs.mib} MiB ({runs.wire / MB:.1f} MB, {len(runs.composer)} runs)",
        f"{composer.time():.2f} s, stall {runs.stall():.0f} ms, {composer.memory():+.1f} MiB",
        peer=f"{who('msmtp')}; {who('smtplib')}",
    )


def _growth_rows(sizes: list[SizeRuns]) -> list[Row]:
    by_mib = {runs.mib: runs for runs in sizes}
    small, middle, large = by_mib[SIZES_MIB[0]], by_mib[STALL_MIB], by_mib[SIZES_MIB[-1]]

    def per_mb(runs: SizeRuns, name: str = "Composer") -> float:
        return runs.sends[name].time() / (runs.wire / MB)

    slope = per_mb(large) / per_mb(middle)
    peers = ", ".join(
        f"{name} {per_mb(middle, name) * 1000:.0f} → {per_mb(large, name) * 1000:.0f} ms/MB"
        for name in ("msmtp", "smtplib")
    )
    growth = [r.sends["Composer"].memory() for r in sizes]
    allowed = 1.5 * growth[0] + MEMORY_SLACK_MIB
    stall_allowed = small.stall() * 1.5 + 10
    return [
        Row(
            f"cost growth, time: {STALL_MIB} → {SIZES_MIB[-1]} MiB",
            f"{per_mb(middle) * 1000:.0f} → {per_mb(large) * 1000:.0f} ms per MB ({slope:.2f}×)",
            f"linear: per MB ≤ {LINEAR_SLACK}× that at {STALL_MIB} MiB",
            slope <= LINEAR_SLACK,
            peer=peers,
        ),
        Row(
            f"cost growth, stall: {SIZES_MIB[0]} → {SIZES_MIB[-1]} MiB",
            " → ".join(f"{r.stall():.0f}" for r in sizes) + " ms",
            f"flat: ≤ 1.5× that at {SIZES_MIB[0]} MiB + 10 ms ({stall_allowed:.0f} ms)",
            max(r.stall() for r in sizes) <= stall_allowed,  # flat: at every size
        ),
        Row(
            f"cost growth, memory: {SIZES_MIB[0]} → {SIZES_MIB[-1]} MiB",
            " → ".join(f"{g:+.1f}" for g in growth) + " MiB",
            f"flat: ≤ 1.5× that at {SIZES_MIB[0]} MiB + {MEMORY_SLACK_MIB} MiB (+{allowed:.1f})",
            max(growth) <= allowed,  # flat: at every size
            peer="msmtp "
            + " → ".join(f"{r.sends['msmtp'].memory():+.1f}" for r in sizes)
            + "; smtplib "
            + " → ".join(f"{r.sends['smtplib'].memory():+.0f}" for r in sizes)
            + " MiB",
        ),
    ]


def _sizes_note(sizes: list[SizeRuns]) -> str:
    """What the sink received per sender, to show all three sent the same message."""
    lines = []
    for runs in sizes:
        got = ", ".join(
            f"{name} {statistics.median_low(runs.sends[name].sizes)}" for name in SENDERS
        )
        lines.append(f"{runs.mib} MiB: .eml {runs.wire} bytes; the sink counted {got}")
    return "\n".join(lines)


def send_rows(port: int, sink: SinkLog, folder: Path) -> list[Row]:
    """Every send row: stall, time and memory at STALL_MIB, then the growth rows."""
    sizes = measure_sizes(port, sink, folder)
    middle = next(runs for runs in sizes if runs.mib == STALL_MIB)
    rows = [_stall_row(middle), _time_row(middle), _memory_row(middle)]
    rows += [_size_row(runs) for runs in sizes]
    rows += _growth_rows(sizes)
    rows.append(Row("bytes the sink took per message", "see below", details=_sizes_note(sizes)))
    return rows

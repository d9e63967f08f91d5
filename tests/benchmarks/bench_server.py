"""A fast SMTP sink in its own process: it reads to the final dot and answers 250, nothing more.

Why not aiosmtpd: it parses every line of DATA in Python and was slower than every client it
was meant to time. This one reads in large pieces (asyncio's 256 KiB reads) and looks only
for ``<CRLF>.<CRLF>`` with ``bytes.find`` on each piece plus the four bytes before it, so a
message costs it one C-level scan. Commands (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; PIPELINING
is offered) are answered without checking their arguments. No TLS, no AUTH: the bench accounts
send in plain text without a login, on 127.0.0.1.

For every connection and message it appends one line to a log file, stamped with
time.monotonic() (CLOCK_MONOTONIC on Linux: the same clock in every process on the machine):
``connect T``, ``data T`` (the 354 was written) and ``end T BYTES`` (the 250 was written).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

HOST = "127.0.0.1"
NAME = "fast sink (asyncio, reads to the final dot; tests/benchmarks/bench_server.py)"
SIZE_LIMIT = 1 << 30
_END = b"\r\n.\r\n"
_EHLO = (
    f"250-bench.test\r\n250-SIZE {SIZE_LIMIT}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
    "250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n"
).encode("ascii")
_REPLIES = {
    b"HELO": b"250 bench.test\r\n",
    b"MAIL": b"250 2.1.0 OK\r\n",
    b"RCPT": b"250 2.1.5 OK\r\n",
    b"RSET": b"250 2.0.0 OK\r\n",
    b"NOOP": b"250 2.0.0 OK\r\n",
    b"DATA": b"354 End data with <CR><LF>.<CR><LF>\r\n",
    b"QUIT": b"221 2.0.0 Bye\r\n",
}


class _Session(asyncio.Protocol):
    """One client: command lines until DATA, then raw bytes until the final dot."""

    def __init__(self, log: TextIO) -> None:
        self._log = log
        self._transport: asyncio.Transport | None = None
        self._commands = b""
        self._in_data = False
        self._tail = b""  # the last bytes of DATA so far, for a dot split across reads
        self._size = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._log.write(f"connect {time.monotonic():.6f}\n")
        transport.write(b"220 bench.test ESMTP sink\r\n")

    def data_received(self, data: bytes) -> None:
        if self._in_data:
            self._data(data)
        else:
            self._command_bytes(data)

    def _data(self, data: bytes) -> None:
        joined = self._tail + data
        at = joined.find(_END)
        if at < 0:
            self._size += len(data)
            self._tail = joined[-4:]
            return
        self._size += at + 2 - len(self._tail)  # the message ends with its own CRLF
        self._in_data = False
        assert self._transport is not None
        self._transport.write(b"250 2.0.0 Accepted and discarded\r\n")
        self._log.write(f"end {time.monotonic():.6f} {self._size}\n")
        rest = joined[at + len(_END) :]
        if rest:
            self._command_bytes(rest)

    def _command_bytes(self, data: bytes) -> None:
        self._commands += data
        while not self._in_data:
            line, found, rest = self._commands.partition(b"\r\n")
            if not found:
                return
            self._commands = rest
            self._answer(line)
        rest, self._commands = self._commands, b""
        if rest:
            self._data(rest)

    def _answer(self, line: bytes) -> None:
        assert self._transport is not None
        verb = line[:4].upper()
        if verb == b"EHLO":
            self._transport.write(_EHLO)
            return
        self._transport.write(_REPLIES.get(verb, b"502 5.5.2 Not implemented\r\n"))
        if verb == b"DATA":
            self._in_data, self._tail, self._size = True, b"\r\n", 0
            self._log.write(f"data {time.monotonic():.6f}\n")
        elif verb == b"QUIT":
            self._transport.close()


async def _serve(log_path: Path) -> None:
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    with log_path.open("a", buffering=1) as log:  # line-buffered: the parent reads as it goes
        server = await loop.create_server(lambda: _Session(log), HOST, 0)
        print(server.sockets[0].getsockname()[1], flush=True)
        async with server:
            await stop


@dataclass(frozen=True)
class Delivery:
    """One message the sink took: when its connection opened, its DATA began, its 250 left."""

    connected: float
    data: float
    end: float
    size: int


class SinkLog:
    """Reads what the sink logged since the last read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0

    def new_deliveries(self) -> list[Delivery]:
        """Messages accepted since the last call, in order."""
        with self.path.open() as file:
            file.seek(self._offset)
            lines = file.read().splitlines()
            self._offset = file.tell()
        deliveries, connected, data = [], 0.0, 0.0
        for line in lines:
            kind, stamp, *size = line.split()
            if kind == "connect":
                connected = float(stamp)
            elif kind == "data":
                data = float(stamp)
            else:
                deliveries.append(Delivery(connected, data, float(stamp), int(size[0])))
        return deliveries


@contextlib.contextmanager
def sink_server(folder: Path) -> Iterator[tuple[int, SinkLog]]:
    """Start the sink in a child process; yield its port and its log; stop it afterwards."""
    log_path = folder / "sink.log"
    log_path.touch()
    command = [sys.executable, "-m", "tests.benchmarks.bench_server", str(log_path)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        yield int(child.stdout.readline()), SinkLog(log_path)
    finally:
        child.terminate()
        child.wait(10)


if __name__ == "__main__":
    asyncio.run(_serve(Path(sys.argv[1])))

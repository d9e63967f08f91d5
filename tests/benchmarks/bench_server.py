"""An SMTP sink in its own process, so its CPU work never competes for the app's GIL."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

from aiosmtpd.smtp import SMTP

HOST = "127.0.0.1"


class _Sink:
    """Accepts every message and forgets it."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 2.0.0 Accepted and discarded"


async def _serve(size_limit: int) -> None:
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    server = await loop.create_server(
        # hostname given, or aiosmtpd calls getfqdn(); no TLS, no AUTH.
        lambda: SMTP(_Sink(), hostname="bench.test", data_size_limit=size_limit),
        HOST,
        0,
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await stop


@contextlib.contextmanager
def sink_server(size_limit: int) -> Iterator[int]:
    """Start the sink in a child process, yield its port, and stop it afterwards."""
    command = [sys.executable, "-m", "tests.benchmarks.bench_server", str(size_limit)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        yield int(child.stdout.readline())
    finally:
        child.terminate()
        child.wait(10)


if __name__ == "__main__":
    asyncio.run(_serve(int(sys.argv[1])))

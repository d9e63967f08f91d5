"""Bounds for the HTTPS requests of a sign-in: a deadline for the whole request, a size for
the whole reply, and a stop from any thread.

httpx2's timeout bounds each read, not a request: a server that sends a byte every few
seconds keeps one going for ever, and a reply is read whole whatever its size. The guard
learns each request's socket from httpcore's trace extension and shuts it down when the
deadline passes or the user cancels, which ends a read blocked on another thread at once.
"""

from __future__ import annotations

import contextlib
import functools
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

MAX_REPLY = 1024 * 1024  # bytes: a token reply is a few kilobytes


class ReplyTooLarge(Exception):
    """The server's reply was larger than any answer of a sign-in server."""


class Stop:
    """Stops the requests it watches, now and later; set() from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._set = False
        self._guards: set[RequestGuard] = set()

    def set(self) -> None:
        with self._lock:
            self._set = True
            guards = list(self._guards)
        for guard in guards:
            guard.end("cancelled")

    def is_set(self) -> bool:
        with self._lock:
            return self._set

    @contextlib.contextmanager
    def watching(self, guard: RequestGuard) -> Iterator[None]:
        with self._lock:
            self._guards.add(guard)
            already = self._set
        if already:
            guard.end("cancelled")
        try:
            yield
        finally:
            with self._lock:
                self._guards.discard(guard)


class RequestGuard:
    """Bounds the requests of one httpx2 client: pass ``event_hooks=guard.hooks()``.

    ``ended`` says why it stopped them: "" (it did not), "time" or "cancelled".
    """

    def __init__(self, seconds: float, max_reply: int = MAX_REPLY) -> None:
        self.seconds = seconds
        self._max_reply = max_reply
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.ended = ""
        self._timer = threading.Timer(seconds, self.end, ("time",))
        self._timer.daemon = True
        self._timer.start()

    def hooks(self) -> dict[str, list[Callable[[Any], None]]]:
        return {"request": [self._on_request], "response": [self._on_response]}

    def end(self, why: str) -> None:
        """Stop every request now (why: "time" or "cancelled"); safe from any thread."""
        with self._lock:
            if not self.ended:
                self.ended = why
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def close(self) -> None:
        """The request is over (httpx2 closes its sockets): stop the clock."""
        self._timer.cancel()

    def _on_request(self, request: Any) -> None:
        request.extensions["trace"] = self._trace

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        if event not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            self._sockets.append(sock)
            ended = bool(self.ended)
        if ended:
            _shut(sock)

    def _on_response(self, response: Any) -> None:
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > self._max_reply:
            response.close()
            raise ReplyTooLarge(f"a reply of {length} bytes")
        response.stream = _capped()(response.stream, self._max_reply)


@functools.cache
def _capped() -> type[Any]:
    """httpx2 reads a body only from its own stream type: a subclass, made when first needed
    (httpx2 is loaded by the first sign-in, not by the window)."""
    import httpx2

    class Capped(httpx2.SyncByteStream):
        """A reply's body, read no further than max_reply bytes."""

        def __init__(self, stream: Any, max_reply: int) -> None:
            self._stream = stream
            self._left = max_reply

        def __iter__(self) -> Iterator[bytes]:
            for chunk in self._stream:
                self._left -= len(chunk)
                if self._left < 0:
                    raise ReplyTooLarge("a reply larger than any sign-in server sends")
                yield chunk

        def close(self) -> None:
            self._stream.close()

    return Capped


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)

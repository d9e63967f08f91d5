"""Starting a server on a free loopback port, and trying another if that one is taken."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TypeVar

LOOPBACK = "127.0.0.1"
# Another program can take a free port between the probe and the start; rarely twice.
START_ATTEMPTS = 3

_Started = TypeVar("_Started")


def free_port(host: str = LOOPBACK) -> int:
    """A port nothing listens on right now (it may be taken again by the time it is used)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def start_on_free_port(
    start: Callable[[int], _Started], host: str = LOOPBACK, attempts: int = START_ATTEMPTS
) -> _Started:
    """start(port) on a free port, retried on another one when it fails; raises the last failure.

    start cleans up after itself when it fails.
    """
    failure: Exception | None = None
    for _ in range(attempts):
        try:
            return start(free_port(host))
        except Exception as error:  # most likely: another program took the port meanwhile
            failure = error
    if failure is None:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    raise failure

"""Starting servers on free loopback ports."""

from __future__ import annotations

import socket

import pytest

from composer.mail.ports import LOOPBACK, START_ATTEMPTS, free_port, start_on_free_port


def test_free_port_can_be_listened_on():
    port = free_port()

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((LOOPBACK, port))
        listener.listen(1)


def test_a_start_that_fails_is_tried_again_on_another_port():
    tried: list[int] = []

    def start(port: int) -> str:
        tried.append(port)
        if len(tried) == 1:
            raise OSError(98, "Address already in use")
        return f"listening on {port}"

    assert start_on_free_port(start) == f"listening on {tried[-1]}"
    assert len(tried) == 2


def test_the_last_failure_is_raised_after_every_attempt():
    tried: list[int] = []

    def start(port: int) -> None:
        tried.append(port)
        raise OSError(98, f"Address already in use (attempt {len(tried)})")

    with pytest.raises(OSError, match=f"attempt {START_ATTEMPTS}"):
        start_on_free_port(start)
    assert len(tried) == START_ATTEMPTS

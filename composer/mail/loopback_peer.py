"""Which local user is at the other end of a TCP connection over 127.0.0.1 (Linux only)."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

# The kernel's table of this network namespace's IPv4 TCP sockets, each with its owner's uid.
_TCP_TABLE = Path("/proc/net/tcp")


def peer_uid(peer: tuple[str, int], local: tuple[str, int], table: Path = _TCP_TABLE) -> int | None:
    """The uid owning the client socket peer→local, or None where that cannot be known.

    Over loopback the client's socket is in the same table as ours: its local address is our
    peer's and its remote address is ours. None on systems without /proc/net/tcp, or when the
    client has gone before we looked.
    """
    wanted = (_hex_address(peer), _hex_address(local))
    try:
        with table.open("r", encoding="ascii", errors="replace") as lines:
            next(lines, None)  # the column names
            for line in lines:
                fields = line.split()
                if len(fields) > 7 and (fields[1], fields[2]) == wanted:
                    return int(fields[7])
    except (OSError, ValueError):
        return None
    return None


def _hex_address(address: tuple[str, int]) -> str:
    """An IPv4 address as /proc/net/tcp spells it: the address as a host-order word, the port."""
    host, port = address[0], address[1]
    (word,) = struct.unpack("=I", socket.inet_aton(host))
    return f"{word:08X}:{port:04X}"

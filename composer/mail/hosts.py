"""Host names and addresses: which are usable, and which are this computer."""

from __future__ import annotations

import ipaddress
import unicodedata


def has_unusable_character(host: str) -> bool:
    """True when host, once stripped, holds whitespace or a control character.

    No server is named so, and the name lookup reads a NUL as the end of the name:
    "smtp.example.org\\0.localhost" would be looked up as smtp.example.org.
    """
    return any(
        char.isspace() or unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in host.strip()
    )


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost names: hosts that should be this computer.

    Only a first screen: a name can resolve anywhere, so whether a password may go over an
    unencrypted connection is decided by is_loopback_address() once it is connected.
    """
    name = host.strip().strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_loopback_address(peer: object) -> bool:
    """True when peer, a socket address as getpeername() gives it, is this computer.

    127.0.0.0/8, ::1, and IPv4 loopback written as IPv6 (::ffff:127.0.0.1); not 0.0.0.0
    or ::, which are no address at all.
    """
    if not isinstance(peer, tuple) or not peer or not isinstance(peer[0], str):
        return False  # not an IP socket
    try:
        address = ipaddress.ip_address(peer[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback

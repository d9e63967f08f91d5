"""Byte counts in the units people read (decimal, as mail providers state their limits)."""

from __future__ import annotations


def format_size(size: int) -> str:
    """``512 bytes``, ``1.5 kB``, ``25 MB``, ``1.2 GB``."""
    if size < 1000:
        return f"{size} bytes" if size != 1 else "1 byte"
    value = float(size)
    for unit in ("kB", "MB", "GB"):
        value /= 1000
        rounded = round(value, 1)
        # 999_999 bytes round to 1000 kB, which is said as 1 MB.
        if rounded < 1000 or unit == "GB":
            return f"{rounded:.1f}".removesuffix(".0") + f" {unit}"
    raise AssertionError("unreachable")


# RFC 2045 base64: 57 input bytes make one 76-character line; every line ends in CRLF.
BASE64_LINE_INPUT = 57
BASE64_LINE_LENGTH = 76


def base64_wire_size(size: int) -> int:
    """Bytes that size bytes take on the wire as base64 in 76-character lines, CRLF included."""
    if size < 0:
        raise ValueError(f"a size cannot be negative: {size}")
    encoded = 4 * -(-size // 3)
    lines = -(-encoded // BASE64_LINE_LENGTH)
    return encoded + 2 * lines

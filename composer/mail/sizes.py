"""Byte counts in the units people read (decimal, as mail providers state their limits)."""

from __future__ import annotations


def format_size(size: int) -> str:
    """``512 bytes``, ``1.5 kB``, ``25 MB``, ``1.2 GB``."""
    if size < 1000:
        return f"{size} bytes" if size != 1 else "1 byte"
    value = float(size)
    for unit in ("kB", "MB", "GB"):
        value /= 1000
        if value < 1000 or unit == "GB":
            text = f"{value:.1f}".removesuffix(".0")
            return f"{text} {unit}"
    raise AssertionError("unreachable")

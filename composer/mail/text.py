"""Facts about text that several parts of Composer check: line breaks and valid UTF-8."""

from __future__ import annotations

# CR, LF and NUL, and the other characters str.splitlines() breaks at: the email package
# refuses a header value containing any of them, and any of them could end a header line.
LINE_BREAKS = frozenset("\r\n\0\v\f\x1c\x1d\x1e\x85\u2028\u2029")


def has_line_break(text: str) -> bool:
    """True when text holds a character that breaks a line (or a NUL)."""
    return any(char in LINE_BREAKS for char in text)


def is_utf8(text: str) -> bool:
    """False for text with lone surrogates, which is what Python makes of undecodable bytes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True

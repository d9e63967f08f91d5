"""Facts about text that several parts of Composer check: line breaks, valid UTF-8, encoded
words and message ids."""

from __future__ import annotations

import re

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


def has_encoded_word(text: str) -> bool:
    """True when text holds "=?", where an RFC 2047 encoded word (=?utf-8?q?...?=) starts.

    The email package decodes one wherever it appears in a header (inside a word or a quoted
    string too), and does so as the header is set, not only as it is read: the text would
    not go out as written, and "=0D=0A" in it would end the header line and start another.
    """
    return "=?" in text


# RFC 5322 msg-id: "<" dot-atom-text "@" (dot-atom-text / no-fold-literal) ">", one line.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-]+)*"
_MESSAGE_ID = re.compile(rf"<{_ATOM}@(?:{_ATOM}|\[[!-Z^-~]*\])>")


def is_message_id(text: str) -> bool:
    """Whether text is one message id (``<1234@example.org>``), at most 900 characters.

    One holding an encoded word (see has_encoded_word) is not: RFC 5322 allows "=?" in it,
    but the email package would decode it into other text, perhaps into more header lines.
    """
    return (
        len(text) <= 900 and not has_encoded_word(text) and _MESSAGE_ID.fullmatch(text) is not None
    )

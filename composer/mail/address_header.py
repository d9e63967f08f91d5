"""Writing an address header (From, To, Cc, Reply-To) so that every name arrives as written."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from email.headerregistry import Address
from email.message import EmailMessage

# A name made only of these words, one space apart, needs no quoting or encoding.
_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")
# A name of printable ASCII this long or shorter goes out as one quoted string, which is never
# folded (the folding below is only between tokens); any other as encoded words.
_QUOTED_AT_MOST = 60
# RFC 2047: an encoded word is at most 75 characters; "=?utf-8?b?" and "?=" take 12 of them,
# and 45 bytes of UTF-8 make 60 characters of base64.
_WORD_BYTES = 45
# Lines are folded at 78 characters where they can be (RFC 5322, 2.1.1).
_FOLD_AT = 78


def set_addresses(
    message: EmailMessage, name: str, addresses: Sequence[Address], *, utf8: bool = False
) -> None:
    """Set the header name to addresses, folded here rather than by the email package.

    When the email package (in Python 3.11 at least) folds a quoted display name across lines,
    it drops the quotes and escapes: a long name such as "Lee, Ann, eve@example.net" went out
    bare, and recipients saw addresses that were never written. Here a name that is not
    plain words goes out as RFC 2047 encoded words, which need no quotes and fold between
    words; the line stays as written when the policy's refold_source is "none". utf8: the
    message goes out with SMTPUTF8 (RFC 6532), so printable non-ASCII text is written as is.
    """
    tokens: list[str] = []
    for index, address in enumerate(addresses):
        comma = "," if index < len(addresses) - 1 else ""
        words = _name_words(address.display_name, utf8)
        if words:
            tokens.extend(words)
            tokens.append(f"<{address.addr_spec}>{comma}")
        else:
            tokens.append(address.addr_spec + comma)
    message.set_raw(name, _folded(name, tokens))


def _name_words(name: str, utf8: bool) -> list[str]:
    """The tokens that write name: itself if plain words, a quoted string if short and
    printable (ASCII, unless utf8), else base64 encoded words."""
    if not name:
        return []
    words = name.split(" ")
    if all(_ATOM.fullmatch(_ascii(word, utf8)) for word in words):
        return words
    if len(name) <= _QUOTED_AT_MOST and all(" " <= c <= "~" for c in _ascii(name, utf8)):
        return ['"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"']
    encoded: list[str] = []
    chunk = b""
    for char in name:
        data = char.encode("utf-8")
        if len(chunk) + len(data) > _WORD_BYTES:
            encoded.append(_encoded_word(chunk))
            chunk = b""
        chunk += data
    encoded.append(_encoded_word(chunk))
    return encoded


def _ascii(text: str, utf8: bool) -> str:
    """text, with each printable non-ASCII character as "a" when utf8 allows it as is."""
    if not utf8:
        return text
    return "".join("a" if c >= "\x80" and c.isprintable() else c for c in text)


def _encoded_word(data: bytes) -> str:
    return f"=?utf-8?b?{base64.b64encode(data).decode('ascii')}?="


def _folded(name: str, tokens: list[str]) -> str:
    """tokens one space apart, on lines of at most _FOLD_AT where a token fits."""
    lines: list[str] = []
    line = ""
    width = len(name) + 2  # "To: "
    for token in tokens:
        if line and width + len(line) + 1 + len(token) > _FOLD_AT:
            lines.append(line)
            line, width = token, 1  # a continuation line starts with a space
        else:
            line = f"{line} {token}" if line else token
    lines.append(line)
    return "\n ".join(lines)

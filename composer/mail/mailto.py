"""Reading mailto: links (RFC 6068) into a Draft; no Qt here."""

from __future__ import annotations

import logging
import re
import unicodedata
import urllib.parse

from composer.mail.addresses import split_list
from composer.mail.draft import Draft
from composer.mail.text import LINE_BREAKS, is_message_id, is_utf8

log = logging.getLogger(__name__)

# Only these header fields are taken from a link. Everything else is ignored, which is what
# keeps a web page from choosing From, Sender, Reply-To, routing headers or files to attach
# ("attach=", which some clients honour, would let a page make the user send local files).
_ADDRESS_FIELDS = ("to", "cc", "bcc")
_TEXT_FIELDS = ("subject", "in-reply-to", "body")
# How error messages name each part of a link.
_WORDS = {
    "to": "To field",
    "cc": "Cc field",
    "bcc": "Bcc field",
    "subject": "subject",
    "in-reply-to": "In-Reply-To field",
    "body": "body",
}

_BROKEN_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


class MailtoError(ValueError):
    """A mailto: link that cannot be read; str(error) is a sentence to show the user."""


def parse_mailto(url: str) -> Draft:
    """The message a mailto: link describes; raises MailtoError (only) when it is malformed.

    Addresses come from the path and from to, cc and bcc fields (repeated ones add up);
    subject, body and in-reply-to are taken once (the first wins); other fields are ignored.
    """
    text = url.strip()
    _require_text(text)
    scheme, colon, rest = text.partition(":")
    if not colon or scheme.lower() != "mailto":
        raise MailtoError(f"Not a mailto: link: '{_shown(text)}'.")
    path, _, query = rest.partition("?")
    if path.startswith("//"):  # "mailto://ann@example.org", as some web pages write it
        path = path[2:]

    addresses: dict[str, list[str]] = {name: [] for name in _ADDRESS_FIELDS}
    addresses["to"].append(_header(_decode(path, "address"), "address"))
    texts: dict[str, str] = {}
    for hfield in query.split("&"):
        if not hfield:
            continue
        raw_name, _, raw_value = hfield.partition("=")
        name = _decode(raw_name, "name of a header field").strip().lower()
        if name in addresses:
            addresses[name].append(_header(_decode(raw_value, _WORDS[name]), _WORDS[name]))
        elif name in _TEXT_FIELDS:
            value = _decode(raw_value, _WORDS[name])
            value = _body(value) if name == "body" else _header(value, _WORDS[name]).strip()
            if name in texts:
                log.info("mailto: link repeats %s; keeping the first one", name)
            else:
                texts[name] = value
        else:
            _decode(raw_value, "value of a header field")
            log.info("mailto: link field %r ignored", _shown(name))

    in_reply_to = texts.get("in-reply-to", "")
    if in_reply_to and not is_message_id(in_reply_to):
        raise MailtoError(
            "The In-Reply-To field in the mailto: link is not a message id such as "
            f"<1234@example.org>: '{_shown(in_reply_to)}'."
        )
    return Draft(
        to=_join(addresses["to"]),
        cc=_join(addresses["cc"]),
        bcc=_join(addresses["bcc"]),
        subject=texts.get("subject", ""),
        body=texts.get("body", ""),
        in_reply_to=in_reply_to,
    )


def _require_text(text: str) -> None:
    # Lone surrogates are what Python makes of bytes in argv that are not UTF-8.
    if not is_utf8(text):
        raise MailtoError("The mailto: link is not valid UTF-8 text.")


def _decode(text: str, what: str) -> str:
    """Undo percent-encoding (UTF-8); "+" stays a plus sign, as RFC 6068 says."""
    broken = _BROKEN_ESCAPE.search(text)
    if broken:
        escape = _shown(text[broken.start() : broken.start() + 3])
        raise MailtoError(
            f"The {what} in the mailto: link has a broken percent escape ('{escape}'): "
            "'%' must be followed by two hexadecimal digits."
        )
    try:
        return urllib.parse.unquote(text, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise MailtoError(
            f"The {what} in the mailto: link is not valid UTF-8 once its percent escapes "
            "are decoded."
        ) from None


def _header(value: str, what: str) -> str:
    """value, if it can be one line of a mail header."""
    for char in value:
        # NUL ends no line in a mail reader: it is named below as the control character it is.
        if char in LINE_BREAKS and char != "\0":
            raise MailtoError(
                f"The {what} in the mailto: link contains a line break, which a header "
                "cannot hold; the link may be trying to add hidden header fields."
            )
        if char != "\t" and unicodedata.category(char) == "Cc":
            raise MailtoError(
                f"The {what} in the mailto: link contains a control character (U+{ord(char):04X})."
            )
    return value


def _body(value: str) -> str:
    if "\0" in value:
        raise MailtoError("The body in the mailto: link contains a NUL character.")
    return value.replace("\r\n", "\n").replace("\r", "\n")


def _join(values: list[str]) -> str:
    """One field from several lists of addresses: "ann@example.org, bob@example.net"."""
    return ", ".join(item for value in values for item in split_list(value))


def _shown(text: str, limit: int = 60) -> str:
    """text made safe to quote in a message: printable, and not too long."""
    printable = "".join(c if c.isprintable() else "?" for c in text)
    return printable if len(printable) <= limit else printable[: limit - 1] + "…"

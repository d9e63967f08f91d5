"""Reading the address lists people type: commas or semicolons, with or without names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.headerregistry import Address

from composer.mail.text import has_line_break

# Local part and domain as people use them; stricter than RFC 5322 on purpose, since a
# typo such as "ann@example" or "ann example.org" should be caught before sending.
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-\u0080-\U0010ffff]+$")
_DOMAIN = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9\u0080-\U0010ffff]([A-Za-z0-9\-\u0080-\U0010ffff]{0,61}"
    r"[A-Za-z0-9\u0080-\U0010ffff])?\.)+[A-Za-z\u0080-\U0010ffff]"
    # The top-level label, like the others, must not end with a hyphen.
    r"([A-Za-z0-9\-\u0080-\U0010ffff]{0,61}[A-Za-z0-9\u0080-\U0010ffff])?$"
)


@dataclass(frozen=True)
class ParsedAddresses:
    """The addresses that parsed, and the pieces of text that did not."""

    valid: tuple[Address, ...]
    invalid: tuple[str, ...]


def split_list(text: str) -> list[str]:
    """Split on commas, semicolons and line breaks that are not inside quotes or <>."""
    items: list[str] = []
    current: list[str] = []
    quoted = False
    angle = 0
    escaped = False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
            continue
        if char == "\\" and quoted:
            current.append(char)
            escaped = True
            continue
        if char == '"':
            quoted = not quoted
        elif char == "<" and not quoted:
            angle += 1
        elif char == ">" and not quoted and angle:
            angle -= 1
        if char in ",;\n\r\t" and not quoted and not angle:
            items.append("".join(current))
            current = []
            continue
        current.append(char)
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]


def parse_address(text: str) -> Address | None:
    """One address such as ``Ann Lee <ann@example.org>``; None if it is not valid."""
    text = text.strip()
    if not text or has_line_break(text):
        return None
    match = re.fullmatch(r"(?s)(?P<name>.*?)\s*<(?P<addr>[^<>]*)>", text)
    if match:
        name = match["name"].strip()
        spec = match["addr"].strip()
        if len(name) >= 2 and name[0] == name[-1] == '"':
            name = re.sub(r"\\(.)", r"\1", name[1:-1])
        elif any(c in name for c in '"<>'):
            return None
    else:
        name, spec = "", text
    local, at, domain = spec.rpartition("@")
    if not at or not _LOCAL.match(local) or not _DOMAIN.match(domain):
        return None
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    try:
        return Address(display_name=name, username=local, domain=domain)
    except (HeaderParseError, ValueError, IndexError):
        return None


def parse_list(text: str) -> ParsedAddresses:
    """Parse a To/Cc/Bcc field, keeping the invalid pieces so they can be named."""
    valid: list[Address] = []
    invalid: list[str] = []
    for item in split_list(text):
        address = parse_address(item)
        if address is None:
            invalid.append(item)
        else:
            valid.append(address)
    return ParsedAddresses(tuple(valid), tuple(invalid))


def format_address(address: Address) -> str:
    """How an address is shown to people: ``Ann Lee <ann@example.org>``."""
    if address.display_name:
        return f"{address.display_name} <{address.addr_spec}>"
    return address.addr_spec


def mailbox_key(addr_spec: str) -> str:
    """What two addresses share when they name one mailbox: ``Ann@example.org`` for both
    ``Ann@Example.ORG`` and ``Ann@example.org``, but not for ``ann@example.org``.

    Domains ignore case; a local part may not (RFC 5321, section 2.4), and only its own
    server knows, so it is kept as written.
    """
    local, at, domain = addr_spec.rpartition("@")
    return f"{local}{at}{domain.lower()}" if at else addr_spec


def unique_addr_specs(addresses: list[Address] | tuple[Address, ...]) -> list[str]:
    """The envelope addresses once per mailbox (see mailbox_key), in order."""
    seen: set[str] = set()
    result: list[str] = []
    for address in addresses:
        key = mailbox_key(address.addr_spec)
        if key not in seen:
            seen.add(key)
            result.append(address.addr_spec)
    return result

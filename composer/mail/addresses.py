"""Reading the address lists people type or paste: commas or semicolons, with or without names."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

from composer.mail.text import has_encoded_word, has_line_break

if TYPE_CHECKING:
    from email.headerregistry import Address

# Local part and domain as people use them; stricter than RFC 5322 on purpose, since a
# typo such as "ann@example" or "ann example.org" should be caught before sending. Checked
# character by character: the equivalent regular expression over all of Unicode took a
# tenth of the window's start-up to compile.
_LOCAL_ASCII = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+/=?^_`{|}~.-"
)
_LABEL_ASCII = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")
_DIGITS = frozenset("0123456789")


def is_local_part(text: str) -> bool:
    """Letters, digits, the RFC 5322 atom characters, dots, or anything beyond ASCII."""
    return bool(text) and all(c in _LOCAL_ASCII or c >= "\x80" for c in text)


def is_domain(text: str) -> bool:
    """Two or more labels of letters, digits, hyphens (not at either end) or anything beyond
    ASCII, each at most 63 characters, 253 in all; the last label does not start with a
    digit."""
    if not 1 <= len(text) <= 253:
        return False
    labels = text.split(".")
    if len(labels) < 2 or labels[-1][:1] in _DIGITS:
        return False
    return all(
        1 <= len(label) <= 63
        and label[0] != "-"
        and label[-1] != "-"
        and all(c in _LABEL_ASCII or c >= "\x80" for c in label)
        for label in labels
    )


# What separates the addresses typed in one field.
SEPARATORS = ",;"
# What a single-line field can hold only when it came from a paste or a drop.
LIST_BREAKS = "\r\n\t"


class ParsedAddresses(NamedTuple):
    """The addresses that parsed, and the pieces of text that did not."""

    valid: tuple[Address, ...]
    invalid: tuple[str, ...]


def split_list(text: str) -> list[str]:
    """Split on commas, semicolons and line breaks that are not inside quotes or <>."""
    items: list[str] = []
    start = 0
    for position in separator_positions(text, SEPARATORS + LIST_BREAKS):
        items.append(text[start:position])
        start = position + 1
    items.append(text[start:])
    return [item.strip() for item in items if item.strip()]


def separator_positions(text: str, separators: str = SEPARATORS) -> list[int]:
    """Indexes of the separators that separate addresses (not those in quotes or <>)."""
    positions: list[int] = []
    quoted = escaped = False
    angle = 0
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "<" and not quoted:
            angle += 1
        elif char == ">" and not quoted and angle:
            angle -= 1
        elif char in separators and not quoted and not angle:
            positions.append(index)
    return positions


def new_address(display_name: str, username: str, domain: str) -> Address:
    """email's Address; raises ValueError (or HeaderParseError) as it does."""
    # Imported at the first address, not with this module: email.headerregistry brings
    # email.utils, socket, datetime and calendar, which a window does not need to open.
    from email.headerregistry import Address

    return Address(display_name=display_name, username=username, domain=domain)


def parse_address(text: str) -> Address | None:
    """One address such as ``Ann Lee <ann@example.org>``; None if it is not valid."""
    # Checked before stripping: a line break is never part of an address, not even at an end.
    # Nor is an encoded word: the header would carry other text (or other header lines).
    if has_line_break(text) or has_encoded_word(text):
        return None
    text = text.strip()
    if not text:
        return None
    angled = _angle_address(text)
    if angled is not None:
        name, spec = angled
        if len(name) >= 2 and name[0] == name[-1] == '"':
            name = re.sub(r"\\(.)", r"\1", name[1:-1])
        elif any(c in name for c in '"<>'):
            return None
    else:
        name, spec = "", text
    local, at, domain = spec.rpartition("@")
    if not at or not is_local_part(local) or not is_domain(domain):
        return None
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    # With email's header parser, at the first address (see new_address).
    from email.errors import HeaderParseError

    try:
        return new_address(name, local, domain)
    except (HeaderParseError, ValueError, IndexError):
        return None


def _angle_address(text: str) -> tuple[str, str] | None:
    """``Name <spec>`` split into its name and spec; None when text is not of that form.

    Found with rfind rather than a regular expression: a lazy name followed by spaces made
    a pattern backtrack quadratically on a long run of spaces (32,000 took seconds).
    """
    if not text.endswith(">"):
        return None
    start = text.rfind("<")
    if start < 0 or ">" in text[start + 1 : -1]:
        return None
    return text[:start].strip(), text[start + 1 : -1].strip()


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


# --- the text of a recipients field as it is being typed or pasted into ------------------


def token_span(text: str, cursor: int) -> tuple[int, int]:
    """Start and end of the address the cursor is in: between the separators around it."""
    positions = separator_positions(text)
    start = max((p + 1 for p in positions if p < cursor), default=0)
    end = min((p for p in positions if p >= cursor), default=len(text))
    return start, end


def typed_prefix(text: str, cursor: int) -> str:
    """What to look up: the token under the cursor up to the cursor, without an opening quote."""
    start, _end = token_span(text, cursor)
    return text[start:cursor].strip().lstrip('"').strip()


def is_pasted_list(text: str) -> bool:
    """True when text is more than one address typed inline (several lines, cells or ';')."""
    return any(char in text for char in LIST_BREAKS + ";")


def addresses_from_pasted(text: str) -> str:
    """One comma-separated list from text copied out of a spreadsheet or another mail client.

    One address per line, or one row per line with the name and address in separate cells
    (``Ann Lee<TAB>ann@example.org``, or first name, last name and address), or a list
    separated by commas or semicolons. Pieces that are not addresses are kept, so that the
    field's check names them instead of dropping them silently.
    """
    items: list[str] = []
    for row in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        cells = [cell.strip() for cell in row.split("\t") if cell.strip()]
        named = _named_address(cells)
        if named is not None:
            items.append(str(named))
        else:
            items.extend(item for cell in cells for item in split_list(cell))
    return ", ".join(items)


def _named_address(cells: list[str]) -> Address | None:
    """The row's one bare address, named by its other cells (``Lee, Bob`` too); else None."""
    if len(cells) < 2:
        return None
    parsed = [parse_address(cell) for cell in cells]
    found = [address for address in parsed if address is not None]
    if len(found) != 1 or found[0].display_name:
        return None
    if sum("@" in cell for cell in cells) != 1:
        return None  # another cell holds an address (or a list) of its own
    name = " ".join(cell for cell, address in zip(cells, parsed, strict=True) if address is None)
    try:
        return new_address(name, found[0].username, found[0].domain)
    except (ValueError, TypeError):
        return None


def splice_list(text: str, start: int, stop: int, listed: str) -> tuple[int, int, str]:
    """How to put listed in place of text[start:stop] so that commas separate it from the rest.

    Returns the range to replace (widened over surrounding blanks) and the replacement.
    """
    before, after = text[:start].rstrip(), text[stop:].lstrip()
    lead = "" if not before else (" " if before[-1] in SEPARATORS else ", ")
    trail = ", " if after and after[0] not in SEPARATORS else ""
    return len(before), len(text) - len(after), f"{lead}{listed}{trail}"

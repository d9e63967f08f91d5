"""The text of a recipients field: the address being typed, and lists pasted from elsewhere.

No Qt here; AddressLineEdit applies these to its text.
"""

from __future__ import annotations

from email.headerregistry import Address

from composer.mail.addresses import parse_address, split_list

SEPARATORS = ",;"
# What a single-line field can hold only when it came from a paste or a drop.
LIST_BREAKS = "\r\n\t"


def separator_positions(text: str) -> list[int]:
    """Indexes of the commas and semicolons that separate addresses (not those in quotes or <>)."""
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
        elif char in SEPARATORS and not quoted and not angle:
            positions.append(index)
    return positions


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
        return Address(display_name=name, username=found[0].username, domain=found[0].domain)
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

"""A message as the user wrote it: a plain value that can be stored, restored and sent."""

from __future__ import annotations

from dataclasses import dataclass, field

from composer.mail.addresses import ParsedAddresses, parse_list


@dataclass(frozen=True)
class Draft:
    """What the compose window holds; fields are kept exactly as typed."""

    account_id: str = ""
    to: str = ""
    cc: str = ""
    bcc: str = ""
    subject: str = ""
    body: str = ""
    headers: tuple[tuple[str, str], ...] = field(default=())

    def recipients(self) -> dict[str, ParsedAddresses]:
        """The parsed To, Cc and Bcc fields, by field name."""
        return {"To": parse_list(self.to), "Cc": parse_list(self.cc), "Bcc": parse_list(self.bcc)}

    def invalid_addresses(self) -> list[str]:
        """Every piece of the recipient fields that is not a valid address."""
        return [bad for parsed in self.recipients().values() for bad in parsed.invalid]

    def has_recipients(self) -> bool:
        """True when at least one recipient field holds something."""
        return any(parsed.valid or parsed.invalid for parsed in self.recipients().values())

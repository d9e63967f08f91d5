"""Noticing a message that talks about an attachment but has none."""

from __future__ import annotations

import re

# Words that announce an attachment, in English, German, French, Spanish, Italian, Dutch and
# Portuguese. Matched on word starts, case-insensitively, outside quoted lines.
_WORDS = (
    r"attach(?:ed|ment|ments|ing)?",
    r"enclos(?:ed|ure|ing)",
    r"anhang",
    r"angehängt",
    r"anbei",
    r"beigefügt",
    r"beiliegend",
    r"pièces? jointes?",
    r"ci-joint(?:e|es|s)?",
    r"en pièce jointe",
    r"adjunt(?:o|a|os|as|amos|ado)",
    r"archivo adjunto",
    r"allegat(?:o|i|a)",
    r"in bijlage",
    r"bijgevoegd",
    r"anexo",
    r"em anexo",
)
_PATTERN = re.compile(r"(?<!\w)(?:" + "|".join(_WORDS) + r")(?!\w)", re.IGNORECASE)


def attachment_mention(body: str) -> str | None:
    """The first word in body that announces an attachment, or None.

    Quoted lines (starting with ">") and everything below a "-- " signature line are ignored,
    since they are someone else's words or boilerplate.
    """
    for line in body.splitlines():
        if line.rstrip() == "--":
            break
        if line.lstrip().startswith(">"):
            continue
        match = _PATTERN.search(line)
        if match:
            return match.group(0)
    return None

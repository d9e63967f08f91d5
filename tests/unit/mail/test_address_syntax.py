"""The character-by-character address checks accept exactly what the regular expressions they
replaced accepted (those, kept here, took a tenth of the window's start-up to compile)."""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from composer.mail.addresses import is_domain, is_local_part

_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-\u0080-\U0010ffff]+$")
_DOMAIN = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9\u0080-\U0010ffff]([A-Za-z0-9\-\u0080-\U0010ffff]{0,61}"
    r"[A-Za-z0-9\u0080-\U0010ffff])?\.)+[A-Za-z\u0080-\U0010ffff]"
    r"([A-Za-z0-9\-\u0080-\U0010ffff]{0,61}[A-Za-z0-9\u0080-\U0010ffff])?$"
)

# Mostly the characters that matter, so that valid domains come up often; any other too.
_PIECES = st.sampled_from(["a", "Z", "7", "-", ".", "é", "\u4e2d", "@", " ", "_"])
_TEXT = st.lists(_PIECES | st.characters(), max_size=80).map("".join)
_LONG_LABELS = st.lists(
    st.text(alphabet="ab-9é", min_size=1, max_size=70), min_size=1, max_size=6
).map(".".join)


def old(pattern: re.Pattern[str], text: str) -> bool:
    # "$" also matched before a final line break; no address with one gets this far.
    return pattern.match(text) is not None and not text.endswith("\n")


@given(_TEXT | _LONG_LABELS)
@example("ann.example.org")
@example("example.com-")
@example("x.1com")
@example("a" * 63 + ".org")
@example("a" * 64 + ".org")
@example(".".join(["a" * 63] * 4))
@example("a.b")
@example("münchen.de")
@example("a..b")
@example("")
def test_domains_as_before(text: str) -> None:
    assert is_domain(text) == old(_DOMAIN, text)


@given(_TEXT)
@example("ann.lee+tag")
@example("o'brien")
@example("ann lee")
@example("")
def test_local_parts_as_before(text: str) -> None:
    assert is_local_part(text) == old(_LOCAL, text)

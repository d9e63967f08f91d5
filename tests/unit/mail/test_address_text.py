"""Cutting a recipients field's text: the address under the cursor, and pasted lists."""

from __future__ import annotations

from email.headerregistry import Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from composer.mail.addresses import (
    addresses_from_pasted,
    parse_list,
    splice_list,
    token_span,
    typed_prefix,
)


@pytest.mark.parametrize(
    ("pasted", "expected"),
    [
        # One column of addresses, with Windows or old Mac line ends, and the trailing
        # line end every spreadsheet adds.
        ("ann@example.org\nbob@example.org\n", "ann@example.org, bob@example.org"),
        ("ann@example.org\r\nbob@example.org\r\n", "ann@example.org, bob@example.org"),
        ("ann@example.org\rbob@example.org", "ann@example.org, bob@example.org"),
        # Name and address columns, either way round; first and last name in two columns.
        ("Ann Lee\tann@example.org", "Ann Lee <ann@example.org>"),
        ("ann@example.org\tAnn Lee", "Ann Lee <ann@example.org>"),
        ("Ann\tLee\tann@example.org", "Ann Lee <ann@example.org>"),
        ("Lee, Bob\tbob@example.org", '"Lee, Bob" <bob@example.org>'),
        ("Ann Lee\t\tann@example.org\t", "Ann Lee <ann@example.org>"),
        # Two address columns are two addresses, not a name.
        ("ann@example.org\tbob@example.org", "ann@example.org, bob@example.org"),
        ("Ann <ann@example.org>\tSales", "Ann <ann@example.org>, Sales"),
        # What other clients copy: semicolons, quoted names with commas.
        ("ann@example.org; bob@example.org", "ann@example.org, bob@example.org"),
        (
            '"Lee, Bob" <bob@example.org>; Ann Lee <ann@example.org>',
            '"Lee, Bob" <bob@example.org>, Ann Lee <ann@example.org>',
        ),
        # What is not an address stays, so the window can name it.
        ("Name\tEmail\nAnn\tann@example.org", "Name, Email, Ann <ann@example.org>"),
        ("\n\n\t\n", ""),
    ],
)
def test_addresses_from_pasted(pasted: str, expected: str) -> None:
    assert addresses_from_pasted(pasted) == expected


@pytest.mark.parametrize(
    ("text", "cursor", "span", "prefix"),
    [
        ("", 0, (0, 0), ""),
        ("an", 2, (0, 2), "an"),
        ("an", 1, (0, 2), "a"),
        ("Ann <ann@example.org>, bo", 25, (22, 25), "bo"),
        ("ann@example.org; bo", 19, (16, 19), "bo"),
        ("an, carl@example.org", 2, (0, 2), "an"),
        ('"Lee, B', 7, (0, 7), "Lee, B"),
        ('"Lee, Bob" <bob@example.org>, ca', 32, (29, 32), "ca"),
        ("Ann <ann@example.org>, ", 23, (22, 23), ""),
    ],
)
def test_token_under_the_cursor(text: str, cursor: int, span: tuple[int, int], prefix: str) -> None:
    assert token_span(text, cursor) == span
    assert typed_prefix(text, cursor) == prefix


@pytest.mark.parametrize(
    ("text", "start", "stop", "result"),
    [
        ("", 0, 0, "L"),
        ("ann@example.org", 15, 15, "ann@example.org, L"),
        ("ann@example.org, ", 17, 17, "ann@example.org, L"),
        ("ann@example.org,", 16, 16, "ann@example.org, L"),
        ("ann@example.org", 0, 0, "L, ann@example.org"),
        ("a@x.org, XXX, b@y.org", 9, 12, "a@x.org, L, b@y.org"),
        ("a@x.orgb@y.org", 7, 7, "a@x.org, L, b@y.org"),
    ],
)
def test_splice_list_puts_commas_around(text: str, start: int, stop: int, result: str) -> None:
    first, last, replacement = splice_list(text, start, stop, "L")
    assert text[:first] + replacement + text[last:] == result


_words = st.text(
    alphabet=st.characters(categories=["L"]) | st.sampled_from(",.'-()\""),
    min_size=1,
    max_size=8,
)
_names = st.lists(_words, min_size=1, max_size=3).map(" ".join)
_specs = st.tuples(
    st.from_regex(r"[a-z][a-z0-9._+-]{0,10}[a-z0-9]", fullmatch=True).filter(
        lambda local: ".." not in local
    ),
    st.from_regex(r"[a-z][a-z0-9-]{0,8}[a-z0-9]\.(org|de|example)", fullmatch=True),
)


@given(st.lists(st.tuples(st.none() | _names, _specs), min_size=1, max_size=6))
def test_a_pasted_sheet_gives_its_addresses_back(
    rows: list[tuple[str | None, tuple[str, str]]],
) -> None:
    lines = [f"{name}\t{u}@{d}" if name else f"{u}@{d}" for name, (u, d) in rows]

    parsed = parse_list(addresses_from_pasted("\n".join(lines) + "\n"))

    assert parsed.invalid == ()
    assert list(parsed.valid) == [Address(name or "", u, d) for name, (u, d) in rows]


@given(st.text())
def test_pasted_text_becomes_one_line(text: str) -> None:
    listed = addresses_from_pasted(text)
    assert not any(char in listed for char in "\r\n\t")

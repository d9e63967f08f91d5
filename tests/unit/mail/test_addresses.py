"""Reading the address lists people type."""

from __future__ import annotations

from email.headerregistry import Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from composer.mail.addresses import (
    format_address,
    mailbox_key,
    parse_address,
    parse_list,
    split_list,
    unique_addr_specs,
)


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("", []),
        ("   ", []),
        ("ann@example.org", ["ann@example.org"]),
        ("ann@example.org, bob@example.net", ["ann@example.org", "bob@example.net"]),
        ("ann@example.org; bob@example.net", ["ann@example.org", "bob@example.net"]),
        ("ann@example.org;bob@example.net,", ["ann@example.org", "bob@example.net"]),
        ("ann@example.org\nbob@example.net", ["ann@example.org", "bob@example.net"]),
        (",,; ,", []),
        ('"Lee, Ann" <ann@example.org>', ['"Lee, Ann" <ann@example.org>']),
        ('"Lee; Ann" <ann@example.org>, b@x.org', ['"Lee; Ann" <ann@example.org>', "b@x.org"]),
        (
            '"Say \\"hi, there\\"" <a@x.org>, b@x.org',
            ['"Say \\"hi, there\\"" <a@x.org>', "b@x.org"],
        ),
        ("Ann <ann,x@example.org>, b@x.org", ["Ann <ann,x@example.org>", "b@x.org"]),
    ],
)
def test_split_list(text, items):
    assert split_list(text) == items


@pytest.mark.parametrize(
    ("text", "display_name", "addr_spec"),
    [
        ("ann@example.org", "", "ann@example.org"),
        ("  ann@example.org  ", "", "ann@example.org"),
        ("<ann@example.org>", "", "ann@example.org"),
        ("Ann Lee <ann@example.org>", "Ann Lee", "ann@example.org"),
        ("Ann Lee<ann@example.org>", "Ann Lee", "ann@example.org"),
        ('"Lee, Ann" <ann@example.org>', "Lee, Ann", "ann@example.org"),
        ('"Say \\"hi\\"" <ann@example.org>', 'Say "hi"', "ann@example.org"),
        ("Zoë Müller <zoe@example.org>", "Zoë Müller", "zoe@example.org"),
        ("first.last+tag@sub.example.co.uk", "", "first.last+tag@sub.example.co.uk"),
        ("o'brien@example.ie", "", "o'brien@example.ie"),
        ("user@bücher.example", "", "user@bücher.example"),
    ],
)
def test_parse_address_valid(text, display_name, addr_spec):
    address = parse_address(text)

    assert address is not None
    assert address.display_name == display_name
    assert address.addr_spec == addr_spec


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ann",
        "ann@",
        "@example.org",
        "ann@example",  # no top-level domain: almost always a typo
        "ann example.org",
        "ann@example..org",
        "ann@-example.org",
        "ann@example.org-",
        ".ann@example.org",
        "ann.@example.org",
        "a..nn@example.org",
        "ann lee@example.org",
        "Ann <ann@example.org",
        "Ann <>",
        'Ann "Lee" <ann@example.org>',
        "Ann <Lee> <ann@example.org>",
        "ann@example.org\r\nBcc: eve@example.net",
        "ann@exa\nmple.org",
        "ann@example.org\0",
        # Line breaks other than CR and LF, inside the name where strip() does not reach.
        "Ann\u2028Lee <ann@example.org>",
        "Ann\x85Lee <ann@example.org>",
        "Ann\vLee <ann@example.org>",
        "ann@192.168.0.1",
    ],
)
def test_parse_address_invalid(text):
    assert parse_address(text) is None


def test_parse_list_keeps_the_invalid_pieces_by_name():
    parsed = parse_list('Ann <ann@example.org>; bob@; "Lee, Carl" <carl@example.net>, nobody')

    assert [a.addr_spec for a in parsed.valid] == ["ann@example.org", "carl@example.net"]
    assert parsed.valid[1].display_name == "Lee, Carl"
    assert parsed.invalid == ("bob@", "nobody")


@pytest.mark.parametrize(
    ("address", "shown"),
    [
        (Address("Ann Lee", "ann", "example.org"), "Ann Lee <ann@example.org>"),
        (Address("", "ann", "example.org"), "ann@example.org"),
        (Address("Lee, Ann", "ann", "example.org"), "Lee, Ann <ann@example.org>"),
    ],
)
def test_format_address(address, shown):
    assert format_address(address) == shown


def test_unique_addr_specs_keeps_order_and_ignores_domain_case():
    addresses = parse_list(
        "bob@example.net, Bob <bob@EXAMPLE.NET>, ann@example.org, Bob@example.net"
    ).valid

    # The local part may be case-sensitive (RFC 5321), the domain is not.
    assert unique_addr_specs(addresses) == ["bob@example.net", "ann@example.org", "Bob@example.net"]


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        ("Ann@Example.ORG", "Ann@example.org", True),
        ("Ann@example.org", "ann@example.org", False),
        ("Ann@Example.ORG", "ann@example.org", False),
        ("jörg@EXÄMPLE.de", "jörg@exämple.de", True),
        ('"a@b"@Example.org', '"a@b"@example.org', True),
        ("no-at-sign", "no-at-sign", True),
    ],
)
def test_mailbox_key_ignores_the_case_of_the_domain_only(one, other, same):
    assert (mailbox_key(one) == mailbox_key(other)) is same


def test_unique_addr_specs_and_mailbox_key_agree():
    addresses = parse_list("Ann@Example.ORG, Ann@example.org, ann@example.org").valid

    assert unique_addr_specs(addresses) == ["Ann@Example.ORG", "ann@example.org"]


@settings(deadline=None)  # a slow machine is not a failure
@given(st.text())
def test_split_and_parse_never_crash(text):
    items = split_list(text)
    parsed = parse_list(text)

    assert all(item == item.strip() and item for item in items)
    assert len(parsed.valid) + len(parsed.invalid) == len(items)
    for address in parsed.valid:
        assert not any(c in address.addr_spec for c in "\r\n\0 ,;")


@settings(deadline=None)
@given(st.text(), st.sampled_from(["\r", "\n", "\r\n", "\0"]), st.text())
def test_an_address_with_a_line_break_is_never_valid(before, newline, after):
    assert parse_address(before + newline + after) is None


_local = st.from_regex(r"[a-z0-9]([a-z0-9._+-]{0,10}[a-z0-9])?", fullmatch=True).filter(
    lambda s: ".." not in s
)
_domain = st.from_regex(r"([a-z0-9]{1,10}\.){1,3}[a-z]{2,6}", fullmatch=True)
_name = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters='"\\<>'),
    max_size=20,
)


@settings(deadline=None)
@given(_name, _local, _domain)
def test_formatted_addresses_parse_back(name, local, domain):
    address = Address(display_name=name.strip(), username=local, domain=domain)
    text = format_address(address)
    if "," in name or ";" in name:
        text = f'"{address.display_name}" <{address.addr_spec}>'

    [parsed] = parse_list(text).valid

    assert parsed.addr_spec == address.addr_spec
    assert parsed.display_name == address.display_name


def test_a_long_run_of_spaces_is_read_in_linear_time() -> None:
    # Quadratic parsing took seconds for 32,000 spaces and would take minutes for this many
    # (past the test timeout); linear parsing takes milliseconds.
    typed = "ann@example.org" + " " * 400_000 + "x"
    parsed = parse_list(typed)
    assert parsed.valid == ()
    assert parsed.invalid == (typed.strip(),)
    named = parse_list("Ann" + " " * 400_000 + "<ann@example.org>")
    assert [a.addr_spec for a in named.valid] == ["ann@example.org"]
